"""Solutions to notebook 06's exercises: try them in the notebook first."""

from __future__ import annotations


def exercise_1(positive: float, candidates: dict[str, float], margin: float = 0.05, count: int = 3):
    """Return the ``count`` negatives mine_hard_negatives keeps, best first."""
    # A relative margin scales with the positive's score: 5% of 0.80 is 0.04, so 0.76 is the limit.
    limit = positive - abs(positive) * margin
    ranked = sorted(candidates, key=candidates.get, reverse=True)  # "top" sampling: hardest first
    return [name for name in ranked if candidates[name] <= limit][:count]


def exercise_2(results: dict[str, dict[str, float]]) -> str:
    """Return the reranker that clears the bar with the best nDCG@10, else "dense"."""
    dense = results["dense"]

    def clears(metrics):  # MRR@10 and nDCG@10 kept, Recall@5 at most 0.02 lower
        return (metrics["mrr@10"] >= dense["mrr@10"] and metrics["ndcg@10"] >= dense["ndcg@10"]
                and metrics["recall@5"] >= dense["recall@5"] - 0.02)  # fmt: skip

    good = [name for name, metrics in results.items() if name != "dense" and clears(metrics)]
    return max(good, key=lambda name: results[name]["ndcg@10"]) if good else "dense"
