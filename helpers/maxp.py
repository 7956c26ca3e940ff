"""MaxP, the offline reranker's teacher: w·cos(q, passage) + (1 - w)·max cos(q, sentence)."""

import re

import numpy as np

# A sentence ends at . ! ? (before white space) or at a line break.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str, min_words: int = 1) -> list[str]:
    """Split ``text`` into sentences of at least ``min_words`` words (notebook 03)."""
    parts = (part.strip() for part in _SENTENCE_END.split(text))
    return [part for part in parts if part and len(part.split()) >= min_words]


def _unit_rows(vectors) -> np.ndarray:
    rows = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


def cached_embed(embed):
    """Wrap ``embed`` so that each distinct text is embedded once (chunks recur across queries)."""
    memory: dict[str, np.ndarray] = {}

    def embed_once(texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in memory))
        if missing:
            memory.update(zip(missing, _unit_rows(embed(missing)), strict=True))
        return np.stack([memory[t] for t in texts])

    return embed_once


def maxp_scores(embed, query: str, passages: list[str], weight: float = 0.5) -> list[float]:
    """Return each passage's MaxP score; ``embed`` maps texts to vectors (normalised here)."""
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"weight must be between 0 and 1, not {weight!r}")
    if not passages:
        return []
    sentences = [split_sentences(p) or [p] for p in passages]
    flat = [s for group in sentences for s in group]
    vectors = _unit_rows(embed([query, *passages, *flat]))
    query_vector, count = vectors[0], len(passages)
    passage_cos = vectors[1 : 1 + count] @ query_vector
    sentence_cos = vectors[1 + count :] @ query_vector
    scores, start = [], 0
    for index, group in enumerate(sentences):
        best = float(sentence_cos[start : start + len(group)].max())
        start += len(group)
        scores.append(weight * float(passage_cos[index]) + (1.0 - weight) * best)
    return scores


def maxp_search(first_stage, embed, weight: float = 0.5):
    """Return a search query -> [(doc, MaxP score)], best first, over ``first_stage``'s docs."""
    from helpers.reranking import as_search

    search, embed = as_search(first_stage), cached_embed(embed)

    def rerank(query: str):
        docs = [item[0] if isinstance(item, tuple) else item for item in search(query)]
        scores = maxp_scores(embed, query, [d.page_content for d in docs], weight)
        return sorted(zip(docs, scores, strict=True), key=lambda pair: -pair[1])

    return rerank


def embed_with(embeddings):
    """Return ``embed`` for LangChain embeddings (``embed_documents``) or a SentenceTransformer."""
    if hasattr(embeddings, "embed_documents"):
        return lambda texts: np.asarray(embeddings.embed_documents(list(texts)))
    if hasattr(embeddings, "encode"):
        return lambda texts: embeddings.encode(list(texts), normalize_embeddings=True)
    raise TypeError(f"Cannot embed with {type(embeddings).__name__}: pass a function instead.")
