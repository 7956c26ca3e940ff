"""Notebook 06's lesson code, saved for ``make models`` (d2l's saved blocks).

Notebook 06 writes these functions on its page: training lists (pseudo-queries with word
neighbours, FAQ pairs, hard negatives mined by ``util.mine_hard_negatives``, MaxP teacher labels),
a CrossEncoderTrainer run (fp32, seeded, the new head on its own learning rate, the lowest layers
frozen, ListNetLoss), the dev evaluator's samples and the atomic save (``publish``). The build
imports them from here; tests/test_offline_reranker.py keeps each one identical to the page's.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import random
import shutil
import tempfile
from pathlib import Path

import torch
from datasets import Dataset
from sentence_transformers import CrossEncoder, SentenceTransformer
from sentence_transformers.cross_encoder import (
    CrossEncoderTrainer,
    CrossEncoderTrainingArguments,
)
from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
from sentence_transformers.cross_encoder.losses import ListNetLoss
from sentence_transformers.util import mine_hard_negatives
from transformers import AutoModel, AutoTokenizer
from transformers.trainer_callback import PrinterCallback

from helpers.evaluation import label_chunks
from helpers.maxp import cached_embed, maxp_scores, split_sentences
from helpers.offline_reranker import FAQ_FILE, SEED, STOPWORDS, Recipe, quiet
from helpers.reranking import as_search

# Question frames for keyword queries: real questions carry words the keywords lack.
QUESTIONS = (
    "What about {}?",
    "What is being done about {}?",
    "What did the speech say about {}?",
    "How will {} change?",
    "Why does {} matter?",
    "What is the plan for {}?",
)


def keyword_query(sentence: str, rng: random.Random, recipe: Recipe, neighbours=None) -> str:
    """Return a shuffled subset of the sentence's content words, some swapped for neighbours."""
    words = [w.strip(".,;:!?\"'“”’‘()—–-") for w in sentence.split()]
    content = [w for w in words if w and w.lower() not in STOPWORDS]
    if len(content) < 2:
        return sentence
    chosen = rng.sample(content, max(2, round(len(content) * recipe.keep_words)))
    if neighbours is not None:
        chosen = [swap_word(word, neighbours, rng, recipe.substitute_words) for word in chosen]
    return " ".join(chosen)


def swap_word(word: str, neighbours, rng: random.Random, substitute: float) -> str:
    """Return one of ``word``'s neighbours with probability ``substitute``, else ``word``."""
    similar = neighbours(word)
    return rng.choice(similar) if similar and rng.random() < substitute else word


def pseudo_queries(passages: list[str], recipe: Recipe, rng: random.Random, neighbours=None):
    """Return (query, positive passage) pairs: ``recipe.variants`` per distinct corpus sentence."""
    seen, pairs = set(), []
    for passage in passages:
        for sentence in split_sentences(passage, recipe.min_words):
            if sentence in seen:
                continue
            seen.add(sentence)
            for _ in range(recipe.variants):
                query = sentence
                if rng.random() < recipe.keyword_share:
                    query = keyword_query(sentence, rng, recipe, neighbours)
                    if rng.random() < recipe.question_share:
                        query = rng.choice(QUESTIONS).format(query)
                pairs.append((query, passage))
    return pairs


def word_neighbours(model_path: str, count: int):
    """Return a function: word -> its ``count`` nearest whole words in the input embeddings."""
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
            similar = []  # a word the vocabulary splits into pieces has none
            if token != tokenizer.unk_token_id and usable[token]:
                scores = (table @ table[token]).masked_fill(~usable, -1.0)
                ranked = [vocabulary[i] for i in scores.topk(count + 8).indices.tolist()]
                similar = [t for t in ranked if t[:4] != key[:4]][:count]  # no own inflections
            cache[key] = similar
        return cache[key]

    return neighbours


def faq_pairs(limit: int, path=FAQ_FILE) -> list[tuple[str, str]]:
    """Return the first ``limit`` (question, answer) pairs of the committed FAQ file."""
    if limit <= 0 or not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row["question"], row["answer"]) for row in rows[:limit]]


def load_bi_encoder(model_path: str):
    """Load the first stage's bi-encoder (SentenceTransformer) on the CPU."""
    quiet()
    return SentenceTransformer(model_path, device="cpu")


def mine_lists(pairs, corpus: list[str], bi_encoder, recipe: Recipe):
    """Return a Dataset (query, passages): each positive, then negatives mined from ``corpus``."""
    queries, positives = zip(*pairs, strict=True)
    dataset = Dataset.from_dict({"query": list(queries), "passages": list(positives)})
    encode = bi_encoder.encode  # it asks encode for progress bars whatever verbose says
    bi_encoder.encode = lambda *args, **kw: encode(*args, **{**kw, "show_progress_bar": False})
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # and prints its own score bars
            mined = mine_hard_negatives(
                dataset,
                bi_encoder,
                corpus=corpus,
                num_negatives=recipe.negatives,
                relative_margin=recipe.relative_margin,
                sampling_strategy="top",  # deterministic: "random" draws from Python's global RNG
                output_format="labeled-list",
                batch_size=64,
                verbose=False,
            )
    finally:
        del bi_encoder.encode  # back to the class's method
    return mined.select_columns(["query", "passages"])


def embed_function(bi_encoder):
    """Return texts -> L2-normalised vectors with ``bi_encoder`` (the MaxP teacher's input)."""
    return lambda texts: bi_encoder.encode(list(texts), batch_size=64, normalize_embeddings=True)


def teacher_labels(dataset, embed, recipe: Recipe):
    """Add ``labels``: MaxP teacher scores / temperature, plus the bonus on the positive (first)."""
    embed = cached_embed(embed)
    texts = {*dataset["query"], *(p for row in dataset["passages"] for p in row)}
    sentences = {s for text in texts for s in split_sentences(text)}
    embed(sorted(texts | sentences, key=len))  # one batched pass; similar lengths pad less

    def label(row):
        scores = maxp_scores(embed, row["query"], row["passages"], recipe.teacher_weight)
        scaled = [s / recipe.temperature for s in scores]
        scaled[0] += recipe.positive_bonus
        return {"labels": scaled}

    return dataset.map(label)


def load_start(model_path: str, max_length: int, num_labels: int = 1):
    """Load ``model_path`` as a CrossEncoder on the CPU in fp32 (a new one-logit head if needed)."""
    quiet()
    torch.manual_seed(SEED)  # the new head's initial weights
    return CrossEncoder(
        model_path,
        num_labels=num_labels,
        max_length=max_length,
        device="cpu",
        model_kwargs={"dtype": torch.float32},
    )


def freeze_lower(model, layers: int) -> None:
    """Freeze the embeddings and the lowest ``layers`` transformer layers (no-op for 0)."""
    if not layers:
        return
    body = model[0].model.base_model  # the Hugging Face model inside the CrossEncoder
    encoder_layers = getattr(getattr(body, "encoder", None), "layer", None)
    if encoder_layers is None:  # not a BERT-like body: freeze nothing rather than guess
        return
    for module in [body.embeddings, *encoder_layers[:layers]]:
        module.requires_grad_(False)


def make_optimizer(model, recipe: Recipe):
    """Return AdamW with two groups: the new head (fast learning rate) and the encoder."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    head = [p for n, p in named if "classifier" in n or ".score." in n]
    rest = [p for n, p in named if not ("classifier" in n or ".score." in n)]
    groups = [{"params": head, "lr": recipe.head_learning_rate}]
    groups += [{"params": rest, "lr": recipe.learning_rate}] if rest else []
    return torch.optim.AdamW(groups, lr=recipe.learning_rate)


def training_arguments(output_dir: str, recipe: Recipe, eval_steps: int = 0, max_steps: int = -1):
    """Return the trainer's arguments: seeded, fp32, CPU, silent, a dev check every eval_steps."""
    evaluate = eval_steps > 0
    every = "steps" if evaluate else "no"
    return CrossEncoderTrainingArguments(
        output_dir=output_dir,
        num_train_epochs=recipe.epochs,
        max_steps=max_steps,
        per_device_train_batch_size=recipe.batch_size,
        warmup_ratio=recipe.warmup,
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        seed=SEED,
        data_seed=SEED,
        use_cpu=True,
        bf16=False,
        fp16=False,
        dataloader_num_workers=0,
        eval_strategy=every,
        save_strategy=every,
        eval_steps=eval_steps or None,
        save_steps=eval_steps or 500,
        save_total_limit=2 if evaluate else None,
        load_best_model_at_end=evaluate,
        metric_for_best_model="eval_dev_ndcg@10" if evaluate else None,
        greater_is_better=True,
        logging_strategy="no",
        report_to="none",
        disable_tqdm=True,
        log_level="error",
        save_only_model=True,
    )


def train(model, dataset, recipe: Recipe, evaluator=None, max_steps=-1, callbacks=None):
    """Fine-tune ``model`` with ListNetLoss, keeping the best dev checkpoint; return the state."""
    quiet()
    freeze_lower(model, recipe.frozen_layers)
    loss = ListNetLoss(model)
    per_epoch = math.ceil(len(dataset) / recipe.batch_size)
    steps = max_steps if max_steps > 0 else recipe.epochs * per_epoch
    eval_steps = math.ceil(steps / 2) if evaluator is not None else 0  # the middle and the end
    with tempfile.TemporaryDirectory(prefix="rerank-train-") as output_dir:  # not the repository
        trainer = CrossEncoderTrainer(
            model=model,
            args=training_arguments(output_dir, recipe, eval_steps, max_steps),
            train_dataset=dataset,
            loss=loss,
            evaluator=evaluator,
            optimizers=(make_optimizer(model, recipe), None),  # the trainer adds the schedule
            callbacks=callbacks,
        )
        trainer.remove_callback(PrinterCallback)  # it would print every log line
        trainer.train()
    model.eval()
    return trainer.state


def dev_evaluator(samples: list[dict]):
    """Return the library's reranking evaluator over ``samples`` (dev questions only)."""
    return CrossEncoderRerankingEvaluator(
        samples, at_k=10, always_rerank_positives=False, name="dev", write_csv=False
    )


def dev_samples(queries: list[dict], chunks, search, k: int = 20) -> list[dict]:
    """Return evaluator samples: each query, its labelled chunks, the first stage's top ``k``."""
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
