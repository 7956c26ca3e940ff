"""Metrics and significance over many systems, corrected for multiple comparisons (notebook 03)."""

from __future__ import annotations

import math


def evaluate(qrels, run, metrics, return_mean: bool = True):
    """Return ranx's ``metrics`` of ``run``, the first whole copy shown earning its credit."""
    from ranx import evaluate as ranx_evaluate

    from helpers.evaluation.runs import credit_first_copy

    run = credit_first_copy(run, getattr(qrels, "copies", None))
    return ranx_evaluate(qrels, run, metrics, return_mean=return_mean, make_comparable=True)


def per_query(qrels, run, metric: str = "ndcg@10") -> dict[str, float]:
    """Return ``metric`` for every query of ``qrels``, by query id."""
    values = evaluate(qrels, run, metric, return_mean=False)
    return dict(zip(qrels.keys(), map(float, values), strict=True))


def metrics_for(k: int) -> list[str]:
    """Return the ranx metric names the course reports."""
    return list(dict.fromkeys(["recall@5", f"recall@{k}", "mrr@10", "ndcg@10"]))


def adjust_p_values(report, max_p: float = 0.05) -> None:
    """Decide each pair's ``["significant"]`` on Benjamini-Hochberg's ``["p_adjusted"]``."""
    from scipy.stats import false_discovery_control

    pairs = list(report.comparisons.keys())
    for metric in report.metrics:
        tests = [report.comparisons[pair][metric] for pair in pairs]
        if not tests:
            continue
        # A t-test of identical scores has no p-value (NaN): nothing to detect, so 1.
        raw = [1.0 if math.isnan(t["p_value"]) else t["p_value"] for t in tests]
        adjusted = false_discovery_control(raw, method="bh")
        for test, p in zip(tests, adjusted, strict=True):
            test["p_adjusted"] = float(p)
            test["significant"] = bool(p < max_p)


def compare_runs(
    qrels, runs, k: int = 20, stat_test: str = "fisher", max_p: float = 0.05,
    metrics: list[str] | None = None, correction: str | None = "bh",
):  # fmt: skip
    """Score runs with ranx and test every pair, repeatably; ``"bh"`` corrects for many pairs."""
    import numba
    from ranx import compare

    from helpers.evaluation.runs import credit_first_copy

    runs = [credit_first_copy(run, getattr(qrels, "copies", None)) for run in runs]
    threads = numba.get_num_threads()
    try:  # ranx seeds only the calling thread's RNG: one thread makes p-values repeatable
        report = compare(
            qrels, runs, metrics=metrics or metrics_for(k), stat_test=stat_test, max_p=max_p,
            n_permutations=10_000, random_seed=42, threads=1, make_comparable=True,
        )  # fmt: skip
    finally:
        numba.set_num_threads(threads)
    if correction == "bh":
        adjust_p_values(report, max_p)
    elif correction is not None:
        raise ValueError(f"correction must be 'bh' or None, not {correction!r}")
    return report


def significantly_better(report, a: str, b: str, metric: str) -> bool:
    """Say whether run ``a`` beats run ``b`` on ``metric`` after the report's correction."""
    test = report.comparisons[a, b][metric]
    return bool(test["significant"]) and report.results[a][metric] > report.results[b][metric]


def verdict(report, a: str, b: str, metric: str) -> str:
    """Return "better", "worse" or "n.s." (no significant difference) for run ``a`` vs ``b``."""
    if significantly_better(report, a, b, metric):
        return "better"
    return "worse" if significantly_better(report, b, a, metric) else "n.s."
