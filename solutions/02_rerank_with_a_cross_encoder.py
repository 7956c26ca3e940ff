"""Solutions to notebook 02's exercises: try them in the notebook first."""

from __future__ import annotations

from helpers.reranking import ScoredCrossEncoderReranker


def exercise_1(retriever, cross_encoder, question: str, keep: int = 2) -> float:
    """Return a score threshold that keeps exactly ``keep`` passages, whatever top_n allows."""
    candidates = retriever.invoke(question)
    everything = ScoredCrossEncoderReranker(model=cross_encoder, top_n=len(candidates))
    scores = [
        d.metadata["rerank_score"] for d in everything.compress_documents(candidates, question)
    ]
    # Passages scoring at least the threshold are kept: put it between score #keep+1 and #keep.
    return (scores[keep - 1] + scores[keep]) / 2


def exercise_2(questions: list[str], k: int = 30, top_n: int = 3) -> int:
    """Return how many (question, passage) pairs the cross-encoder scores."""
    # Every candidate is scored; top_n only decides how many are kept afterwards.
    return len(questions) * k
