"""Statistics for verdicts: measurement records, paired differences, a bootstrap interval.

The timing core (warm-up, interleaving, medians) is ``helpers.timing``; this module adds what a
verdict over queries needs: per-query paired differences and a seeded bootstrap over queries.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from helpers.timing import percentile, summarize, supports_percentile


def measurement(name: str, values: Sequence[float], unit: str, **labels) -> dict:
    """Return one measurement record: name, labels, then the summary statistics.

    ``p95`` is None when the sample is too small to have a 95th percentile.
    """
    record = {"name": name, **labels, **summarize(values, unit)}
    if not supports_percentile(len(values), 95):
        record["p95"] = None
    return record


def ratio_of_means_ci(
    numerator: Sequence[float],
    denominator: Sequence[float],
    resamples: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Return (ratio, low, high): mean(numerator) / mean(denominator) and its bootstrap interval.

    The two series are paired (one value per query); resampling whole queries keeps the pairs.
    """  # fmt: skip
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("a paired ratio needs two series of the same, non-zero length")
    if sum(denominator) == 0:
        raise ValueError("the reference's mean is zero: no ratio")
    count, rng = len(numerator), random.Random(seed)
    ratios = []
    for _ in range(resamples):
        picks = [rng.randrange(count) for _ in range(count)]
        reference = sum(denominator[i] for i in picks)
        if reference:
            ratios.append(sum(numerator[i] for i in picks) / reference)
    tail = (1 - level) / 2 * 100
    point = sum(numerator) / sum(denominator)
    return point, percentile(ratios, tail), percentile(ratios, 100 - tail)


def paired_differences(values: dict, reference: dict) -> dict:
    """Summarise per-query differences ``values[q] - reference[q]``: wins, ties, losses, worst."""
    deltas = [values[q] - reference[q] for q in reference]
    return {
        "queries": len(deltas),
        "better": sum(d > 1e-9 for d in deltas),
        "same": sum(abs(d) <= 1e-9 for d in deltas),
        "worse": sum(d < -1e-9 for d in deltas),
        "mean": sum(deltas) / len(deltas) if deltas else None,
        "worst": min(deltas, default=None),
    }


def top1_agreement(reference: dict, scores: dict) -> float:
    """Return the share of queries whose top-scored candidate is the same as the reference's."""
    if not reference:
        raise ValueError("no queries to compare")
    same = sum(
        max(range(len(ref)), key=ref.__getitem__)
        == max(range(len(scores[q])), key=scores[q].__getitem__)
        for q, ref in reference.items()
    )
    return same / len(reference)
