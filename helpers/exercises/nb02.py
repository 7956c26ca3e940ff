"""Self-checks for notebook 02's exercises (reranking)."""

from __future__ import annotations

from helpers.exercises.common import _check, _mistake


def check_02_threshold_keeps(answer, retriever, cross_encoder, question, top_n: int, keep: int):
    """Check a score threshold that makes a top_n reranker keep exactly ``keep`` (notebook 02)."""
    from helpers.reranking import ScoredCrossEncoderReranker, build_reranking_retriever

    candidates = retriever.invoke(question)

    def truth():  # every candidate's sigmoid score, best first: the threshold must fall between
        everything = ScoredCrossEncoderReranker(model=cross_encoder, top_n=len(candidates))
        ranked = everything.compress_documents(candidates, question)
        scores = [d.metadata["rerank_score"] for d in ranked]
        if len(scores) <= keep or scores[keep] == scores[keep - 1]:
            raise RuntimeError(f"scores tie at the cut: no threshold keeps exactly {keep}")
        return scores

    def judge(threshold, _scores):
        threshold = float(threshold)
        reranking = build_reranking_retriever(
            retriever, top_n=top_n, cross_encoder=cross_encoder, score_threshold=threshold
        )
        kept = reranking.invoke(question)
        window = f"above sigmoid score #{keep + 1} and at most #{keep}, best first"
        if len(kept) == keep:
            return True, f"{threshold} keeps {keep} of at most {top_n}: the threshold binds."
        if len(kept) == top_n:
            return False, f"{top_n} kept: top_n did the cutting, not the threshold ({window})."
        if len(kept) > keep:
            return False, f"{len(kept)} kept: raise it ({window})."
        return False, f"{len(kept)} kept: lower it ({window})."

    return _check(answer, "a number between 0 and 1", truth, judge)


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
