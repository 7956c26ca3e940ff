"""Self-checks for notebook 05's exercises (speed)."""

from __future__ import annotations

from helpers.bench import GOALS, best_backend, paired_ratios, summarize
from helpers.exercises.common import _check, _mistake


def check_05_speedup(answer, baseline_ms, optimised_ms) -> bool:
    """Check a speed-up computed from the medians of two timing series (notebook 05)."""
    baseline, optimised = summarize(baseline_ms), summarize(optimised_ms)
    per_repetition = summarize(paired_ratios(baseline_ms, optimised_ms))["median"]

    def judge(ratio, speedup):
        ratio = float(ratio)
        if any(abs(ratio - v) <= 0.01 * v for v in (speedup, per_repetition)):
            return True, f"{speedup:.2f}× as fast by the medians, which one slow run cannot move."
        mistakes = [
            (1 / speedup, "inverted: a speed-up is baseline time / optimised time."),
            (baseline["mean"] / optimised["mean"], "means: one slow repetition pulls them."),
        ]
        return False, _mistake(ratio, mistakes, 0.01 * speedup) or "divide the two medians."

    return _check(answer, "a number", lambda: baseline["median"] / optimised["median"], judge)


def check_05_best_backend(answer, speedups: dict) -> bool:
    """Check the fastest backend that keeps 99% of fp32's nDCG@10 (notebook 05)."""
    bar = GOALS["throughput"][1]

    def truth():  # the table in helpers.bench's shape, so that its own rule picks the winner
        ratios = [
            {"name": n, "kind": "speed-up", "batch_size": 32, "median": s[0]}
            for n, s in speedups.items()
        ]
        quality = {n: {"ndcg_ratio_vs_fp32": s[1]} for n, s in speedups.items()}
        name, _, kept = best_backend({"ratios": ratios, "quality": quality})
        return name if kept >= bar else "torch-fp32"

    def judge(name, best):
        if name == best:
            return True, f"{best} is the fastest backend that keeps {bar:.0%} of fp32's nDCG@10."
        if name not in speedups:
            return False, f"{name!r} is not in the table: answer with one of its names."
        if speedups[name][1] < bar:
            return False, f"{name} keeps {speedups[name][1]:.1%} of fp32's nDCG, below {bar:.0%}."
        return False, f"{name} keeps the quality, but another backend that does is faster."

    return _check(answer, "a backend name", truth, judge)
