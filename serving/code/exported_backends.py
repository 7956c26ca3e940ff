"""Run an exported cross-encoder in the endpoint: ONNX Runtime, OpenVINO or torch bf16 (nb 05).

``inference.py`` calls ``load(model_dir, ...)`` when ``model_dir/exported/backend.json`` exists
and gets an object whose ``.logits(pairs)`` returns one raw logit per (query, document) pair, in
input order; inference.py keeps validation, limits, activation and error statuses. This file
ships in ``model.tar.gz`` as ``code/exported_backends.py`` and imports nothing from the
rerank-lab ``helpers`` (the benchmark in ``helpers.bench`` times this very code).

``exported/backend.json`` (written by ``helpers.bench.ship``)::

    {"schema": 1, "backend": "openvino-int8", "engine": "openvino", "file": "model.xml",
     "precision": "f32", "activation": "sigmoid", "runtime": {"openvino": "2026.4.1"}}

engine      ``onnxruntime`` (``file``: an .onnx file), ``openvino`` (``file``: an IR .xml) or
            ``torch`` (``file``: a folder with the transformers model, run under bf16 autocast)
precision   the float type for what is not int8: ``f32``, or ``bf16`` (needs a CPU with
            avx512_bf16 or AMX; elsewhere it is emulated and slower than f32)

The runtime is not installed here (no ``pip install`` at cold start): it must come with the
serving image. A missing one raises ``MissingRuntimeError`` naming the package and version.
"""

from __future__ import annotations

import json
import logging
from importlib import metadata
from pathlib import Path

import numpy as np

LOG = logging.getLogger(__name__)
SPEC_FILE = Path("exported", "backend.json")
ENGINES = ("onnxruntime", "openvino", "torch")
PRECISIONS = ("f32", "bf16")
PACKAGES = {"onnxruntime": "onnxruntime", "openvino": "openvino", "torch": "torch"}


class MissingRuntimeError(RuntimeError):
    """The exported model needs a runtime that this Python does not have."""


def read_spec(model_dir) -> dict:
    """Read and check ``exported/backend.json``; raise ValueError naming what is wrong."""
    path = Path(model_dir, SPEC_FILE)
    spec = json.loads(path.read_text(encoding="utf-8"))
    if spec.get("engine") not in ENGINES:
        raise ValueError(
            f"{SPEC_FILE}: engine must be one of {ENGINES}, not {spec.get('engine')!r}"
        )
    if spec.get("precision", "f32") not in PRECISIONS:
        raise ValueError(f"{SPEC_FILE}: precision must be one of {PRECISIONS}")
    if not Path(model_dir, "exported", spec.get("file", "")).exists():
        raise ValueError(f"{SPEC_FILE}: exported/{spec.get('file')} is missing from the archive")
    return spec


def check_runtime(spec: dict) -> str:
    """Return the installed runtime's version; raise MissingRuntimeError if it is absent."""
    package = PACKAGES[spec["engine"]]
    wanted = spec.get("runtime", {}).get(package)
    try:
        installed = metadata.version(package)
    except metadata.PackageNotFoundError:
        raise MissingRuntimeError(
            f"backend {spec.get('backend')!r} needs {package}=={wanted or '<any>'}, which this "
            "Python lacks: serve with an image that has it (see notebook 05), or package the "
            "torch model instead"
        ) from None
    if wanted and installed.split("+")[0] != wanted.split("+")[0]:
        LOG.warning("backend exported with %s %s, running %s", package, wanted, installed)
    return installed


class ExportedModel:
    """A tokenizer plus one engine's forward pass, batched as CrossEncoder.predict batches."""

    def __init__(self, tokenizer, run, inputs, max_length: int, batch_size: int, name: str):
        self.tokenizer, self._run, self.inputs = tokenizer, run, inputs
        self.max_length, self.batch_size, self.name = max_length, batch_size, name

    def logits(self, pairs, batch_size: int | None = None, max_length: int | None = None):
        """Return one raw logit per (query, document) pair, in input order."""
        pairs = [(str(q), str(d)) for q, d in pairs]
        batch_size = batch_size or self.batch_size
        # Longest first, as CrossEncoder.predict: each batch pads to similar lengths.
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        out = np.empty(len(pairs), dtype="float32")
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = self.tokenizer(
                [pairs[i][0] for i in index],
                [pairs[i][1] for i in index],
                padding=True,
                truncation=True,
                max_length=max_length or self.max_length,
                return_tensors="np",
            )
            feed = {name: batch[name].astype("int64") for name in self.inputs}
            logits = np.asarray(self._run(feed), dtype="float32").reshape(len(index), -1)
            # One label: its logit. Two or more: the "relevant" column, as LangChain reads it.
            out[index] = logits[:, 0] if logits.shape[1] == 1 else logits[:, 1]
        return out.tolist()


def onnxruntime_runner(path: Path, threads: int | None):
    """Return (run(feed) -> logits, input names) for an ONNX file on ONNX Runtime's CPU."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or 0  # 0: one per core
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return (lambda feed: session.run(None, feed)[0]), [i.name for i in session.get_inputs()]


def openvino_runner(path: Path, threads: int | None, precision: str):
    """Return (run(feed) -> logits, input names) for an OpenVINO IR on the CPU plugin.

    The precision is always set: on a CPU with bf16 OpenVINO silently runs f32 models in bf16.
    """
    import openvino as ov

    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": precision}
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    compiled = ov.Core().compile_model(str(path), "CPU", config)
    request, output = compiled.create_infer_request(), compiled.output(0)
    return (lambda feed: request.infer(feed)[output]), [i.get_any_name() for i in compiled.inputs]


def torch_runner(folder: Path, threads: int | None, precision: str):
    """Return (run(feed) -> logits, input names) for a transformers model, bf16 autocast or f32."""
    import torch
    from transformers import AutoModelForSequenceClassification

    if threads:
        torch.set_num_threads(threads)
    model = AutoModelForSequenceClassification.from_pretrained(  # never a pickle (.bin)
        str(folder), use_safetensors=True
    )
    model = model.float().eval()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32

    @torch.inference_mode()
    def run(feed):
        tensors = {name: torch.from_numpy(value) for name, value in feed.items()}
        with torch.autocast("cpu", dtype=dtype, enabled=precision == "bf16"):
            return model(**tensors).logits.float().numpy()

    return run, None  # None: what the tokenizer returns


def load(model_dir, max_length: int = 512, batch_size: int = 32, threads: int | None = None):
    """Load ``model_dir/exported`` as ``backend.json`` describes; return an ExportedModel."""
    from transformers import AutoTokenizer

    spec = read_spec(model_dir)
    check_runtime(spec)
    folder = Path(model_dir, "exported")
    path, precision = folder / spec["file"], spec.get("precision", "f32")
    if spec["engine"] == "onnxruntime":
        run, inputs = onnxruntime_runner(path, threads)
    elif spec["engine"] == "openvino":
        run, inputs = openvino_runner(path, threads, precision)
    else:
        run, inputs = torch_runner(path, threads, precision)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    inputs = inputs or list(tokenizer.model_input_names)
    LOG.info("exported backend %s (%s, %s) loaded", spec.get("backend"), spec["engine"], precision)
    return ExportedModel(tokenizer, run, inputs, max_length, batch_size, spec.get("backend", ""))
