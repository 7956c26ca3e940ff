"""Self-checks for notebook 03's exercises (evaluation)."""

from __future__ import annotations

from helpers.exercises.common import _check, _mistake


def _ranx_run(lists: dict):
    """Return a ranx Run whose scores keep each list's order (first = best)."""
    from ranx import Run

    return Run({q: {d: float(len(ids) - r) for r, d in enumerate(ids)} for q, ids in lists.items()})


def check_03_mrr_by_hand(answer, ranked: dict, qrels: dict) -> bool:
    """Check a hand-computed MRR@10 of ranked lists against ranx's (notebook 03)."""
    from ranx import Qrels, evaluate

    def reciprocal_ranks(cutoff=None):
        return [
            next((1 / r for r, d in enumerate(ranked[q][:cutoff], 1) if qrels[q].get(d)), 0.0)
            for q in qrels
        ]

    def judge(value, mrr):
        at_10 = reciprocal_ranks(10)
        if abs(float(value) - mrr) <= 0.005:
            return True, f"MRR@10 = {mrr:.2f}, as ranx computes it."
        mistakes = [
            (sum(reciprocal_ranks()) / len(qrels), "a hit below rank 10 counts as 0 in MRR@10."),
            (sum(at_10) / max(sum(r > 0 for r in at_10), 1), "questions with no hit count as 0."),
        ]
        return False, _mistake(float(value), mistakes) or "mean of 1 / rank of the first hit."

    def truth():
        return float(evaluate(Qrels(qrels), _ranx_run(ranked), "mrr@10", make_comparable=True))

    return _check(answer, "a number", truth, judge)


def check_03_recall_ceiling(answer, dense_candidates, labels, query_ids, k: int, top_n: int):
    """Check the best Recall@top_n any reranker of the dense top k can reach (notebook 03)."""
    from ranx import Qrels, evaluate

    qrels = Qrels({q: labels[q] for q in query_ids})
    top_k = {q: [str(d.metadata["id"]) for d, _ in dense_candidates[q][:k]] for q in query_ids}
    perfect = {q: sorted(ids, key=lambda i, q=q: -labels[q].get(i, 0)) for q, ids in top_k.items()}

    def recall(ranked, cutoff):
        return float(evaluate(qrels, _ranx_run(ranked), f"recall@{cutoff}", make_comparable=True))

    def judge(value, ceiling):
        if abs(float(value) - ceiling) <= 0.005:
            return True, f"at best Recall@{top_n} = {ceiling:.2f}: {top_n} slots, filled from {k}."
        mistakes = [
            (recall(top_k, k), f"that is Recall@{k}: only {top_n} passages are returned."),
            (recall(top_k, top_n), f"that is the dense order's Recall@{top_n}: rerank it."),
        ]
        hint = f"per question: min({top_n}, relevant in the top {k}) / all its relevant."
        return False, _mistake(float(value), mistakes) or hint

    return _check(answer, "a number", lambda: recall(perfect, top_n), judge)
