"""Solutions to notebook 02's exercises: try them in the notebook first."""

from __future__ import annotations

from helpers.reranking import build_reranking_retriever


def exercise_1(retriever, cross_encoder, question: str, top_n: int = 5, threshold: float = 0.55):
    """Return what a reranking retriever keeps with both top_n and a score threshold."""
    reranking = build_reranking_retriever(
        retriever, top_n=top_n, cross_encoder=cross_encoder, score_threshold=threshold
    )
    return reranking.invoke(question)


def exercise_2(questions: list[str], k: int = 30, top_n: int = 3) -> int:
    """Return how many (question, passage) pairs the cross-encoder scores."""
    # Every candidate is scored; top_n only decides how many are kept afterwards.
    return len(questions) * k
