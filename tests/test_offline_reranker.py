"""The offline reranker: cache key, training-pair generation, and the built model's quality.

Nothing here trains: the model tests use the one `make models` built, and skip without it.
"""

import json
import os
import random
from pathlib import Path

import numpy as np
import pytest

from helpers import offline_reranker as reranker
from helpers.offline_reranker import Group, Recipe

DEV_QUERIES = Path(__file__).parent / "data" / "reranker_dev_queries.json"
SEED_QUERY = "What is the plan for the economy?"
PASSAGES = [
    "Inflation is robbing families of their gains. My top priority is getting prices down.",
    "We will build a national network of charging stations for electric vehicles across America.",
    "The pandemic disrupted global supply chains and factories had a hard time hiring workers.",
    "Veterans exposed to burn pits deserve the benefits and health care they were promised.",
    "It's time. Short.",
]


def fake_encode(texts):
    """Embed texts as normalised bag-of-letters vectors: enough to rank by word overlap."""
    vectors = np.array([[t.lower().count(c) for c in "abcdefghijklmnopqrstuvwxyz"] for t in texts])
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


# --- cache key ---------------------------------------------------------------------------------


def test_recipe_hash_is_stable_and_short():
    assert reranker.recipe_hash() == reranker.recipe_hash()
    assert len(reranker.recipe_hash()) == 12
    assert reranker.recipe_hash() == reranker.hash_bytes(Path(reranker.__file__).read_bytes())


def test_hash_changes_when_the_source_changes():
    source = Path(reranker.__file__).read_bytes()
    assert reranker.hash_bytes(source + b"\n# one more comment\n") != reranker.hash_bytes(source)


def test_model_dir_is_keyed_by_the_hash_under_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("RERANK_CACHE_DIR", str(tmp_path))
    folder = reranker.model_dir()
    assert folder == tmp_path / "models" / f"offline-reranker-{reranker.recipe_hash()}"


def test_build_skips_an_existing_model(monkeypatch, tmp_path):
    monkeypatch.setenv("RERANK_CACHE_DIR", str(tmp_path))
    folder = reranker.model_dir()
    folder.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (folder / name).write_text("{}")
    monkeypatch.setattr(reranker, "corpus_passages", lambda: pytest.fail("should not train"))
    assert reranker.build() == folder


# --- training pairs ----------------------------------------------------------------------------


def test_sentences_drop_short_fragments():
    sentences = reranker.split_sentences(PASSAGES[0] + "\n" + PASSAGES[4])
    assert sentences == [
        "Inflation is robbing families of their gains.",
        "My top priority is getting prices down.",
    ]


def test_keyword_query_keeps_only_content_words_and_is_seeded():
    sentence = "We will build a national network of charging stations for electric vehicles."
    first = reranker.keyword_query(sentence, random.Random(0), keep=0.6)
    assert first == reranker.keyword_query(sentence, random.Random(0), keep=0.6)
    words = first.split()
    assert 2 <= len(words) < len(sentence.split())
    assert not {w.lower() for w in words} & reranker.STOPWORDS
    assert all(w in sentence for w in words)


def test_keyword_query_swaps_words_for_neighbours_at_the_given_rate():
    sentence = "We will build a national network of charging stations for electric vehicles."
    always = reranker.keyword_query(sentence, random.Random(0), 0.6, lambda w: ["zz"], 1.0)
    assert set(always.split()) == {"zz"}
    never = reranker.keyword_query(sentence, random.Random(0), 0.6, lambda w: ["zz"], 0.0)
    assert never == reranker.keyword_query(sentence, random.Random(0), keep=0.6)


def test_word_neighbours_come_from_minilms_embedding_table():
    neighbours = reranker.word_neighbours(reranker.base_model_path(), count=5)
    assert "cops" in neighbours("Police")
    assert len(neighbours("inflation")) == 5
    # Inflections are not paraphrases, and split words have no single embedding row.
    assert not [w for w in neighbours("police") if w.startswith("poli")]
    assert neighbours("daycare") == []


def test_cut_out_removes_the_sentence_unless_too_little_remains():
    sentence = "My top priority is getting prices down."
    assert sentence not in reranker.cut_out(PASSAGES[0] * 2, sentence)
    assert reranker.cut_out(PASSAGES[0], PASSAGES[0]) == PASSAGES[0]


def test_pseudo_queries_point_at_every_passage_holding_the_sentence():
    passages = [PASSAGES[0], PASSAGES[0] + " " + PASSAGES[1], PASSAGES[2]]
    items = reranker.pseudo_queries(passages, random.Random(0), Recipe(keyword_share=0.0))
    sentences = [item["sentence"] for item in items]
    assert len(sentences) == len(set(sentences))
    first = items[0]
    assert first["query"] == first["sentence"] and first["positives"] == [0, 1]


def test_mined_negatives_are_top_ranked_non_positives():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    recipe = Recipe(negatives=2, negative_pool=3)
    negatives = reranker.mine_negatives(scores, [1], random.Random(0), recipe)
    assert len(negatives) == 2 and set(negatives) <= {0, 2, 3}
    assert negatives == sorted(negatives, key=lambda i: -scores[i])


def test_groups_are_well_formed_and_deterministic():
    recipe = Recipe(negatives=2, negative_pool=3)
    groups = reranker.make_groups(PASSAGES, fake_encode, recipe, seed=7)
    assert groups == reranker.make_groups(PASSAGES, fake_encode, recipe, seed=7)
    assert len(groups) == len(reranker.split_sentences("\n".join(PASSAGES)))
    for group in groups:
        assert isinstance(group, Group) and group.query.strip()
        assert len(group.passages) == len(group.teacher) == 3
        assert len(set(group.passages[1:])) == 2
        assert all(p in PASSAGES for p in group.passages[1:])


def test_batches_cover_every_group_once_per_epoch():
    groups = [Group(str(i), ["p"], [0.0]) for i in range(5)]
    plan = reranker.batches(groups, Recipe(epochs=2, groups_per_step=2), seed=3)
    assert [len(b) for b in plan] == [2, 2, 1, 2, 2, 1]
    assert sorted(g.query for b in plan[:3] for g in b) == [str(i) for i in range(5)]


def test_loss_prefers_the_positive():
    import torch

    recipe = Recipe(distill_weight=0.5)
    teacher = torch.tensor([[0.9, 0.1, 0.0]])
    good = reranker.group_loss(torch.tensor([[5.0, 0.0, 0.0]]), teacher, recipe)
    bad = reranker.group_loss(torch.tensor([[0.0, 5.0, 0.0]]), teacher, recipe)
    assert good < bad


# --- the built model (`make models` builds it before `make test`) ----------------------------


def built_model_dir() -> Path:
    """Return the built model's folder; skip locally without one, but fail in CI."""
    folder = reranker.model_dir()
    if not reranker.is_built(folder):
        message = f"no offline reranker at {folder}: run `make models`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="module")
def cross_encoder():
    from helpers.reranking import make_cross_encoder

    return make_cross_encoder(str(built_model_dir()))


def mrr_before_after(cross_encoder, retriever, chunks, queries, k: int = 20):
    """Return MRR@10 (ranx) of the base top k and of the same k reranked, for these queries."""
    from helpers import evaluation as ev

    qrels = ev.build_qrels(ev.label_chunks(queries, chunks))
    candidates = ev.first_stage_candidates(retriever, queries, k)
    base, reranked = ev.runs_at_k(
        candidates, ev.score_candidates(cross_encoder, queries, candidates), k
    )
    report = ev.compare_runs(qrels, [base, reranked], k=k)
    return report.results["dense"]["mrr@10"], report.results["reranked"]["mrr@10"]


def dev_queries() -> list[dict]:
    """Return the recipe's own development questions in the labeled-query format."""
    items = json.loads(DEV_QUERIES.read_text())["queries"]
    return [
        {"id": f"d{i}", "query": q["question"], "relevant": [{"text": q["answer"], "grade": 2}]}
        for i, q in enumerate(items)
    ]


def test_model_folder_holds_fp32_weights_and_a_recipe():
    folder = built_model_dir()
    info = json.loads((folder / "recipe.json").read_text())
    assert info["recipe_hash"] == reranker.recipe_hash()
    config = json.loads((folder / "config.json").read_text())
    assert len(config["id2label"]) == 1
    assert config.get("dtype", config.get("torch_dtype")) == "float32"


def test_scores_are_deterministic(cross_encoder):
    pairs = [(SEED_QUERY, p) for p in PASSAGES]
    first = np.array(list(cross_encoder.score(pairs)))
    assert first.shape == (len(PASSAGES),)
    np.testing.assert_array_equal(first, np.array(list(cross_encoder.score(pairs))))


# The bar: reranking the base top 20 keeps at least 90% of the base retriever's MRR@10,
# on every split of the labeled questions and on the recipe's own dev questions. Measured with
# recipe 6524849c61e6: test 94%, dev 91%, all 93%, recipe dev 95% (it does not beat the base).
@pytest.mark.parametrize("split", ["test", "dev", None], ids=["test", "dev", "all"])
def test_bar_on_the_labeled_query_set(cross_encoder, retriever, chunks, split):
    from helpers import evaluation as ev

    queries = ev.select(ev.load_queries(), split, answerable=True)
    base, reranked = mrr_before_after(cross_encoder, retriever, chunks, queries)
    assert reranked >= 0.9 * base, f"MRR@10 reranked {reranked:.3f} vs base {base:.3f}"


def test_bar_on_the_recipes_own_dev_questions(cross_encoder, retriever, chunks):
    base, reranked = mrr_before_after(cross_encoder, retriever, chunks, dev_queries())
    assert reranked >= 0.9 * base, f"MRR@10 reranked {reranked:.3f} vs base {base:.3f}"


def test_seed_query_puts_the_economy_on_top(cross_encoder, retriever):
    from helpers.reranking import ScoredCrossEncoderReranker

    candidates = retriever.invoke(SEED_QUERY)
    top = ScoredCrossEncoderReranker(model=cross_encoder, top_n=3).compress_documents(
        candidates, SEED_QUERY
    )
    assert all("econom" in d.page_content.lower() for d in top)
