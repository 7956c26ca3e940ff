"""Small, tested helpers that the rerank-lab notebooks import (`from helpers import ...`)."""

import os
import warnings

# Set before transformers is imported anywhere: tokenizer threads fight torch's on a 2-core CPU.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# langchain-community prints its sunset notice on every import; notebook 02 explains it once.
warnings.filterwarnings("ignore", message="`langchain-community` is being sunset")

from helpers.config import ModelUnavailableError, load_config  # noqa: E402
from helpers.data import CorpusError, load_corpus, split_corpus  # noqa: E402
from helpers.retrieval import (  # noqa: E402
    build_faiss_retriever,
    make_embeddings,
    search_with_scores,
)
from helpers.runtime import set_cpu_threads  # noqa: E402

__all__ = [
    "CorpusError",
    "ModelUnavailableError",
    "build_faiss_retriever",
    "load_config",
    "load_corpus",
    "make_embeddings",
    "search_with_scores",
    "set_cpu_threads",
    "split_corpus",
]
