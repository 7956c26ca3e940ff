"""model.tar.gz: write, list and unpack it as SageMaker does (notebooks 04 to 07; plumbing).
It ships what inference.py loads: config, tokenizer, one copy of the weights, as files."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

from helpers.config import WEIGHT_FILES
from helpers.sagemaker.contract import CODE_DIR

CONFIG_AND_TOKENIZER = (
    "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "added_tokens.json", "sentencepiece.bpe.model", "spiece.model",
    "tokenizer.model", "vocab.txt", "vocab.json", "merges.txt",
)  # fmt: skip
EXPORTED = "exported"  # an ONNX/OpenVINO export, shipped whole with its backend.json
EXPORTED_MARKER = Path(EXPORTED, "backend.json")


def weight_files(model_dir) -> list[Path]:
    """Return the one set of weights to ship (safetensors preferred)."""
    folder = Path(model_dir)
    for name in WEIGHT_FILES:
        path = folder / name
        if path.is_file():  # follows links: a cache link to a missing blob does not count
            if not name.endswith(".index.json"):
                return [path]
            shards = sorted(set(json.loads(path.read_text())["weight_map"].values()))
            return [path] + [folder / shard for shard in shards]
    return []


def serving_files(model_dir) -> list[Path]:
    """Return the files inference.py needs from a model folder; fail clearly if it cannot work."""
    folder = Path(model_dir)
    exported = []
    if (folder / EXPORTED_MARKER).is_file():
        exported = sorted(p for p in (folder / EXPORTED).rglob("*") if p.is_file())
    configs = [folder / name for name in CONFIG_AND_TOKENIZER if (folder / name).is_file()]
    weights = weight_files(folder)
    if exported:
        return configs + weights + exported
    if not (folder / "config.json").is_file():
        raise ValueError(f"{folder} has no config.json: it is not a transformers model folder.")
    if not weights:
        raise ValueError(
            f"{folder} has config.json but no weights ({' or '.join(WEIGHT_FILES[::2])}): an "
            "endpoint built from it would have no model to load. Point at a complete model folder."
        )
    missing = [path.name for path in weights if not path.is_file()]
    if missing:
        raise ValueError(f"{folder} lacks weight shards listed in its index: {missing}")
    return configs + weights


def _code_files(model_dir, code_dir=None) -> list[Path]:
    if code_dir is None:
        code_dir = Path(model_dir, "code") if Path(model_dir, "code").is_dir() else CODE_DIR
    return [path for path in sorted(Path(code_dir).iterdir()) if path.suffix in (".py", ".txt")]


def package_model(model_dir, out_path, code_dir=None) -> Path:
    """Write model.tar.gz: model files at the root, code/ from MODEL_DIR/code or serving/code."""
    model_dir = Path(model_dir)
    files, code = serving_files(model_dir), _code_files(model_dir, code_dir)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    try:  # dereference: a cache snapshot's links go in as the files they point to
        with tarfile.open(partial, "w:gz", dereference=True) as tar:
            for path in files:
                tar.add(path, arcname=path.relative_to(model_dir).as_posix())
            for path in code:
                tar.add(path, arcname=f"code/{path.name}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out_path)
    return out_path


def archive_listing(tar_path) -> list[str]:
    """Return 'size  name' lines for each file in a model.tar.gz."""
    with tarfile.open(tar_path) as tar:
        return [f"{m.size:>12,}  {m.name}" for m in tar.getmembers() if m.isfile()]


def print_archive(tar_path) -> None:
    """Print a model.tar.gz listing: check weights at the root and code/inference.py."""
    print(f"{Path(tar_path).name}:")
    print("\n".join(archive_listing(tar_path)))


def copy_serving_files(model_dir, dest) -> None:
    """Copy what package_model would ship from a model folder into dest, links followed."""
    for path in serving_files(model_dir):
        target = Path(dest) / path.relative_to(model_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def unpack_model(model, dest) -> Path:
    """Lay out a model dir or model.tar.gz in dest, as SageMaker does in /opt/ml/model."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    if Path(model).is_file():
        with tarfile.open(model) as tar:
            tar.extractall(dest, filter="data")
        return dest
    copy_serving_files(model, dest)
    (dest / "code").mkdir()
    for path in _code_files(model):
        shutil.copyfile(path, dest / "code" / path.name)
    return dest
