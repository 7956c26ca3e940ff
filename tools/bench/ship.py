"""Package the backend the benchmark picked into model.tar.gz, with the code that serves it (nb 05).

The archive keeps notebook 04's layout (model files at the root, ``code/`` with inference.py)
and adds ``exported/``: the exported model, its tokenizer and config, and ``backend.json``, which
tells ``code/exported_backends.py`` how to run it. The runtime (ONNX Runtime or OpenVINO) is NOT
installed at cold start: it has to be in the serving image (``.venv-serve`` mirrors that image
and pins it in serving/requirements-serve.txt). torch-fp32 ships as notebook 04's plain model.
"""

from __future__ import annotations

import json
import shutil
from importlib.metadata import version
from pathlib import Path

import tools.bench.export as export
from tools.bench.settings import REFERENCE

TOKENIZER_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json", "sentencepiece.bpe.model", "merges.txt")  # fmt: skip
RUNTIMES = {"onnx": "onnxruntime", "openvino": "openvino", "torch": "torch"}


def backend_file(backend: str, model_path: str) -> Path:
    """Return the exported file (or folder) of a backend, which the benchmark already built."""
    folder = export.export_dir(model_path)
    files = {
        "onnx-fp32": folder / "model.onnx",
        "onnx-int8-dynamic": folder / f"model_int8_dynamic_{export.RECIPE}.onnx",
        "onnx-int8-static": folder / f"model_int8_static_{export.RECIPE}.onnx",
        "openvino-fp32": folder / "openvino" / "model.xml",
        "openvino-bf16": folder / "openvino" / "model.xml",
        "openvino-int8": folder / f"openvino_int8_{export.RECIPE}" / "model.xml",
        "openvino-int8-bf16": folder / f"openvino_int8_{export.RECIPE}" / "model.xml",
        "torch-bf16": Path(model_path),
    }
    if backend not in files:
        raise ValueError(f"unknown backend {backend!r}: one of {', '.join(files)}")
    if not files[backend].exists():
        raise FileNotFoundError(f"{backend} is not exported yet: run the benchmark first")
    return files[backend]


def stage_model(backend: str, model_path: str, staging) -> Path:
    """Lay out a model folder that serves ``backend``: root files, exported/ and backend.json."""
    from helpers.sagemaker.package import copy_serving_files

    staging = Path(staging)
    shutil.rmtree(staging, ignore_errors=True)
    if backend == REFERENCE:
        copy_serving_files(model_path, staging)
        return staging
    source = backend_file(backend, model_path)
    exported = staging / "exported"
    exported.mkdir(parents=True)
    for name in TOKENIZER_FILES:  # at the root too: inference.py counts tokens with them
        if Path(model_path, name).is_file():
            shutil.copy(Path(model_path, name), staging / name)
            shutil.copy(Path(model_path, name), exported / name)
    family = backend.split("-")[0]
    if family == "torch":
        copy_serving_files(model_path, exported / "model")
        file = "model"
    else:
        for path in source.parent.glob(f"{source.stem}.*"):  # model.xml + model.bin, or .onnx
            shutil.copy(path, exported / path.name.replace(source.stem, "model"))
        file = "model" + source.suffix
    spec = {
        "schema": 1, "backend": backend,
        "engine": {"onnx": "onnxruntime", "openvino": "openvino", "torch": "torch"}[family],
        "file": file, "precision": "bf16" if backend.endswith("bf16") else "f32",
        "runtime": {RUNTIMES[family]: version(RUNTIMES[family])},
    }  # fmt: skip
    (exported / "backend.json").write_text(json.dumps(spec, indent=1) + "\n")
    return staging


def package_backend(backend: str, model_path: str, out_path, staging) -> Path:
    """Write model.tar.gz that serves ``backend`` through inference.py (code/ included)."""
    from helpers.sagemaker import package_model

    return package_model(stage_model(backend, model_path, staging), out_path)
