"""The offline reranker's recipe, its hash and where its model lives (cheap: no torch import).

helpers.config imports this module to name the offline profile's reranker folder, so it must
not import the trainer or sentence-transformers.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from helpers.config import cache_dir

SEED = 1234
PACKAGE = Path(__file__).resolve().parent
REPOSITORY = PACKAGE.parents[1]
FAQ_FILE = REPOSITORY / "data" / "faq" / "faq.jsonl"
DEV_QUERIES = REPOSITORY / "data" / "eval" / "queries.json"
# Everything that shapes the weights: the code, the teacher, the training data, and the dev
# questions plus labelling code that pick the best epoch.
RECIPE_FILES = (
    PACKAGE / "recipe.py",
    PACKAGE / "pairs.py",
    PACKAGE / "train.py",
    PACKAGE / "build.py",
    REPOSITORY / "helpers" / "maxp.py",
    REPOSITORY / "helpers" / "evaluation" / "labels.py",
    FAQ_FILE,
)
PERTURBATION_VARIABLE = "RERANK_TRAIN_PERTURBATION"
# Each trains the same recipe in a way that moves only the last bits, as another CPU would.
# (Splitting each batch into more forward passes is not one: dropout then draws other masks.)
PERTURBATIONS = {"threads1": "train with 1 torch thread instead of the machine's count"}
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json")


@dataclass(frozen=True)
class Recipe:
    """Training settings; every one is part of the cache key through this file's source."""

    # In-domain queries: each corpus sentence becomes `variants` pseudo-queries.
    variants: int = 1
    min_words: int = 6  # shorter sentences ("It's time.") make useless queries
    keyword_share: float = 0.7  # share of queries made of keywords instead of the whole sentence
    keep_words: float = 0.6  # share of a sentence's keywords kept in a keyword query
    substitute_words: float = 0.5  # chance that a keyword is swapped for an embedding neighbour
    neighbours: int = 5  # a swapped word is drawn from this many nearest whole-word tokens
    question_share: float = 0.5  # share of keyword queries phrased as a question
    # Real questions: the first rows of data/faq/faq.jsonl (the file has 463). 0 because on the
    # dev questions 240 FAQ rows in place of a second epoch did worse (docs/offline_reranker.md).
    faq_rows: int = 0
    # Hard negatives mined by util.mine_hard_negatives from the bi-encoder's ranking. Budget: in
    # fp32 one (query, passage) pair costs ~0.3 CPU-seconds forward + backward (2 AVX-512 cores), so
    # 10 minutes on 2 cores buy ~3,000 pairs: 2 epochs of ~380 lists of 1 + 3 passages.
    negatives: int = 3
    relative_margin: float = 0.05  # skip negatives within 5% of the positive's score
    # Teacher: MaxP (helpers.maxp) over each list, as soft labels for ListNet.
    teacher_weight: float = 0.5  # weight of the chunk cosine against the best sentence's
    temperature: float = 0.05  # teacher scores are divided by this before the softmax
    positive_bonus: float = 1.0  # added to the labelled positive's scaled teacher score
    # Optimisation (sentence-transformers' CrossEncoderTrainer).
    epochs: int = 2
    batch_size: int = 8  # queries per step, each with 1 + `negatives` passages
    learning_rate: float = 2e-4
    head_learning_rate: float = 2e-3  # the new one-logit head starts random: let it move fast
    warmup: float = 0.1
    frozen_layers: int = 2  # freeze the embeddings and this many lower layers (faster steps)
    max_length: int = 160


def hash_bytes(data: bytes) -> str:
    """Return the short sha256 hash used as cache key for ``data``."""
    return hashlib.sha256(data).hexdigest()[:12]


def _dev_split_bytes() -> bytes:
    if not DEV_QUERIES.is_file():
        return b"no dev queries"
    queries = json.loads(DEV_QUERIES.read_text(encoding="utf-8"))["queries"]
    dev = [q for q in queries if q.get("split", "test") == "dev"]
    return json.dumps(dev, sort_keys=True, ensure_ascii=False).encode()


def recipe_hash() -> str:
    """Return a short hash of every file that defines the recipe, and of the dev questions."""
    digest = hashlib.sha256()
    for path in RECIPE_FILES:
        digest.update(path.name.encode() + b"\0")
        digest.update(path.read_bytes() if path.is_file() else b"missing")
    digest.update(_dev_split_bytes())
    return digest.hexdigest()[:12]


def perturbation() -> str | None:
    """Return the perturbation named by RERANK_TRAIN_PERTURBATION, if any (issue 11).

    A perturbed model keeps the normal folder name, so that the notebooks print the same model
    label with it; it must therefore live in a cache of its own, never beside the normal build.
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
    """Return the folder of the offline reranker for this recipe (under RERANK_CACHE_DIR)."""
    return cache_dir() / "models" / f"offline-reranker-{recipe_hash()}"


def is_built(folder: Path) -> bool:
    """Return True when ``folder`` holds saved weights, config and tokenizer."""
    return all((Path(folder) / name).is_file() for name in REQUIRED_FILES)
