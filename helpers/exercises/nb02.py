"""Self-checks for notebook 02's exercises (reranking)."""

from __future__ import annotations

from helpers.exercises.common import _check, _mistake


def check_02_thresholded_docs(answer, retriever, cross_encoder, question, top_n, threshold):
    """Check the documents a reranker keeps with both top_n and a threshold (notebook 02)."""
    from helpers.reranking import ScoredCrossEncoderReranker

    def truth():
        reranker = ScoredCrossEncoderReranker(
            model=cross_encoder, top_n=top_n, score_threshold=threshold
        )
        kept = reranker.compress_documents(retriever.invoke(question), question)
        return [d.metadata["id"] for d in kept]

    def judge(docs, kept):
        if any("rerank_score" not in d.metadata for d in docs):
            return False, "no rerank_score in metadata: rerank with build_reranking_retriever."
        scores = [d.metadata["rerank_score"] for d in docs]
        if len(docs) > top_n:
            return False, f"{len(docs)} documents, but top_n={top_n} keeps at most {top_n}."
        if docs and min(scores) < threshold:
            return False, f"a score of {min(scores):.2f} is below the threshold {threshold:.2f}."
        if scores != sorted(scores, reverse=True):
            return False, "not sorted by rerank_score, best first."
        if [d.metadata["id"] for d in docs] != kept:
            return False, "not what the reranker keeps for this question's FAISS candidates."
        return True, f"{len(docs)} of at most {top_n} passages score ≥ {threshold:.2f}: {kept}."

    return _check(answer, "the list of Documents the retriever returns", truth, judge)


class _PairCounter:
    """A stand-in cross-encoder that counts the pairs it scores (all get 0): no model needed."""

    pairs = 0

    def score(self, pairs):
        self.pairs += len(pairs)
        return [0.0] * len(pairs)


def check_02_pairs_scored(answer, retriever, questions, k: int, top_n: int) -> bool:
    """Check how many pairs the cross-encoder scores for ``questions`` at k (notebook 02)."""
    from helpers.reranking import build_reranking_retriever

    def truth():  # run the real FAISS + LangChain pipeline and count what reaches the model
        counter = _PairCounter()
        base = retriever.vectorstore.as_retriever(search_kwargs={"k": k})
        reranking = build_reranking_retriever(base, top_n=top_n, cross_encoder=counter)
        for question in questions:
            reranking.invoke(question)
        return counter.pairs

    def judge(count, scored):
        if float(count) == scored:
            return True, f"{len(questions)} questions × {k} candidates = {scored} pairs."
        mistakes = [
            (len(questions) * top_n, "top_n only cuts after scoring: every candidate is scored."),
            (k, f"that is one question: count all {len(questions)}."),
        ]
        return False, _mistake(float(count), mistakes) or "one pair per candidate per question."

    return _check(answer, "a whole number", truth, judge)
