"""Section 4: one query's time split into embedding, FAISS search and rerank, for each k.

Each of ``latency_queries`` questions (labelled ones first, then the no-answer ones, repeated
when there are fewer) runs ``latency_passes`` times per k, the k values in rotating order. The
torch fp32 cross-encoder is the course's ``make_cross_encoder`` (batch 32, max_length 512).
"""

from __future__ import annotations

import time

from tools.bench.settings import Settings
from tools.bench.stats import measurement
from tools.bench.workload import Workload

STAGES = ("embed", "search", "rerank", "other", "total")


def latency_queries(workload: Workload, count: int) -> list[str]:
    """Return ``count`` question texts: the labelled ones, cycled when there are fewer."""
    texts = [q["query"] for q in workload.answerable + workload.no_answer]
    return [texts[i % len(texts)] for i in range(count)]


def bench_latency(model_path: str, workload: Workload, settings: Settings) -> dict:
    """Per-query latency split into query embedding, FAISS search and rerank, for each k."""
    from helpers.reranking import make_cross_encoder

    cross_encoder = make_cross_encoder(model_path, device="cpu")
    store, embeddings = workload.store, workload.embeddings

    def one(query: str, k: int) -> dict:
        t0 = time.perf_counter()
        vector = embeddings.embed_query(query)
        t1 = time.perf_counter()
        found = store.similarity_search_with_score_by_vector(vector, k=k)
        t2 = time.perf_counter()
        scores = cross_encoder.score([(query, doc.page_content) for doc, _ in found])
        t3 = time.perf_counter()
        sorted(zip(found, scores, strict=True), key=lambda p: -p[1])
        t4 = time.perf_counter()
        return dict(zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t4 - t0), strict=True))

    queries = latency_queries(workload, settings.latency_queries)
    for k in settings.ks:  # warm-up
        one(queries[0], k)
    rows: dict[int, list[dict]] = {k: [] for k in settings.ks}
    ks = list(settings.ks)
    for index, query in enumerate(queries * settings.latency_passes):
        shift = index % len(ks)
        for k in ks[shift:] + ks[:shift]:
            rows[k].append(one(query, k))
    measurements, shares = [], []
    for k, timings in rows.items():
        for stage in STAGES:
            measurements.append(measurement(stage, [t[stage] * 1000 for t in timings], "ms", k=k))
        share = [1 - t["rerank"] / t["total"] for t in timings]
        shares.append(measurement("not cross-encoder share", share, "fraction", k=k))
    return {
        "status": "ok",
        "queries": len(queries),
        "samples_per_k": len(queries) * settings.latency_passes,
        "measurements": measurements,
        "shares": shares,
    }
