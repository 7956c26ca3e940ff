"""Export the cross-encoder once per model and recipe: ONNX, int8 (ONNX Runtime, NNCF), OpenVINO.

sentence-transformers' ``backend="onnx"/"openvino"`` need optimum-onnx / optimum-intel, whose
releases pin transformers below 4.58 / 5.6 and cannot be installed beside transformers 5.24; the
same engines are used directly instead (what those exporters do, step by step):

- ``torch.onnx.export`` writes ``model.onnx`` (dynamic batch and sequence axes);
- ONNX Runtime int8, dynamic: weights int8 per output channel, activations quantised per call;
- ONNX Runtime int8, static: QDQ, activations' ranges calibrated on real-looking pairs;
- OpenVINO converts the ONNX file to its IR; NNCF quantises it to int8, calibrated the same way.

Int8 recipes, chosen for fidelity to fp32 (largest logit difference, same top-1), never on the
labelled questions' nDCG: weights per output channel; the classifier head and pooler in fp32;
activations calibrated on (pseudo-question, dense candidate) pairs at the corpus's length; the
static recipes also keep each layer's FFN down-projection in fp32 (its input, after GELU, has the
outlier channels that per-tensor activation ranges cannot hold). Measured on the offline reranker
over 54 questions (AMX CPU): ONNX Runtime static with those layers in int8 kept 87-90% of fp32's
nDCG@10, without them 101%; NNCF's largest logit difference went 0.36 -> 0.26 and same-top-1
91% -> 94% (SmoothQuant off, alpha 0.5, full bias correction, first and last layers in fp32 were
tried and did worse or no better). Exports live in ``cache_dir()/bench/model-<hash>/`` (outside
the repository), keyed by the weights' content hash and the recipe.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import shutil
import warnings
from pathlib import Path

RECIPE = "r3"  # bump when an export recipe changes: old exports are then rebuilt
HEAD_NODES = ("classifier", "pooler")  # kept in fp32 by every int8 recipe


def model_key(model_path: str) -> str:
    """Return a short content hash of a model folder's weights and config (the export key)."""
    digest = hashlib.sha256()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = Path(model_path, name)
        if path.is_file():
            with path.open("rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()[:12]


def export_dir(model_path: str) -> Path:
    """Return the cache folder for a model's exports (outside the repository)."""
    from helpers.config import cache_dir

    return cache_dir() / "bench" / f"model-{model_key(model_path)}"


def snapshot_model(model_path: str) -> str:
    """Copy the model into its export folder once and return the copy.

    ``make models`` may replace the offline reranker while a benchmark runs; the copy (keyed
    by content hash) keeps every section on the same weights.
    """
    target = export_dir(model_path) / "source"
    if not (target / "config.json").is_file():
        tmp = target.with_name(f"source.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        from helpers.sagemaker.package import copy_serving_files

        copy_serving_files(model_path, tmp)  # config, tokenizer, one copy of the weights
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return str(target)


def _quiet():
    """Silence exporters' advice and progress output (one context for all of them)."""
    stack = contextlib.ExitStack()
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    logging.getLogger().setLevel(logging.ERROR)
    return stack


def export_onnx(model_path: str, folder: Path) -> Path:
    """Export the model to ONNX once (TorchScript exporter, dynamic batch and sequence)."""
    target = folder / "model.onnx"
    if target.is_file():
        return target
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    sample = tokenizer(
        [["a query", "a passage " * 20], ["q", "short"]], padding=True, return_tensors="pt"
    )
    names = [n for n in tokenizer.model_input_names if n in sample]

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(names, tensors, strict=True))).logits

    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    tmp = folder / f"model.{os.getpid()}.tmp.onnx"
    with _quiet():
        torch.onnx.export(
            Logits(model.eval()).eval(), tuple(sample[n] for n in names), str(tmp),
            input_names=names, output_names=["logits"], dynamic_axes=axes, opset_version=17,
            dynamo=False,
        )  # fmt: skip
    os.replace(tmp, target)
    return target


def is_ffn_down(name: str) -> bool:
    """Say whether a MatMul is a layer's FFN down-projection (BERT's ``layer.N.output.dense``)."""
    return "/output/dense" in name and "attention" not in name


def fp32_nodes(onnx_path: Path, static: bool = False) -> list[str]:
    """Return the ONNX nodes int8 recipes keep in fp32: the classifier head and pooler; for
    static recipes also the FFN down-projections and attention's activation-by-activation
    MatMuls (both inputs change with every request, so no calibrated range fits them)."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    weights = {i.name for i in graph.initializer}
    keep = []
    for node in graph.node:
        head = any(part in node.name for part in HEAD_NODES)
        activations = node.op_type == "MatMul" and not any(i in weights for i in node.input)
        if head or (static and (is_ffn_down(node.name) or activations)):
            keep.append(node.name)
    return keep


def export_onnx_int8_dynamic(onnx_path: Path, vnni: bool) -> Path:
    """Quantise weights to int8 per channel (activations at run time), head in fp32, once."""
    target = onnx_path.with_name(f"model_int8_dynamic_{RECIPE}.onnx")
    if target.is_file():
        return target
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    with _quiet():
        quantize_dynamic(
            str(onnx_path), str(tmp), weight_type=QuantType.QInt8, per_channel=True,
            reduce_range=not vnni, op_types_to_quantize=["MatMul", "Gemm"],
            nodes_to_exclude=fp32_nodes(onnx_path),
        )  # fmt: skip
    os.replace(tmp, target)
    return target


def _feeds(tokenizer, pairs, names, max_length: int):
    """Yield one tokenised pair at a time (calibration sees real, unpadded lengths)."""
    for query, doc in pairs:
        batch = tokenizer(
            [query], [doc], truncation=True, max_length=max_length, return_tensors="np"
        )
        yield {name: batch[name].astype("int64") for name in names}


def export_onnx_int8_static(onnx_path: Path, tokenizer, calibration, max_length: int, vnni: bool):
    """Quantise to int8 QDQ, activation ranges calibrated on real-looking pairs, once.

    ``fp32_nodes(static=True)`` stay in fp32.
    """
    target = onnx_path.with_name(f"model_int8_static_{RECIPE}.onnx")
    if target.is_file():
        return target
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )  # fmt: skip

    names = [i.name for i in ort.InferenceSession(str(onnx_path)).get_inputs()]

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.feeds = _feeds(tokenizer, calibration, names, max_length)

        def get_next(self):
            return next(self.feeds, None)

    tmp = target.with_name(f"{target.stem}.{os.getpid()}.tmp.onnx")
    with _quiet():
        quantize_static(
            str(onnx_path), str(tmp), Reader(), quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
            reduce_range=not vnni, op_types_to_quantize=["MatMul", "Gemm"],
            nodes_to_exclude=fp32_nodes(onnx_path, static=True),
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMaxIntermediateOutputs": 16},  # 16 pairs at a time: all took 19 GB
        )  # fmt: skip
    os.replace(tmp, target)
    return target


def export_openvino(onnx_path: Path) -> Path:
    """Convert the ONNX model to OpenVINO IR (weights kept in fp32), once."""
    target = onnx_path.parent / "openvino" / "model.xml"
    if target.is_file():
        return target
    import openvino as ov

    tmp = target.parent.with_name(f"openvino.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov.convert_model(str(onnx_path)), str(tmp / "model.xml"), compress_to_fp16=False)
    shutil.rmtree(target.parent, ignore_errors=True)
    os.replace(tmp, target.parent)
    return target


def export_openvino_int8(ov_path: Path, tokenizer, calibration, max_length: int) -> Path:
    """Quantise the OpenVINO model to int8 with NNCF (transformer preset), once; the head,
    pooler and FFN down-projections stay in fp32."""
    target = ov_path.parent.parent / f"openvino_int8_{RECIPE}" / "model.xml"
    if target.is_file():
        return target
    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)
    model = ov.Core().read_model(str(ov_path))
    names = [i.get_any_name() for i in model.inputs]
    heads = [op.get_friendly_name() for op in model.get_ops() if op.get_type_name() == "MatMul"]
    heads = [n for n in heads if any(part in n for part in HEAD_NODES) or is_ffn_down(n)]
    dataset = nncf.Dataset(list(_feeds(tokenizer, calibration, names, max_length)))
    with _quiet():
        quantized = nncf.quantize(
            model, dataset, model_type=nncf.ModelType.TRANSFORMER, subset_size=len(calibration),
            ignored_scope=nncf.IgnoredScope(names=heads, validate=False),
        )  # fmt: skip
    tmp = target.parent.with_name(f"{target.parent.name}.{os.getpid()}.tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, str(tmp / "model.xml"), compress_to_fp16=False)
    shutil.rmtree(target.parent, ignore_errors=True)
    os.replace(tmp, target.parent)
    return target
