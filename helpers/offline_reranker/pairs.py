"""Training lists for the offline reranker: queries, mined negatives, teacher labels (nb 06).

One training row is a query, a list of passages (its positive first, then hard negatives mined
by ``sentence_transformers.util.mine_hard_negatives``) and one soft label per passage: the MaxP
teacher's score (helpers.maxp), divided by the temperature, plus a bonus on the positive.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
from pathlib import Path

from helpers.maxp import cached_embed, maxp_scores, split_sentences
from helpers.offline_reranker.recipe import FAQ_FILE, Recipe

STOPWORDS = frozenset(
    "a about all also an and are as at be because been but by can do for from had has have he her "
    "his how i if in into is it its just let me more most my no not now of on one or our out so "
    "than that the their them there these they this those to up us was we were what when which "
    "while who why will with would you your".split()
)
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


def mine_lists(pairs, corpus: list[str], bi_encoder, recipe: Recipe):
    """Return a Dataset (query, passages): each positive, then negatives mined from ``corpus``."""
    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives

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


def dev_samples(queries: list[dict], chunks, search, k: int = 20) -> list[dict]:
    """Return evaluator samples: each dev query, its labelled chunks, the first stage's top k.

    ``search`` maps a query to docs or [(doc, score)] best first (a first stage, notebook 03).
    """
    from helpers.evaluation import as_search, label_chunks

    labels, search = label_chunks(queries, chunks), as_search(search)
    by_id = {str(chunk.metadata["id"]): chunk.page_content for chunk in chunks}
    samples = []
    for query in queries:
        docs = [item[0] if isinstance(item, tuple) else item for item in search(query["query"])]
        relevant = [by_id[chunk_id] for chunk_id in labels[query["id"]]]
        if relevant:
            samples.append(
                {
                    "query": query["query"],
                    "positive": relevant,
                    "documents": [d.page_content for d in docs[:k]],
                }
            )
    return samples
