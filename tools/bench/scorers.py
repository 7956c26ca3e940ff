"""One scorer per backend: ``.score(pairs, batch_size, max_length)`` -> raw logits (notebook 05).

torch rows run the course's path (sentence-transformers' ``CrossEncoder.predict``; bf16 under
``torch.autocast``). Exported rows run ``serving/code/exported_backends.py``, the very code the
endpoint ships, so the benchmark times what would be served.

A backend is "not available" only for a documented reason: its optional runtime is not installed
(``onnxruntime``, ``openvino``, ``nncf``), the CPU lacks the instructions it needs (bf16), or
OpenVINO cannot compile NNCF's int8 XLM-R model (a known constant-folding failure). Any other
error is a failure, and the benchmark exits non-zero.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tools.bench.export as export
from helpers.sagemaker.contract import load_code_module
from tools.bench.settings import REFERENCE

RUNTIMES = {"onnx": ("onnxruntime",), "openvino": ("openvino",)}
INT8_RUNTIMES = {"openvino": ("openvino", "nncf")}


class NotAvailable(Exception):
    """A backend cannot run here for a documented reason (missing optional runtime, hardware)."""


@cache
def exported_backends():
    """Import serving/code/exported_backends.py (what the endpoint runs) in this process."""
    return load_code_module("exported_backends")


@dataclass
class Scorer:
    """A named backend: its score function and what shipping it needs."""

    name: str
    score_fn: object  # (pairs, batch_size, max_length) -> list of logits
    engine: str  # torch (CrossEncoder), onnxruntime, openvino
    precision: str = "f32"
    path: Path | None = None  # the exported file (None: the model folder itself)
    rebuild: object = None  # threads -> Scorer, for the threads section
    notes: list[str] = field(default_factory=list)

    def score(self, pairs, batch_size: int = 32, max_length: int = 512):
        """Return one raw logit per pair, in input order (a numpy array)."""
        import numpy as np

        return np.asarray(self.score_fn(list(pairs), batch_size, max_length), dtype="float32")


def torch_scorer(model_path: str, precision: str = "f32") -> Scorer:
    """The course's CrossEncoder in fp32, or under bf16 autocast; raw logits."""
    import torch
    from sentence_transformers import CrossEncoder

    model = CrossEncoder(
        model_path, device="cpu", activation_fn=torch.nn.Identity(),
        model_kwargs={"dtype": torch.float32},
    )  # fmt: skip

    def score(pairs, batch_size, max_length):
        model.max_seq_length = max_length
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            return model.predict(pairs, batch_size=batch_size, show_progress_bar=False)

    name = "torch-bf16" if precision == "bf16" else "torch-fp32"
    return Scorer(name, score, "torch", precision, rebuild=lambda threads: None)


def exported_scorer(name, engine, path, tokenizer, threads, precision="f32") -> Scorer:
    """Run an exported file with exported_backends' runner for its engine."""
    eb = exported_backends()
    if engine == "onnxruntime":
        run, inputs = eb.onnxruntime_runner(path, threads)
    else:
        run, inputs = eb.openvino_runner(path, threads, precision)
    model = eb.ExportedModel(tokenizer, run, inputs, 512, 32, name)
    return Scorer(
        name, model.logits, engine, precision, Path(path),
        rebuild=lambda count: exported_scorer(name, engine, path, tokenizer, count, precision),
    )  # fmt: skip


def _require(*modules: str) -> None:
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise NotAvailable(f"needs {', '.join(missing)} (optional: pip install -e '.[course]')")


def build_backend(name, model_path, tokenizer, threads, features, calibration, max_length):
    """Return the scorer of one backend, exporting it first if needed."""
    if name.endswith("bf16") and not features["bf16"]:
        raise NotAvailable("this CPU has no avx512_bf16 or amx_bf16: bf16 would be emulated")
    if name.startswith("torch"):
        return torch_scorer(model_path, "bf16" if name == "torch-bf16" else "f32")
    family = name.split("-")[0]
    _require(*(INT8_RUNTIMES.get(family, ()) if "int8" in name else ()), *RUNTIMES[family])
    folder = export.export_dir(model_path)
    onnx_path = export.export_onnx(model_path, folder)
    precision = "bf16" if name.endswith("bf16") else "f32"
    if name == "onnx-fp32":
        path = onnx_path
    elif name == "onnx-int8-dynamic":
        path = export.export_onnx_int8_dynamic(onnx_path, features["vnni"])
    elif name == "onnx-int8-static":
        path = export.export_onnx_int8_static(
            onnx_path, tokenizer, calibration(), max_length, features["vnni"]
        )
    elif name in ("openvino-fp32", "openvino-bf16"):
        path = export.export_openvino(onnx_path)
    else:
        path = export.export_openvino_int8(
            export.export_openvino(onnx_path), tokenizer, calibration(), max_length
        )
    engine = "onnxruntime" if family == "onnx" else "openvino"
    try:
        return exported_scorer(name, engine, path, tokenizer, threads, precision)
    except RuntimeError as exc:
        if name.startswith("openvino-int8") and "constant_fold" in str(exc):
            # Reproduced with XLM-R (bge-reranker-base's architecture) at several sizes; BERT works.
            raise NotAvailable(
                "OpenVINO cannot compile NNCF's int8 model of this architecture (constant folding "
                "fails in XLM-R's position-id subgraph); the other backends still run"
            ) from exc
        raise


def load_scorers(model_path, backends, threads, features, calibration, max_length):
    """Build every backend; return (scorers, {backend: "ok", "not available: …" or "failed: …"}).

    ``calibration`` is a function returning the calibration pairs (computed once, if needed).
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    calibration = cache(calibration)
    scorers, status = {}, {}
    for name in [REFERENCE, *(b for b in backends if b != REFERENCE)]:
        started = time.perf_counter()
        try:
            scorers[name] = build_backend(
                name, model_path, tokenizer, threads, features, calibration, max_length
            )
        except NotAvailable as reason:
            status[name] = f"not available: {reason}"
            continue
        except Exception as exc:  # recorded, and the run exits non-zero: a bench that broke
            status[name] = (
                f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            )
            continue
        took = time.perf_counter() - started
        status[name] = "ok" if took < 5 else f"ok (export/compile took {took:.0f} s)"
    return scorers, status
