"""Benchmarks that show what reranking costs on this machine (issue 6, notebook 05).

``python -m helpers.bench [--quick] [--out build/bench] [--model PATH]`` measures five things and
writes ``results.json`` (machine-readable), ``results.md`` (Markdown tables) and PNG plots:

1. Cross-encoder throughput (pairs/s) for torch fp32 and the CPU backends that work offline
   (ONNX Runtime, OpenVINO, and their int8 exports), with each backend's nDCG@10 against fp32.
2. The LangChain path (ContextualCompressionRetriever + CrossEncoderReranker, and the course's
   ``build_reranking_retriever``) against a raw ``CrossEncoder.predict`` on the same pairs.
3. End-to-end query latency (p50/p95) split into query embedding, FAISS search and rerank.
4. The local SageMaker serving path (HTTP through the model server) against the same handler
   called in-process.
5. Torch threads 1 vs 2.

Every comparison is measured side by side in one run: the contenders are interleaved (the order
rotates every repetition), each is warmed up first, and ratios are taken per repetition, then
summarised as median and min–max. Nothing here is asserted in tests: machines are shared and noisy.

Grid choice (to stay under 10 minutes on 2 cores): every backend runs the full batch-size grid at
max_length 256 on the course's real (query, chunk) pairs, then the max_length sweep at the batch
size where torch fp32 was fastest, on long passages (four consecutive chunks, ~2,000 characters)
so that truncation actually binds. Course chunks are ~500 characters (~130 tokens with the
query), so with them max_length above ~160 changes nothing.

Backends: sentence-transformers' ``backend="onnx"``/``"openvino"`` need ``optimum-onnx`` /
``optimum-intel``, whose releases pin transformers below 4.58 / 5.6 and cannot be installed
beside transformers 5.24. The same engines are used directly instead: the model is exported
once with ``torch.onnx.export`` and run with ONNX Runtime; OpenVINO converts that ONNX file; the
int8 variants are ONNX Runtime dynamic quantisation (what ``export_dynamic_quantized_onnx_model``
does) and NNCF static quantisation calibrated on corpus pairs (what
``export_static_quantized_openvino_model`` does). Tokenisation, length-sorting and batching
mirror ``CrossEncoder.predict``. Exports live under ``helpers.config.cache_dir()/bench``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import platform
import random
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from helpers.timing import interleaved, paired_ratios, percentile, summarize  # noqa: F401

SCHEMA_VERSION = 1
BATCH_SIZES = (1, 8, 16, 32, 64)
MAX_LENGTHS = (128, 256, 512)
GRID_MAX_LENGTH = 256
KS = (10, 20, 50)
BACKENDS = ("torch-fp32", "onnx", "openvino", "onnx-qint8", "openvino-qint8")
SECTIONS = ("throughput", "langchain", "latency", "sagemaker", "threads")
TITLES = {
    "throughput": "1. Cross-encoder throughput and backends",
    "langchain": "2. LangChain path vs raw CrossEncoder.predict",
    "latency": "3. End-to-end query latency by stage",
    "sagemaker": "4. Local SageMaker serving (HTTP through MMS) vs in-process",
    "threads": "5. Torch threads",
}
GOALS = {
    "throughput": (2.5, 0.99),  # best backend: speed-up >= 2.5x at >= 99% of fp32 nDCG@10
    "langchain": 1.05,
    "latency": 0.10,
    "sagemaker": 1.15,
}
LIBRARIES = (
    "torch", "transformers", "sentence-transformers", "tokenizers", "huggingface-hub", "numpy",
    "onnx", "onnxruntime", "openvino", "nncf", "optimum", "optimum-onnx", "optimum-intel",
    "langchain", "langchain-core", "langchain-classic", "langchain-community",
    "langchain-huggingface", "faiss-cpu", "ranx", "matplotlib",
)  # fmt: skip


# --- statistics ------------------------------------------------------------------------------


def fmt_ratio(value: float | None) -> str:
    """Format a ratio as ``1.23×``."""
    return "n/a" if value is None else f"{value:.2f}×"


def fmt_summary(summary: dict | None, spec: str = ".1f", suffix: str = "") -> str:
    """Format ``median (min–max)``."""
    if not summary:
        return "n/a"
    median, low, high = summary["median"], summary["min"], summary["max"]
    return f"{median:{spec}}{suffix} ({low:{spec}}–{high:{spec}})"


def fmt_ratio_summary(summary: dict | None) -> str:
    """Format a ratio summary as ``1.23× (1.10–1.31)``."""
    if not summary:
        return "n/a"
    return f"{fmt_ratio(summary['median'])} ({summary['min']:.2f}–{summary['max']:.2f})"


def goal_line(label: str, met: bool | None, detail: str) -> str:
    """Return a ``goal met / not met`` line."""
    verdict = "not measured" if met is None else ("goal met" if met else "goal NOT met")
    return f"{label}: {verdict} — {detail}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return a Markdown table; the first column is left-aligned, the rest right-aligned."""
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --- results schema ---------------------------------------------------------------------------

MEASUREMENT_KEYS = ("median", "min", "max", "p95", "repetitions", "unit")


def validate_results(results: dict) -> list[str]:
    """Return the problems with a results dict (empty when it follows the schema)."""
    problems = []
    for key in ("schema_version", "created", "machine", "libraries", "settings", "sections"):
        if key not in results:
            problems.append(f"missing top-level key {key!r}")
    machine = results.get("machine", {})
    for key in ("cpu_model", "logical_cores"):
        if key not in machine:
            problems.append(f"machine lacks {key!r}")
    sections = results.get("sections", {})
    for name in SECTIONS:
        section = sections.get(name)
        if not isinstance(section, dict):
            problems.append(f"section {name!r} missing")
            continue
        if section.get("status") not in ("ok", "partial", "not available"):
            problems.append(f"section {name!r} has no valid status")
        for index, item in enumerate(section.get("measurements", [])):
            missing = [k for k in ("name", *MEASUREMENT_KEYS) if k not in item]
            if missing:
                problems.append(f"{name} measurement {index} lacks {missing}")
    return problems


def measurement(name: str, values: Sequence[float], unit: str, **labels) -> dict:
    """Return one measurement record: name, labels, then the summary statistics."""
    return {"name": name, **labels, **summarize(values, unit)}


# --- machine and libraries --------------------------------------------------------------------


def cpu_model() -> str:
    """Return the CPU's model name."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    """Return the SIMD flags that matter for int8 inference."""
    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "amx_bf16")
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return [f for f in wanted if f in flags]
    return []


def machine_info() -> dict:
    """Return CPU model, cores, SIMD flags, load and OS."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "simd": cpu_flags(),
        "load_average_at_start": list(load) if load else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def library_versions() -> dict:
    """Return installed versions of the libraries that matter here (None when missing)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


# --- settings ---------------------------------------------------------------------------------


@dataclass
class Settings:
    """How much to measure; ``--quick`` shrinks everything to stay under two minutes."""

    quick: bool = False
    budget_seconds: float = 420  # sections stop adding repetitions past their share of it
    repetitions: int = 3
    warmup: int = 1
    min_pairs_per_repetition: int = 8  # each batch size scores max(this, batch size) pairs
    long_pairs_per_repetition: int = 8
    quality_queries: int | None = 12  # None: every answerable labelled query
    candidates: int = 20
    langchain_queries: int = 1
    langchain_repetitions: int = 8
    latency_queries: int = 8
    sagemaker_pairs: int = 20
    sagemaker_repetitions: int = 8
    sagemaker_timeout: float = 240
    threads_pairs: int = 32
    threads: tuple[int, ...] = (1, 2)
    batch_sizes: tuple[int, ...] = BATCH_SIZES
    max_lengths: tuple[int, ...] = MAX_LENGTHS
    ks: tuple[int, ...] = KS
    default_batch_size: int = 32
    default_max_length: int = 512  # make_cross_encoder's default
    backends: tuple[str, ...] = BACKENDS
    calibration_pairs: int = 120
    deadline: float | None = None  # set per section by run()

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        if not quick:
            return cls()
        return cls(
            quick=True, budget_seconds=50, repetitions=2, min_pairs_per_repetition=4,
            long_pairs_per_repetition=2, quality_queries=2, candidates=10, langchain_queries=1,
            langchain_repetitions=2, latency_queries=2, sagemaker_pairs=5,
            sagemaker_repetitions=2, threads_pairs=4, batch_sizes=(1, 4), max_lengths=(128, 256),
            ks=(10, 20), sagemaker_timeout=120,
        )  # fmt: skip


# share of the budget (cumulative) by the end of each section
BUDGET_SHARES = {"throughput": 0.50, "langchain": 0.60, "latency": 0.72, "sagemaker": 0.88,
                 "threads": 0.97}  # fmt: skip


# --- workload ---------------------------------------------------------------------------------


@dataclass
class Workload:
    """Chunks, labelled queries, dense candidates and the pairs every section scores."""

    chunks: list
    answerable: list[dict]
    no_answer: list[dict]
    qrels: object
    embeddings: object
    store: object
    candidates: dict[str, list]  # query id -> dense top-N documents
    pairs: list[tuple[str, str]]  # real (query, chunk) pairs, all candidates of all queries
    long_pairs: list[tuple[str, str]]  # (query, four consecutive chunks)
    dense_ndcg: float | None = None


def build_workload(settings: Settings, embedding_model: str | None = None) -> Workload:
    """Load the corpus and labels, index the chunks in FAISS and collect dense candidates."""
    from helpers.data import load_corpus, split_corpus
    from helpers.evaluation import build_qrels, label_chunks, load_queries, select
    from helpers.retrieval import build_faiss_retriever, make_embeddings

    documents = load_corpus()
    text = "\n".join(d.page_content for d in documents)
    chunks = split_corpus(documents)
    queries = load_queries(corpus_text=text)
    answerable = select(queries, answerable=True)
    if settings.quality_queries:
        answerable = answerable[: settings.quality_queries]
    no_answer = select(queries, answerable=False)
    qrels = build_qrels(label_chunks(answerable, chunks))
    embeddings = make_embeddings(embedding_model, device="cpu")
    retriever = build_faiss_retriever(chunks, embeddings, k=max(settings.candidates, *KS))
    store = retriever.vectorstore
    candidates, pairs, long_pairs = {}, [], []
    by_id = {c.metadata["id"]: c.page_content for c in chunks}
    for query in answerable:
        found = store.similarity_search_with_score(query["query"], k=settings.candidates)
        candidates[query["id"]] = [doc for doc, _ in found]
        for doc in candidates[query["id"]]:
            pairs.append((query["query"], doc.page_content))
            start = doc.metadata["id"]
            long_text = " ".join(by_id[i] for i in range(start, start + 4) if i in by_id)
            long_pairs.append((query["query"], long_text))
    workload = Workload(
        chunks, answerable, no_answer, qrels, embeddings, store, candidates, pairs, long_pairs
    )
    workload.dense_ndcg = ndcg_at_10(
        workload, {qid: [float(-i) for i in range(len(d))] for qid, d in candidates.items()}
    )
    return workload


def spread(pairs: list, count: int, seed: int = 0) -> list:
    """Return ``count`` pairs drawn evenly (repeatably) from ``pairs``."""
    rng = random.Random(seed)
    chosen = rng.sample(pairs, min(count, len(pairs)))
    while len(chosen) < count:
        chosen.append(pairs[len(chosen) % len(pairs)])
    return chosen


def ndcg_at_10(workload: Workload, scores: dict[str, Sequence[float]]) -> float | None:
    """Return ranx nDCG@10 of reranking each query's dense candidates by ``scores``."""
    from ranx import Run, evaluate

    run = {}
    for qid, docs in workload.candidates.items():
        if qid not in workload.qrels.keys():
            continue
        run[qid] = {str(d.metadata["id"]): float(s) for d, s in zip(docs, scores[qid], strict=True)}
    if not run:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(evaluate(workload.qrels, Run(run), "ndcg@10", make_comparable=True))


# --- scorers ----------------------------------------------------------------------------------


class TorchScorer:
    """sentence-transformers' CrossEncoder in fp32 (the course's path), raw logits."""

    name = "torch-fp32"

    def __init__(self, model_path: str):
        import torch
        from sentence_transformers import CrossEncoder

        self.model = CrossEncoder(
            model_path, device="cpu", activation_fn=torch.nn.Identity(),
            model_kwargs={"dtype": torch.float32},
        )  # fmt: skip
        self.tokenizer = self.model.tokenizer

    def score(self, pairs, batch_size: int = 32, max_length: int = 512):
        import numpy as np

        self.model.max_seq_length = max_length
        scores = self.model.predict(list(pairs), batch_size=batch_size, show_progress_bar=False)
        return np.asarray(scores, dtype="float32").reshape(-1)


class ExportedScorer:
    """An exported model run by ONNX Runtime or OpenVINO, batched like CrossEncoder.predict."""

    def __init__(self, name: str, engine: str, path: Path, tokenizer, threads: int):
        self.name, self.engine, self.tokenizer, self.path = name, engine, tokenizer, Path(path)
        if engine == "onnxruntime":
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
            self.inputs = [i.name for i in self.session.get_inputs()]
            self._run = lambda feed: self.session.run(None, feed)[0]
        else:
            import openvino as ov

            core = ov.Core()
            compiled = core.compile_model(
                str(path), "CPU",
                {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"},
            )  # fmt: skip
            self.compiled = compiled
            self.inputs = [i.get_any_name() for i in compiled.inputs]
            request = compiled.create_infer_request()
            self._run = lambda feed: request.infer(feed)[compiled.output(0)]

    def score(self, pairs, batch_size: int = 32, max_length: int = 512):
        import numpy as np

        pairs = list(pairs)
        order = sorted(range(len(pairs)), key=lambda i: -(len(pairs[i][0]) + len(pairs[i][1])))
        out = np.empty(len(pairs), dtype="float32")
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            batch = self.tokenizer(
                [[pairs[i][0], pairs[i][1]] for i in index], padding=True, truncation=True,
                max_length=max_length, return_tensors="np",
            )  # fmt: skip
            feed = {name: batch[name].astype("int64") for name in self.inputs}
            out[index] = np.asarray(self._run(feed)).reshape(len(index), -1)[:, 0]
        return out


def model_key(model_path: str) -> str:
    """Return a short content hash of a model folder's weights and config (the export key)."""
    digest = hashlib.sha256()
    folder = Path(model_path)
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = folder / name
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
    import shutil

    target = export_dir(model_path) / "source"
    if not (target / "config.json").is_file():
        tmp = target.with_name("source.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(model_path, tmp, ignore=shutil.ignore_patterns("code", "*.tar.gz"))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    return str(target)


def _publish(tmp: Path, target: Path) -> Path:
    os.replace(tmp, target)
    return target


def export_onnx(model_path: str, folder: Path) -> Path:
    """Export the model to ONNX once (TorchScript exporter, dynamic batch and sequence)."""
    target = folder / "model.onnx"
    if target.is_file():
        return target
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        model_path, dtype=torch.float32
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    sample = tokenizer(
        [["a query", "a passage " * 20], ["q", "short"]], padding=True, return_tensors="pt"
    )
    names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Logits(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, *tensors):
            return self.inner(**dict(zip(names, tensors, strict=True))).logits

    wrapper = Logits(model).eval()
    axes = {n: {0: "batch", 1: "sequence"} for n in names} | {"logits": {0: "batch"}}
    tmp = folder / "model.onnx.tmp"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, tuple(sample[n] for n in names), str(tmp), input_names=names,
            output_names=["logits"], dynamic_axes=axes, opset_version=17, dynamo=False,
        )  # fmt: skip
    return _publish(tmp, target)


def export_onnx_qint8(onnx_path: Path) -> Path:
    """Quantise the ONNX model's weights to int8 (dynamic activations), once."""
    target = onnx_path.with_name("model_qint8.onnx")
    if target.is_file():
        return target
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.getLogger().setLevel(logging.ERROR)  # "consider pre-processing" advice
    tmp = onnx_path.with_name("model_qint8.tmp.onnx")
    quantize_dynamic(str(onnx_path), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    return _publish(tmp, target)


def export_openvino(onnx_path: Path) -> Path:
    """Convert the ONNX model to OpenVINO IR, once."""
    target = onnx_path.parent / "openvino" / "model.xml"
    if target.is_file():
        return target
    import openvino as ov

    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(ov.convert_model(str(onnx_path)), str(target), compress_to_fp16=False)
    return target


def export_openvino_qint8(ov_path: Path, tokenizer, calibration: list, max_length: int) -> Path:
    """Quantise the OpenVINO model to int8 with NNCF, calibrated on corpus pairs, once."""
    target = ov_path.parent.parent / "openvino_qint8" / "model.xml"
    if target.is_file():
        return target
    import logging

    import nncf
    import openvino as ov

    nncf.set_log_level(logging.ERROR)
    model = ov.Core().read_model(str(ov_path))
    names = [i.get_any_name() for i in model.inputs]

    def feed(pair):
        batch = tokenizer([list(pair)], truncation=True, max_length=max_length, return_tensors="np")
        return {name: batch[name].astype("int64") for name in names}

    dataset = nncf.Dataset(calibration, feed)
    with contextlib.redirect_stdout(io.StringIO()):
        quantized = nncf.quantize(
            model, dataset, model_type=nncf.ModelType.TRANSFORMER,
            subset_size=len(calibration),
        )  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    ov.save_model(quantized, str(target), compress_to_fp16=False)
    return target


def calibration_pairs(chunks, count: int, seed: int = 7) -> list[tuple[str, str]]:
    """Return (pseudo-query, chunk) pairs from the corpus: a chunk's first words as the query.

    Calibration never sees the labelled queries, so quantisation cannot fit the evaluation.
    """
    rng = random.Random(seed)
    pairs = []
    for chunk in rng.sample(list(chunks), min(count, len(chunks))):
        words = chunk.page_content.split()
        start = rng.randrange(max(1, len(words) - 8))
        query = " ".join(words[start : start + rng.randint(4, 8)])
        other = rng.choice(chunks).page_content
        pairs.append((query, chunk.page_content if rng.random() < 0.5 else other))
    return pairs


ST_BACKENDS = {
    "st-onnx": ("optimum.onnxruntime", "optimum-onnx", "transformers<4.58"),
    "st-openvino": ("optimum.intel", "optimum-intel", "transformers<5.6 and huggingface-hub<1.22"),
}


def st_backend_status() -> dict[str, str]:
    """Say whether sentence-transformers' own backend="onnx"/"openvino" can load here, and why not.

    They need optimum-onnx / optimum-intel; the engines themselves are measured above anyway.
    """
    import importlib.util

    status = {}
    for name, (module, package, pins) in ST_BACKENDS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        label = f"{name} (CrossEncoder backend={name[3:]!r})"
        status[label] = (
            "installed, not measured separately (same engine as the row above it)"
            if found
            else f"not available: needs {package}, whose releases pin {pins} "
            "(this project has transformers 5.24); the same engine is measured directly above"
        )
    return status


def load_scorers(
    model_path: str, backends: Sequence[str], threads: int, chunks, settings: Settings
) -> tuple[dict, dict]:
    """Build every backend that works; return (scorers, {backend: status or reason})."""
    from transformers import AutoTokenizer

    scorers, status = {}, {}
    if "torch-fp32" in backends:
        scorers["torch-fp32"] = TorchScorer(model_path)
        status["torch-fp32"] = "ok"
    folder = export_dir(model_path)
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    steps = {
        "onnx": ("onnxruntime", lambda: export_onnx(model_path, folder)),
        "onnx-qint8": (
            "onnxruntime", lambda: export_onnx_qint8(export_onnx(model_path, folder))
        ),
        "openvino": ("openvino", lambda: export_openvino(export_onnx(model_path, folder))),
        "openvino-qint8": (
            "openvino",
            lambda: export_openvino_qint8(
                export_openvino(export_onnx(model_path, folder)), tokenizer,
                calibration_pairs(chunks, settings.calibration_pairs), settings.default_max_length,
            ),
        ),
    }  # fmt: skip
    for name in ("onnx", "openvino", "onnx-qint8", "openvino-qint8"):
        if name not in backends:
            continue
        engine, build = steps[name]
        try:
            started = time.perf_counter()
            path = build()
            scorers[name] = ExportedScorer(name, engine, path, tokenizer, threads)
            took = time.perf_counter() - started
            status[name] = "ok" if took < 1 else f"ok (export/compile took {took:.0f} s)"
        except Exception as exc:  # a backend that cannot work is reported, never fatal
            status[name] = f"not available: {type(exc).__name__}: {str(exc).splitlines()[0]}"
    return scorers, status


# --- 1. throughput ----------------------------------------------------------------------------


def _grid_deadline(settings: Settings, share: float) -> float | None:
    """Return the point within the throughput section's budget share where sweeps stop."""
    if settings.deadline is None:
        return None
    section = settings.budget_seconds * BUDGET_SHARES["throughput"]
    return settings.deadline - section * (1 - share)


def _throughput(name, pairs, seconds, **labels):
    return measurement(name, [len(pairs) / s for s in seconds], "pairs/s", **labels)


def _record_sweep(seconds, pairs, measurements, ratios, kind, *, batch_size, max_length, **labels):
    """Append each backend's throughput, and its speed-up over torch-fp32, for one sweep point."""
    records = {}
    for name, values in seconds.items():
        records[name] = _throughput(
            name, pairs, values, batch_size=batch_size, max_length=max_length, **labels
        )
        measurements.append(records[name])
        if name != "torch-fp32" and "torch-fp32" in seconds:
            ratios.append(
                measurement(
                    name, paired_ratios(seconds["torch-fp32"], values), "× vs torch-fp32",
                    batch_size=batch_size, max_length=max_length, kind=kind,
                )
            )  # fmt: skip
    return records


def bench_throughput(scorers: dict, status: dict, workload: Workload, settings: Settings) -> dict:
    """Throughput over the batch grid and max_length sweep, speed-ups and nDCG vs fp32."""
    measurements, ratios = [], []
    grid = {}
    for batch_size in settings.batch_sizes:
        pairs = spread(workload.pairs, max(batch_size, settings.min_pairs_per_repetition))
        seconds = interleaved(
            {
                name: (lambda s=s, b=batch_size, p=pairs: s.score(p, b, GRID_MAX_LENGTH))
                for name, s in scorers.items()
            },
            settings.repetitions, settings.warmup,
            warmups={
                name: (lambda s=s, b=batch_size, p=pairs[:batch_size]: s.score(p, b, 256))
                for name, s in scorers.items()
            },
            deadline=_grid_deadline(settings, 0.6),
        )  # fmt: skip
        records = _record_sweep(
            seconds, pairs, measurements, ratios, "speed-up", batch_size=batch_size,
            max_length=GRID_MAX_LENGTH, sweep="batch_size", workload="course chunks",
        )  # fmt: skip
        grid.update({(name, batch_size): record for name, record in records.items()})
    best_batch = max(
        settings.batch_sizes,
        key=lambda b: grid.get(("torch-fp32", b), {"median": 0})["median"],
    )
    long_pairs = spread(workload.long_pairs, settings.long_pairs_per_repetition, seed=1)
    for max_length in settings.max_lengths:
        seconds = interleaved(
            {
                name: (lambda s=s, m=max_length: s.score(long_pairs, best_batch, m))
                for name, s in scorers.items()
            },
            settings.repetitions, settings.warmup, deadline=_grid_deadline(settings, 0.75),
        )  # fmt: skip
        _record_sweep(
            seconds, long_pairs, measurements, ratios, "speed-up (long)", batch_size=best_batch,
            max_length=max_length, sweep="max_length", workload="long passages (4 chunks)",
        )  # fmt: skip
    quality = {}
    reference = None
    for name, scorer in scorers.items():
        scores = {}
        for qid, docs in workload.candidates.items():
            query = next(q["query"] for q in workload.answerable if q["id"] == qid)
            pairs_q = [(query, d.page_content) for d in docs]
            scores[qid] = scorer.score(
                pairs_q, settings.default_batch_size, settings.default_max_length
            ).tolist()
        ndcg = ndcg_at_10(workload, scores)
        if name == "torch-fp32":
            reference = scores
        agreement = _top1_agreement(reference, scores) if reference else None
        quality[name] = {"ndcg@10": ndcg, "top1_agreement_with_fp32": agreement}
    fp32 = quality.get("torch-fp32", {}).get("ndcg@10")
    for entry in quality.values():
        value = entry["ndcg@10"]
        entry["ndcg_ratio_vs_fp32"] = value / fp32 if fp32 and value is not None else None
    return {
        "status": "ok" if all(s.startswith("ok") for s in status.values()) else "partial",
        "backends": status,
        "sentence_transformers_backends": st_backend_status(),
        "best_torch_batch_size": best_batch,
        "grid_max_length": GRID_MAX_LENGTH,
        "dense_ndcg@10": workload.dense_ndcg,
        "quality_queries": len(workload.candidates),
        "candidates": settings.candidates,
        "quality": quality,
        "measurements": measurements,
        "ratios": ratios,
    }


def _top1_agreement(reference: dict, scores: dict) -> float:
    same = 0
    for qid, ref in reference.items():
        same += max(range(len(ref)), key=ref.__getitem__) == max(
            range(len(scores[qid])), key=scores[qid].__getitem__
        )
    return same / max(len(reference), 1)


def best_backend(section: dict) -> tuple[str, dict, float | None] | None:
    """Return (backend, speed-up summary, nDCG ratio) of the fastest backend at >= 99% nDCG.

    Speed-ups are taken at the default batch size (or the largest measured) and max_length 256.
    """
    ratios = [r for r in section.get("ratios", []) if r.get("kind") == "speed-up"]
    if not ratios:
        return None
    sizes = sorted({r["batch_size"] for r in ratios})
    batch = 32 if 32 in sizes else sizes[-1]
    chosen = None
    for ratio in (r for r in ratios if r["batch_size"] == batch):
        quality = section["quality"].get(ratio["name"], {}).get("ndcg_ratio_vs_fp32")
        ok = quality is not None and quality >= GOALS["throughput"][1]
        key = (ok, ratio["median"])
        if chosen is None or key > chosen[0]:
            chosen = (key, (ratio["name"], ratio, quality))
    return chosen[1] if chosen else None


# --- 2. LangChain overhead --------------------------------------------------------------------


def fixed_retriever(results: dict[str, list]):
    """Return a LangChain retriever that answers each known query with fixed documents."""
    from langchain_core.retrievers import BaseRetriever

    class FixedRetriever(BaseRetriever):
        results: dict

        def _get_relevant_documents(self, query, *, run_manager=None):
            return list(self.results[query])

    return FixedRetriever(results=results)


def bench_langchain(model_path: str, workload: Workload, settings: Settings) -> dict:
    """Time the LangChain reranking paths against raw CrossEncoder.predict on the same pairs."""
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

    from helpers.reranking import build_reranking_retriever, make_cross_encoder

    cross_encoder = make_cross_encoder(model_path, device="cpu")
    client = cross_encoder.client
    queries = [q for q in workload.answerable if q["id"] in workload.candidates]
    queries = queries[: settings.langchain_queries]
    docs = {q["query"]: workload.candidates[q["id"]] for q in queries}
    base = fixed_retriever(docs)
    langchain = ContextualCompressionRetriever(
        base_compressor=CrossEncoderReranker(model=cross_encoder, top_n=3), base_retriever=base
    )
    course = build_reranking_retriever(base, top_n=3, cross_encoder=cross_encoder)

    def raw():
        for query, found in docs.items():
            scores = client.predict([(query, d.page_content) for d in found])
            sorted(zip(found, scores, strict=True), key=lambda p: -p[1])[:3]

    def run(retriever):
        return lambda: [retriever.invoke(query) for query in docs]

    seconds = interleaved(
        {
            "raw CrossEncoder.predict": raw,
            "ContextualCompressionRetriever + CrossEncoderReranker": run(langchain),
            "build_reranking_retriever (course)": run(course),
        },
        settings.langchain_repetitions, settings.warmup, deadline=settings.deadline,
    )  # fmt: skip
    pairs = sum(len(found) for found in docs.values())
    measurements = [
        measurement(name, [v * 1000 / len(docs) for v in values], "ms/query", pairs=pairs)
        for name, values in seconds.items()
    ]
    raw_seconds = seconds["raw CrossEncoder.predict"]
    ratios = [
        measurement(name, paired_ratios(values, raw_seconds), "× vs raw")
        for name, values in seconds.items()
        if name != "raw CrossEncoder.predict"
    ]
    return {
        "status": "ok",
        "queries": len(docs),
        "candidates_per_query": settings.candidates,
        "measurements": measurements,
        "ratios": ratios,
    }


# --- 3. end-to-end latency --------------------------------------------------------------------


def bench_latency(model_path: str, workload: Workload, settings: Settings) -> dict:
    """Per-query latency split into query embedding, FAISS search and rerank, for each k."""
    from helpers.reranking import make_cross_encoder

    cross_encoder = make_cross_encoder(model_path, device="cpu")
    queries = (workload.answerable + workload.no_answer)[: settings.latency_queries]
    store, embeddings = workload.store, workload.embeddings

    def one(query: str, k: int) -> dict:
        t0 = time.perf_counter()
        vector = embeddings.embed_query(query)
        t1 = time.perf_counter()
        found = store.similarity_search_with_score_by_vector(vector, k=k)
        t2 = time.perf_counter()
        scores = cross_encoder.score([(query, doc.page_content) for doc, _ in found])
        t3 = time.perf_counter()
        sorted(zip(found, scores, strict=True), key=lambda p: -p[1])
        t4 = time.perf_counter()
        return {"embed": t1 - t0, "search": t2 - t1, "rerank": t3 - t2, "other": t4 - t3,
                "total": t4 - t0}  # fmt: skip

    for k in settings.ks:  # warm-up
        one(queries[0]["query"], k)
    stages: dict[int, list[dict]] = {k: [] for k in settings.ks}
    for index, query in enumerate(queries):
        if index >= 4 and settings.deadline and time.monotonic() > settings.deadline:
            break
        order = list(settings.ks)
        shift = index % len(order)
        for k in order[shift:] + order[:shift]:
            stages[k].append(one(query["query"], k))
    measurements, shares = [], {}
    for k, rows in stages.items():
        for stage in ("embed", "search", "rerank", "other", "total"):
            measurements.append(measurement(stage, [r[stage] * 1000 for r in rows], "ms", k=k))
        share = [1 - r["rerank"] / r["total"] for r in rows]
        shares[k] = measurement("not cross-encoder share", share, "fraction", k=k)
    return {
        "status": "ok",
        "queries": len(queries),
        "measurements": measurements,
        "shares": list(shares.values()),
    }


# --- 4. SageMaker serving ---------------------------------------------------------------------


def sagemaker_unavailable_reason() -> str | None:
    """Return why the local SageMaker path cannot run here, or None when it can."""
    try:
        from helpers import sagemaker
    except Exception as exc:
        return f"helpers.sagemaker does not import ({type(exc).__name__}: {exc})"
    for needed in ("serve_locally", "load_handler", "serve_python"):
        if not hasattr(sagemaker, needed):
            return f"helpers.sagemaker has no {needed}()"
    try:
        sagemaker.serve_python()
    except FileNotFoundError as exc:
        return str(exc)
    return None


def bench_sagemaker(model_path: str, workload: Workload, settings: Settings, threads: int) -> dict:
    """Time 20 pairs through the local endpoint (HTTP + MMS) vs the same handler in-process.

    Both sides run serving/code/inference.py's model with the same thread count; the server is
    started with helpers.sagemaker.serve_locally (the real multi-model-server when Java exists).
    """
    reason = sagemaker_unavailable_reason()
    if reason:
        return {"status": "not available", "reason": reason, "measurements": [], "ratios": []}
    import torch

    from helpers import sagemaker

    pairs = spread(workload.pairs, settings.sagemaker_pairs, seed=3)
    env = {"RERANKER_NUM_THREADS": str(threads)}
    previous_threads = torch.get_num_threads()
    try:
        with contextlib.ExitStack() as stack:
            for key, value in env.items():
                stack.enter_context(_env(key, value))
            handler = sagemaker.load_handler()
            in_process = handler.model_fn(model_path)
            torch.set_num_threads(threads)
            started = time.perf_counter()
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                endpoint = stack.enter_context(
                    sagemaker.serve_locally(model_path, **_serve_kwargs(sagemaker, env, settings))
                )
            startup = time.perf_counter() - started
            server = "multi-model-server" if sagemaker.java_available() else "fallback http.server"
            seconds = interleaved(
                {
                    "in-process (inference.py)": lambda: in_process.score(pairs),
                    "HTTP through local endpoint": lambda: endpoint.score(pairs),
                },
                settings.sagemaker_repetitions, settings.warmup + 1, deadline=settings.deadline,
            )  # fmt: skip
    except Exception as exc:  # the server may fail to start on this machine: say why
        return {
            "status": "not available",
            "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            "detail": str(exc)[-2000:],
            "measurements": [],
            "ratios": [],
        }
    finally:
        torch.set_num_threads(previous_threads)
    measurements = [
        measurement(name, [v * 1000 for v in values], "ms", pairs=len(pairs))
        for name, values in seconds.items()
    ]
    ratio = measurement(
        "HTTP / in-process",
        paired_ratios(seconds["HTTP through local endpoint"], seconds["in-process (inference.py)"]),
        "×",
    )
    return {
        "status": "ok",
        "server": server,
        "startup_seconds": startup,
        "threads": threads,
        "measurements": measurements,
        "ratios": [ratio],
    }


def _serve_kwargs(sagemaker, env: dict, settings: Settings) -> dict:
    import inspect

    accepted = inspect.signature(sagemaker.serve_locally).parameters
    kwargs = {"env": env}
    if "timeout" in accepted:
        kwargs["timeout"] = settings.sagemaker_timeout
    return kwargs


@contextlib.contextmanager
def _env(key: str, value: str):
    old = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


# --- 5. threads -------------------------------------------------------------------------------


def bench_threads(
    scorers: dict, workload: Workload, settings: Settings, batch: int, fastest: str | None
) -> dict:
    """Throughput with 1 vs 2 threads: torch fp32 (set_num_threads) and the fastest backend."""
    import torch

    pairs = spread(workload.pairs, settings.threads_pairs)
    contenders = {}
    previous = torch.get_num_threads()
    torch_scorer = scorers.get("torch-fp32")

    def with_threads(count):
        def call():
            torch.set_num_threads(count)
            torch_scorer.score(pairs, batch, GRID_MAX_LENGTH)

        return call

    if torch_scorer:
        for count in settings.threads:
            contenders[f"torch-fp32, {count} thread(s)"] = with_threads(count)
    fastest = scorers.get(fastest) if fastest != "torch-fp32" else None
    if fastest:
        for count in settings.threads:
            exported = ExportedScorer(
                fastest.name, fastest.engine,
                fastest.path, fastest.tokenizer, count,
            )  # fmt: skip
            contenders[f"{fastest.name}, {count} thread(s)"] = lambda e=exported: e.score(
                pairs, batch, GRID_MAX_LENGTH
            )
    try:
        seconds = interleaved(
            contenders, settings.repetitions, settings.warmup, deadline=settings.deadline
        )
    finally:
        torch.set_num_threads(previous)
    measurements = [
        _throughput(name, pairs, values, batch_size=batch, max_length=GRID_MAX_LENGTH)
        for name, values in seconds.items()
    ]
    ratios = []
    low, high = min(settings.threads), max(settings.threads)
    for backend in ["torch-fp32"] + ([fastest.name] if fastest else []):
        one, many = f"{backend}, {low} thread(s)", f"{backend}, {high} thread(s)"
        if one in seconds and many in seconds:
            ratios.append(
                measurement(
                    f"{backend}: {high} vs {low} threads",
                    paired_ratios(seconds[one], seconds[many]), "× speed-up",
                )
            )  # fmt: skip
    return {
        "status": "ok",
        "batch_size": batch,
        "max_length": GRID_MAX_LENGTH,
        "measurements": measurements,
        "ratios": ratios,
    }


# --- report -----------------------------------------------------------------------------------


def _find(section: dict, **labels) -> dict | None:
    for item in section.get("measurements", []):
        if all(item.get(k) == v for k, v in labels.items()):
            return item
    return None


def _ratio(section: dict, **labels) -> dict | None:
    for item in section.get("ratios", []):
        if all(item.get(k) == v for k, v in labels.items()):
            return item
    return None


def _sweep_table(section: dict, backends: list, sweep: str, values: list, label: str) -> str:
    """Return one throughput table: a row per backend, a column per value of ``sweep``."""
    rows = [
        [name, *(fmt_summary(_find(section, name=name, sweep=sweep, **{sweep: v}), ".0f")
                 for v in values)]
        for name in backends
    ]  # fmt: skip
    return markdown_table(["backend", *[f"{label} {v}" for v in values]], rows)


def throughput_tables(section: dict) -> str:
    backends = list(section["backends"])
    working = [b for b in backends if section["backends"][b].startswith("ok")]
    sizes = sorted({m["batch_size"] for m in section["measurements"] if m["sweep"] == "batch_size"})
    lengths = sorted(
        {m["max_length"] for m in section["measurements"] if m["sweep"] == "max_length"}
    )
    part_a = _sweep_table(section, working, "batch_size", sizes, "batch")
    part_b = _sweep_table(section, working, "max_length", lengths, "max_length")
    rows = []
    sizes_r = sorted({r["batch_size"] for r in section["ratios"] if r["kind"] == "speed-up"})
    batch = 32 if 32 in sizes_r else (sizes_r[-1] if sizes_r else None)
    for name in backends:
        quality = section["quality"].get(name, {})
        speed = _ratio(section, name=name, batch_size=batch, kind="speed-up")
        long_speed = _ratio(
            section, name=name, max_length=max(lengths, default=None), kind="speed-up (long)"
        )
        ndcg = quality.get("ndcg@10")
        rows.append([
            name,
            "1.00×" if name == "torch-fp32" else fmt_ratio_summary(speed),
            "1.00×" if name == "torch-fp32" else fmt_ratio_summary(long_speed),
            "n/a" if ndcg is None else f"{ndcg:.3f}",
            fmt_ratio(quality.get("ndcg_ratio_vs_fp32")),
            "n/a" if quality.get("top1_agreement_with_fp32") is None
            else f"{quality['top1_agreement_with_fp32']:.0%}",
            section["backends"][name],
        ])  # fmt: skip
    for name, text in section.get("sentence_transformers_backends", {}).items():
        rows.append([name, "", "", "", "", "", text])
    part_c = markdown_table(
        [
            "backend", f"speed-up, batch {batch}, max_length {section['grid_max_length']}",
            f"speed-up, long passages, max_length {max(lengths, default='n/a')}",
            "nDCG@10", "nDCG vs fp32",
            "same top-1 as fp32", "status",
        ],
        rows,
    )  # fmt: skip
    dense = section.get("dense_ndcg@10")
    return (
        f"Throughput in pairs/s, median (min–max). a) Batch size at max_length "
        f"{section['grid_max_length']}, course chunks (~500 characters):\n\n{part_a}\n\n"
        f"b) max_length at batch {section['best_torch_batch_size']} (torch fp32's fastest), "
        f"long passages (4 chunks, ~2,000 characters):\n\n{part_b}\n\n"
        f"c) Backends vs torch fp32 (per-repetition ratios of interleaved runs); nDCG@10 on "
        f"{section['quality_queries']} labelled queries' dense top-{section['candidates']}, "
        f"reranked at batch 32, "
        f"max_length 512 (dense alone: {'n/a' if dense is None else f'{dense:.3f}'}):\n\n{part_c}"
    )


def langchain_table(section: dict) -> str:
    rows = [[m["name"], fmt_summary(m, ".1f"), "1.00×"] for m in section["measurements"][:1]]
    for item in section["measurements"][1:]:
        ratio = _ratio(section, name=item["name"])
        rows.append([item["name"], fmt_summary(item, ".1f"), fmt_ratio_summary(ratio)])
    return (
        f"{section['queries']} queries × {section['candidates_per_query']} fixed candidates per "
        f"repetition (the base retriever returns stored documents, so only the wrapper differs); "
        f"top_n=3.\n\n" + markdown_table(["path", "ms/query", "time vs raw"], rows)
    )


def latency_table(section: dict) -> str:
    rows = []
    ks = sorted({m["k"] for m in section["measurements"]})
    for k in ks:
        cells = []
        for stage in ("embed", "search", "rerank", "other", "total"):
            item = _find(section, name=stage, k=k)
            cells.append(f"{item['median']:.1f} / {item['p95']:.1f}")
        share = next(s for s in section["shares"] if s["k"] == k)
        cells.append(f"{share['median']:.1%} ({share['min']:.1%}–{share['max']:.1%})")
        rows.append([f"k={k}", *cells])
    headers = [
        "k", "query embedding", "FAISS search", "rerank", "sort", "total",
        "not cross-encoder (share)",
    ]  # fmt: skip
    return (
        f"Milliseconds, p50 / p95 over {section['queries']} queries (torch fp32 cross-encoder "
        f"via the course's make_cross_encoder, batch 32, max_length 512).\n\n"
        + markdown_table(headers, rows)
    )


def sagemaker_table(section: dict) -> str:
    if section["status"] != "ok":
        return f"not available: {section.get('reason', 'unknown reason')}"
    rows = [[m["name"], fmt_summary(m, ".1f")] for m in section["measurements"]]
    ratio = section["ratios"][0]
    rows.append([ratio["name"], fmt_ratio_summary(ratio)])
    return (
        f"{section['measurements'][0]['pairs']} pairs per call, {section['threads']} torch "
        f"thread(s) on both sides, server: {section['server']} (started in "
        f"{section['startup_seconds']:.0f} s).\n\n" + markdown_table(["path", "ms/call"], rows)
    )


def threads_table(section: dict) -> str:
    rows = [[m["name"], fmt_summary(m, ".0f")] for m in section["measurements"]]
    rows += [[r["name"], fmt_ratio_summary(r)] for r in section["ratios"]]
    return (
        f"Throughput in pairs/s at batch {section['batch_size']}, max_length "
        f"{section['max_length']}; the ratio is the per-repetition speed-up.\n\n"
        + markdown_table(["setting", "pairs/s (or ratio)"], rows)
    )


TABLES = {
    "throughput": throughput_tables,
    "langchain": langchain_table,
    "latency": latency_table,
    "sagemaker": sagemaker_table,
    "threads": threads_table,
}


def goals(results: dict) -> list[dict]:
    """Evaluate the issue's goals from the measurements."""
    sections = results["sections"]
    lines = []
    best = best_backend(sections["throughput"]) if "ratios" in sections["throughput"] else None
    speed_goal, quality_goal = GOALS["throughput"]
    if best:
        name, speed, quality = best
        met = speed["median"] >= speed_goal and quality is not None and quality >= quality_goal
        quality_text = "n/a" if quality is None else f"{quality:.1%}"
        detail = (
            f"best backend {name}: {fmt_ratio_summary(speed)} vs torch fp32 at batch "
            f"{speed['batch_size']}, nDCG {quality_text} of fp32 (goal ≥ {speed_goal}× at "
            f"≥ {quality_goal:.0%})"
        )
    else:
        met, detail = None, "no backend besides torch fp32 ran"
    lines.append({"section": "throughput", "met": met, "detail": detail})
    ratios = sections["langchain"].get("ratios", [])
    if ratios:
        worst = max(ratios, key=lambda r: r["median"])
        overhead = worst["median"] - 1
        lines.append({
            "section": "langchain", "met": overhead <= GOALS["langchain"] - 1,
            "detail": "; ".join(
                f"{r['name']}: {(r['median'] - 1):+.1%} (min–max {r['min'] - 1:+.1%} to "
                f"{r['max'] - 1:+.1%})" for r in ratios
            ) + " overhead (goal ≤ +5%)",
        })  # fmt: skip
    shares = sections["latency"].get("shares", [])
    if shares:
        worst = max(shares, key=lambda s: s["median"])
        lines.append({
            "section": "latency", "met": worst["median"] <= GOALS["latency"],
            "detail": ", ".join(f"k={s['k']}: {s['median']:.1%}" for s in shares)
            + " of the total is not the cross-encoder (median; goal ≤ 10%)",
        })  # fmt: skip
    sm = sections["sagemaker"]
    if sm.get("status") == "ok":
        ratio = sm["ratios"][0]
        lines.append({
            "section": "sagemaker", "met": ratio["median"] <= GOALS["sagemaker"],
            "detail": f"HTTP/in-process {fmt_ratio_summary(ratio)} (goal ≤ 1.15×)",
        })  # fmt: skip
    else:
        lines.append({
            "section": "sagemaker", "met": None,
            "detail": f"not available: {sm.get('reason')}",
        })  # fmt: skip
    for ratio in sections["threads"].get("ratios", []):
        lines.append({
            "section": "threads", "met": None,
            "detail": f"{ratio['name']}: {fmt_ratio_summary(ratio)} (no goal; informational)",
        })  # fmt: skip
    return lines


def render_markdown(results: dict) -> str:
    """Return the whole report as Markdown: header, five tables, goals."""
    machine, libs = results["machine"], results["libraries"]
    load = machine.get("load_average_at_start")
    parts = [
        "# Reranking benchmarks",
        f"{results['created']} · {machine['cpu_model']} · {machine['logical_cores']} logical "
        f"cores ({machine.get('usable_cores')} usable) · SIMD: {', '.join(machine['simd']) or '?'}"
        f" · load average at start: {', '.join(f'{x:.1f}' for x in load) if load else 'n/a'}",
        f"Model: {results['model']['label']} · "
        f"{'quick run' if results['settings']['quick'] else 'full run'}"
        f" · {results['settings']['repetitions']} repetitions after {results['settings']['warmup']}"
        f" warm-up, contenders interleaved · wall time {results.get('wall_seconds', 0):.0f} s",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items() if v),
    ]
    for name in SECTIONS:
        section = results["sections"][name]
        parts.append(f"## {TITLES[name]}")
        if section.get("status") == "not available":
            parts.append(f"not available: {section.get('reason')}")
        else:
            parts.append(TABLES[name](section))
    parts.append("## Goals")
    parts.append(
        "\n".join(
            f"- {TITLES[g['section']].split('. ', 1)[1]}: {g['detail']}"
            if g["section"] == "threads"
            else f"- {goal_line(TITLES[g['section']].split('. ', 1)[1], g['met'], g['detail'])}"
            for g in results["goals"]
        )
    )
    return "\n\n".join(parts) + "\n"


def write_plots(results: dict, out: Path) -> list[str]:
    """Draw throughput-by-batch, throughput-by-max_length, latency-by-stage and speed-ups."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    section = results["sections"]["throughput"]
    for sweep, label, filename in (
        ("batch_size", "batch size", "throughput_batch_size.png"),
        ("max_length", "max_length", "throughput_max_length.png"),
    ):
        items = [m for m in section.get("measurements", []) if m.get("sweep") == sweep]
        if not items:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        for name in dict.fromkeys(m["name"] for m in items):
            rows = sorted((m[sweep], m) for m in items if m["name"] == name)
            xs = [x for x, _ in rows]
            ax.errorbar(
                xs, [m["median"] for _, m in rows],
                yerr=[[m["median"] - m["min"] for _, m in rows],
                      [m["max"] - m["median"] for _, m in rows]],
                marker="o", capsize=3, label=name,
            )  # fmt: skip
        ax.set_xscale("log", base=2)
        ticks = sorted({m[sweep] for m in items})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xlabel(label)
        ax.set_ylabel("pairs/s (median, min–max)")
        ax.set_title(f"Cross-encoder throughput by {label}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / filename, dpi=100)
        plt.close(fig)
        written.append(filename)
    latency = results["sections"]["latency"]
    if latency.get("measurements"):
        fig, ax = plt.subplots(figsize=(6, 4))
        ks = sorted({m["k"] for m in latency["measurements"]})
        bottom = [0.0] * len(ks)
        for stage in ("embed", "search", "rerank", "other"):
            values = [_find(latency, name=stage, k=k)["median"] for k in ks]
            ax.bar([str(k) for k in ks], values, bottom=bottom, label=stage)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xlabel("k (candidates reranked)")
        ax.set_ylabel("ms per query (median)")
        ax.set_title("End-to-end latency by stage")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "latency_stages.png", dpi=100)
        plt.close(fig)
        written.append("latency_stages.png")
    return written


def report(results: dict, out: Path) -> str:
    """Write results.json, results.md and plots into ``out``; return the Markdown."""
    out.mkdir(parents=True, exist_ok=True)
    results["goals"] = goals(results)
    try:
        results["plots"] = write_plots(results, out)
    except Exception as exc:  # plots are a nicety: never lose the numbers over them
        results["plots"] = []
        results["plot_error"] = f"{type(exc).__name__}: {exc}"
    text = render_markdown(results)
    (out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (out / "results.md").write_text(text)
    return text


# --- main -------------------------------------------------------------------------------------


def _section(name: str, call: Callable[[], dict], settings: Settings, start: float) -> dict:
    settings.deadline = start + settings.budget_seconds * BUDGET_SHARES[name]
    started = time.perf_counter()
    print(f"[bench] {TITLES[name]} ...", file=sys.stderr, flush=True)
    try:
        result = call()
    except Exception as exc:  # one broken section must not cost the other four
        result = {
            "status": "not available",
            "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            "measurements": [],
            "ratios": [],
        }
    result["seconds"] = time.perf_counter() - started
    print(f"[bench]   done in {result['seconds']:.0f} s", file=sys.stderr, flush=True)
    return result


def run(model_path: str | None, out: Path, quick: bool = False, threads: int | None = None):
    """Run all five sections and write the report; return the results dict."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    from helpers.config import load_config, model_label, resolve_model
    from helpers.runtime import set_cpu_threads

    started = time.perf_counter()
    settings = Settings.for_run(quick)
    threads = set_cpu_threads(threads)
    chosen = model_path or load_config().reranker_model
    source = resolve_model(chosen, "RERANK_RERANKER_MODEL")
    path = snapshot_model(source)
    results = {
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "libraries": library_versions(),
        "settings": asdict(settings) | {"threads_used": threads},
        "model": {"label": model_label(chosen), "path": source, "snapshot": path},
        "sections": {},
    }
    print("[bench] loading corpus, labels and FAISS index ...", file=sys.stderr, flush=True)
    workload = build_workload(settings)
    print("[bench] loading backends (exports are built once) ...", file=sys.stderr, flush=True)
    scorers, status = load_scorers(path, settings.backends, threads, workload.chunks, settings)
    results["setup_seconds"] = time.perf_counter() - started
    sections, start = results["sections"], time.monotonic()
    calls = {
        "throughput": lambda: bench_throughput(scorers, status, workload, settings),
        "langchain": lambda: bench_langchain(path, workload, settings),
        "latency": lambda: bench_latency(path, workload, settings),
        "sagemaker": lambda: bench_sagemaker(path, workload, settings, threads),
        "threads": lambda: bench_threads(
            scorers, workload, settings,
            sections["throughput"].get("best_torch_batch_size", settings.default_batch_size),
            (best_backend(sections["throughput"]) or [None])[0],
        ),
    }  # fmt: skip
    for name, call in calls.items():
        sections[name] = _section(name, call, settings, start)
        set_cpu_threads(threads)
    set_cpu_threads(threads)
    results["wall_seconds"] = time.perf_counter() - started
    return results


def main(argv: list[str] | None = None) -> int:
    """Benchmark reranking on this machine; write results.json, results.md and plots."""
    parser = argparse.ArgumentParser(prog="python -m helpers.bench", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="small grid, < 2 minutes (tests)")
    parser.add_argument("--out", default="build/bench", help="output folder (build/bench)")
    parser.add_argument("--model", help="cross-encoder folder (default: the config's reranker)")
    parser.add_argument("--threads", type=int, help="torch threads (default: RERANK_THREADS/all)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    from helpers.config import ModelUnavailableError

    try:
        results = run(args.model, out, quick=args.quick, threads=args.threads)
    except ModelUnavailableError as exc:  # e.g. the offline reranker is not built yet
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = report(results, out)
    print(text)
    print(f"Wrote {out / 'results.json'}, {out / 'results.md'} and {len(results['plots'])} plots.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
