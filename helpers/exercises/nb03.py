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


def check_03_hybrid_recall(answer, bm25, dense, questions, qrels, weights, k=20, top_n=5):
    """Check the Recall@top_n of a re-weighted hybrid first stage on ``questions`` (notebook 03)."""
    from helpers import evaluation as ev

    def recall(retriever, name) -> float:
        candidates = ev.first_stage_candidates(retriever, questions, k)
        return float(ev.evaluate(qrels, ev.candidates_run(candidates, k, name), f"recall@{top_n}"))

    def truth():
        return recall(ev.hybrid_retriever(bm25, dense, weights=weights), "hybrid")

    def judge(value, measured):
        equal = recall(ev.hybrid_retriever(bm25, dense), "hybrid 0.5/0.5")
        if abs(float(value) - measured) <= 0.0005:
            if abs(measured - equal) <= 0.0005:
                change = "the same as"
            else:
                change = "above" if measured > equal else "below"
            return True, (
                f"Recall@{top_n} {measured:.4f} with weights {tuple(weights)}, {change} "
                f"{equal:.4f} with equal weights."
            )
        mistakes = [
            (equal, f"that is the equal-weights hybrid: pass weights={tuple(weights)}."),
            (recall(dense, "dense"), "that is the dense retriever alone: fuse it with BM25."),
            (recall(bm25, "BM25"), "that is BM25 alone: fuse it with the dense retriever."),
        ]
        hint = f"build ev.hybrid_retriever(bm25, dense, weights=...), take its top {k}, ranx."
        return False, _mistake(float(value), mistakes, 0.0005) or hint

    return _check(answer, "a number", truth, judge)
