"""Cross-encoder reranking that keeps its scores (introduced in notebook 02)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from helpers.config import load_config, resolve_model
from helpers.display import format_table, snippet


def ensure_pad_token(cross_encoder) -> None:
    """Give a pad-token-less tokenizer one, so that batches larger than 1 can be padded."""
    tokenizer = cross_encoder.tokenizer
    if tokenizer.pad_token is None:
        # Decoder-style rerankers (e.g. Qwen3) ship without one; any special token pads safely
        # because the attention mask hides the padding.
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token or tokenizer.sep_token
        cross_encoder.model.config.pad_token_id = tokenizer.pad_token_id


def make_cross_encoder(model_name: str | None = None, max_length: int = 512, device=None):
    """Create LangChain's HuggingFaceCrossEncoder returning raw logits, truncating at max_length."""
    import torch
    from langchain_community.cross_encoders import HuggingFaceCrossEncoder

    from helpers.retrieval import pick_device

    chosen = model_name or load_config().reranker_model
    cross_encoder = HuggingFaceCrossEncoder(
        model_name=resolve_model(chosen, "RERANK_RERANKER_MODEL"),
        model_kwargs={
            "device": device or pick_device(),
            "max_length": max_length,
            "activation_fn": torch.nn.Identity(),  # raw logits; the compressor applies sigmoid
            "model_kwargs": {"dtype": torch.float32},  # fp16 checkpoints are slow on CPU
        },
    )
    ensure_pad_token(cross_encoder.client)
    return cross_encoder


def sigmoid(logit: float) -> float:
    """Map a raw cross-encoder logit to (0, 1)."""
    return 1.0 / (1.0 + math.exp(-logit))


class ScoredCrossEncoderReranker(BaseDocumentCompressor):
    """Rerank like LangChain's CrossEncoderReranker, but keep the scores in metadata.

    Each returned document gets ``metadata["rerank_logit"]`` (the model's raw output) and
    ``metadata["rerank_score"]`` (after ``activation``). ``score_threshold`` drops documents
    whose ``rerank_score`` is below it; ``top_n`` then keeps at most that many.
    """

    model: object
    top_n: int = 3
    score_threshold: float | None = None
    activation: str = "sigmoid"  # "none" if the model already returns probabilities

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Score every (query, document) pair, then return the best ``top_n`` above threshold."""
        if not documents:
            return []
        logits = [float(s) for s in self.model.score([(query, d.page_content) for d in documents])]
        scored = []
        for document, logit in zip(documents, logits, strict=True):
            score = sigmoid(logit) if self.activation == "sigmoid" else logit
            metadata = {**document.metadata, "rerank_logit": logit, "rerank_score": score}
            scored.append(Document(page_content=document.page_content, metadata=metadata))
        scored.sort(key=lambda d: d.metadata["rerank_score"], reverse=True)
        if self.score_threshold is not None:
            scored = [d for d in scored if d.metadata["rerank_score"] >= self.score_threshold]
        return scored[: self.top_n]


class ScoredRetriever(BaseRetriever):
    """A vector store retriever that keeps each score in ``metadata["first_stage_score"]``.

    Higher is better: a store searched by L2 distance (FAISS's default) gets its distances
    negated. The blended reranker below reads this score (notebook 02).
    """

    vectorstore: object
    k: int = 20

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _get_relevant_documents(self, query: str, *, run_manager=None) -> list[Document]:
        found = self.vectorstore.similarity_search_with_score(query, k=self.k)
        inner = "INNER" in str(getattr(self.vectorstore, "distance_strategy", ""))
        return [
            Document(page_content=d.page_content,
                     metadata={**d.metadata, "first_stage_score": float(s if inner else -s)})
            for d, s in found
        ]  # fmt: skip


def zscores(values: Sequence[float]) -> list[float]:
    """Return ``(value - mean) / standard deviation`` of one query's scores; all 0 if they tie."""
    values = [float(v) for v in values]
    if not values:
        return []
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    return [(v - mean) / spread if spread > 0 else 0.0 for v in values]


def blend_scores(cross: Sequence[float], first: Sequence[float], weight: float) -> list[float]:
    """Return ``weight * z(cross-encoder) + (1 - weight) * z(first stage)`` for one query."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1, not {weight!r}")
    pairs = zip(zscores(cross), zscores(first), strict=True)
    return [weight * c + (1.0 - weight) * f for c, f in pairs]


class BlendedCrossEncoderReranker(BaseDocumentCompressor):
    """Rerank by the cross-encoder's score blended with the first stage's (notebook 02).

    Both scores are z-scored over the query's candidates, then mixed: ``weight`` on the
    cross-encoder, ``1 - weight`` on ``metadata[score_key]`` (``ScoredRetriever`` puts it there).
    Each returned document keeps ``rerank_logit`` and ``blend_score`` in its metadata.
    """

    model: object
    top_n: int = 3
    weight: float = 0.5
    score_key: str = "first_stage_score"

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Score every (query, document) pair, blend, and return the best ``top_n``."""
        if not documents:
            return []
        missing = [d.metadata.get("id", i) for i, d in enumerate(documents)
                   if self.score_key not in d.metadata]  # fmt: skip
        if missing:
            raise ValueError(
                f"no metadata[{self.score_key!r}] on documents {missing}: retrieve them with "
                "ScoredRetriever (or put the first stage's score there) before blending."
            )
        logits = [float(s) for s in self.model.score([(query, d.page_content) for d in documents])]
        first = [float(d.metadata[self.score_key]) for d in documents]
        blended = blend_scores(logits, first, self.weight)
        scored = [
            Document(page_content=d.page_content,
                     metadata={**d.metadata, "rerank_logit": logit, "blend_score": score})
            for d, logit, score in zip(documents, logits, blended, strict=True)
        ]  # fmt: skip
        scored.sort(key=lambda d: d.metadata["blend_score"], reverse=True)
        return scored[: self.top_n]


def as_search(retriever):
    """Turn a LangChain retriever into a function query -> [(doc, score)] (notebook 03)."""
    if hasattr(retriever, "vectorstore") and hasattr(retriever, "search_kwargs"):
        from helpers.retrieval import search_with_scores

        inner = "INNER" in str(getattr(retriever.vectorstore, "distance_strategy", ""))
        sign = 1.0 if inner else -1.0  # ranx ranks by descending score: negate distances
        return lambda query: [(d, sign * s) for d, s in search_with_scores(retriever, query)]
    if hasattr(retriever, "invoke"):
        return retriever.invoke
    return retriever


def build_reranking_retriever(
    base_retriever, top_n: int = 3, cross_encoder=None, score_threshold: float | None = None
):
    """Wrap ``base_retriever`` in a ContextualCompressionRetriever that reranks with scores."""
    from langchain_classic.retrievers import ContextualCompressionRetriever

    compressor = ScoredCrossEncoderReranker(
        model=cross_encoder or make_cross_encoder(), top_n=top_n, score_threshold=score_threshold
    )
    return ContextualCompressionRetriever(base_compressor=compressor, base_retriever=base_retriever)


def reranked_with_scores(retriever, reranker):
    """Return a search query -> [(doc, rerank_score)] through ``reranker`` (notebook 02)."""

    def search(query: str):
        kept = reranker.compress_documents(retriever.invoke(query), query)
        return [(doc, doc.metadata["rerank_score"]) for doc in kept]

    return search


def before_after_table(candidates, rescored, top_n: int = 3, width: int = 44, scores=True) -> str:
    """Return one row per candidate in base order: its new rank, how far it moved, its scores.

    ``scores=False`` leaves out the logit and sigmoid columns (the ranks alone are stable across
    machines; a trained model's scores move in the last digits).
    """
    new_rank = {d.metadata["id"]: rank for rank, d in enumerate(rescored, start=1)}
    by_id = {d.metadata["id"]: d for d in rescored}
    rows = []
    for old, doc in enumerate(candidates, start=1):
        chunk_id = doc.metadata["id"]
        new = new_rank[chunk_id]
        moved = "=" if old == new else f"{'↑' if new < old else '↓'}{abs(old - new)}"
        meta = by_id[chunk_id].metadata
        values = [f"{meta['rerank_logit']:.4f}", f"{meta['rerank_score']:.4f}"] if scores else []
        kept = "top" if new <= top_n else ""
        rows.append((old, new, moved, chunk_id, *values, kept, snippet(doc.page_content, width)))
    headers = ["base rank", "new rank", "moved", "id", *(["logit", "sigmoid"] if scores else [])]
    return format_table(rows, [*headers, "kept", "text"])


def unknown_token_share(tokenizer, text: str) -> float:
    """Return the share of ``text``'s tokens the tokenizer maps to its unknown token (nb 02)."""
    tokens = tokenizer.tokenize(text)
    if not tokens:
        return 0.0
    return sum(token == tokenizer.unk_token for token in tokens) / len(tokens)
