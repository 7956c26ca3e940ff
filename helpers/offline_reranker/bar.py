"""The bar a reranker must clear to earn its place after a first stage (issue 13; notebook 06)."""

from __future__ import annotations

# Reranked minus first stage, per metric, that still counts as "not worse".
SLACK = {"mrr@10": 0.0, "ndcg@10": 0.0, "recall@5": 0.02}


def bar_misses(first_stage: dict, reranked: dict, slack: dict | None = None) -> list[str]:
    """Return the metrics where ``reranked`` falls below ``first_stage`` by more than the slack."""
    slack = SLACK if slack is None else slack
    return [m for m, s in slack.items() if reranked[m] < first_stage[m] - s - 1e-12]


def earns_its_place(first_stage: dict, reranked: dict) -> bool:
    """Say whether reranking keeps MRR@10 and nDCG@10 and loses at most 0.02 of Recall@5."""
    return not bar_misses(first_stage, reranked)
