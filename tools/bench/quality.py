"""Section 2: every backend on the course's request, over every answerable question (notebook 05).

One question's request is its dense top-20 chunks scored in one call (batch 32, max_length
512: the course's defaults). The backends take turns on each question (the order rotates), so
each question gives one paired timing and one paired nDCG@10 per backend:

- speed-up: per-question ratio of torch fp32's time to the backend's, median over questions;
- quality: nDCG@10 of each backend's ranking, its ratio to fp32's with a bootstrap interval over
  questions (seeded), per-question wins/ties/losses, and the share of questions with the same
  top-1 chunk; the largest logit difference is the tolerance a served copy must meet.

``--quick`` times the first ``timed_questions`` (30) and ranks every question: the others'
scores come from a cache keyed by the run's fingerprint (code, model, threads, CPU, libraries),
else are computed untimed. A cache whose scores for the timed questions differ is not used.
"""

from __future__ import annotations

import json
from pathlib import Path

from helpers.timing import interleaved_calls, paired_ratios
from tools.bench.settings import GOALS, REFERENCE, Settings
from tools.bench.stats import (
    measurement,
    paired_differences,
    ratio_of_means_ci,
    top1_agreement,
)  # fmt: skip
from tools.bench.workload import Workload, mean, per_query_ndcg


def agrees(cached: dict, fresh: dict, tolerance: float = 1e-4) -> bool:
    """Say whether cached scores hold every fresh question's scores within ``tolerance``."""
    return all(
        len(cached.get(q, [])) == len(s)
        and all(abs(a - b) <= tolerance for a, b in zip(cached[q], s, strict=True))
        for q, s in fresh.items()
    )


def all_scores(scorers, workload, timed, results, cache: Path | None, score) -> dict:
    """Return {backend: {question: scores}}: timed results, then the cache, else scored now."""
    scores = {
        n: dict(zip(timed, (r.tolist() for r in out), strict=True)) for n, out in results.items()
    }
    cached = json.loads(cache.read_text()) if cache and cache.is_file() else {}
    for name in scorers:
        known = cached.get(name, {})
        if not agrees(known, scores[name]):
            known = {}  # the cache disagrees with what was just measured: score again
        for qid in workload.requests:
            if qid not in scores[name]:
                scores[name][qid] = known.get(qid) or score(name, qid).tolist()
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(scores))
    return scores


def bench_quality(
    scorers: dict, workload: Workload, settings: Settings, cache: Path | None = None
) -> dict:
    """Time every backend on each timed question's request, interleaved; rank every question."""
    batch, length = settings.default_batch_size, settings.default_max_length
    qids = list(workload.requests)
    timed = qids[: settings.timed_questions] if settings.timed_questions else qids

    def score(name, qid):
        return scorers[name].score(workload.requests[qid], batch, length)

    seconds, results = interleaved_calls(
        {n: (lambda q, n=n: score(n, q)) for n in scorers}, timed, settings.warmup
    )
    scores = all_scores(scorers, workload, timed, results, cache, score)
    ndcg = {name: per_query_ndcg(workload, by_query) for name, by_query in scores.items()}
    reference = ndcg[REFERENCE]
    backends = {}
    for name in scorers:
        ratio, low, high = ratio_of_means_ci(
            [ndcg[name][q] for q in reference], list(reference.values()),
            settings.bootstrap_resamples, settings.seed,
        )  # fmt: skip
        diffs = [
            abs(a - b)
            for q in qids
            for a, b in zip(scores[name][q], scores[REFERENCE][q], strict=True)
        ]
        backends[name] = {
            "ndcg@10": mean(ndcg[name].values()),
            "ndcg_ratio_vs_fp32": ratio,
            "ndcg_ratio_ci95": [low, high],
            "per_query_vs_fp32": paired_differences(ndcg[name], reference),
            "top1_agreement_with_fp32": top1_agreement(scores[REFERENCE], scores[name]),
            "max_abs_logit_diff": max(diffs),
            "latency": measurement(name, [s * 1000 for s in seconds[name]], "ms/request"),
            "speedup": measurement(
                name, paired_ratios(seconds[REFERENCE], seconds[name]), "× vs torch-fp32"
            ),
        }
    return {
        "status": "ok",
        "queries": len(qids),
        "timed_queries": len(timed),
        "candidates": settings.candidates,
        "batch_size": batch,
        "max_length": length,
        "dense_ndcg@10": workload.dense_ndcg,
        "tokens": workload.tokens,
        "backends": backends,
        "per_query_ndcg": ndcg,
    }


def timed_questions(section: dict) -> int:
    """Return how many questions the speed-ups rest on (``--quick`` times fewer than it ranks)."""
    return section.get("timed_queries", section["queries"])


def best_backend(section: dict, quality_bar: float = GOALS["quality"][1]) -> dict | None:
    """Return the fastest backend whose nDCG@10 keeps ``quality_bar`` of fp32's (else fp32).

    Returns {"name", "speedup", "ndcg_ratio", "ci95", "queries" (timed: behind the speed-up),
    "ranked" (every question: behind the nDCG)}; None when nothing ran.
    """
    backends = section.get("backends") or {}
    if REFERENCE not in backends:
        return None
    kept = {n: b for n, b in backends.items() if b["ndcg_ratio_vs_fp32"] >= quality_bar}
    name = max(kept, key=lambda n: (kept[n]["speedup"]["median"], n == REFERENCE))
    chosen = backends[name]
    return {
        "name": name,
        "speedup": chosen["speedup"],
        "ndcg_ratio": chosen["ndcg_ratio_vs_fp32"],
        "ci95": chosen["ndcg_ratio_ci95"],
        "queries": timed_questions(section),
        "ranked": section["queries"],
    }
