"""A stand-in Hugging Face cache of the default profile's models, for rehearsals (`make rehearse`).

Writes, under a given ``HF_HUB_CACHE``, ``sentence-transformers/msmarco-distilbert-dot-v5`` and
``BAAI/bge-reranker-base`` exactly as ``huggingface_hub`` lays out a download
(``models--ORG--NAME/blobs/<hash>``, ``refs/main``, ``snapshots/<commit>/`` of relative links into
``../../blobs``), with the real repositories' file sets and configuration keys, but seeded random
weights and tokenizers trained with ``tokenizers`` on the course corpus. It lets the default
profile's code run end to end without the Hub. Nothing it computes is a result: its scores and
rankings are noise, never shown or committed.

Sizes: ``small`` (tiny dimensions, for CI) and ``real-dimension`` (the real configs' sizes, to
time the default profile's steps without the Hub). The ``onnx/``, ``openvino/`` and
``tf_model.h5`` files the real repositories also ship are placeholder bytes: nothing in the course
loads them; they are there so that packaging's allow-list is tested against the real file set.

What a rehearsal cannot show: the real models' numbers (scores, rankings, metrics, thresholds,
the Chinese example), the Hub download itself (network, rate limits, the real files' bytes), the
real tokenizers' exact token counts (the stand-ins' vocabularies are learnt from one speech), and
the placeholder ONNX/OpenVINO/TensorFlow copies. The tokenizers' training breaks ties differently
from run to run, so two builds may differ in a few vocabulary entries (the weights are seeded).

One module a job: ``layout`` (the cache's folders and links), ``vocab`` (tokenizers trained on
the corpus), ``models`` (the two repositories' files).

CLI: ``python -m tools.hub_rehearsal HF_HUB_CACHE [--size small|real-dimension]``
"""

from tools.hub_rehearsal.layout import snapshot_path, write_repo
from tools.hub_rehearsal.models import (
    SIZES,
    build_cache,
    embedding_files,
    parameter_count,
    reranker_files,
)
from tools.hub_rehearsal.vocab import corpus_lines

__all__ = [
    "SIZES",
    "build_cache",
    "corpus_lines",
    "embedding_files",
    "parameter_count",
    "reranker_files",
    "snapshot_path",
    "write_repo",
]
