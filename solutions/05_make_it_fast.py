"""Solutions to notebook 05's exercises: try them in the notebook first."""

from __future__ import annotations

from statistics import median


def exercise_1(speedups: dict[str, tuple[float, float]], quality_bar: float = 0.99) -> str:
    """Return the fastest backend that keeps ``quality_bar`` of fp32's nDCG@10, else fp32."""
    # The quality bar first: a faster backend that ranks worse is not a win.
    good_enough = {name: speed for name, (speed, kept) in speedups.items() if kept >= quality_bar}
    return max(good_enough, key=good_enough.get) if good_enough else "torch-fp32"


def exercise_2(seconds: dict[str, list[float]]) -> float:
    """Return batch 20's speed-up over batch 1: median time of batch 1 / median of batch 20."""
    # Medians, not means: one repetition slowed by another job must not move the answer.
    return median(seconds["batch 1"]) / median(seconds["batch 20"])
