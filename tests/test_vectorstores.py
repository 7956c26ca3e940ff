"""Notebook 07's retrieval side: Qdrant (local mode, real qdrant-client) behind the same LangChain
retriever interface as FAISS, ranking every labelled question exactly as FAISS does."""

from __future__ import annotations

from helpers import evaluation as ev
from helpers.vectorstores import build_qdrant_retriever, ranked_ids


def test_qdrant_ranks_every_labelled_question_as_faiss_does(chunks, embeddings, retriever):
    queries = ev.load_queries()
    qdrant = build_qdrant_retriever(chunks, embeddings, k=20)
    faiss_ids, qdrant_ids = ranked_ids(retriever, queries), ranked_ids(qdrant, queries)
    assert len(queries) >= 50 and all(len(ids) == 20 for ids in qdrant_ids.values())
    assert qdrant_ids == faiss_ids


def test_the_documents_keep_their_metadata_and_text(chunks, embeddings):
    qdrant = build_qdrant_retriever(chunks, embeddings, k=3, collection="metadata-check")
    by_id = {chunk.metadata["id"]: chunk for chunk in chunks}
    for doc in qdrant.invoke("What is the plan for the economy?"):
        assert doc.page_content == by_id[doc.metadata["id"]].page_content
