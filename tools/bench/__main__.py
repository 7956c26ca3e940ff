"""``python -m tools.bench``: benchmark reranking on this machine (see tools/bench/__init__).

From the repository root::

    python -m tools.bench [--quick] [--out DIR] [--model PATH] [--threads N] [--reuse HOURS]
    python -m tools.bench --table NAME [--out DIR]      # print one table of a run in DIR
    python -m tools.bench ship --out DIR [--results DIR] [--backend NAME]

``--reuse HOURS`` keeps the run in ``--out`` when the same code, model, mode, threads and CPU
wrote it that recently without failures (tests/test_bench.py writes build/bench-quick, which
notebook 05 then reuses). ``ship`` packages a backend the run exported (by default the one it
picked) into DIR/model.tar.gz, staged in DIR/model, with the serving code (notebook 05, part 10).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Benchmark reranking; write results.json, results.md and plots; exit 1 if anything broke."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ship"]:
        return ship(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and grid points")
    parser.add_argument("--out", default="build/bench", help="output folder (build/bench)")
    parser.add_argument("--model", help="cross-encoder folder (default: the config's reranker)")
    parser.add_argument("--threads", type=int, help="threads (default: RERANK_THREADS, else all)")
    parser.add_argument("--reuse", type=float, metavar="HOURS", help="keep a recent identical run")
    parser.add_argument("--table", help="print one table of the run in --out (a section name)")
    args = parser.parse_args(argv)
    from helpers.config import ModelUnavailableError
    from tools.bench.runner import run, saved_run
    from tools.bench.tables import report

    out = Path(args.out)
    if args.table:
        return print_table(out, args.table)
    try:
        if args.reuse and saved_run(out, args.model, args.quick, args.threads, args.reuse):
            created = json.loads((out / "results.json").read_text())["created"]
            print(f"Reused the run written {created} (same code, model, mode and machine).")
            return 0
        results = run(args.model, quick=args.quick, threads=args.threads)
    except ModelUnavailableError as exc:  # e.g. the offline reranker is not built yet
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(results, out))
    print(f"Wrote {out / 'results.json'}, {out / 'results.md'} and {len(results['plots'])} plots.")
    for problem in results["failures"]:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if results["failures"] else 0


def print_table(out: Path, name: str) -> int:
    """Print one section's table (or "decision") from the results in ``out``."""
    results = json.loads((out / "results.json").read_text())
    tables = results["tables"] | {"decision": results["decision"]}
    if name not in tables:
        print(f"error: no table {name!r}: one of {', '.join(tables)}", file=sys.stderr)
        return 2
    print(tables[name])
    return 0


def ship(argv: list[str]) -> int:
    """Package the backend a run picked (or ``--backend``) into OUT/model.tar.gz."""
    parser = argparse.ArgumentParser(prog="python -m tools.bench ship", description=ship.__doc__)
    parser.add_argument("--out", required=True, help="folder for model.tar.gz and model/")
    parser.add_argument("--results", default="build/bench-quick", help="the run's folder")
    parser.add_argument("--backend", help="backend to ship (default: the one the run picked)")
    args = parser.parse_args(argv)
    from tools.bench.ship import package_backend

    results = json.loads(Path(args.results, "results.json").read_text())
    backend = args.backend or results["ship"]
    out = Path(args.out)
    package_backend(backend, results["model"]["snapshot"], out / "model.tar.gz", out / "model")
    print(f"Packaged {backend}: model.tar.gz, staged in model/.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
