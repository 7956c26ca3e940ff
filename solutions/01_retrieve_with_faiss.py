"""Solutions to notebook 01's exercises: try them in the notebook first."""

from __future__ import annotations

from helpers import search_with_scores


def exercise_1(retriever, question: str) -> list[int]:
    """Return the ids of the 5 chunks the inner-product retriever ranks best, best first."""
    return [doc.metadata["id"] for doc in retriever.invoke(question)[:5]]


def exercise_2(retriever, question: str) -> list[float]:
    """Return the squared L2 distances of the top 5, from the inner-product scores alone."""
    # ||q - d||² = ||q||² + ||d||² - 2 q·d, and both lengths are 1 for normalised vectors.
    return [2 - 2 * float(score) for _, score in search_with_scores(retriever, question)[:5]]
