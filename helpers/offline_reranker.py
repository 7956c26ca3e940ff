"""Build the offline profile's cross-encoder (introduced in notebook 02; `make models` runs it).

The recipe is this module's source: editing it changes the cache key, so the model is rebuilt
only when the recipe changes. Weights live under ``RERANK_CACHE_DIR``, never in the repository.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from helpers.config import cache_dir


def recipe_hash() -> str:
    """Return a short hash of this recipe (this file's source)."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]


def model_dir() -> Path:
    """Return the folder where the offline reranker for the current recipe lives."""
    return cache_dir() / "models" / f"offline-reranker-{recipe_hash()}"
