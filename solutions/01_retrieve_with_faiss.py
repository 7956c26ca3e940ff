"""Solutions to notebook 01's exercises: try them in the notebook first."""

from __future__ import annotations

from helpers import search_with_scores


def exercise_1(retriever, question: str, answer_ids: list[int]) -> int:
    """Return the smallest k whose results hold every chunk labelled as answering ``question``."""
    store = retriever.vectorstore
    # Rank every chunk once: the deepest answer chunk's rank is the smallest k that finds all.
    ranked = [doc.metadata["id"] for doc in store.similarity_search(question, k=store.index.ntotal)]
    return max(ranked.index(chunk_id) for chunk_id in answer_ids) + 1


def exercise_2(retriever, question: str) -> list[float]:
    """Return the squared L2 distances of the top 5, from the inner-product scores alone."""
    # ||q - d||² = ||q||² + ||d||² - 2 q·d, and both lengths are 1 for normalised vectors.
    return [2 - 2 * float(score) for _, score in search_with_scores(retriever, question)[:5]]
