"""Embeddings and FAISS retrieval (introduced in notebook 01)."""

import json
import os
from pathlib import Path

from helpers.config import load_config, resolve_model


def similarity_of(model) -> str:
    """Return how ``model`` (loaded, a name or a folder) was trained to compare: "dot", "cosine"."""
    client = getattr(model, "_client", model)  # HuggingFaceEmbeddings keeps its model there
    if not isinstance(client, str | os.PathLike):
        return str(client.similarity_fn_name)
    folder = Path(resolve_model(str(client), "RERANK_EMBEDDING_MODEL"))
    config = folder / "config_sentence_transformers.json"
    name = json.loads(config.read_text()).get("similarity_fn_name") if config.is_file() else None
    return {"dot_product": "dot", None: "cosine"}.get(name, name)


def pick_device() -> str:
    """Return "cuda" when a GPU is usable, else "cpu"."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def make_embeddings(
    model_name: str | None = None, device: str | None = None, normalize: bool | None = None
):
    """Create LangChain Hugging Face embeddings, normalised only if the model expects it."""
    from langchain_huggingface import HuggingFaceEmbeddings

    chosen = model_name or load_config().embedding_model
    local = resolve_model(chosen, "RERANK_EMBEDDING_MODEL")
    embeddings = HuggingFaceEmbeddings(
        model_name=local,
        model_kwargs={"device": device or pick_device()},
        encode_kwargs={"normalize_embeddings": bool(normalize)},
    )
    if normalize is None:  # the loaded model says how it was trained: normalise cosine models only
        embeddings.encode_kwargs["normalize_embeddings"] = similarity_of(embeddings) == "cosine"
    embeddings.model_name = chosen  # keep the readable name, not the cache snapshot path
    return embeddings


def build_faiss_retriever(chunks, embeddings, k: int = 20, distance: str | None = None):
    """Index ``chunks`` in FAISS by inner product, or ``distance="l2"``; return a retriever."""
    from langchain_community.vectorstores import FAISS
    from langchain_community.vectorstores.utils import DistanceStrategy

    if distance is None:
        distance = "inner_product"  # right for dot-product models and for normalised vectors
    strategies = {
        "l2": DistanceStrategy.EUCLIDEAN_DISTANCE,
        "inner_product": DistanceStrategy.MAX_INNER_PRODUCT,
    }
    if distance not in strategies:
        raise ValueError(f"distance must be one of {sorted(strategies)}, not {distance!r}")
    store = FAISS.from_documents(chunks, embeddings, distance_strategy=strategies[distance])
    return store.as_retriever(search_kwargs={"k": k})


def check_query(query: str) -> str:
    """Return ``query``, or refuse an empty one with a clear error."""
    if not query or not query.strip():
        raise ValueError("The query is empty: type a question to search for.")
    return query


def search_with_scores(retriever, query: str):
    """Return ``[(document, score), ...]`` for ``query``, best first, using the retriever's k."""
    check_query(query)
    k = retriever.search_kwargs.get("k", 4)
    return retriever.vectorstore.similarity_search_with_score(query, k=k)
