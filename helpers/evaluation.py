"""Measure retrieval and reranking with labelled queries and ranx (introduced in notebook 03).

Labels are exact substrings of the corpus, so they survive any change of chunking. A chunk is
relevant to a query with grade ``g`` when it overlaps a passage labelled ``g`` by at least half of
the shorter of the two texts: it contains the passage, it lies inside the passage, or a chunk
boundary cut the passage and the chunk keeps at least half of it (as its beginning or its end).
A chunk matching several passages takes the highest grade.

Every number comes from ranx. Queries with no relevant passage (``"relevant": []``) cannot enter
ranx's qrels, so they are left out of Recall, MRR and nDCG and reported on their own: how well
each run's top score separates them from the answerable queries.

``python -m helpers.evaluation --queries data/eval/queries.json --split test`` prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import warnings
from pathlib import Path

DEFAULT_QUERIES = Path(__file__).resolve().parents[1] / "data" / "eval" / "queries.json"
QUERY_TYPES = ("paraphrase", "keyword_light", "multi_passage", "no_answer")
SPLITS = ("dev", "test")
GRADES = (1, 2)


class QueryFileError(ValueError):
    """The labelled query file is malformed; the message names the query and the problem."""


def _check_query(query: dict, corpus_text: str | None, seen: set) -> None:
    qid = query.get("id")
    if not qid or not str(query.get("query", "")).strip():
        raise QueryFileError(f"Query {qid!r} needs a non-empty 'id' and 'query'.")
    if qid in seen:
        raise QueryFileError(f"Query id {qid!r} is used twice; ids must be unique.")
    seen.add(qid)
    if query.get("split", "test") not in SPLITS:
        raise QueryFileError(f"Query {qid}: split must be one of {SPLITS}.")
    if query.get("type", "paraphrase") not in QUERY_TYPES:
        raise QueryFileError(f"Query {qid}: type must be one of {QUERY_TYPES}.")
    for passage in query.get("relevant", []):
        if passage.get("grade") not in GRADES:
            raise QueryFileError(
                f"Query {qid}: grade must be 1 or 2, not {passage.get('grade')!r}."
            )
        if corpus_text is not None and passage.get("text", "") not in corpus_text:
            raise QueryFileError(
                f"Query {qid}: {passage.get('text')!r} is not an exact substring of the corpus "
                "(check curly quotes, dashes and spaces)."
            )


def load_queries(path=DEFAULT_QUERIES, corpus_text: str | None = None) -> list[dict]:
    """Load a labelled query file and validate it against the corpus."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if data.get("version") != 1 or not isinstance(data.get("queries"), list):
        raise QueryFileError(f"{path}: expected {{'version': 1, 'queries': [...]}}.")
    seen: set = set()
    for query in data["queries"]:
        _check_query(query, corpus_text, seen)
    return data["queries"]


def select(queries: list[dict], split: str | None = None, answerable: bool | None = None):
    """Return the queries of one split, and only (un)answerable ones if asked."""
    return [
        q
        for q in queries
        if (split is None or q.get("split", "test") == split)
        and (answerable is None or bool(q.get("relevant")) == answerable)
    ]


def overlap(chunk: str, passage: str) -> int:
    """Return how many characters of ``passage`` a chunk holds in one piece."""
    if passage in chunk:
        return len(passage)
    if chunk in passage:
        return len(chunk)
    for size in range(min(len(chunk), len(passage)) - 1, 0, -1):
        if chunk.endswith(passage[:size]) or chunk.startswith(passage[-size:]):
            return size
    return 0


def is_relevant(chunk: str, passage: str, min_fraction: float = 0.5) -> bool:
    """Say whether the overlap covers half of the shorter text."""
    return overlap(chunk, passage) >= min_fraction * min(len(chunk), len(passage))


def label_chunks(queries: list[dict], chunks) -> dict[str, dict[str, int]]:
    """Map each query to {chunk id: grade} by substring overlap."""
    labels = {}
    for query in queries:
        grades: dict[str, int] = {}
        for passage in query.get("relevant", []):
            for chunk in chunks:
                if is_relevant(chunk.page_content, passage["text"]):
                    chunk_id = str(chunk.metadata["id"])
                    grades[chunk_id] = max(grades.get(chunk_id, 0), passage["grade"])
        labels[query["id"]] = grades
    return labels


def build_qrels(labels: dict[str, dict[str, int]]):
    """Build ranx Qrels, leaving out queries without relevant chunks."""
    from ranx import Qrels

    return Qrels({qid: grades for qid, grades in labels.items() if grades})


def as_search(retriever):
    """Turn a LangChain retriever into a function query -> [(doc, score)]."""
    if hasattr(retriever, "vectorstore"):
        from helpers.retrieval import search_with_scores

        inner = "INNER" in str(getattr(retriever.vectorstore, "distance_strategy", ""))
        sign = 1.0 if inner else -1.0  # ranx ranks by descending score: negate distances
        return lambda query: [(d, sign * s) for d, s in search_with_scores(retriever, query)]
    if hasattr(retriever, "invoke"):
        return retriever.invoke
    return retriever


def _rank_preserving(results) -> dict[str, float]:
    scores: dict[str, float] = {}
    previous = float("inf")
    for rank, item in enumerate(results):
        doc, score = item if isinstance(item, tuple) else (item, float(len(results) - rank))
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


def bm25_search(chunks, k: int = 20):
    """Return a BM25 search with scores: LangChain's BM25Retriever, lowercased words."""
    from langchain_community.retrievers import BM25Retriever

    retriever = BM25Retriever.from_documents(chunks, k=k, preprocess_func=_words)

    def search(query: str):
        scores = retriever.vectorizer.get_scores(_words(query))
        ranked = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [(retriever.docs[i], float(scores[i])) for i in ranked]

    return search


def rerank_search(retriever, cross_encoder, top_n: int | None = None):
    """Rerank a first stage's candidates by cross-encoder score, keeping scores."""
    first_stage = as_search(retriever)

    def search(query: str):
        docs = [item[0] if isinstance(item, tuple) else item for item in first_stage(query)]
        scores = cross_encoder.score([(query, doc.page_content) for doc in docs]) if docs else []
        ranked = sorted(zip(docs, map(float, scores), strict=True), key=lambda pair: -pair[1])
        return ranked[:top_n] if top_n else ranked

    return search


def first_stage_candidates(search, queries: list[dict], k: int) -> dict[str, list]:
    """Return each query's first-stage top ``k`` as [(doc, score)], best first (notebook 03)."""
    search = as_search(search)
    return {q["id"]: list(search(q["query"]))[:k] for q in queries}


def score_candidates(cross_encoder, queries: list[dict], candidates: dict) -> dict[str, list]:
    """Return each query's cross-encoder scores, in candidate order (notebook 03)."""
    texts = {q["id"]: q["query"] for q in queries}
    return {
        qid: [
            float(s) for s in cross_encoder.score([(texts[qid], d.page_content) for d, _ in docs])
        ]
        for qid, docs in candidates.items()
    }


def candidates_run(candidates: dict, k: int, name: str):
    """Return a ranx Run of each query's first ``k`` candidates with their first-stage scores."""
    from ranx import Run

    return Run({qid: _rank_preserving(docs[:k]) for qid, docs in candidates.items()}, name=name)


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


def tune_fusion(qrels, runs, metric: str = "ndcg@10") -> dict:
    """Pick the z-normalised weighted-sum weights that maximise ``metric`` on these queries."""
    from ranx import optimize_fusion

    params = optimize_fusion(
        qrels, runs, norm="zmuv", method="wsum", metric=metric, step=0.1, show_progress=False
    )
    return {"weights": [round(float(w), 2) for w in params["weights"]]}


def fuse_runs(runs, params: dict, name: str = "fused"):
    """Fuse runs with a z-normalised weighted sum (weights from ``tune_fusion``)."""
    from ranx import fuse

    fused = fuse(runs, norm="zmuv", method="wsum", params=params)
    fused.name = name
    return fused


def per_query(qrels, run, metric: str = "ndcg@10") -> dict[str, float]:
    """Return ``metric`` for every query of ``qrels``, by query id."""
    from ranx import evaluate

    values = evaluate(qrels, run, metric, return_mean=False, make_comparable=True)
    return dict(zip(qrels.keys(), map(float, values), strict=True))


def wins_losses(before: dict, after: dict, tolerance: float = 1e-9) -> tuple[int, int, int]:
    """Count the queries where ``after`` beats, ties and loses to ``before``."""
    deltas = [after[q] - before[q] for q in before]
    return (sum(d > tolerance for d in deltas), sum(abs(d) <= tolerance for d in deltas),
            sum(d < -tolerance for d in deltas))  # fmt: skip


def metrics_for(k: int) -> list[str]:
    """Return the ranx metric names the course reports."""
    return list(dict.fromkeys(["recall@5", f"recall@{k}", "mrr@10", "ndcg@10"]))


def compare_runs(qrels, runs, k: int = 20, stat_test: str = "fisher", max_p: float = 0.05):
    """Score runs with ranx and test every pair for significance, repeatably."""
    import numba
    from ranx import compare

    threads = numba.get_num_threads()
    try:  # ranx seeds only the calling thread's RNG: one thread makes p-values repeatable
        return compare(
            qrels, runs, metrics=metrics_for(k), stat_test=stat_test, max_p=max_p,
            n_permutations=10_000, random_seed=42, threads=1, make_comparable=True,
        )  # fmt: skip
    finally:
        numba.set_num_threads(threads)


def top_score_separation(answerable_run, no_answer_run) -> float | None:
    """Return the share of (no-answer, answerable) query pairs whose top score is lower.

    1.0: a threshold on the top score would reject every no-answer query; 0.5: chance.
    """
    low = [max(d.values(), default=0.0) for d in no_answer_run.to_dict().values()]
    high = [max(d.values(), default=0.0) for d in answerable_run.to_dict().values()]
    if not low or not high:
        return None
    return sum((n < a) + 0.5 * (n == a) for n in low for a in high) / (len(low) * len(high))


def markdown_table(report, runs, separations: dict) -> str:
    """Format a ranx comparison as a Markdown table with latency and no-answer columns."""
    labels = [report.get_metric_label(m) for m in report.metrics]
    lines = [
        "| # | run | " + " | ".join(labels) + " | ms/query | no-answer separation |",
        "|---|---|" + "---:|" * (len(labels) + 2),
    ]
    for index, run in enumerate(runs):
        letter = chr(ord("a") + index)
        cells = [
            f"{report.results[run.name][m]:.3f}{report.get_superscript_for_table(run.name, m)}"
            for m in report.metrics
        ]
        sep = separations.get(run.name)
        cells += [
            f"{run.metadata['seconds_per_query'] * 1000:.1f}",
            "n/a" if sep is None else f"{sep:.2f}",
        ]
        lines.append(f"| {letter} | {run.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _chunks(corpus: str | None, chunk_size: int, overlap_chars: int):
    from helpers.data import load_corpus, split_corpus

    if corpus is None:
        documents = load_corpus()
    else:
        from langchain_community.document_loaders import TextLoader

        documents = TextLoader(corpus, encoding="utf-8").load()
    text = "\n".join(d.page_content for d in documents)
    return text, split_corpus(documents, chunk_size=chunk_size, overlap=overlap_chars)


def _searches(chunks, k: int, notes: list[str]) -> list:
    from helpers.config import load_config, model_label
    from helpers.retrieval import build_faiss_retriever, make_embeddings

    searches = {"BM25": bm25_search(chunks, k=k)}
    embeddings = make_embeddings()
    dense = build_faiss_retriever(chunks, embeddings, k=k)
    searches[f"dense ({model_label(embeddings.model_name).split(' (')[0]})"] = dense
    try:
        from helpers.reranking import make_cross_encoder

        cross_encoder = make_cross_encoder()
        label = model_label(load_config().reranker_model).split(" (")[0]
        searches[f"dense + rerank ({label})"] = rerank_search(dense, cross_encoder)
    except Exception as exc:  # a missing reranker only removes its row
        notes.append(f"No reranked row: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    return list(searches.items())


def fused_row(runs, searches: dict, chunks, args, notes: list[str]):
    """Return the dense + rerank fusion run, weights tuned on the file's dev queries, or None."""
    if len(runs) < 3:
        return None
    dev = select(load_queries(args.queries), "dev", answerable=True)
    if not dev:
        notes.append("No fused row: the query file has no dev queries to tune its weights on.")
        return None
    dev_runs = [make_run(searches[run.name], dev, run.name) for run in runs[1:3]]
    params = tune_fusion(build_qrels(label_chunks(dev, chunks)), dev_runs)
    fused = fuse_runs(runs[1:3], params, name=f"fused {params['weights']} (zmuv wsum)")
    fused.metadata = {"seconds_per_query": sum(r.metadata["seconds_per_query"] for r in runs[1:3])}
    if args.split != "test":
        notes.append("Fusion weights were tuned on the dev queries, which this table includes.")
    return fused


def main(argv: list[str] | None = None) -> int:
    """Evaluate BM25, dense and reranked retrieval on labelled queries; print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m helpers.evaluation", description=main.__doc__)
    parser.add_argument("--queries", default=str(DEFAULT_QUERIES), help="labelled query file")
    parser.add_argument("--corpus", help="UTF-8 text file (default: the course corpus)")
    parser.add_argument("--k", type=int, default=20, help="candidates retrieved (default 20)")
    parser.add_argument("--split", choices=SPLITS, help="evaluate one split (default: all)")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--chunk-overlap", type=int, default=100)
    parser.add_argument("--stat-test", choices=("fisher", "student"), default="fisher")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # before transformers loads
    from helpers.runtime import set_cpu_threads

    warnings.filterwarnings("ignore", message="unsafe cast from uint64 to int64")  # ranx/numba

    set_cpu_threads()  # RERANK_THREADS, else all cores
    try:
        text, chunks = _chunks(args.corpus, args.chunk_size, args.chunk_overlap)
        queries = select(load_queries(args.queries, corpus_text=text), args.split)
    except (OSError, ValueError, RuntimeError) as exc:  # bad paths, labels or corpus: say which
        print(f"error: {exc}", file=sys.stderr)
        return 2
    answerable, no_answer = select(queries, answerable=True), select(queries, answerable=False)
    qrels = build_qrels(label_chunks(answerable, chunks))
    notes: list[str] = []
    runs, separations = [], {}
    searches = _searches(chunks, args.k, notes)
    for name, search in searches:
        runs.append(make_run(search, answerable, name))
        separations[name] = top_score_separation(runs[-1], make_run(search, no_answer, name))
    fused = fused_row(runs, dict(searches), chunks, args, notes)
    runs += [fused] if fused else []
    report = compare_runs(qrels, runs, k=args.k, stat_test=args.stat_test)
    print(markdown_table(report, runs, separations))
    test_name = {"fisher": "Fisher's randomisation test", "student": "paired t-test"}
    print(
        f"\n{len(qrels.keys())} answerable queries ({args.split or 'all splits'}), "
        f"{len(chunks)} chunks, k={args.k}. Superscript letters: significantly better than that "
        f"row ({test_name[args.stat_test]}, p < 0.05). No-answer separation: share of "
        f"(no-answer, answerable) query pairs where the no-answer query's top score is lower "
        f"({len(no_answer)} no-answer queries; 0.5 = chance)."
    )
    for note in notes:
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
