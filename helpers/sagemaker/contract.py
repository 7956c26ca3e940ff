"""Where the endpoint code lives (serving/code), and importing it in this process (plumbing);
the client side imports only rerank_schema.py: one contract for client and endpoint."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE_DIR = ROOT / "serving" / "code"
# What every endpoint of this handler sets: MMS reads the first in MINUTES, the _SECONDS one wins
# where known; 120 s covers a cold model_fn and frees a stuck worker (serving/README.md).
ENDPOINT_ENV = {
    "SAGEMAKER_MODEL_SERVER_TIMEOUT": "2",
    "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": "120",
}


# load_handler in .venv-serve (no helpers/ there): argv[1] is contract.py, argv[2] the code folder.
IMPORT_INFERENCE = (
    "import runpy, sys; inference = runpy.run_path(sys.argv[1])['load_handler'](sys.argv[2])\n"
)


def load_code_module(name: str, code_dir=CODE_DIR):
    """Import ``code_dir/name.py`` in this process under its own name, as the container does."""
    return _load_code_module(name, Path(code_dir) / f"{name}.py")


def _load_code_module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@cache
def load_schema():
    """Return serving/code/rerank_schema.py, the contract inference.py also imports."""
    return sys.modules.get("rerank_schema") or _load_code_module(
        "rerank_schema", CODE_DIR / "rerank_schema.py"
    )


def load_handler(code_dir=CODE_DIR):
    """Import inference.py in this process, to try model_fn/transform_fn without a server."""
    load_schema()
    return load_code_module("inference", code_dir)
