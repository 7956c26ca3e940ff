"""Self-checks for notebook 05's exercises (speed)."""

from __future__ import annotations

from helpers.exercises.common import _check, _mistake, _verdict
from helpers.timing import paired_ratios, summarize

# The course's ship rule (notebook 05; the benchmark applies the same one, tools/bench/quality.py):
# the fastest backend that keeps at least this share of torch fp32's nDCG@10.
QUALITY_BAR = 0.99


def check_05_best_backend(answer, speedups: dict) -> bool:
    """Check the fastest backend that keeps 99% of fp32's nDCG@10 (notebook 05)."""
    bar = QUALITY_BAR

    def truth():  # torch fp32 (1.0x, 100%) wins ties and when nothing else keeps the quality
        rows = {"torch-fp32": (1.0, 1.0), **speedups}
        kept = [name for name, (_, share) in rows.items() if share >= bar]
        return max(kept, key=lambda name: (rows[name][0], name == "torch-fp32"))

    def judge(name, best):
        if name == best:
            return True, f"{best} is the fastest backend that keeps {bar:.0%} of fp32's nDCG@10."
        if name not in speedups and name != "torch-fp32":
            return False, f"{name!r} is not in the table: answer with one of its names."
        if name != "torch-fp32" and speedups[name][1] < bar:
            return False, f"{name} keeps {speedups[name][1]:.1%} of fp32's nDCG, below {bar:.0%}."
        return False, f"{name} keeps the quality, but another backend that does is faster."

    return _check(answer, "a backend name", truth, judge)


def _series_problem(seconds) -> str | None:
    """Return what is wrong with the two timing series, or None when they can be judged."""
    if not isinstance(seconds, dict) or not {"batch 1", "batch 20"} <= set(seconds):
        return "seconds needs the keys 'batch 1' and 'batch 20' (what interleaved returns)."
    if len(seconds["batch 1"]) < 5 or len(seconds["batch 1"]) != len(seconds["batch 20"]):
        return "time both batch sizes together: interleaved(..., repetitions=5) or more."
    return None


def check_05_batch_speedup(answer, seconds: dict) -> bool:
    """Check a batch-size speed-up measured with ``interleaved`` (notebook 05)."""
    problem = _series_problem(seconds)
    if problem and answer is not None:
        return _verdict(False, problem)
    if problem:
        return _check(answer, "a number", lambda: None, lambda *_: (False, problem))
    one, many = summarize(seconds["batch 1"]), summarize(seconds["batch 20"])

    def judge(ratio, speedup):
        ratio = float(ratio)
        per_repetition = summarize(paired_ratios(seconds["batch 1"], seconds["batch 20"]))["median"]
        if any(abs(ratio - v) <= 0.01 * v for v in (speedup, per_repetition)):
            verdict = "faster" if speedup > 1 else "not faster"
            return True, f"the medians of your interleaved runs say batch 20 is {verdict} here."
        mistakes = [
            (1 / speedup, "inverted: a speed-up is the slower time / the faster time."),
            (one["mean"] / many["mean"], "means: one slow repetition pulls them; use medians."),
        ]
        return False, _mistake(ratio, mistakes, 0.01 * speedup) or "divide the two medians."

    return _check(answer, "a number", lambda: one["median"] / many["median"], judge)
