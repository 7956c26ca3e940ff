"""A hybrid first stage: BM25 + dense by reciprocal rank fusion (notebook 03)."""

from __future__ import annotations


def hybrid_retriever(bm25, dense, weights=(0.5, 0.5), c: int = 60):
    """Return LangChain's EnsembleRetriever fusing BM25 and dense by weighted reciprocal rank.

    Each chunk scores ``sum(weight / (c + rank))`` over the lists it is in; chunks are matched by
    ``metadata["id"]``. The fused list holds up to both retrievers' k: cut it to your k.
    """
    from langchain_classic.retrievers import EnsembleRetriever

    return EnsembleRetriever(retrievers=[bm25, dense], weights=list(weights), c=c, id_key="id")
