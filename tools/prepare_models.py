"""Make the active profile's models loadable before the notebooks run (`make models`).

Offline profile: builds the local cross-encoder when it is missing or when the recipe hash in
its recipe.json differs from the recipe's (tools/offline_reranker/recipe.py). Default profile: when
online, downloads both Hub models into the Hugging Face cache, so that afterwards
``HF_HUB_OFFLINE=1`` works (workshop mode); when offline, checks they are cached.
"""

from __future__ import annotations

import os
import sys

from helpers.config import ModelUnavailableError, load_config, model_label, resolve_model

# The seed's repositories also hold the weights as pytorch_model.bin, ONNX and OpenVINO twins
# (two more 1.1 GB copies for bge-reranker-base): fetch configs, tokenizer and safetensors only.
DOWNLOAD = ["*.json", "*.txt", "*.model", "*.safetensors", "1_Pooling/*", "README.md"]
SKIP = ["onnx/*", "openvino/*"]


def prepare(name: str, variable: str) -> str:
    """Resolve one model, downloading it into the cache when it is a Hub id not yet cached."""
    resolved = resolve_model(name, variable)
    if resolved == name and not os.path.isdir(name):
        from pathlib import Path

        from huggingface_hub import snapshot_download

        resolved = snapshot_download(name, allow_patterns=DOWNLOAD, ignore_patterns=SKIP)
        if not any(Path(resolved).glob("*.safetensors")):
            raise ModelUnavailableError(
                f"{name} has no .safetensors weights on the Hub, and the course loads no pickled "
                f"weights (pytorch_model.bin). Set {variable} to a model that ships safetensors."
            )
    return resolved


def main() -> int:
    """Prepare both models of the active profile; print one line each."""
    config = load_config()
    if config.profile == "offline" and not os.environ.get("RERANK_RERANKER_MODEL"):
        from tools.offline_reranker import recipe
        from tools.offline_reranker.build import build

        old, new = recipe.built_hash(recipe.model_dir()), recipe.recipe_hash()
        if old and old != new:
            print(f"The offline reranker was built by recipe {old}; the recipe is now {new}.")
        build()
    print(f"profile: {config.profile}")
    for name, variable in (
        (config.embedding_model, "RERANK_EMBEDDING_MODEL"),
        (config.reranker_model, "RERANK_RERANKER_MODEL"),
    ):
        try:
            prepare(name, variable)
        except ModelUnavailableError as exc:
            print(f"missing  {model_label(name)}\n  {exc}", file=sys.stderr)
            return 1
        print(f"ready    {model_label(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
