"""Searches and ranx runs: first stages, second stages, candidates scored once (notebook 03)."""

from __future__ import annotations

import time

from helpers.reranking import as_search, blend_scores


def with_scores(results) -> list[tuple]:
    """Return ``[(doc, score)]``, best first; documents without a score get rank-based ones."""
    results = list(results)
    return [
        item if isinstance(item, tuple) else (item, float(len(results) - rank))
        for rank, item in enumerate(results)
    ]


def _rank_preserving(results) -> dict[str, float]:
    scores: dict[str, float] = {}
    previous = float("inf")
    for doc, score in with_scores(results):
        if float(score) > previous + 1e-6:
            raise ValueError("Scores must not increase down a ranking: negate distances.")
        previous = min(float(score), previous - 1e-9)  # break ties in rank order
        scores.setdefault(str(doc.metadata["id"]), previous)
    return scores


def make_run(retriever, queries: list[dict], name: str):
    """Search every query; return a ranx Run, mean seconds per query in its metadata."""
    from ranx import Run

    search = as_search(retriever)
    if queries:
        search(queries[0]["query"])  # warm up: lazy loading is not per-query latency
    results, start = {}, time.perf_counter()
    for query in queries:
        results[query["id"]] = search(query["query"])
    seconds = (time.perf_counter() - start) / max(len(queries), 1)
    run = Run({qid: _rank_preserving(docs) for qid, docs in results.items()}, name=name)
    run.metadata["seconds_per_query"] = seconds
    return run


def first_stage_candidates(search, queries: list[dict], k: int) -> dict[str, list]:
    """Return each query's first-stage top ``k`` as [(doc, score)], best first (notebook 03)."""
    search = as_search(search)
    return {q["id"]: with_scores(search(q["query"]))[:k] for q in queries}


def score_candidates(cross_encoder, queries: list[dict], candidates: dict) -> dict[str, list]:
    """Return each query's cross-encoder scores, in candidate order (notebook 03)."""
    texts = {q["id"]: q["query"] for q in queries}
    return {
        qid: [
            float(s) for s in cross_encoder.score([(texts[qid], d.page_content) for d, _ in docs])
        ]
        for qid, docs in candidates.items()
    }


def cross_encoder_scorer(cross_encoder):
    """Return score(query, passages) -> cross-encoder scores, for ``second_stage_scores``."""
    return lambda query, passages: [
        float(s) for s in cross_encoder.score([(query, p) for p in passages])
    ]


def maxp_scorer(embed, weight: float = 0.5):
    """Return score(query, passages) -> MaxP scores (helpers.maxp), each text embedded once."""
    from helpers.maxp import cached_embed, maxp_scores

    embed_once = cached_embed(embed)
    return lambda query, passages: maxp_scores(embed_once, query, list(passages), weight)


def second_stage_scores(score, queries: list[dict], *candidate_sets) -> dict[str, dict]:
    """Score each query's candidates of every first stage once: {query id: {chunk id: s}}."""
    scores = {}
    for query in queries:
        docs = {}
        for candidates in candidate_sets:
            docs.update({str(d.metadata["id"]): d for d, _ in candidates[query["id"]]})
        values = score(query["query"], [d.page_content for d in docs.values()]) if docs else []
        scores[query["id"]] = dict(zip(docs, map(float, values), strict=True))
    return scores


def blend_of(cross_scores: dict, weight: float, base: dict | None = None):
    """Return (candidates, k) -> {query: {chunk id: blend of cross-encoder and first stage}}.

    ``base`` ({query: {chunk id: score}}, e.g. MaxP's) replaces the first stage's scores.
    """

    def scores_at(candidates: dict, k: int) -> dict:
        blended = {}
        for qid, docs in candidates.items():
            ids = [str(d.metadata["id"]) for d, _ in docs[:k]]
            first = [base[qid][i] for i in ids] if base else [float(s) for _, s in docs[:k]]
            cross = [cross_scores[qid][i] for i in ids]
            blended[qid] = dict(zip(ids, blend_scores(cross, first, weight), strict=True))
        return blended

    return scores_at


def candidates_run(candidates: dict, k: int, name: str):
    """Return a ranx Run of each query's first ``k`` candidates with their first-stage scores."""
    from ranx import Run

    return Run({qid: _rank_preserving(docs[:k]) for qid, docs in candidates.items()}, name=name)


def reranked_run(candidates: dict, scores: dict, k: int, name: str):
    """Return a ranx Run of each query's first ``k`` candidates, ordered by ``scores``."""
    from ranx import Run

    return Run(
        {
            qid: {str(d.metadata["id"]): scores[qid][str(d.metadata["id"])] for d, _ in docs[:k]}
            for qid, docs in candidates.items()
        },
        name=name,
    )


def credit_first_copy(run, copies: dict | None):
    """Return ``run`` with each whole copy shown before its marked chunk swapped with it."""
    from ranx import Run

    if not copies:
        return run
    renamed = {}
    for qid, scores in run.to_dict().items():
        mapping, swap, shown = copies.get(qid, {}), {}, set()
        for doc in sorted(scores, key=scores.get, reverse=True):
            marked = mapping.get(doc)
            if marked and marked not in shown and doc not in swap:
                swap[doc], swap[marked] = marked, doc
            shown.add(swap.get(doc, doc))
        renamed[qid] = {swap.get(doc, doc): score for doc, score in scores.items()}
    result = Run(renamed, name=run.name)
    result.metadata = dict(run.metadata)
    return result


def runs_at_k(candidates: dict, cross_scores: dict, k: int):
    """Return (first-stage run, reranked run) over each query's first ``k`` candidates."""
    from ranx import Run

    reranked = {}
    for qid, docs in candidates.items():
        ids = [str(doc.metadata["id"]) for doc, _ in docs[:k]]
        reranked[qid] = dict(zip(ids, cross_scores[qid][:k], strict=True))
    return candidates_run(candidates, k, "dense"), Run(reranked, name="reranked")
