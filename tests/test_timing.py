"""helpers.timing: the honest-timing core notebook 05 shows (and notebooks 02-03 use)."""

import time

import pytest

from helpers import timing


def test_percentile_interpolates_like_numpy():
    values = [4.0, 1.0, 3.0, 2.0]
    assert timing.percentile(values, 0) == 1.0
    assert timing.percentile(values, 100) == 4.0
    assert timing.percentile(values, 50) == 2.5
    assert timing.percentile(values, 95) == pytest.approx(3.85)
    assert timing.percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        timing.percentile([], 50)


def test_a_p95_needs_thirty_samples():
    assert timing.supports_percentile(30, 95)
    assert not timing.supports_percentile(29, 95)
    assert not timing.supports_percentile(2, 95)
    assert timing.supports_percentile(3, 50)


def test_summarize_reports_median_min_max_p95_and_repetitions():
    summary = timing.summarize([3, 1, 2, 10, 4], unit="ms")
    assert summary["median"] == 3
    assert summary["min"] == 1
    assert summary["max"] == 10
    assert summary["p95"] == pytest.approx(8.8)
    assert summary["mean"] == 4
    assert summary["repetitions"] == 5
    assert summary["unit"] == "ms"
    assert summary["samples"] == [3.0, 1.0, 2.0, 10.0, 4.0]


def test_paired_ratios_pair_repetitions():
    assert timing.paired_ratios([2.0, 3.0], [1.0, 2.0]) == [2.0, 1.5]
    with pytest.raises(ValueError):
        timing.paired_ratios([1.0], [1.0, 2.0])


def test_interleaved_warms_up_rotates_and_times_every_contender():
    calls = []
    contenders = {name: (lambda n=name: calls.append(n)) for name in "abc"}
    seconds = timing.interleaved(contenders, repetitions=3, warmup=1)
    assert calls[:3] == ["a", "b", "c"]  # warm-up
    assert calls[3:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]  # order rotates
    assert {name: len(values) for name, values in seconds.items()} == {"a": 3, "b": 3, "c": 3}


def test_interleaved_times_what_each_contender_costs():
    seconds = timing.interleaved({"slow": lambda: time.sleep(0.02), "fast": lambda: None}, 3)
    assert min(seconds["slow"]) >= 0.02 > max(seconds["fast"])


def test_interleaved_calls_pairs_every_input_and_keeps_results_in_input_order():
    calls = []

    def contender(name):
        return lambda item: calls.append((name, item)) or f"{name}{item}"

    seconds, results = timing.interleaved_calls({n: contender(n) for n in "ab"}, [1, 2, 3])
    assert calls[:2] == [("a", 1), ("b", 1)]  # warm-up on the first input
    assert calls[2:] == [("a", 1), ("b", 1), ("b", 2), ("a", 2), ("a", 3), ("b", 3)]
    assert results == {"a": ["a1", "a2", "a3"], "b": ["b1", "b2", "b3"]}
    assert [len(v) for v in seconds.values()] == [3, 3]


def test_time_repeated_and_format_ms():
    summary = timing.time_repeated(lambda: time.sleep(0.01), repetitions=3)
    assert summary["repetitions"] == 3 and summary["min"] >= 0.01
    text = timing.format_ms(timing.summarize([0.0123, 0.0101, 0.0150]))
    assert text == "12.3 ms (min–max 10.1–15.0, 3 runs)"
