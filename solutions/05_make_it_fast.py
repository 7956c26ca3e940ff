"""Solutions to notebook 05's exercises: try them in the notebook first."""

from __future__ import annotations

from statistics import median


def exercise_1(baseline_ms: list[float], optimised_ms: list[float]) -> float:
    """Return the speed-up: median baseline time over median optimised time."""
    # Medians, not means: one repetition slowed by another job must not move the answer.
    return median(baseline_ms) / median(optimised_ms)


def exercise_2(speedups: dict[str, tuple[float, float]], quality_bar: float = 0.99) -> str:
    """Return the fastest backend that keeps ``quality_bar`` of fp32's nDCG@10, else fp32."""
    good_enough = {name: speed for name, (speed, kept) in speedups.items() if kept >= quality_bar}
    return max(good_enough, key=good_enough.get) if good_enough else "torch-fp32"
