"""Embeddings and FAISS retrieval (introduced in notebook 01)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from helpers.config import load_config, resolve_model


def similarity_of(model) -> str:
    """Return how ``model`` was trained to compare embeddings: "dot", "cosine", ... (notebook 01).

    ``model`` is LangChain's ``HuggingFaceEmbeddings`` or a ``SentenceTransformer``: the loaded
    model answers with its own ``similarity_fn_name``. A model name or folder also works: its
    ``config_sentence_transformers.json`` is read as sentence-transformers reads it (cosine when
    the file says nothing), without loading the weights.
    """
    client = getattr(model, "_client", model)  # HuggingFaceEmbeddings keeps its model there
    if not isinstance(client, str | os.PathLike):
        return str(client.similarity_fn_name)
    folder = Path(resolve_model(str(client), "RERANK_EMBEDDING_MODEL"))
    config = folder / "config_sentence_transformers.json"
    name = json.loads(config.read_text()).get("similarity_fn_name") if config.is_file() else None
    return {"dot_product": "dot", None: "cosine"}.get(name, name)


def without_normalize(model_path: str) -> str:
    """Return a folder that loads ``model_path`` without its Normalize module (notebook 01).

    Dot-product models such as msmarco-distilbert-dot-v5 have no Normalize module, so they are
    returned unchanged; for a normalised model this shows what un-normalised vectors do.
    """
    from helpers.config import cache_dir

    source = Path(resolve_model(model_path, "RERANK_EMBEDDING_MODEL"))
    if not (source / "modules.json").is_file():
        return model_path
    modules = json.loads((source / "modules.json").read_text())
    kept = [m for m in modules if not m["type"].endswith("Normalize")]
    if len(kept) == len(modules):
        return model_path
    target = cache_dir() / "models" / f"{source.parent.name}-{source.name}-unnormalised"
    target.mkdir(parents=True, exist_ok=True)
    for item in source.iterdir():  # link the weights and configs instead of copying them
        link = target / item.name
        if item.name != "modules.json" and not link.exists():
            link.symlink_to(item)
    (target / "modules.json").write_text(json.dumps(kept, indent=2))
    return str(target)


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
    """Index ``chunks`` in FAISS with the distance the model was trained for; return a retriever.

    ``distance`` forces "l2" or "inner_product" (notebook 01 compares the two).
    """
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


def search_with_scores(retriever, query: str):
    """Return ``[(document, score), ...]`` for ``query``, best first, using the retriever's k."""
    if not query or not query.strip():
        raise ValueError("The query is empty: type a question to search for.")
    k = retriever.search_kwargs.get("k", 4)
    return retriever.vectorstore.similarity_search_with_score(query, k=k)


def pretty_print_docs(docs) -> None:
    """Print documents with separators, as the seed page does."""
    print(
        f"\n{'-' * 100}\n".join(
            f"Document {i + 1}:\n\n{d.page_content}" for i, d in enumerate(docs)
        )
    )
