"""model.tar.gz: write it, list it, unpack it as SageMaker does (notebook 04)."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

from helpers.sagemaker.contract import CODE_DIR


def package_model(model_dir, out_path, code_dir=None) -> Path:
    """Write model.tar.gz: model files at the root, code/ from MODEL_DIR/code or serving/code."""
    if code_dir is None:
        code_dir = Path(model_dir, "code") if Path(model_dir, "code").is_dir() else CODE_DIR
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out_path, "w:gz") as tar:
        for path in sorted(Path(model_dir).iterdir()):
            if not path.name.startswith(".") and path.name != "code":
                tar.add(path, arcname=path.name)
        for path in sorted(Path(code_dir).iterdir()):
            if path.suffix in (".py", ".txt"):
                tar.add(path, arcname=f"code/{path.name}")
    return out_path


def archive_listing(tar_path) -> list[str]:
    """Return 'size  name' lines for each file in a model.tar.gz."""
    with tarfile.open(tar_path) as tar:
        return [f"{m.size:>12,}  {m.name}" for m in tar.getmembers() if m.isfile()]


def print_archive(tar_path) -> None:
    """Print a model.tar.gz listing: check weights at the root and code/inference.py."""
    print(f"{Path(tar_path).name}:")
    print("\n".join(archive_listing(tar_path)))


def unpack_model(model, dest) -> Path:
    """Lay out a model dir or model.tar.gz in dest, as SageMaker does in /opt/ml/model."""
    dest = Path(dest)
    if Path(model).is_file():
        dest.mkdir(parents=True)
        with tarfile.open(model) as tar:
            tar.extractall(dest, filter="data")
    else:
        shutil.copytree(model, dest)
        if not (dest / "code").exists():
            shutil.copytree(CODE_DIR, dest / "code", ignore=shutil.ignore_patterns("__pycache__"))
    return dest
