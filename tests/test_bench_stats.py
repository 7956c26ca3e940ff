"""tools.bench's statistics and machine facts: bootstrap intervals, paired differences, ISA."""

import pytest

from tools.bench import machine, stats


def test_ratio_ci_is_a_point_when_nothing_changes():
    reference = [0.5, 0.8, 1.0, 0.0, 0.6]
    assert stats.ratio_of_means_ci(reference, reference) == (1.0, 1.0, 1.0)


def test_ratio_ci_brackets_the_ratio_and_is_seeded():
    reference = [0.9, 0.8, 1.0, 0.7, 0.6, 0.9, 0.5, 0.8]
    worse = [r - 0.1 for r in reference]
    ratio, low, high = stats.ratio_of_means_ci(worse, reference, resamples=500, seed=1)
    assert ratio == pytest.approx(sum(worse) / sum(reference))
    assert low <= ratio <= high < 1  # every question lost: the whole interval is below 1
    assert stats.ratio_of_means_ci(worse, reference, resamples=500, seed=1) == (ratio, low, high)


def test_one_lucky_question_gives_a_wide_interval():
    reference = [0.5] * 10
    one_win = [0.5] * 9 + [1.0]
    _, low, high = stats.ratio_of_means_ci(one_win, reference, resamples=1000)
    assert low == pytest.approx(1.0) and high > 1.15  # the gain rests on one question


def test_ratio_ci_refuses_unpaired_or_empty_series():
    with pytest.raises(ValueError):
        stats.ratio_of_means_ci([1.0], [1.0, 2.0])
    with pytest.raises(ValueError):
        stats.ratio_of_means_ci([], [])
    with pytest.raises(ValueError):
        stats.ratio_of_means_ci([1.0], [0.0])


def test_paired_differences_count_wins_ties_and_losses():
    reference = {"q1": 0.5, "q2": 0.5, "q3": 0.5}
    moved = {"q1": 0.7, "q2": 0.5, "q3": 0.2}
    summary = stats.paired_differences(moved, reference)
    assert (summary["better"], summary["same"], summary["worse"]) == (1, 1, 1)
    assert summary["worst"] == pytest.approx(-0.3)
    assert summary["queries"] == 3


def test_top1_agreement_counts_questions_with_the_same_best_candidate():
    reference = {"q1": [0.1, 0.9, 0.2], "q2": [0.8, 0.1, 0.0]}
    assert stats.top1_agreement(reference, reference) == 1.0
    swapped = {"q1": [0.1, 0.9, 0.2], "q2": [0.1, 0.8, 0.0]}
    assert stats.top1_agreement(reference, swapped) == 0.5
    with pytest.raises(ValueError):
        stats.top1_agreement({}, {})


def test_measurement_drops_a_p95_the_sample_cannot_support():
    assert stats.measurement("x", [1.0, 2.0], "ms")["p95"] is None
    record = stats.measurement("x", list(range(30)), "ms", k=10)
    assert record["p95"] == pytest.approx(27.55) and record["k"] == 10


AVX2_LAPTOP = {"fpu", "avx", "avx2", "fma"}
VNNI_SERVER = AVX2_LAPTOP | {"avx512f", "avx512_vnni", "avx512_bf16"}
AMX_SERVER = VNNI_SERVER | {"amx_tile", "amx_int8", "amx_bf16"}


@pytest.mark.parametrize(
    ("flags", "expected", "words"),
    [
        (AVX2_LAPTOP, {"avx2", "fma"}, "AVX2 without VNNI"),
        (AVX2_LAPTOP | {"avx_vnni"}, {"avx2", "fma", "vnni"}, "VNNI"),
        (VNNI_SERVER, {"avx2", "fma", "avx512", "vnni", "bf16"}, "VNNI"),
        (AMX_SERVER, {"avx2", "fma", "avx512", "vnni", "bf16", "amx"}, "AMX"),
        (set(), set(), "no AVX2"),
    ],
)
def test_isa_detection_from_cpu_flags(flags, expected, words):
    features = machine.isa(flags)
    assert {name for name, present in features.items() if present} == expected
    assert machine.int8_hardware(features).startswith(words)


def test_machine_info_records_flags_lscpu_and_libraries():
    info = machine.machine_info()
    assert info["cpu_model"] and info["logical_cores"] >= 1
    assert set(info["isa"]) == set(machine.ISA_FLAGS)
    assert set(info["simd"]) <= set(info["cpu_flags"])
    assert info["isa"] == machine.isa(set(info["cpu_flags"]))
    versions = machine.library_versions()
    assert versions["torch"] and versions["sentence-transformers"]
    assert "onnxruntime" in versions and "openvino" in versions


def test_quality_scores_come_from_the_cache_unless_it_disagrees(tmp_path):
    """Quick runs time some questions and take the others' scores from the cache, if it agrees."""
    import json

    import numpy as np

    from tools.bench.quality import all_scores

    requests = {"q1": [1], "q2": [2], "q3": [3]}
    workload = type("W", (), {"requests": requests})
    called = []

    def score(name, qid):
        called.append(qid)
        return np.array([float(requests[qid][0])])

    cache = tmp_path / "scores.json"
    results = {"a": [np.array([1.0])]}  # q1 timed
    assert all_scores({"a": 0}, workload, ["q1"], results, cache, score) == {
        "a": {"q1": [1.0], "q2": [2.0], "q3": [3.0]}
    }
    assert called == ["q2", "q3"]  # cold cache: scored untimed, then saved
    called.clear()
    assert all_scores({"a": 0}, workload, ["q1"], results, cache, score)["a"]["q3"] == [3.0]
    assert called == []  # warm cache: nothing scored again
    cache.write_text(json.dumps({"a": {"q1": [1.5], "q2": [9.0], "q3": [9.0]}}))
    assert all_scores({"a": 0}, workload, ["q1"], results, cache, score)["a"]["q2"] == [2.0]
    assert called == ["q2", "q3"]  # the cache disagreed on q1: not used
