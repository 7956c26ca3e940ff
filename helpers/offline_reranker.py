"""Course plumbing for notebook 06 (adapting a reranker), not the lesson itself.

Notebook 06 writes the lesson on its page: pseudo-queries, mined hard negatives, the MaxP
teacher's labels and the CrossEncoderTrainer run. This module holds what the page needs around
it: the recipe's settings (``Recipe``), loading the bi-encoder quietly, the word neighbours, the
FAQ pairs, the dev questions' evaluator samples and an atomic save. ``make models`` builds the
course's model with the same code from ``tools/offline_reranker/`` (``python -m
tools.offline_reranker``); docs/offline_reranker.md lists every recipe tried.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
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
    """Training settings; every one is part of the recipe hash (tools/offline_reranker)."""

    # In-domain queries: each corpus sentence becomes `variants` pseudo-queries.
    variants: int = 1
    min_words: int = 6  # shorter sentences ("It's time.") make useless queries
    keyword_share: float = 0.7  # share of queries made of keywords instead of the whole sentence
    keep_words: float = 0.6  # share of a sentence's keywords kept in a keyword query
    substitute_words: float = 0.5  # chance that a keyword is swapped for an embedding neighbour
    neighbours: int = 5  # a swapped word is drawn from this many nearest whole-word tokens
    question_share: float = 0.5  # share of keyword queries phrased as a question
    # Real questions: the first rows of data/faq/faq.jsonl (463). 0: on the dev questions 240 FAQ
    # rows in place of a second epoch did worse (docs/offline_reranker.md).
    faq_rows: int = 0
    # Hard negatives from util.mine_hard_negatives. Budget: one fp32 (query, passage) pair costs
    # ~0.3 CPU-seconds forward + backward, so 10 minutes on 2 cores buy ~3,000 pairs: 2 epochs of
    # ~380 lists of 1 + 3 passages.
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


def load_bi_encoder(model_path: str):
    """Load the first stage's bi-encoder (SentenceTransformer) on the CPU."""
    from sentence_transformers import SentenceTransformer

    quiet()
    return SentenceTransformer(model_path, device="cpu")


def embed_function(bi_encoder):
    """Return texts -> L2-normalised vectors with ``bi_encoder`` (the MaxP teacher's input)."""
    return lambda texts: bi_encoder.encode(list(texts), batch_size=64, normalize_embeddings=True)


def faq_pairs(limit: int, path: Path = FAQ_FILE) -> list[tuple[str, str]]:
    """Return the first ``limit`` (question, answer) pairs of the committed FAQ file."""
    if limit <= 0 or not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row["question"], row["answer"]) for row in rows[:limit]]


def word_neighbours(model_path: str, count: int):
    """Return a function: word -> its ``count`` nearest whole words in the input embeddings.

    Inflections of the word itself (same first four letters) are skipped, so that a swap
    changes the wording; words the vocabulary splits into pieces get no neighbours.
    """
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path)
    table = AutoModel.from_pretrained(model_path).get_input_embeddings().weight.detach()
    table = torch.nn.functional.normalize(table, dim=-1)
    vocabulary = tokenizer.convert_ids_to_tokens(range(table.shape[0]))
    usable = torch.tensor([t.isalpha() and len(t) > 2 and t not in STOPWORDS for t in vocabulary])
    cache: dict[str, list[str]] = {}

    def neighbours(word: str) -> list[str]:
        key = word.lower()
        if key not in cache:
            token = tokenizer.convert_tokens_to_ids(key)
            similar = []
            if token != tokenizer.unk_token_id and usable[token]:
                scores = (table @ table[token]).masked_fill(~usable, -1.0)
                ranked = [vocabulary[i] for i in scores.topk(count + 8).indices.tolist()]
                similar = [t for t in ranked if t[:4] != key[:4]][:count]
            cache[key] = similar
        return cache[key]

    return neighbours


def dev_samples(queries: list[dict], chunks, search, k: int = 20) -> list[dict]:
    """Return evaluator samples: each query, its labelled chunks, the first stage's top ``k``."""
    from helpers.evaluation import label_chunks
    from helpers.reranking import as_search

    labels, search = label_chunks(queries, chunks), as_search(search)
    by_id = {str(chunk.metadata["id"]): chunk.page_content for chunk in chunks}
    samples = []
    for query in queries:
        docs = [item[0] if isinstance(item, tuple) else item for item in search(query["query"])]
        relevant = [by_id[chunk_id] for chunk_id in labels[query["id"]]]
        if relevant:
            documents = [d.page_content for d in docs[:k]]
            samples.append({"query": query["query"], "positive": relevant, "documents": documents})
    return samples


def course_dev_samples(chunks, embeddings_path: str) -> list[dict]:
    """Return the evaluator samples of the course's dev questions over the dense top 20."""
    from helpers.evaluation import load_queries, select
    from helpers.retrieval import build_faiss_retriever, make_embeddings

    retriever = build_faiss_retriever(chunks, make_embeddings(embeddings_path), k=20)
    return dev_samples(select(load_queries(), "dev", answerable=True), chunks, retriever)


def publish(model, target: Path, info: dict) -> Path:
    """Save ``model`` and ``recipe.json`` in a staging folder, then rename it to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        model.save_pretrained(str(staging), safe_serialization=True)
        text = json.dumps(info, indent=2, sort_keys=True) + "\n"
        (staging / "recipe.json").write_text(text, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
