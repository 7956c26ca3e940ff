"""Run every section and collect one results dict; find a recent identical run to reuse.

A section that breaks is recorded as ``failed`` with its error, the other sections still run, and
``python -m tools.bench`` exits 1. "not available" is kept for documented missing optional
parts only: an optional runtime (onnxruntime, openvino, nncf), a CPU without bf16 for the bf16
rows, or ``.venv-serve`` for the serving section.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import time
import traceback
import warnings
from dataclasses import asdict
from pathlib import Path

import tools.bench.export as export
import tools.bench.scorers as scorers
import tools.bench.serving as serving
from helpers import timing
from helpers.sagemaker.contract import CODE_DIR
from tools.bench.latency import bench_latency
from tools.bench.machine import library_versions, machine_info
from tools.bench.overhead import bench_langchain
from tools.bench.quality import bench_quality, best_backend
from tools.bench.settings import SCHEMA_VERSION, SECTIONS, TITLES, Settings
from tools.bench.threads import bench_threads
from tools.bench.throughput import bench_throughput
from tools.bench.workload import build_workload, calibration_pairs

PACKAGE_DIR = Path(__file__).resolve().parent
NOT_AVAILABLE = (scorers.NotAvailable, serving.NotAvailable)


def run_section(name: str, call) -> dict:
    """Run one section; record "failed" (with the traceback's end) instead of losing the rest."""
    started = time.perf_counter()
    print(f"[bench] {TITLES[name]} ...", file=sys.stderr, flush=True)
    try:
        result = call()
    except NOT_AVAILABLE as reason:
        result = {"status": "not available", "reason": str(reason)}
    except Exception as exc:  # recorded and reported; main() exits non-zero
        result = {
            "status": "failed",
            "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
            "traceback": traceback.format_exc()[-3000:],
        }
    result["seconds"] = time.perf_counter() - started
    print(f"[bench]   {result['status']} in {result['seconds']:.0f} s", file=sys.stderr, flush=True)
    return result


def failures(results: dict) -> list[str]:
    """Return what broke: failed sections and failed backends (empty when the run is sound)."""
    broken = [
        f"section {name}: {s.get('reason')}"
        for name, s in results["sections"].items()
        if s.get("status") == "failed"
    ]
    broken += [
        f"backend {n}: {s}" for n, s in results["backends"].items() if s.startswith("failed")
    ]
    return broken


def run(model_path: str | None = None, quick: bool = False, threads: int | None = None) -> dict:
    """Run all six sections and return the results dict (``report`` writes it)."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    warnings.filterwarnings("ignore")
    from transformers import AutoTokenizer

    from helpers.config import load_config, model_label, resolve_model
    from helpers.runtime import set_cpu_threads

    started = time.perf_counter()
    settings = Settings.for_run(quick)
    threads = set_cpu_threads(threads)
    chosen = model_path or load_config().reranker_model
    source = resolve_model(chosen, "RERANK_RERANKER_MODEL")
    path = export.snapshot_model(source)
    machine = machine_info()
    results = {
        "schema_version": SCHEMA_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
        "machine": machine,
        "libraries": library_versions(),
        "settings": asdict(settings) | {"threads_used": threads},
        "model": {"label": model_label(chosen), "key": export.model_key(path), "snapshot": path},
        "fingerprint": fingerprint(path, quick, threads),
        "sections": {},
    }
    print("[bench] corpus, labels, FAISS index and every question's request ...", file=sys.stderr)
    workload = build_workload(settings, AutoTokenizer.from_pretrained(path))
    results["workload"] = {
        "questions": len(workload.requests), "no_answer": len(workload.no_answer),
        "pairs": len(workload.pairs), "tokens": workload.tokens,
    }  # fmt: skip
    print("[bench] backends (exports are built once and cached) ...", file=sys.stderr, flush=True)
    built, results["backends"] = scorers.load_scorers(
        path, settings.backends, threads, machine["isa"],
        lambda: calibration_pairs(workload, settings.calibration_queries, settings.candidates),
        workload.tokens["matched_max_length"],
    )  # fmt: skip
    results["setup_seconds"] = time.perf_counter() - started
    scores_cache = export.export_dir(path) / f"scores-{results['fingerprint']}.json"
    sections = results["sections"]
    calls = {
        "throughput": lambda: bench_throughput(built, workload, settings),
        "quality": lambda: bench_quality(built, workload, settings, scores_cache),
        "langchain": lambda: bench_langchain(path, workload, settings),
        "latency": lambda: bench_latency(path, workload, settings),
        "sagemaker": lambda: serving.bench_sagemaker(path, workload, settings, threads),
        "threads": lambda: bench_threads(
            built, workload, settings,
            sections["throughput"].get("best_torch_batch_size", settings.default_batch_size),
            (best_backend(sections["quality"]) or {}).get("name"),
        ),
    }  # fmt: skip
    for name in SECTIONS:
        sections[name] = run_section(name, calls[name])
        set_cpu_threads(threads)
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    machine["load_average_at_end"] = list(load) if load else None
    results["failures"] = failures(results)
    results["wall_seconds"] = time.perf_counter() - started
    return results


def fingerprint(model_path: str, quick: bool, threads: int) -> str:
    """Return a hash of what decides a run's results: code, model, mode, threads, CPU, libraries."""
    from tools.bench.machine import cpu_model

    digest = hashlib.sha256()
    code = [*sorted(PACKAGE_DIR.glob("*.py")), Path(timing.__file__)]
    code += [CODE_DIR / name for name in ("exported_backends.py", "inference.py")]
    for path in code:
        digest.update(path.read_bytes() if path.is_file() else b"")
    state = [export.model_key(model_path), quick, threads, cpu_model(), library_versions()]
    digest.update(json.dumps(state, sort_keys=True).encode())
    return digest.hexdigest()[:16]


def saved_run(
    out,
    model_path: str | None = None,
    quick: bool = True,
    threads: int | None = None,
    max_age_hours: float = 12,
) -> dict | None:
    """Return the results in ``out`` if the same code, model, mode, threads and machine wrote
    them less than ``max_age_hours`` ago without failures, else None (``--reuse HOURS``)."""
    from helpers.config import load_config, resolve_model
    from helpers.runtime import set_cpu_threads

    saved = Path(out) / "results.json"
    source = resolve_model(model_path or load_config().reranker_model, "RERANK_RERANKER_MODEL")
    if _fresh(saved, fingerprint(source, quick, set_cpu_threads(threads)), max_age_hours):
        return json.loads(saved.read_text())
    return None


def _fresh(saved: Path, expected: str, max_age_hours: float) -> bool:
    """Say whether a saved run matches ``expected``, is recent and had no failures."""
    if not saved.is_file():
        return False
    results = json.loads(saved.read_text())
    created = dt.datetime.fromisoformat(results.get("created", "2000-01-01T00:00:00+00:00"))
    age = (dt.datetime.now(dt.UTC) - created).total_seconds() / 3600
    return (
        results.get("fingerprint") == expected
        and age < max_age_hours
        and not results.get("failures")
    )
