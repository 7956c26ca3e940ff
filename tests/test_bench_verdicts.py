"""tools.bench's rules and report: which backend wins, which goals are met, what is written.

Speed is never asserted on this machine (shared and noisy): these tests judge synthetic
results, built as the runner builds them, including goals that are NOT met.
"""

import json

import pytest

from tools.bench import quality, runner, tables, verdicts
from tools.bench.settings import SCHEMA_VERSION, SECTIONS, TITLES
from tools.bench.stats import measurement

AMX = {"avx2": True, "fma": True, "avx512": True, "vnni": True, "bf16": True, "amx": True}
AVX2 = {"avx2": True, "fma": True, "avx512": False, "vnni": False, "bf16": False, "amx": False}


def backend(speedup: float, ratio: float, ci=(None, None), queries: int = 54) -> dict:
    """One backend's row of the quality section."""
    low, high = ci
    return {
        "ndcg@10": 0.8 * ratio,
        "ndcg_ratio_vs_fp32": ratio,
        "ndcg_ratio_ci95": [low or ratio - 0.01, high or ratio + 0.01],
        "per_query_vs_fp32": {"queries": queries, "better": 1, "same": queries - 2, "worse": 1},
        "top1_agreement_with_fp32": 0.98,
        "max_abs_logit_diff": 0.05,
        "latency": measurement("x", [100 / speedup] * queries, "ms/request"),
        "speedup": measurement("x", [speedup * 0.95, speedup, speedup * 1.05], "× vs torch-fp32"),
    }


def quality_section(rows: dict) -> dict:
    return {
        "status": "ok", "queries": 54, "candidates": 20, "batch_size": 32, "max_length": 512,
        "dense_ndcg@10": 0.75, "tokens": {"median": 120, "max": 160, "matched_max_length": 192},
        "backends": {"torch-fp32": backend(1.0, 1.0), **rows},
    }  # fmt: skip


def test_best_backend_is_the_fastest_that_keeps_99_percent():
    section = quality_section({
        "onnx-int8-dynamic": backend(3.4, 0.962),  # fastest, but loses ranking quality
        "openvino-int8": backend(3.1, 0.995),
        "openvino-fp32": backend(1.3, 1.0),
    })  # fmt: skip
    best = quality.best_backend(section)
    assert best["name"] == "openvino-int8"
    assert best["speedup"]["median"] == pytest.approx(3.1) and best["queries"] == 54


def test_best_backend_falls_back_to_fp32_when_nothing_faster_keeps_quality():
    assert quality.best_backend(quality_section({"x": backend(3.0, 0.95)}))["name"] == "torch-fp32"
    slower = quality_section({"onnx-fp32": backend(0.8, 1.0)})
    assert quality.best_backend(slower)["name"] == "torch-fp32"
    assert quality.best_backend({"backends": {}}) is None


def test_the_quality_bar_is_inclusive_and_adjustable():
    section = quality_section({"a": backend(2.0, 0.99), "b": backend(2.5, 0.985)})
    assert quality.best_backend(section)["name"] == "a"
    assert quality.best_backend(section, quality_bar=0.98)["name"] == "b"


def test_notebook_05_exercise_checks_the_same_rule():
    """helpers.exercises keeps its own copy of the rule (helpers never imports tools)."""
    from helpers import exercises as nb05
    from tools.bench.settings import GOALS

    assert nb05.QUALITY_BAR == GOALS["quality"][1]
    speedups = {"a": (2.0, 0.99), "b": (2.5, 0.985), "c": (0.9, 1.0)}
    section = quality_section({name: backend(*row) for name, row in speedups.items()})
    assert quality.best_backend(section)["name"] == "a"
    assert nb05.check_05_best_backend("a", speedups)


def results_with(quality_rows: dict, isa=AMX, sagemaker_ratio=1.08, share=0.05, overhead=1.02):
    sagemaker_case = {
        "pairs": 20,
        "measurements": [measurement(n, [400.0] * 30, "ms/call") for n in
                         ("in-process score", "in-process transform_fn", "HTTP through MMS")],
        "ratio": measurement("HTTP / in-process", [sagemaker_ratio] * 30, "×"),
        "server": [measurement("worker (MMS backend response time)", [402.0] * 30, "ms/call"),
                   measurement("server total (MMS access log)", [404.0] * 30, "ms/call")],
        "serve_venv_ms": measurement("handler in .venv-serve", [401.0] * 30, "ms/call"),
        "max_abs_score_diff": 0.0,
    }  # fmt: skip
    small = dict(sagemaker_case, pairs=5, ratio=measurement("HTTP / in-process", [1.4] * 30, "×"))
    return {
        "schema_version": SCHEMA_VERSION,
        "created": "2026-01-01T00:00:00+00:00",
        "machine": {"cpu_model": "Test CPU", "logical_cores": 2, "usable_cores": 2, "isa": isa,
                    "cpu_flags": ["avx2"], "int8_hardware": "test",
                    "load_average_at_start": [1.0, 1.0, 1.0]},  # fmt: skip
        "libraries": {"torch": "2.13.0"},
        "settings": {"quick": True},
        "model": {"label": "test model"},
        "wall_seconds": 1.0,
        "backends": {"torch-fp32": "ok", "torch-bf16": "not available: this CPU has no bf16"},
        "sections": {
            "throughput": {
                "status": "ok", "best_torch_batch_size": 32, "grid_max_length": 256,
                "measurements": [
                    measurement(b, [100, 110], "pairs/s", batch_size=s, max_length=256,
                                sweep="batch_size")
                    for b in ("torch-fp32", "openvino-int8") for s in (1, 32)
                ] + [
                    measurement(b, [50, 55], "pairs/s", batch_size=32, max_length=m,
                                sweep="max_length")
                    for b in ("torch-fp32", "openvino-int8") for m in (128, 512)
                ],
                "ratios": [],
            },
            "quality": quality_section(quality_rows),
            "langchain": {
                "status": "ok", "queries": 2, "candidates_per_query": 20,
                "measurements": [measurement("raw CrossEncoder.predict", [10, 11], "ms/query"),
                                 measurement("LangChain", [10.2, 11.1], "ms/query")],
                "ratios": [measurement("LangChain", [overhead] * 4, "× vs raw")],
            },
            "latency": {
                "status": "ok", "queries": 30, "samples_per_k": 30,
                "measurements": [measurement(stage, [1.0 + i for i in range(30)], "ms", k=k)
                                 for k in (10, 20, 50)
                                 for stage in ("embed", "search", "rerank", "other", "total")],
                "shares": [measurement("not cross-encoder share", [share] * 30, "fraction", k=k)
                           for k in (10, 20, 50)],
            },
            "sagemaker": {"status": "ok", "server": "multi-model-server", "startup_seconds": 9,
                          "threads": 2, "calls": 30, "cases": [sagemaker_case, small]},
            "threads": {
                "status": "ok", "batch_size": 32, "max_length": 256,
                "measurements": [measurement("torch-fp32, 1 thread(s)", [10, 11], "pairs/s")],
                "ratios": [measurement("torch-fp32: 2 vs 1 threads", [1.5, 1.6], "× speed-up")],
            },
        },
    }  # fmt: skip


def by_section(results: dict) -> dict:
    return {g["section"]: g for g in verdicts.goals(results)}


def test_goals_met_name_their_sample_sizes():
    goals = by_section(results_with({"openvino-int8": backend(3.2, 0.996, (0.985, 1.004))}))
    assert goals["quality"]["met"] is True
    assert "openvino-int8" in goals["quality"]["detail"] and "n=54" in goals["quality"]["detail"]
    assert "98.5%–100.4%" in goals["quality"]["detail"]
    assert goals["langchain"]["met"] is True and "n=4" in goals["langchain"]["detail"]
    assert goals["latency"]["met"] is True and "n=30" in goals["latency"]["detail"]
    assert goals["sagemaker"]["met"] is True and "n=30 calls" in goals["sagemaker"]["detail"]
    assert "5 pairs: 1.40× (1.40–1.40) (a small request, no goal)" in goals["sagemaker"]["detail"]
    assert goals["quality"]["verdict"] == "met" and goals["threads"]["verdict"] == "no verdict"


def test_the_quality_goal_names_the_timed_and_the_ranked_questions_apart():
    """--quick times 30 questions and ranks all 54: each number names the sample behind it."""
    results = results_with({"openvino-int8": backend(3.2, 0.996, (0.985, 1.004))})
    results["sections"]["quality"]["timed_queries"] = 30
    detail = by_section(results)["quality"]["detail"]
    assert "per request (n=30 timed questions)" in detail
    assert "(95% CI 98.5%–100.4%, n=54 questions)" in detail
    decision = verdicts.decision(results)
    assert "(median over 30 timed questions)" in decision and "over 54 questions)" in decision


def test_goals_not_met_say_so():
    results = results_with(
        {"openvino-int8": backend(2.1, 0.996), "onnx-int8-dynamic": backend(3.5, 0.95)},
        sagemaker_ratio=1.21, share=0.2, overhead=1.09,
    )  # fmt: skip
    goals = by_section(results)
    assert goals["quality"]["met"] is False  # the fastest that keeps quality is only 2.1x
    assert goals["quality"]["detail"].startswith("openvino-int8: 2.10×")
    assert goals["langchain"]["met"] is False
    assert goals["latency"]["met"] is False
    assert goals["sagemaker"]["met"] is False
    assert "onnx-int8-dynamic" in verdicts.decision(results)  # named as faster but too lossy


def test_the_backend_goal_is_ruled_out_by_hardware_without_vnni_or_amx():
    results = results_with({"onnx-int8-dynamic": backend(1.4, 0.95)}, isa=AVX2)
    goal = by_section(results)["quality"]
    assert goal["met"] is None
    assert goal["detail"].startswith("ruled out by hardware") and "torch-fp32" in goal["detail"]
    tables.finish(results)  # measured, so the summary says "no verdict", not "n/a"
    assert results["summary"][0].startswith("[quality] no verdict · ruled out by hardware")
    assert verdicts.goal_line("Quality", None, "why") == "Quality: no verdict — why"  # report.md


def test_decision_and_summary_lines_come_from_the_table():
    results = results_with({"openvino-int8": backend(3.2, 0.996), "onnx-fp32": backend(1.1, 1.0)})
    assert verdicts.decision(results).startswith("Use openvino-int8 on this CPU: 3.20×")
    tables.finish(results)
    lines = results["summary"]
    assert len(lines) == len(results["goals"])
    assert lines[0].startswith("[quality] met · openvino-int8") and "Test CPU" in lines[0]
    assert all("n=" in line for line in lines)
    fp32_only = results_with({"onnx-int8-dynamic": backend(3.0, 0.9)})
    assert verdicts.decision(fp32_only).startswith("Use torch-fp32 on this CPU")


def test_report_writes_json_markdown_and_plots(tmp_path):
    results = results_with({"openvino-int8": backend(3.2, 0.996)})
    text = tables.report(results, tmp_path)
    data = json.loads((tmp_path / "results.json").read_text())
    assert tables.validate_results(data) == []
    assert (tmp_path / "results.md").read_text() == text
    for name in SECTIONS:
        assert f"## {TITLES[name]}" in text
    assert "| torch-bf16 |" in text and "not available: this CPU has no bf16" in text
    assert "| k=10 | 15.5 / 28.6 |" in text  # p50 / p95 of 30 queries
    assert tables.fmt_p95(measurement("x", [1.0, 2.0, 3.0], "ms")) == "n/a (n=3)"
    assert "| + MMS frontend (Netty, queue) | +2.0 |" in text
    assert "| HTTP total | 400.0 |" in text
    assert set(data["plots"]) == {
        "throughput_batch_size.png", "throughput_max_length.png", "speed_vs_quality.png",
        "latency_stages.png",
    }  # fmt: skip
    for plot in data["plots"]:
        assert (tmp_path / plot).stat().st_size > 1000
    assert data["ship"] == "openvino-int8" and data["decision"].startswith("Use openvino-int8")
    for name in SECTIONS:  # what notebook 05 prints, without importing tools
        assert data["tables"][name] in text


def test_cli_prints_one_table_of_a_run(tmp_path, capsys):
    from tools.bench.__main__ import main

    tables.report(results_with({"openvino-int8": backend(3.2, 0.996)}), tmp_path)
    assert main(["--table", "latency", "--out", str(tmp_path)]) == 0
    assert "| k=10 | 15.5 / 28.6 |" in capsys.readouterr().out
    assert main(["--table", "decision", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("Use openvino-int8 on this CPU")
    assert main(["--table", "nope", "--out", str(tmp_path)]) == 2


def test_schema_problems_are_named():
    results = results_with({})
    assert tables.validate_results(results) == []
    del results["sections"]["latency"]
    del results["machine"]["cpu_model"]
    results["sections"]["langchain"]["measurements"][0].pop("median")
    results["sections"]["threads"] = {"status": "failed"}
    problems = tables.validate_results(results)
    assert "section 'latency' missing" in problems
    assert "machine lacks 'cpu_model'" in problems
    assert any(p.startswith("langchain measurement 0 lacks") for p in problems)
    assert "section 'threads' is failed without a reason" in problems


def test_a_section_that_crashes_fails_the_run_and_keeps_its_error():
    crashed = runner.run_section("langchain", lambda: 1 / 0)
    assert crashed["status"] == "failed" and crashed["reason"].startswith("ZeroDivisionError")
    assert "1 / 0" in crashed["traceback"]
    missing = runner.run_section("sagemaker", lambda: (_ for _ in ()).throw(
        runner.serving.NotAvailable(".venv-serve/bin/python is missing")))  # fmt: skip
    assert missing["status"] == "not available" and "venv-serve" in missing["reason"]
    results = {
        "sections": {"langchain": crashed, "sagemaker": missing},
        "backends": {"torch-fp32": "ok", "onnx-fp32": "failed: RuntimeError: x"},
    }
    assert runner.failures(results) == [
        "section langchain: ZeroDivisionError: division by zero",
        "backend onnx-fp32: failed: RuntimeError: x",
    ]
