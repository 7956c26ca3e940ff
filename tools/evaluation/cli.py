"""``python -m tools.evaluation``: the notebook 03 table for any corpus and query file."""

from __future__ import annotations

import argparse
import re
import sys
import warnings

from helpers.evaluation import (
    DEFAULT_QUERIES,
    SPLITS,
    as_search,
    compare_runs,
    hybrid_retriever,
    load_queries,
    make_run,
    metrics_for,
    qrels_for,
    select,
    with_scores,
)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def bm25_retriever(chunks, k: int = 20):
    """Return LangChain's BM25Retriever over lowercased words (as notebook 03 builds it)."""
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


def _searches(chunks, k: int, notes: list[str]) -> dict:
    """Return {row name: search}: BM25, dense, hybrid, each + rerank, and dense + MaxP."""
    from helpers.config import ModelUnavailableError, load_config, model_label
    from helpers.maxp import embed_with, maxp_search
    from helpers.retrieval import build_faiss_retriever, make_embeddings

    embeddings = make_embeddings()
    dense = build_faiss_retriever(chunks, embeddings, k=k)
    hybrid = hybrid_retriever(bm25_retriever(chunks, k=k), dense)
    first_stages = {
        "BM25": bm25_search(chunks, k=k),
        f"dense ({model_label(embeddings.model_name).split(' (')[0]})": dense,
        "hybrid (BM25 + dense, RRF)": lambda query: hybrid.invoke(query)[:k],
    }
    searches = dict(first_stages)
    try:
        from helpers.reranking import make_cross_encoder

        cross_encoder = make_cross_encoder()
    except ModelUnavailableError as exc:  # the one documented reason to leave the rows out
        notes.append(f"No reranked rows: {str(exc).splitlines()[0]}")
    else:
        label = model_label(load_config().reranker_model).split(" (")[0]
        for name, first_stage in first_stages.items():
            searches[f"{name.split(' (')[0]} + rerank ({label})"] = rerank_search(
                first_stage, cross_encoder
            )
    searches["dense + MaxP (same bi-encoder)"] = maxp_search(dense, embed_with(embeddings))
    return searches


def _scored(search, query: str) -> bool:
    """Say whether ``search`` returns scores (rank fusion returns documents only)."""
    results = list(as_search(search)(query))
    return bool(results) and isinstance(results[0], tuple)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tools.evaluation", description=main.__doc__)
    parser.add_argument("--queries", default=str(DEFAULT_QUERIES), help="labelled query file")
    parser.add_argument("--corpus", help="UTF-8 text file (default: the course corpus)")
    parser.add_argument("--k", type=int, default=20, help="candidates retrieved (default 20)")
    parser.add_argument("--split", choices=SPLITS, help="evaluate one split (default: all)")
    parser.add_argument("--chunk-size", type=int, default=500)
    parser.add_argument("--chunk-overlap", type=int, default=100)
    parser.add_argument("--stat-test", choices=("fisher", "student"), default="fisher")
    return parser


def _runs(chunks, answerable: list, no_answer: list, k: int, notes: list[str]):
    """Run every search on the answerable queries; return (runs, {name: no-answer separation}).

    A search that returns scores also runs the no-answer queries: the share of pairs where a
    no-answer query's top score is below an answerable one's is its no-answer separation.
    """
    runs, separations = [], {}
    for name, search in _searches(chunks, k, notes).items():
        runs.append(make_run(search, answerable, name))
        if no_answer and answerable and _scored(search, answerable[0]["query"]):
            separations[name] = top_score_separation(runs[-1], make_run(search, no_answer, name))
    return runs, separations


def _legend(args, answerable: int, chunks: int, runs: int, no_answer: int) -> str:
    """Return the paragraph under the table: what was evaluated and how to read the letters."""
    test_name = {"fisher": "Fisher's randomisation test", "student": "paired t-test"}
    return (
        f"\n{answerable} answerable queries ({args.split or 'all splits'}), "
        f"{chunks} chunks, k={args.k}; metrics {', '.join(metrics_for(args.k))}. "
        f"Superscript letters: significantly better than that row ({test_name[args.stat_test]}, "
        f"p < 0.05 after Benjamini-Hochberg correction over the {runs * (runs - 1) // 2}"
        f" pairs). No-answer separation: share of (no-answer, answerable) query pairs where the "
        f"no-answer query's top score is lower ({no_answer} no-answer queries; 0.5 = chance;"
        f" n/a for rank fusion, which has no score)."
    )


def main(argv: list[str] | None = None) -> int:
    """Evaluate first stages and second stages on labelled queries; print a Markdown table."""
    args = _parser().parse_args(argv)
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
    qrels = qrels_for(answerable, chunks)
    notes: list[str] = []
    runs, separations = _runs(chunks, answerable, no_answer, args.k, notes)
    report = compare_runs(qrels, runs, k=args.k, stat_test=args.stat_test)
    print(markdown_table(report, runs, separations))
    print(_legend(args, len(qrels.keys()), len(chunks), len(runs), len(no_answer)))
    for note in notes:
        print(note)
    return 0
