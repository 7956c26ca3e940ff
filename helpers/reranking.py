"""Cross-encoder reranking that keeps its scores (introduced in notebook 02)."""

import math
from collections.abc import Sequence

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict

from helpers.config import load_config, resolve_model


def ensure_pad_token(cross_encoder) -> None:
    """Give a pad-token-less tokenizer one, so that batches larger than 1 can be padded."""
    tokenizer = cross_encoder.tokenizer
    if tokenizer.pad_token is None:
        # Decoder-style rerankers (e.g. Qwen3) have none; the attention mask hides any pad token.
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
    """LangChain's CrossEncoderReranker, keeping ``rerank_logit`` and ``rerank_score``."""

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
