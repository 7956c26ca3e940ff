"""The same LangChain retriever over a vector database that scales out: Qdrant (notebook 07).

FAISS keeps the whole index in one process's memory. Qdrant shards and replicates a collection
over a cluster; its local mode (in memory or a folder) runs the same client API here, in CI and in
a notebook, and a cluster is a ``url=`` away. Local mode searches exhaustively, like FAISS's flat
index, so both must return the same ranking; a cluster's HNSW index is approximate unless a
search asks for ``exact=True``.
"""

from __future__ import annotations


def build_qdrant_retriever(
    chunks,
    embeddings,
    k: int = 20,
    *,
    url: str | None = None,
    api_key: str | None = None,
    location: str = ":memory:",
    collection: str = "rerank-lab",
):
    """Index chunks in Qdrant with the inner product FAISS uses here; return a retriever.

    ``url`` (e.g. ``http://qdrant:6333``) talks to a server or cluster; without it, local mode.
    """
    from langchain_qdrant import QdrantVectorStore
    from qdrant_client.models import Distance

    connection = {"url": url, "api_key": api_key} if url else {"location": location}
    store = QdrantVectorStore.from_documents(
        chunks,
        embeddings,
        collection_name=collection,
        distance=Distance.DOT,  # = FAISS's MAX_INNER_PRODUCT (cosine on normalised vectors)
        force_recreate=True,
        **connection,
    )
    return store.as_retriever(search_kwargs={"k": k})


def ranked_ids(retriever, queries: list[dict]) -> dict[str, list]:
    """Return each query's retrieved chunk ids, best first (``queries``: the labelled file's)."""
    return {q["id"]: [d.metadata["id"] for d in retriever.invoke(q["query"])] for q in queries}
