"""The real benchmark, quick, once: every section ok, its verdicts on enough samples, its nDCG
equal to the course's own evaluation, and the backend it picks served by SageMaker's model server.

The run writes build/bench-quick/, which notebook 05 then reads instead of measuring again (the
suite runs tests/ before notebooks/). Speed is never asserted: machines are shared and noisy.
Unit tests of the rules, statistics and report: tests/test_bench_verdicts.py, test_bench_stats.py.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.sagemaker import contract
from tools.bench import ship
from tools.bench.machine import isa
from tools.bench.settings import BACKENDS, MIN_TIMING_SAMPLES, REFERENCE, SECTIONS, TITLES
from tools.bench.tables import validate_results

ROOT = Path(__file__).resolve().parents[1]
QUICK_OUT = ROOT / "build" / "bench-quick"
EXPORTED = [b for b in BACKENDS if not b.startswith("torch")]


@pytest.fixture(scope="module")
def bench_model(random_head_cross_encoder_dir):
    """The configured reranker (what notebook 05 runs), else a random-head stand-in."""
    from helpers.config import ModelUnavailableError, load_config, resolve_model

    try:
        return resolve_model(load_config().reranker_model, "RERANK_RERANKER_MODEL")
    except ModelUnavailableError:
        return str(random_head_cross_encoder_dir)


@pytest.fixture(scope="module")
def quick_run(bench_model):
    """Run ``python -m tools.bench --quick`` once; return (finished process, results)."""
    (QUICK_OUT / "results.json").unlink(missing_ok=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}  # progress bars: conftest.py
    command = [sys.executable, "-m", "tools.bench", "--quick", "--out", str(QUICK_OUT)]
    done = subprocess.run(
        [*command, "--model", bench_model], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=2400, check=False,
    )  # fmt: skip
    results = json.loads((QUICK_OUT / "results.json").read_text())
    return done, results


def test_quick_run_exits_zero_and_writes_every_file(quick_run):
    done, results = quick_run
    assert done.returncode == 0, done.stderr[-3000:]
    assert validate_results(results) == []
    assert results["failures"] == []
    markdown = (QUICK_OUT / "results.md").read_text()
    for title in TITLES.values():
        assert f"## {title}" in markdown and f"## {title}" in done.stdout
    assert set(results["plots"]) == {
        "throughput_batch_size.png", "throughput_max_length.png", "speed_vs_quality.png",
        "latency_stages.png",
    }  # fmt: skip
    assert results["machine"]["cpu_flags"] and results["libraries"]["onnxruntime"]


def test_a_second_identical_run_is_reused_as_notebook_05_asks(quick_run, bench_model):
    """``--reuse 12`` keeps the run just written (same code, model, mode, threads, CPU)."""
    _, results = quick_run
    command = [sys.executable, "-m", "tools.bench", "--quick", "--reuse", "12"]
    done = subprocess.run(
        [*command, "--out", str(QUICK_OUT), "--model", bench_model], cwd=ROOT,
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith(f"Reused the run written {results['created']}")
    assert json.loads((QUICK_OUT / "results.json").read_text())["created"] == results["created"]
    assert results["ship"] and set(results["tables"]) == set(SECTIONS)


def test_every_section_and_backend_runs_here(quick_run, serve_venv_python):
    """Java, .venv-serve and the pinned runtimes are here: nothing may be "not available"."""
    _, results = quick_run
    assert {name: s["status"] for name, s in results["sections"].items()} == dict.fromkeys(
        SECTIONS, "ok"
    ), {name: s.get("reason") for name, s in results["sections"].items()}
    has_bf16 = isa(set(results["machine"]["cpu_flags"]))["bf16"]
    for name in BACKENDS:
        status = results["backends"][name]
        if name.endswith("bf16") and not has_bf16:  # the one documented hardware reason
            assert status.startswith("not available: this CPU has no avx512_bf16"), status
        else:
            assert status.startswith("ok"), f"{name}: {status}"
            assert name in results["sections"]["quality"]["backends"]


def test_verdicts_rest_on_every_question_and_enough_calls(quick_run, chunks):
    from helpers import evaluation as ev

    _, results = quick_run
    answerable = ev.select(ev.load_queries(), answerable=True)
    labelled = ev.qrels_for(answerable, chunks)
    quality = results["sections"]["quality"]
    assert quality["queries"] == len(labelled.keys()) >= 50
    for entry in quality["backends"].values():
        moved = entry["per_query_vs_fp32"]
        assert moved["better"] + moved["same"] + moved["worse"] == quality["queries"]
        assert entry["speedup"]["repetitions"] == quality["timed_queries"] >= MIN_TIMING_SAMPLES
    latency = results["sections"]["latency"]
    assert latency["samples_per_k"] >= 30
    assert all(m["p95"] is not None for m in latency["measurements"])
    cases = results["sections"]["sagemaker"]["cases"]
    assert [c["pairs"] for c in cases] == [20, 5]
    assert all(m["repetitions"] >= 30 for c in cases for m in c["measurements"])
    assert all("n=" in goal["detail"] for goal in results["goals"])
    assert len(results["summary"]) == len(results["goals"])


def test_served_scores_equal_in_process_scores(quick_run):
    _, results = quick_run
    for case in results["sections"]["sagemaker"]["cases"]:
        assert case["max_abs_score_diff"] <= 1e-4


def test_fp32_ndcg_equals_the_course_evaluation(quick_run, bench_model, chunks, dense_top20_scored):
    """The bench's fp32 nDCG@10, recomputed with helpers.evaluation and make_cross_encoder."""
    from helpers import evaluation as ev

    _, results = quick_run
    answerable, candidates, scores = dense_top20_scored(bench_model)
    qrels = ev.qrels_for(answerable, chunks)  # the labels notebooks 03, 06 and 07 use
    reranked = ev.reranked_run(candidates, scores, 20, "reranked")
    expected = ev.evaluate(qrels, reranked, "ndcg@10")
    quality = results["sections"]["quality"]
    assert quality["backends"][REFERENCE]["ndcg@10"] == pytest.approx(expected, abs=1e-6)
    assert quality["backends"][REFERENCE]["top1_agreement_with_fp32"] == 1.0


def shipped_backend(results) -> str:
    """The backend the bench picked; if that is torch-fp32, the fastest exported one."""
    quality = results["sections"]["quality"]["backends"]
    chosen = results["decision"].split()[1]
    exported = [name for name in quality if name in EXPORTED]
    return (
        chosen
        if chosen in EXPORTED
        else max(exported, key=lambda n: quality[n]["speedup"]["median"])
    )


def test_the_picked_backend_is_served_by_the_model_server(quick_run, serve_venv_python, tmp_path):
    """model.tar.gz with exported/ served through MMS: scores within the measured tolerance."""
    from helpers import sagemaker as sm

    _, results = quick_run
    backend = shipped_backend(results)
    snapshot = results["model"]["snapshot"]
    command = [sys.executable, "-m", "tools.bench", "ship", "--results", str(QUICK_OUT)]
    done = subprocess.run(
        [*command, "--backend", backend, "--out", str(tmp_path)], cwd=ROOT, capture_output=True,
        text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout == f"Packaged {backend}: model.tar.gz, staged in model/.\n"
    archive = tmp_path / "model.tar.gz"
    listing = "\n".join(sm.archive_listing(archive))
    assert "exported/backend.json" in listing and "code/exported_backends.py" in listing
    assert "model.safetensors" not in listing  # only the exported model can answer
    requests = [
        [("What is the plan for the economy?", f"passage {i}: we will cut costs for families.")
         for i in range(3)],
        [("How are we helping the people of Ukraine?", "We are giving direct assistance.")] * 2,
    ]  # fmt: skip
    handler = sm.load_handler()
    fp32, packaged = handler.model_fn(snapshot), handler.model_fn(str(tmp_path / "model"))
    tolerance = results["sections"]["quality"]["backends"][backend]["max_abs_logit_diff"] + 1e-4
    with sm.serve_locally(archive) as endpoint:
        for pairs in requests:
            served = endpoint.score(pairs)
            assert (
                max(abs(a - b) for a, b in zip(served, packaged.score(pairs), strict=True)) <= 1e-4
            )
            assert (
                max(abs(a - b) for a, b in zip(served, fp32.score(pairs), strict=True)) <= tolerance
            )


def test_every_exported_backend_loads_in_the_serving_python(quick_run, serve_venv_python, tmp_path):
    """exported_backends.py under .venv-serve (numpy 1.26, transformers 4.51), each backend."""
    _, results = quick_run
    quality = results["sections"]["quality"]["backends"]
    snapshot = results["model"]["snapshot"]
    pairs = [("Who is Ketanji Brown Jackson?", "One of our nation's top legal minds."),
             ("What about inflation?", "Lower your costs, not your wages.")]  # fmt: skip
    folders = {}
    for backend in [b for b in EXPORTED if b in quality]:
        folders[backend] = str(ship.stage_model(backend, snapshot, tmp_path / backend))
    script = (  # contract.py's one loader, run in .venv-serve (which cannot import helpers/)
        "import json, runpy, sys\n"
        "eb = runpy.run_path(sys.argv[1])['load_code_module']('exported_backends', sys.argv[2])\n"
        "folders, pairs = json.loads(sys.argv[3]), json.loads(sys.argv[4])\n"
        "print(json.dumps({n: eb.load(f, threads=1).logits(pairs) for n, f in folders.items()}))\n"
    )
    loader, code_dir = contract.__file__, str(contract.CODE_DIR)
    done = subprocess.run(
        [str(serve_venv_python), "-c", script, loader, code_dir, json.dumps(folders),
         json.dumps(pairs)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    logits = json.loads(done.stdout.strip().splitlines()[-1])
    from tools.bench.scorers import torch_scorer

    reference = torch_scorer(snapshot).score(pairs)
    for backend, values in logits.items():
        worst = max(abs(a - b) for a, b in zip(values, reference, strict=True))
        assert worst <= quality[backend]["max_abs_logit_diff"] + 1e-3, backend
