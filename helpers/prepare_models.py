"""Make the active profile's models loadable before the notebooks run (`make models`).

Offline profile: builds the local cross-encoder if its recipe changed. Default profile: when
online, downloads both Hub models into the Hugging Face cache, so that afterwards
``HF_HUB_OFFLINE=1`` works (workshop mode); when offline, checks they are cached.
"""

from __future__ import annotations

import os
import sys

from helpers.config import ModelUnavailableError, load_config, model_label, resolve_model


def prepare(name: str, variable: str) -> str:
    """Resolve one model, downloading it into the cache when it is a Hub id not yet cached."""
    resolved = resolve_model(name, variable)
    if resolved == name and not os.path.isdir(name):
        from huggingface_hub import snapshot_download

        resolved = snapshot_download(name)
    return resolved


def main() -> int:
    """Prepare both models of the active profile; print one line each."""
    config = load_config()
    if config.profile == "offline" and not os.environ.get("RERANK_RERANKER_MODEL"):
        from helpers.offline_reranker.build import build

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
