"""The work every section measures: the course's corpus, its labelled questions, their candidates.

A question's request is its dense top-20 chunks (k = 20, as in notebooks 02-04), scored as one
call. Quality verdicts use every answerable labelled question, labelled as notebooks 03, 06 and
07 label them (``helpers.evaluation.qrels_for``: the first whole copy shown earns the credit).
int8 calibration uses pseudo-questions cut from the corpus and their own dense candidates, never
the labelled ones.
"""

from __future__ import annotations

import random
import warnings
from dataclasses import dataclass, field

from tools.bench.settings import Settings


@dataclass
class Workload:
    """Chunks, labelled questions, dense candidates and the pairs every section scores."""

    chunks: list
    answerable: list[dict]
    no_answer: list[dict]
    qrels: object
    embeddings: object
    store: object
    candidates: dict[str, list]  # question id -> dense top-k Documents
    requests: dict[str, list[tuple[str, str]]]  # question id -> its (question, chunk) pairs
    long_pairs: list[tuple[str, str]]  # (question, four consecutive chunks): truncation binds
    dense_ndcg: float | None = None
    tokens: dict = field(default_factory=dict)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        """Every request's pairs, in question order."""
        return [pair for pairs in self.requests.values() for pair in pairs]


def dense_candidates(store, embeddings, query: str, k: int) -> list:
    """Return the dense top-k Documents for a query."""
    vector = embeddings.embed_query(query)
    return [doc for doc, _ in store.similarity_search_with_score_by_vector(vector, k=k)]


def build_workload(settings: Settings, tokenizer=None, embedding_model: str | None = None):
    """Load the corpus and labels, index the chunks in FAISS and collect each question's request."""
    from helpers.data import load_corpus, split_corpus
    from helpers.evaluation import load_queries, qrels_for, select
    from helpers.retrieval import build_faiss_retriever, make_embeddings

    documents = load_corpus()
    chunks = split_corpus(documents)
    queries = load_queries(corpus_text="\n".join(d.page_content for d in documents))
    answerable, no_answer = select(queries, answerable=True), select(queries, answerable=False)
    qrels = qrels_for(answerable, chunks)  # the course's labels (03, 06, 07): first copy earns
    answerable = [q for q in answerable if q["id"] in qrels.keys()]
    embeddings = make_embeddings(embedding_model, device="cpu")
    store = build_faiss_retriever(chunks, embeddings, k=settings.candidates).vectorstore
    by_id = {c.metadata["id"]: c.page_content for c in chunks}
    candidates, requests, long_pairs = {}, {}, []
    for query in answerable:
        docs = dense_candidates(store, embeddings, query["query"], settings.candidates)
        candidates[query["id"]] = docs
        requests[query["id"]] = [(query["query"], d.page_content) for d in docs]
        for doc in docs:
            start = doc.metadata["id"]
            text = " ".join(by_id[i] for i in range(start, start + 4) if i in by_id)
            long_pairs.append((query["query"], text))
    workload = Workload(
        chunks, answerable, no_answer, qrels, embeddings, store, candidates, requests, long_pairs
    )
    dense = {qid: [-float(i) for i in range(len(docs))] for qid, docs in candidates.items()}
    workload.dense_ndcg = mean(per_query_ndcg(workload, dense).values())
    if tokenizer is not None:
        workload.tokens = token_stats(tokenizer, workload.pairs)
    return workload


def per_query_ndcg(workload: Workload, scores: dict[str, list[float]]) -> dict[str, float]:
    """Return nDCG@10 per question of reranking its candidates by ``scores`` (ranx)."""
    from ranx import Run

    from helpers.evaluation import per_query

    run = {
        qid: {str(d.metadata["id"]): float(s) for d, s in zip(docs, scores[qid], strict=True)}
        for qid, docs in workload.candidates.items()
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = per_query(workload.qrels, Run(run), "ndcg@10")
    return {qid: values[qid] for qid in workload.candidates}  # the questions that were asked


def mean(values) -> float:
    """Return the mean of a non-empty collection."""
    values = list(values)
    return sum(values) / len(values)


def token_stats(tokenizer, pairs) -> dict:
    """Return median, p95 and max tokens per (question, chunk) pair, and the max_length to use."""
    from helpers.timing import percentile

    encoded = tokenizer([q for q, _ in pairs], [d for _, d in pairs])["input_ids"]
    counts = [len(ids) for ids in encoded]
    longest = max(counts)
    return {
        "pairs": len(counts),
        "median": percentile(counts, 50),
        "p95": percentile(counts, 95),
        "max": longest,
        # the smallest multiple of 64 that truncates nothing here (what "matched" means)
        "matched_max_length": min(512, -(-longest // 64) * 64),
    }


def spread(pairs: list, count: int, seed: int = 0) -> list:
    """Return ``count`` pairs drawn evenly (repeatably) from ``pairs``, cycling if too few."""
    rng = random.Random(seed)
    chosen = rng.sample(pairs, min(count, len(pairs)))
    while len(chosen) < count:
        chosen.append(pairs[len(chosen) % len(pairs)])
    return chosen


def calibration_pairs(workload: Workload, queries: int, k: int, seed: int = 7) -> list[tuple]:
    """Return real-looking pairs for int8 calibration: pseudo-questions and their dense top-k.

    A pseudo-question is a few consecutive words of a random chunk; its candidates come from the
    same FAISS search as the labelled questions', so the pairs look like real traffic, and
    calibration never sees a labelled question (it cannot fit the evaluation).
    """
    rng = random.Random(seed)
    pairs = []
    for chunk in rng.sample(list(workload.chunks), min(queries, len(workload.chunks))):
        words = chunk.page_content.split()
        start = rng.randrange(max(1, len(words) - 8))
        query = " ".join(words[start : start + rng.randint(4, 8)])
        docs = dense_candidates(workload.store, workload.embeddings, query, k)
        pairs += [(query, d.page_content) for d in docs]
    return pairs
