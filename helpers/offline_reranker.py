"""Course plumbing around notebook 06's lesson (written on its page): the recipe's settings and a
short version of it, quiet loading. The build: tools/offline_reranker (``make models``)."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

SEED = 1234
FAQ_FILE = Path(__file__).resolve().parents[1] / "data" / "faq" / "faq.jsonl"
STOPWORDS = frozenset(
    "a about all also an and are as at be because been but by can do for from had has have he her "
    "his how i if in into is it its just let me more most my no not now of on one or our out so "
    "than that the their them there these they this those to up us was we were what when which "
    "while who why will with would you your".split()
)


@dataclass(frozen=True)
class Recipe:
    """Training settings, all in the recipe hash (tools/offline_reranker/recipe.py)."""

    # Pseudo-queries: `variants` per corpus sentence of at least `min_words` words.
    variants: int = 1
    min_words: int = 6
    keyword_share: float = 0.7  # share of queries made of keywords instead of the whole sentence
    keep_words: float = 0.6  # share of a sentence's keywords kept in a keyword query
    substitute_words: float = 0.5  # chance that a keyword is swapped for an embedding neighbour
    neighbours: int = 5  # a swapped word is drawn from this many nearest whole-word tokens
    question_share: float = 0.5  # share of keyword queries phrased as a question
    faq_rows: int = 0  # FAQ pairs trained on (0: they did worse than a second epoch)
    # Hard negatives (util.mine_hard_negatives): ~0.3 CPU-s a pair buys 2 epochs of ~380 lists.
    negatives: int = 3
    relative_margin: float = 0.05  # skip negatives within 5% of the positive's score
    # Teacher: MaxP (helpers.maxp) soft labels for ListNet.
    teacher_weight: float = 0.5  # weight of the chunk cosine against the best sentence's
    temperature: float = 0.05  # teacher scores are divided by this before the softmax
    positive_bonus: float = 1.0  # added to the labelled positive's scaled teacher score
    # Optimisation (CrossEncoderTrainer).
    epochs: int = 2
    batch_size: int = 8  # queries per step, each with 1 + `negatives` passages
    learning_rate: float = 2e-4
    head_learning_rate: float = 2e-3  # the new one-logit head starts random: let it move fast
    warmup: float = 0.1
    frozen_layers: int = 2  # freeze the embeddings and this many lower layers (faster steps)
    max_length: int = 160


def tiny(recipe: Recipe | None = None, **changes) -> Recipe:
    """Return ``recipe`` shrunk for a quick demonstration run (notebook 06, tests)."""
    small = {"epochs": 1, "faq_rows": 32, "negatives": 3, "batch_size": 4, "max_length": 128}
    return replace(recipe or Recipe(), **{**small, **changes})


def quiet() -> None:
    """Silence progress bars, load reports and notices (the notebooks must not show them)."""
    from datasets.utils.logging import disable_progress_bar
    from transformers.utils import logging as hf_logging

    disable_progress_bar()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    for name in ("sentence_transformers", "transformers", "datasets", "accelerate"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"(transformers|accelerate|torch)\b")
