"""Measure first and second stages with labelled queries and ranx (notebook 03; reused by 06, 07).

Labelled queries and the chunks they mark (the rules: data/eval/README.md), ranx runs, metrics and
corrected significance, and the course's ship rule. ``from helpers import evaluation as ev``.
"""

import json
import math
import time
from pathlib import Path

from helpers.reranking import as_search, blend_scores

DEFAULT_QUERIES = Path(__file__).resolve().parents[1] / "data" / "eval" / "queries.json"
QUERY_TYPES = ("paraphrase", "keyword_light", "multi_passage", "no_answer")
SPLITS = ("dev", "test")
GRADES = (1, 2)
LABEL_POLICIES = ("one_chunk", "any_overlap")


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
        if (grade := passage.get("grade")) not in GRADES:
            raise QueryFileError(f"Query {qid}: grade must be 1 or 2, not {grade!r}.")
        if corpus_text is not None and passage.get("text", "") not in corpus_text:
            raise QueryFileError(
                f"Query {qid}: {passage.get('text')!r} is not an exact substring of the corpus "
                "(check curly quotes, dashes and spaces)."
            )


def load_queries(path=DEFAULT_QUERIES, corpus_text: str | None = None) -> list[dict]:
    """Load a labelled query file and validate it (against the corpus, if given)."""
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


def credited_chunks(passage: str, chunks, policy: str = "one_chunk") -> list:
    """Return the chunks a passage marks: the one holding most of it, or every overlapping one."""
    if policy not in LABEL_POLICIES:
        raise ValueError(f"policy must be one of {LABEL_POLICIES}, not {policy!r}")
    marked = [c for c in chunks if is_relevant(c.page_content, passage)]
    if policy == "any_overlap" or not marked:
        return marked
    return [max(marked, key=lambda c: overlap(c.page_content, passage))]  # max keeps the first


def label_chunks(queries: list[dict], chunks, policy: str = "one_chunk") -> dict:
    """Map each query to {chunk id: grade}: each labelled passage marks its chunk(s)."""
    labels = {}
    for query in queries:
        grades: dict[str, int] = {}
        for passage in query.get("relevant", []):
            for chunk in credited_chunks(passage["text"], chunks, policy):
                chunk_id = str(chunk.metadata["id"])
                grades[chunk_id] = max(grades.get(chunk_id, 0), passage["grade"])
        labels[query["id"]] = grades
    return labels


def whole_copies(queries: list[dict], chunks) -> dict[str, dict[str, str]]:
    """Return {query id: {copy id: marked id}}: unmarked chunks holding a marked text whole."""
    copies = {}
    for query in queries:
        credited: dict[str, list[str]] = {}
        for passage in query.get("relevant", []):
            for chunk in credited_chunks(passage["text"], chunks):
                credited.setdefault(str(chunk.metadata["id"]), []).append(passage["text"])
        copies[query["id"]] = {
            str(chunk.metadata["id"]): marked
            for marked, texts in credited.items()
            for chunk in chunks
            if str(chunk.metadata["id"]) not in credited
            and all(text in chunk.page_content for text in texts)
        }
    return copies


def build_qrels(labels: dict[str, dict[str, int]], copies: dict | None = None):
    """Build ranx Qrels of the queries with relevant chunks; ``copies`` travel with them."""
    from ranx import Qrels

    qrels = Qrels({qid: grades for qid, grades in labels.items() if grades})
    qrels.copies = {qid: copies[qid] for qid in labels if copies and copies.get(qid)}
    return qrels


def answer_chunks(queries: list[dict], chunks) -> dict[str, set[str]]:
    """Return each query's chunks that hold an answer: marked ones and their whole copies."""
    labels, copies = label_chunks(queries, chunks), whole_copies(queries, chunks)
    return {q: set(labels[q]) | set(copies.get(q, {})) for q in labels}


def qrels_for(queries: list[dict], chunks, query_ids=None):
    """Return the Qrels of ``queries`` (only ``query_ids`` if given), copies included."""
    keep = [q for q in queries if query_ids is None or q["id"] in set(query_ids)]
    return build_qrels(label_chunks(keep, chunks), whole_copies(keep, chunks))


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
    """Return (candidates, k) -> {query: {chunk id: blend}}; ``base`` replaces the first stage."""

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


def hybrid_retriever(bm25, dense, weights=(0.5, 0.5), c: int = 60):
    """Return LangChain's EnsembleRetriever: BM25 and dense fused by weighted reciprocal rank."""
    from langchain_classic.retrievers import EnsembleRetriever

    return EnsembleRetriever(retrievers=[bm25, dense], weights=list(weights), c=c, id_key="id")


def evaluate(qrels, run, metrics, return_mean: bool = True):
    """Return ranx's ``metrics`` of ``run``, the first whole copy shown earning its credit."""
    from ranx import evaluate as ranx_evaluate

    run = credit_first_copy(run, getattr(qrels, "copies", None))
    return ranx_evaluate(qrels, run, metrics, return_mean=return_mean, make_comparable=True)


def per_query(qrels, run, metric: str = "ndcg@10") -> dict[str, float]:
    """Return ``metric`` for every query of ``qrels``, by query id."""
    values = evaluate(qrels, run, metric, return_mean=False)
    return dict(zip(qrels.keys(), map(float, values), strict=True))


def metrics_for(k: int) -> list[str]:
    """Return the ranx metric names the course reports."""
    return list(dict.fromkeys(["recall@5", f"recall@{k}", "mrr@10", "ndcg@10"]))


def adjust_p_values(report, max_p: float = 0.05) -> None:
    """Decide each pair's ``["significant"]`` on Benjamini-Hochberg's ``["p_adjusted"]``."""
    from scipy.stats import false_discovery_control

    pairs = list(report.comparisons.keys())
    for metric in report.metrics:
        tests = [report.comparisons[pair][metric] for pair in pairs]
        if not tests:
            continue
        # A t-test of identical scores has no p-value (NaN): nothing to detect, so 1.
        raw = [1.0 if math.isnan(t["p_value"]) else t["p_value"] for t in tests]
        adjusted = false_discovery_control(raw, method="bh")
        for test, p in zip(tests, adjusted, strict=True):
            test["p_adjusted"] = float(p)
            test["significant"] = bool(p < max_p)


def compare_runs(
    qrels, runs, k: int = 20, stat_test: str = "fisher", max_p: float = 0.05,
    metrics: list[str] | None = None, correction: str | None = "bh",
):  # fmt: skip
    """Score runs with ranx and test every pair, repeatably; ``"bh"`` corrects for many pairs."""
    import numba
    from ranx import compare

    runs = [credit_first_copy(run, getattr(qrels, "copies", None)) for run in runs]
    threads = numba.get_num_threads()
    try:  # ranx seeds only the calling thread's RNG: one thread makes p-values repeatable
        report = compare(
            qrels, runs, metrics=metrics or metrics_for(k), stat_test=stat_test, max_p=max_p,
            n_permutations=10_000, random_seed=42, threads=1, make_comparable=True,
        )  # fmt: skip
    finally:
        numba.set_num_threads(threads)
    if correction == "bh":
        adjust_p_values(report, max_p)
    elif correction is not None:
        raise ValueError(f"correction must be 'bh' or None, not {correction!r}")
    return report


# Query-time cost, cheapest first: MaxP is a few dot products, a cross-encoder one pass per pair.
SECOND_STAGE_COST = {"none": 0, "MaxP": 1, "rerank": 2, "blend": 2, "MaxP blend": 3}
FIRST_STAGE_COST = {"BM25": 0, "dense": 1, "hybrid": 2}
# How far below the first stage alone a second stage may fall and still earn its place.
BAR_SLACK = {"recall": 0.02, "mrr": 0.0, "ndcg@10": 0.0}


def pipeline_name(row: dict) -> str:
    """Return e.g. "dense + rerank (k=20)", or "dense" for a first stage alone."""
    if row["second"] == "none":
        return row["first"]
    return f"{row['first']} + {row['second']} (k={row['k']})"


def pipeline_run(row: dict, candidates: dict, scores: dict, query_ids=None):
    """Return the ranx Run of one measured pipeline (a row of ``pipeline_rows``)."""
    lists = candidates[row["first"]]
    if query_ids is not None:
        lists = {q: lists[q] for q in query_ids}
    if row["second"] == "none":  # a first stage alone: its whole list (MRR@10 looks at 10)
        return candidates_run(lists, max(len(d) for d in lists.values()), pipeline_name(row))
    second = scores[row["second"]]
    if callable(second):  # a blend: its scores depend on the candidates and k (ev.blend_of)
        second = second(lists, row["k"])
    return reranked_run(lists, second, row["k"], pipeline_name(row))


def pipeline_rows(qrels, candidates: dict, scores: dict, ks, top_ns) -> list[dict]:
    """Measure every first stage alone and with every second stage at every k and top_n."""
    rows = []
    for first in candidates:
        setups = [("none", None)] + [(second, k) for second in scores for k in ks]
        for second, k in setups:
            for n in top_ns:
                row = {"first": first, "second": second, "k": k or n, "top_n": n}
                run = pipeline_run(row, candidates, scores)
                names = [f"recall@{n}", f"ndcg@{n}", "mrr@10", "ndcg@10"]
                measured = evaluate(qrels, run, list(dict.fromkeys(names)))
                keys = zip(("recall", "ndcg", "mrr", "ndcg@10"), names, strict=True)
                rows.append(row | {key: float(measured[m]) for key, m in keys})
    return rows


def cost(row: dict) -> tuple:
    """Return a sortable query-time cost: second stage, then candidates, then first stage."""
    return (SECOND_STAGE_COST.get(row["second"], 2), row["k"] if row["second"] != "none" else 0,
            FIRST_STAGE_COST.get(row["first"], 9))  # fmt: skip


def bar_misses(first_stage: dict, row: dict) -> list[str]:
    """Return the keys where ``row`` falls below ``first_stage`` by more than ``BAR_SLACK``."""
    return [key for key, slack in BAR_SLACK.items() if row[key] < first_stage[key] - slack - 1e-12]


def choose_pipeline(rows: list[dict], target_recall: float = 0.9, tolerance: float = 0.02):
    """The course's ship rule (notebook 03 explains it) applied to dev rows of ``pipeline_rows``.

    top_n reaching ``target_recall``; the best first stage alone to beat; of the pipelines that
    clear ``bar_misses``, the cheapest within ``tolerance`` of the best nDCG@10.
    """
    top_ns = sorted({r["top_n"] for r in rows})
    best_recall = {n: max(r["recall"] for r in rows if r["top_n"] == n) for n in top_ns}
    top_n = next((n for n in top_ns if best_recall[n] >= target_recall), top_ns[-1])
    at_n = [r for r in rows if r["top_n"] == top_n]
    firsts = [r for r in at_n if r["second"] == "none"]
    alone = max(firsts, key=lambda r: (r["ndcg@10"], -cost(r)[2]))
    earned = [r for r in at_n if not bar_misses(alone, r)]
    best = max(earned, key=lambda r: (r["ndcg@10"], -cost(r)[0]))
    good = [r for r in earned if r["ndcg@10"] >= best["ndcg@10"] - tolerance]
    return {
        "chosen": min(good, key=lambda r: (cost(r), -r["ndcg@10"])),
        "best": best,
        "first_stage": alone,
        "top_n": top_n,
        "target_recall": target_recall,
        "tolerance": tolerance,
        "reached_target": best_recall[top_n] >= target_recall,
    }
