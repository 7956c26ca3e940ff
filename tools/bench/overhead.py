"""Section 3: what LangChain's reranking wrappers add over a raw ``CrossEncoder.predict``.

The base retriever returns stored documents (the questions' dense candidates), so only the
wrapper differs between the three contenders: LangChain's ContextualCompressionRetriever with
CrossEncoderReranker, the course's build_reranking_retriever, and predict + sort.
"""

from __future__ import annotations

from helpers.timing import interleaved, paired_ratios
from tools.bench.settings import Settings
from tools.bench.stats import measurement
from tools.bench.workload import Workload

RAW = "raw CrossEncoder.predict"


def fixed_retriever(results: dict[str, list]):
    """Return a LangChain retriever that answers each known query with fixed documents."""
    from langchain_core.retrievers import BaseRetriever

    class FixedRetriever(BaseRetriever):
        results: dict

        def _get_relevant_documents(self, query, *, run_manager=None):
            return list(self.results[query])

    return FixedRetriever(results=results)


def bench_langchain(model_path: str, workload: Workload, settings: Settings) -> dict:
    """Time the LangChain reranking paths against raw CrossEncoder.predict on the same pairs."""
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker

    from helpers.reranking import build_reranking_retriever, make_cross_encoder

    cross_encoder = make_cross_encoder(model_path, device="cpu")
    queries = workload.answerable[: settings.langchain_queries]
    docs = {q["query"]: workload.candidates[q["id"]] for q in queries}
    base = fixed_retriever(docs)
    langchain = ContextualCompressionRetriever(
        base_compressor=CrossEncoderReranker(model=cross_encoder, top_n=3), base_retriever=base
    )
    course = build_reranking_retriever(base, top_n=3, cross_encoder=cross_encoder)

    def raw():
        for query, found in docs.items():
            scores = cross_encoder.client.predict([(query, d.page_content) for d in found])
            sorted(zip(found, scores, strict=True), key=lambda p: -p[1])[:3]

    def run(retriever):
        return lambda: [retriever.invoke(query) for query in docs]

    seconds = interleaved(
        {
            RAW: raw,
            "ContextualCompressionRetriever + CrossEncoderReranker": run(langchain),
            "build_reranking_retriever (course)": run(course),
        },
        settings.langchain_repetitions,
        settings.warmup,
    )
    measurements = [
        measurement(name, [v * 1000 / len(docs) for v in values], "ms/query")
        for name, values in seconds.items()
    ]
    ratios = [
        measurement(name, paired_ratios(values, seconds[RAW]), "× vs raw")
        for name, values in seconds.items()
        if name != RAW
    ]
    return {
        "status": "ok",
        "queries": len(docs),
        "candidates_per_query": settings.candidates,
        "measurements": measurements,
        "ratios": ratios,
    }
