"""Execute the course notebooks headless (`make run`, `make notebooks`)."""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from pathlib import Path

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"


def execute(path: Path, timeout: int = 1800):
    """Run one notebook in its own folder and return the executed notebook."""
    import nbformat
    from jupyter_client import KernelManager
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    # Unix sockets in a private folder, not TCP on localhost: another user of the machine cannot
    # reach the kernel (ipykernel warns about plain TCP at every start).
    with tempfile.TemporaryDirectory(prefix="rerank-kernel-") as sockets:
        kernel = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
        try:
            NotebookClient(
                notebook,
                km=kernel,
                timeout=timeout,
                record_timing=False,
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
        finally:  # nbclient stops only kernels it made: each kernel would keep its models in memory
            if kernel.has_kernel:
                kernel.shutdown_kernel(now=True)
    return notebook


def write_outputs(notebook, path: Path, out_dir: Path | None) -> None:
    """Save the executed notebook in place, or as .ipynb + .html under ``out_dir``."""
    import nbformat
    from nbconvert import HTMLExporter

    if out_dir is None:
        nbformat.write(notebook, path)
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, out_dir / path.name)
    html, _ = HTMLExporter().from_notebook_node(notebook)
    (out_dir / path.with_suffix(".html").name).write_text(html, encoding="utf-8")


def run_one(path: Path, out_dir: Path | None) -> tuple[bool, str]:
    """Execute one notebook and save it; return (ok, its row of the report). Never raises."""
    start = time.perf_counter()
    try:
        write_outputs(execute(path), path, out_dir)
        ok, result = True, "ok"
    except Exception as exc:  # report every notebook, then fail at the end
        ok = False
        result = f"failed: {type(exc).__name__}: {str(exc).strip().splitlines()[-1][:200]}"
    return ok, f"{path.name:<40} {time.perf_counter() - start:>8.1f}  {result}"


def main(argv: list[str] | None = None) -> int:
    """Execute every notebook, print one row each in order; return 1 if any failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=Path, default=Path("build"), help="folder for the results")
    where.add_argument("--in-place", action="store_true", help="refresh committed outputs")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks run side by side")
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/NN_*.ipynb")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
    out_dir = None if args.in_place else args.out
    print(f"{'notebook':<40} {'seconds':>8}  result")
    # Each job is a spawned process (not forked: nothing of this one's state leaks into it).
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        failed = 0
        for ok, row in pool.map(run_one, paths, repeat(out_dir)):
            print(row, flush=True)
            failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
