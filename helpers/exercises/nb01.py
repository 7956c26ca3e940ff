"""Self-checks for notebook 01's exercises (FAISS retrieval)."""

from __future__ import annotations

import math

from helpers.exercises.common import _check, _close, _mistake


def check_01_smallest_k(answer, retriever, question: str, answer_ids) -> bool:
    """Check the smallest k whose FAISS results hold every labelled answer chunk (notebook 01)."""
    store = retriever.vectorstore
    wanted = {int(i) for i in answer_ids}

    def found(k: int) -> set:
        return {d.metadata["id"] for d in store.similarity_search(question, k=k)} & wanted

    def truth():  # rank every chunk once; the deepest answer chunk sets the smallest k
        ranked = [d.metadata["id"] for d in store.similarity_search(question, k=store.index.ntotal)]
        return max(ranked.index(i) for i in wanted) + 1

    def judge(k, smallest):
        k = int(k)
        if k == smallest:
            return True, (
                f"k={k} finds all {len(wanted)} answer chunks; k={k - 1} finds {len(found(k - 1))}."
            )
        if k == len(wanted):
            return False, "that many only if the answers were the top ones: look at their ranks."
        if k < smallest:
            missing = sorted(wanted - found(k))
            return False, f"k={k} misses chunk(s) {missing}: their rank is deeper than {k}."
        return False, f"k={k} finds them all, but so does a smaller k: find the deepest answer."

    return _check(answer, "a whole number (a k)", truth, judge)


def check_01_l2_distances(answer, retriever, question: str) -> bool:
    """Check squared L2 distances predicted from inner-product scores (notebook 01)."""
    import faiss
    import numpy as np

    store = retriever.vectorstore
    vectors = store.index.reconstruct_n(0, store.index.ntotal)

    def truth():  # an exact L2 index over the very vectors the retriever searches
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(vectors)
        query = np.array([store.embeddings.embed_query(question)], dtype="float32")
        return [float(d) for d in index.search(query, 5)[0][0]]

    def judge(distances, squared):
        got = [float(d) for d in distances]
        if not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3):
            return False, "these vectors are not normalised: run with RERANK_PROFILE=offline."
        if _close(got, squared, 1e-3):
            return True, "2 - 2·score gives FAISS's squared L2 distances in the same order."
        mistakes = [
            ([d / 2 for d in squared], "half of it: ‖q‖² + ‖d‖² = 2 when both lengths are 1."),
            ([math.sqrt(d) for d in squared], "FAISS's L2 index reports the squared distance."),
            ([1 - d / 2 for d in squared], "these are the scores: convert each with 2 - 2·score."),
        ]
        hint = _mistake(got, mistakes, 1e-3)
        return False, hint or "not FAISS's squared L2 distances: apply 2 - 2·score to each score."

    return _check(answer, "a list of 5 distances", truth, judge)
