"""helpers.bench: statistics, formatting and the results schema; one --quick run end to end.

Speed is never asserted: these machines are shared and noisy. The quick run only checks that
the files are written and that all five sections are there.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import bench

ROOT = Path(__file__).resolve().parents[1]


# --- statistics ------------------------------------------------------------------------------


def test_percentile_interpolates_like_numpy():
    values = [4.0, 1.0, 3.0, 2.0]
    assert bench.percentile(values, 0) == 1.0
    assert bench.percentile(values, 100) == 4.0
    assert bench.percentile(values, 50) == 2.5
    assert bench.percentile(values, 95) == pytest.approx(3.85)
    assert bench.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        bench.percentile([], 50)


def test_summarize_reports_median_min_max_p95_and_repetitions():
    summary = bench.summarize([3, 1, 2, 10, 4], unit="ms")
    assert summary["median"] == 3
    assert summary["min"] == 1
    assert summary["max"] == 10
    assert summary["p95"] == pytest.approx(8.8)
    assert summary["mean"] == 4
    assert summary["repetitions"] == 5
    assert summary["unit"] == "ms"
    assert summary["samples"] == [3.0, 1.0, 2.0, 10.0, 4.0]


def test_paired_ratios_pair_repetitions():
    assert bench.paired_ratios([2.0, 3.0], [1.0, 2.0]) == [2.0, 1.5]
    with pytest.raises(ValueError):
        bench.paired_ratios([1.0], [1.0, 2.0])


def test_ratio_and_summary_formatting():
    assert bench.fmt_ratio(1.234) == "1.23×"
    assert bench.fmt_ratio(None) == "n/a"
    summary = bench.summarize([1.0, 1.2, 1.5])
    assert bench.fmt_ratio_summary(summary) == "1.20× (1.00–1.50)"
    assert bench.fmt_summary(bench.summarize([10, 12, 20]), ".0f") == "12 (10–20)"
    assert bench.fmt_summary(None) == "n/a"
    assert bench.goal_line("x", True, "1.0×").startswith("x: goal met")
    assert "goal NOT met" in bench.goal_line("x", False, "2.0×")
    assert "not measured" in bench.goal_line("x", None, "")


def test_markdown_table_aligns_numbers_right():
    table = bench.markdown_table(["name", "value"], [["a", 1], ["b", 2]])
    assert table.splitlines() == ["| name | value |", "|---|---:|", "| a | 1 |", "| b | 2 |"]


def test_interleaved_warms_up_rotates_and_times_every_contender():
    calls = []
    contenders = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    seconds = bench.interleaved(contenders, repetitions=3, warmup=1)
    assert calls[:3] == ["a", "b", "c"]  # warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # order rotates
    assert {name: len(values) for name, values in seconds.items()} == {"a": 3, "b": 3, "c": 3}
    assert all(v >= 0 for values in seconds.values() for v in values)


def test_interleaved_uses_given_warmups_and_stops_at_the_deadline():
    calls = []
    seconds = bench.interleaved(
        {"a": lambda: calls.append("a")},
        repetitions=10,
        warmups={"a": lambda: calls.append("warm")},
        deadline=time.monotonic() - 1,
        min_repetitions=2,
    )
    assert calls == ["warm", "a", "a"]
    assert len(seconds["a"]) == 2


# --- results schema and report ----------------------------------------------------------------


def _measure(name, values, unit, **labels):
    return bench.measurement(name, values, unit, **labels)


def synthetic_results() -> dict:
    """A small but complete results dict, as run() builds it."""
    throughput = {
        "status": "ok",
        "backends": {"torch-fp32": "ok", "onnx-qint8": "ok", "openvino": "not available: x"},
        "best_torch_batch_size": 32,
        "grid_max_length": 256,
        "dense_ndcg@10": 0.8,
        "quality_queries": 3,
        "candidates": 20,
        "quality": {
            "torch-fp32": {"ndcg@10": 0.9, "top1_agreement_with_fp32": 1.0},
            "onnx-qint8": {"ndcg@10": 0.895, "top1_agreement_with_fp32": 1.0},
        },
        "measurements": [
            _measure(b, [100, 110], "pairs/s", batch_size=s, max_length=256, sweep="batch_size")
            for b in ("torch-fp32", "onnx-qint8")
            for s in (1, 32)
        ]
        + [
            _measure(b, [50, 55], "pairs/s", batch_size=32, max_length=m, sweep="max_length")
            for b in ("torch-fp32", "onnx-qint8")
            for m in (128, 512)
        ],
        "ratios": [
            _measure("onnx-qint8", [2.6, 2.7], "×", batch_size=s, max_length=256, kind="speed-up")
            for s in (1, 32)
        ]
        + [
            _measure(
                "onnx-qint8", [2.0, 2.1], "×", batch_size=32, max_length=512, kind="speed-up (long)"
            )
        ],
    }
    for entry in throughput["quality"].values():
        entry["ndcg_ratio_vs_fp32"] = entry["ndcg@10"] / 0.9
    latency = {
        "status": "ok",
        "queries": 2,
        "measurements": [
            _measure(stage, [1.0, 2.0], "ms", k=k)
            for k in (10, 20, 50)
            for stage in ("embed", "search", "rerank", "other", "total")
        ],
        "shares": [
            _measure("not cross-encoder share", [0.05, 0.06], "fraction", k=k) for k in (10, 20, 50)
        ],
    }
    return {
        "schema_version": bench.SCHEMA_VERSION,
        "created": "2026-01-01T00:00:00+00:00",
        "machine": {
            "cpu_model": "Test CPU",
            "logical_cores": 2,
            "usable_cores": 2,
            "simd": ["avx2"],
            "load_average_at_start": [1.0, 1.0, 1.0],
        },
        "libraries": {"torch": "2.13.0"},
        "settings": {"quick": True, "repetitions": 2, "warmup": 1},
        "model": {"label": "test model", "path": "/x"},
        "wall_seconds": 1.0,
        "sections": {
            "throughput": throughput,
            "langchain": {
                "status": "ok",
                "queries": 1,
                "candidates_per_query": 20,
                "measurements": [
                    _measure("raw CrossEncoder.predict", [10, 11], "ms/query"),
                    _measure("LangChain", [10.2, 11.1], "ms/query"),
                ],
                "ratios": [_measure("LangChain", [1.02, 1.01], "× vs raw")],
            },
            "latency": latency,
            "sagemaker": {
                "status": "not available",
                "reason": "no server",
                "measurements": [],
                "ratios": [],
            },
            "threads": {
                "status": "ok",
                "batch_size": 32,
                "max_length": 256,
                "measurements": [_measure("torch-fp32, 1 thread(s)", [10, 11], "pairs/s")],
                "ratios": [_measure("torch-fp32: 2 vs 1 threads", [1.5, 1.6], "× speed-up")],
            },
        },
    }


def test_synthetic_results_follow_the_schema():
    results = synthetic_results()
    assert bench.validate_results(results) == []
    del results["sections"]["latency"]
    del results["machine"]["cpu_model"]
    results["sections"]["langchain"]["measurements"][0].pop("median")
    problems = bench.validate_results(results)
    assert "section 'latency' missing" in problems
    assert "machine lacks 'cpu_model'" in problems
    assert any(p.startswith("langchain measurement 0 lacks") for p in problems)


def test_goals_are_judged_from_the_numbers():
    goals = bench.goals(synthetic_results())
    by_section = {g["section"]: g for g in goals}
    assert by_section["throughput"]["met"] is True  # 2.65x at 99.4% of fp32's nDCG
    assert "onnx-qint8" in by_section["throughput"]["detail"]
    assert by_section["langchain"]["met"] is True  # +1.5% overhead
    assert by_section["latency"]["met"] is True  # 5.5% not cross-encoder
    assert by_section["sagemaker"]["met"] is None  # not available
    assert "no server" in by_section["sagemaker"]["detail"]


def test_report_writes_json_markdown_and_plots(tmp_path):
    text = bench.report(synthetic_results(), tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert bench.validate_results(data) == []
    assert (tmp_path / "results.md").read_text() == text
    for title in bench.TITLES.values():
        assert f"## {title}" in text
    assert "not available: no server" in text
    assert "goal met" in text
    assert set(data["plots"]) >= {"throughput_batch_size.png", "latency_stages.png"}
    for plot in data["plots"]:
        assert (tmp_path / plot).stat().st_size > 1000


def test_machine_info_and_library_versions():
    machine = bench.machine_info()
    assert machine["cpu_model"]
    assert machine["logical_cores"] >= 1
    versions = bench.library_versions()
    assert versions["torch"] and versions["sentence-transformers"]


def test_calibration_pairs_never_use_labelled_queries(chunks):
    pairs = bench.calibration_pairs(chunks, 10)
    assert len(pairs) == 10
    texts = {c.page_content for c in chunks}
    assert all(doc in texts and query for query, doc in pairs)


# --- the real thing, quick -------------------------------------------------------------------


@pytest.fixture(scope="module")
def bench_model(random_head_cross_encoder_dir):
    """The offline reranker when it is built, else a random-head stand-in (same architecture)."""
    from helpers.offline_reranker import is_built, model_dir

    folder = model_dir()
    return str(folder if is_built(folder) else random_head_cross_encoder_dir)


def test_quick_run_writes_every_file_and_section(bench_model, tmp_path):
    env = {
        **os.environ,
        "RERANK_PROFILE": "offline",
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    out = tmp_path / "bench"
    command = [sys.executable, "-m", "helpers.bench", "--quick", "--threads", "1"]
    command += ["--out", str(out), "--model", bench_model]
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert bench.validate_results(results) == []
    assert results["settings"]["quick"] is True
    assert results["machine"]["cpu_model"]
    assert results["libraries"]["torch"]
    markdown = (out / "results.md").read_text()
    for name, title in bench.TITLES.items():
        assert f"## {title}" in markdown
        assert f"## {title}" in done.stdout  # all five tables are printed
        assert name in results["sections"]
    throughput = results["sections"]["throughput"]
    assert throughput["backends"]["torch-fp32"] == "ok"
    for backend, status in throughput["backends"].items():
        assert status.startswith(("ok", "not available")), backend
    for section in results["sections"].values():
        for item in section.get("measurements", []):
            assert item["min"] <= item["median"] <= item["max"]
    assert "## Goals" in markdown
    assert results["plots"] and all((out / p).is_file() for p in results["plots"])
