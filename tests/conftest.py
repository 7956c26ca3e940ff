"""Shared fixtures: the real corpus, the real offline embedding model, real FAISS."""

import pytest


@pytest.fixture(scope="session")
def chunks():
    from helpers import split_corpus

    return split_corpus()


@pytest.fixture(scope="session")
def embeddings():
    from helpers import make_embeddings

    return make_embeddings()


@pytest.fixture(scope="session")
def retriever(chunks, embeddings):
    from helpers import build_faiss_retriever

    return build_faiss_retriever(chunks, embeddings, k=20)
