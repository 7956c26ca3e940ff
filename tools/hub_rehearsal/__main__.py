"""`python -m tools.hub_rehearsal HF_HUB_CACHE [--size ...]`: write the stand-in cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from tools.hub_rehearsal.models import SIZES, build_cache


def main(argv: list[str] | None = None) -> int:
    """Build the stand-in cache and print each snapshot folder."""
    parser = argparse.ArgumentParser(prog="python -m tools.hub_rehearsal", description=__doc__)
    parser.add_argument("cache_dir", type=Path, help="the HF_HUB_CACHE folder to write")
    parser.add_argument("--size", choices=SIZES, default="small")
    args = parser.parse_args(argv)
    for repo_id, snapshot in build_cache(args.cache_dir, args.size).items():
        print(f"{repo_id:<50} {snapshot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
