"""Notebook 05's exercises: each solution passes its self-check, plausible mistakes get a
"Not yet" that names them, and an unfinished answer (None) prints "Not yet" without raising."""

from __future__ import annotations

import pytest
from exercise_checks import expect, load_solution

from helpers import exercises as ex
from helpers.reranking import make_cross_encoder
from helpers.timing import interleaved

SOLUTION = "05_make_it_fast"
SPEEDUPS = {
    "onnx-fp32": (1.62, 1.000),
    "openvino-fp32": (1.85, 0.998),
    "onnx-int8-dynamic": (3.10, 0.962),
    "openvino-int8": (2.70, 0.991),
}
BATCH_1 = [0.8124, 0.7981, 1.5306, 0.8059, 0.8012]  # seconds; the third ran beside another job
BATCH_20 = [0.2513, 0.2498, 0.2624, 0.6107, 0.2505]


def test_05_best_backend(capsys):
    answer = load_solution(SOLUTION).exercise_1(SPEEDUPS)
    assert answer == "openvino-int8"
    expect(capsys, ex.check_05_best_backend(answer, SPEEDUPS), True, "openvino-int8")
    expect(capsys, ex.check_05_best_backend("onnx-int8-dynamic", SPEEDUPS), False, "96.2%")
    expect(capsys, ex.check_05_best_backend("onnx-fp32", SPEEDUPS), False, "another backend")
    expect(capsys, ex.check_05_best_backend("torch-fp32", SPEEDUPS), False, "another backend")
    expect(capsys, ex.check_05_best_backend("tensorrt", SPEEDUPS), False, "not in the table")
    expect(capsys, ex.check_05_best_backend(["onnx"], SPEEDUPS), False, "could not read")
    expect(capsys, ex.check_05_best_backend(None, SPEEDUPS), False, "replace the None")
    too_lossy = {"onnx-int8-dynamic": (3.10, 0.962)}
    assert load_solution(SOLUTION).exercise_1(too_lossy) == "torch-fp32"
    expect(capsys, ex.check_05_best_backend("torch-fp32", too_lossy), True, "torch-fp32")


def test_05_batch_speedup(capsys):
    seconds = {"batch 1": BATCH_1, "batch 20": BATCH_20}
    answer = load_solution(SOLUTION).exercise_2(seconds)
    assert answer == pytest.approx(0.8059 / 0.2513)

    def check(answer, series=seconds):
        return ex.check_05_batch_speedup(answer, series)

    expect(capsys, check(answer), True, "batch 20 is faster")
    expect(capsys, check(round(answer, 2)), True)
    expect(capsys, check(1 / answer), False, "inverted")
    expect(capsys, check(sum(BATCH_1) / sum(BATCH_20)), False, "means")
    expect(capsys, check(2.0), False, "divide the two medians")
    expect(capsys, check(None), False, "replace the None")
    expect(capsys, check(answer, {"batch 1": BATCH_1}), False, "'batch 20'")
    expect(capsys, check(answer, {"batch 1": BATCH_1[:3], "batch 20": BATCH_20[:3]}), False, "5")
    slower = {"batch 1": BATCH_20, "batch 20": BATCH_1}
    expect(capsys, check(load_solution(SOLUTION).exercise_2(slower), slower), True, "not faster")


def test_05_batch_speedup_on_a_real_measurement(capsys, random_head_cross_encoder_dir):
    """The notebook's code path: the course's cross-encoder, timed with interleaved."""
    model = make_cross_encoder(str(random_head_cross_encoder_dir), device="cpu").client
    pairs = [
        ("What is a cross-encoder?", f"Passage number {i} about rerankers.") for i in range(20)
    ]
    seconds = interleaved(
        {
            "batch 1": lambda: model.predict(pairs, batch_size=1, show_progress_bar=False),
            "batch 20": lambda: model.predict(pairs, batch_size=20, show_progress_bar=False),
        },
        repetitions=5,
    )
    answer = load_solution(SOLUTION).exercise_2(seconds)
    expect(capsys, ex.check_05_batch_speedup(answer, seconds), True)
