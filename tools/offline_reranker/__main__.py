"""Command line: build the course's offline reranker, or adapt one to your own corpus."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Build the course model, or with --corpus and --out fine-tune one for a text file."""
    parser = argparse.ArgumentParser(
        prog="python -m tools.offline_reranker", description=main.__doc__
    )
    parser.add_argument("--force", action="store_true", help="rebuild / overwrite --out")
    parser.add_argument("--corpus", type=Path, help="a UTF-8 text file to adapt a reranker to")
    parser.add_argument("--out", type=Path, help="folder for the adapted reranker")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the recipe's)")
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps")
    parser.add_argument(
        "--faq", type=int, metavar="N", help="also train on N FAQ pairs of data/faq/ (default: 0)"
    )
    args = parser.parse_args(argv)
    if (args.corpus is None) != (args.out is None):
        parser.error("--corpus and --out go together")
    from helpers.offline_reranker import Recipe
    from helpers.runtime import set_cpu_threads
    from tools.offline_reranker.build import adapt, build

    set_cpu_threads()  # RERANK_THREADS, else every core
    recipe = Recipe()
    if args.epochs:
        recipe = replace(recipe, epochs=args.epochs)
    if args.faq is not None:
        recipe = replace(recipe, faq_rows=args.faq)
    if args.corpus is None:
        build(force=args.force, recipe=recipe)
        return 0
    try:
        out = adapt(args.corpus, args.out, recipe, args.max_steps, force=args.force)
    except (OSError, ValueError) as exc:  # a missing corpus, an occupied --out: say which
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Adapted reranker saved to {out} (load it with helpers.reranking.make_cross_encoder)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
