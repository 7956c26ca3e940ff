"""Check that this machine can run the course (`python -m helpers.envcheck`, `make check`)."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import sys

KEY_PACKAGES = (
    "torch",
    "transformers",
    "sentence-transformers",
    "langchain",
    "langchain-classic",
    "langchain-community",
    "faiss-cpu",
)


def package_rows():
    """Return (check, value, fix) rows for the packages the course imports."""
    rows = []
    for name in KEY_PACKAGES:
        try:
            rows.append((name, importlib.metadata.version(name), ""))
        except importlib.metadata.PackageNotFoundError:
            rows.append((name, "MISSING", "run `make venv` (or `pip install -r requirements.txt`)"))
    return rows


def model_rows():
    """Return rows saying whether the active profile's models load without the network."""
    from helpers.config import ModelUnavailableError, load_config, model_label, resolve_model

    try:
        config = load_config()
    except (ValueError, ModelUnavailableError) as exc:
        return [("profile", "INVALID", str(exc))]
    rows = [("profile", config.profile, "")]
    for name, variable in (
        (config.embedding_model, "RERANK_EMBEDDING_MODEL"),
        (config.reranker_model, "RERANK_RERANKER_MODEL"),
    ):
        try:
            resolved = resolve_model(name, variable)
            where = "local" if os.path.isdir(resolved) else "Hub (not cached yet)"
            rows.append((variable, f"{model_label(name)}: {where}", ""))
        except ModelUnavailableError:
            fix = f"`make models` while online, RERANK_PROFILE=offline, or set {variable}"
            rows.append((variable, f"{model_label(name)}: UNAVAILABLE", fix))
    return rows


def machine_rows():
    """Return rows for threads, GPU, Java and AWS credentials."""
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU is fine)"
    java = shutil.which("java")
    rows = [
        (
            "python",
            platform.python_version(),
            "" if sys.version_info >= (3, 10) else "use Python 3.10 or newer",
        ),
        ("cpu cores / torch threads", f"{os.cpu_count()} / {torch.get_num_threads()}", ""),
        ("gpu", gpu, ""),
        (
            "java (local SageMaker serving)",
            java or "MISSING",
            ""
            if java
            else "install Java 17 (conda: openjdk=17) to serve with the real MMS; "
            "notebook 04 falls back to a pure-Python server",
        ),
    ]
    rows.append(
        (
            "aws credentials (optional, notebook 04)",
            aws_credentials_state(),
            "" if aws_credentials_state() != "none" else "only needed to deploy to AWS",
        )
    )
    return rows


def aws_credentials_state() -> str:
    """Return "found" or "none" without printing or contacting anything."""
    if os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE"):
        return "found"
    credentials = os.path.expanduser("~/.aws/credentials")
    return "found" if os.path.isfile(credentials) else "none"


def check() -> str:
    """Return the environment table: one row per check, with a fix where one is needed."""
    from helpers.display import format_table

    rows = package_rows() + model_rows() + machine_rows()
    return format_table(rows, ["check", "value", "fix"])


if __name__ == "__main__":
    print(check())
