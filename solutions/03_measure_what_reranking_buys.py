"""Solutions to notebook 03's exercises: try them in the notebook first."""

from __future__ import annotations


def exercise_1(ranked: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> float:
    """Return MRR@10: the mean over questions of 1 / rank of the first relevant id (0 if none)."""
    reciprocal_ranks = []
    for question, ids in ranked.items():
        ranks = [rank for rank, doc in enumerate(ids[:10], 1) if qrels[question].get(doc, 0) > 0]
        reciprocal_ranks.append(1 / ranks[0] if ranks else 0.0)
    return sum(reciprocal_ranks) / len(reciprocal_ranks)


def exercise_2(dense_candidates, labels, query_ids, k: int = 20, top_n: int = 3) -> float:
    """Return the best Recall@top_n that any reranker of the dense top k can reach."""
    recalls = []
    for question in query_ids:
        relevant = labels[question]  # chunk id -> grade, relevant chunks only
        found = sum(
            str(doc.metadata["id"]) in relevant for doc, _ in dense_candidates[question][:k]
        )
        # A perfect reranker puts every relevant candidate first, but only top_n fit.
        recalls.append(min(found, top_n) / len(relevant))
    return sum(recalls) / len(recalls)
