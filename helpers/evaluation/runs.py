"""Searches and ranx runs: first stages, second stages, candidates scored once (notebook 03)."""

from __future__ import annotations

import re
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
    """Search every query and return a ranx Run of chunk ids and scores.

    ``retriever`` is a LangChain retriever or a function query -> docs or [(doc, score)], best
    first. Without scores, rank-based ones are made. Mean search seconds per query (after one
    warm-up search) go in ``run.metadata["seconds_per_query"]``.
    """
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


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25_retriever(chunks, k: int = 20):
    """Return LangChain's BM25Retriever over lowercased words (notebook 03)."""
    from langchain_community.retrievers import BM25Retriever

    return BM25Retriever.from_documents(chunks, k=k, preprocess_func=_words)


def bm25_search(chunks, k: int = 20):
    """Return a BM25 search with scores: LangChain's BM25Retriever, lowercased words."""
    retriever = bm25_retriever(chunks, k=k)

    def search(query: str):
        scores = retriever.vectorizer.get_scores(_words(query))
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [(retriever.docs[i], float(scores[i])) for i in ranked]

    return search


def rerank_search(retriever, cross_encoder, top_n: int | None = None):
    """Rerank a first stage's candidates by cross-encoder score, keeping scores."""
    first_stage = as_search(retriever)

    def search(query: str):
        docs = [doc for doc, _ in with_scores(first_stage(query))]
        scores = cross_encoder.score([(query, doc.page_content) for doc in docs]) if docs else []
        ranked = sorted(zip(docs, map(float, scores), strict=True), key=lambda pair: -pair[1])
        return ranked[:top_n] if top_n else ranked

    return search


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
    """Score each query's candidates from every first stage once: {query id: {chunk id: s}}.

    ``score(query, passages)`` returns one score per passage (``cross_encoder_scorer``,
    ``maxp_scorer``); a chunk found by several first stages is scored once.
    """
    scores = {}
    for query in queries:
        docs = {}
        for candidates in candidate_sets:
            docs.update({str(d.metadata["id"]): d for d, _ in candidates[query["id"]]})
        values = score(query["query"], [d.page_content for d in docs.values()]) if docs else []
        scores[query["id"]] = dict(zip(docs, map(float, values), strict=True))
    return scores


def blend_of(cross_scores: dict, weight: float, base: dict | None = None):
    """Return a second stage blending the cross-encoder with the first stage (notebook 03).

    It maps (candidates, k) to {query: {chunk id: score}}: each query's first ``k`` candidates
    get ``helpers.reranking.blend_scores`` of their cross-encoder scores and their first-stage
    scores, or ``base``'s scores ({query: {chunk id: score}}, e.g. MaxP's) when given.
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


def perfect_run(candidates: dict, qrels, k: int, name: str = "perfect reranker"):
    """Return a ranx Run of each query's first ``k`` candidates, relevant ones first by grade.

    No reranker of these k candidates can do better: its Recall@n is the ceiling (notebook 03).
    A whole copy counts as its marked chunk when that chunk is not among the candidates.
    """
    from ranx import Run

    grades, copies = qrels.to_dict(), getattr(qrels, "copies", {})
    runs = {}
    for qid, docs in candidates.items():
        ids = [str(d.metadata["id"]) for d, _ in docs[:k]]
        mapping = {c: m for c, m in copies.get(qid, {}).items() if m not in ids}
        grade = grades.get(qid, {})
        ranked = sorted(ids, key=lambda i: -grade.get(mapping.get(i, i), 0))  # stable sort
        runs[qid] = {i: float(len(ranked) - r) for r, i in enumerate(ranked)}
    return credit_first_copy(Run(runs, name=name), copies)


def credit_first_copy(run, copies: dict | None):
    """Return ``run`` with each whole copy shown before its marked chunk renamed to it.

    ``copies`` is ``whole_copies``'s {query: {copy id: marked id}}. A copy ranked above its
    marked chunk (or shown without it) earns the marked chunk's grade; the marked chunk, shown
    later, becomes the duplicate and earns nothing. Without copies the run is returned as is.
    """
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


def restrict(run, query_ids, name: str | None = None):
    """Return a copy of ``run`` with only ``query_ids`` (e.g. one split)."""
    from ranx import Run

    keep = set(query_ids)
    return Run({q: d for q, d in run.to_dict().items() if q in keep}, name=name or run.name)
