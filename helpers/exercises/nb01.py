"""Self-checks for notebook 01's exercises (FAISS retrieval)."""

from __future__ import annotations

import math

from helpers.exercises.common import _check, _close, _mistake


def check_01_top5_ids(answer, retriever, question: str) -> bool:
    """Check the ids of the 5 chunks FAISS ranks best for ``question`` (notebook 01)."""

    def truth():
        return [d.metadata["id"] for d in retriever.vectorstore.similarity_search(question, k=5)]

    def judge(ids, top5):
        if any(hasattr(item, "page_content") for item in ids):
            return False, "these are Documents: give their ids, doc.metadata['id']."
        ids = [int(item) for item in ids]
        if len(ids) != 5:
            return False, f"{len(ids)} ids: give the first 5 only, best first."
        if ids == top5:
            return True, f"the inner-product top 5 for this question is {top5}."
        if sorted(ids) == sorted(top5):
            return False, "the right chunks in the wrong order: keep the retriever's order."
        return False, "not the retriever's top 5: take the first 5 of retriever.invoke(question)."

    return _check(answer, "a list of 5 chunk ids", truth, judge)


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
