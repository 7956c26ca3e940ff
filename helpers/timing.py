"""Honest timing: warm up, interleave, compare per repetition, report medians (notebook 05)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0-100) with linear interpolation, as numpy's default."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(float(v) for v in values)
    position = (len(ordered) - 1) * q / 100
    low, high = int(position), min(int(position) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def supports_percentile(count: int, q: float, tail: float = 1.5) -> bool:
    """Say whether ``count`` samples hold a q-th percentile: ``tail`` of them expected above it.

    p95 needs 30 samples; below 20 it lies between the two largest values.
    """
    return count * (100 - q) / 100 >= tail


def summarize(values: Sequence[float], unit: str = "") -> dict:
    """Return median, min, max, p95, mean and repetitions of measured values."""
    values = [float(v) for v in values]
    return {
        "median": percentile(values, 50), "min": min(values), "max": max(values),
        "p95": percentile(values, 95), "mean": sum(values) / len(values),
        "repetitions": len(values), "unit": unit, "samples": values,
    }  # fmt: skip


def paired_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    """Return per-repetition ratios of two interleaved series."""
    if len(numerator) != len(denominator):
        raise ValueError("paired ratios need series of the same length")
    return [n / d for n, d in zip(numerator, denominator, strict=True)]


def interleaved(
    contenders: dict[str, Callable[[], object]], repetitions: int, warmup: int = 1
) -> dict[str, list[float]]:
    """Time each contender ``repetitions`` times after ``warmup`` calls, rotating who goes first."""
    for _ in range(warmup):
        for call in contenders.values():
            call()
    calls = {name: lambda _, call=call: call() for name, call in contenders.items()}
    return interleaved_calls(calls, [None] * repetitions, warmup=0)[0]


def interleaved_calls(
    contenders: dict[str, Callable[[object], object]], inputs: Sequence, warmup: int = 1
) -> tuple[dict[str, list[float]], dict[str, list]]:
    """Call every contender on each input in turn, rotating who goes first; return
    (seconds per name, results per name). One input is one paired sample: e.g. one question."""
    names = list(contenders)
    for item in list(inputs)[:warmup]:
        for name in names:
            contenders[name](item)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    results: dict[str, list] = {name: [] for name in names}
    for index, item in enumerate(inputs):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            results[name].append(contenders[name](item))
            seconds[name].append(time.perf_counter() - start)
    return seconds, results


def time_repeated(call: Callable[[], object], repetitions: int = 7, warmup: int = 1) -> dict:
    """Run ``call`` ``warmup`` times untimed, then time it ``repetitions`` times (seconds)."""
    return summarize(interleaved({"call": call}, repetitions, warmup)["call"], unit="s")


def format_ms(summary: dict) -> str:
    """Format a seconds summary as ``median ms (min–max, n runs)``."""
    low, high = summary["min"] * 1000, summary["max"] * 1000
    return (
        f"{summary['median'] * 1000:.1f} ms (min–max {low:.1f}–{high:.1f}, "
        f"{summary['repetitions']} runs)"
    )
