"""Solutions to notebook 03's exercises: try them in the notebook first."""

from __future__ import annotations


def exercise_1(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    """Return MRR@10: the mean over questions of 1 / rank of the first relevant id (0 if none)."""
    reciprocal_ranks = []
    for question, ids in ranked.items():
        ranks = [rank for rank, doc in enumerate(ids[:10], 1) if qrels[question].get(doc, 0) > 0]
        reciprocal_ranks.append(1 / ranks[0] if ranks else 0.0)
    return sum(reciprocal_ranks) / len(reciprocal_ranks)


def exercise_2(bm25, dense, questions, qrels, weights=(0.2, 0.8), k: int = 20, top_n: int = 5):
    """Return the Recall@top_n of the hybrid first stage with other fusion weights."""
    from helpers import evaluation as ev

    hybrid = ev.hybrid_retriever(bm25, dense, weights=weights)  # (BM25 weight, dense weight)
    candidates = ev.first_stage_candidates(hybrid, questions, k)
    run = ev.candidates_run(candidates, k, "hybrid re-weighted")
    return float(ev.evaluate(qrels, run, f"recall@{top_n}"))
