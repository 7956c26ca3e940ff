"""``python -m helpers.bench``: benchmark reranking on this machine (see helpers/bench/__init__)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Benchmark reranking; write results.json, results.md and plots; exit 1 if anything broke."""
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and grid points")
    parser.add_argument("--out", default="build/bench", help="output folder (build/bench)")
    parser.add_argument("--model", help="cross-encoder folder (default: the config's reranker)")
    parser.add_argument("--threads", type=int, help="threads (default: RERANK_THREADS, else all)")
    args = parser.parse_args(argv)
    from helpers.bench.runner import run
    from helpers.bench.tables import report
    from helpers.config import ModelUnavailableError

    try:
        results = run(args.model, quick=args.quick, threads=args.threads)
    except ModelUnavailableError as exc:  # e.g. the offline reranker is not built yet
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    print(report(results, out))
    print(f"Wrote {out / 'results.json'}, {out / 'results.md'} and {len(results['plots'])} plots.")
    for problem in results["failures"]:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if results["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
