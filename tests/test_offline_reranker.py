"""The offline reranker: cache key, notebook 06's page against the build's copy, training lists,
the trainer's plumbing, the CLI, the bar.

The model tests use the model `make models` built (they skip locally without it, and fail in
CI); everything above them runs in seconds, except the CLI test (a tiny real training run).
"""

import ast
import json
import os
import random
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from helpers import offline_reranker as offline
from helpers.maxp import split_sentences
from helpers.offline_reranker import Recipe
from tools.offline_reranker import lesson, recipe

reranker = recipe  # the hash, the folder, is_built
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_adapt_a_reranker_to_your_corpus.ipynb"
OWN_DEV_QUERIES = Path(__file__).parent / "data" / "reranker_dev_queries.json"
SEED_QUERY = "What is the plan for the economy?"
PASSAGES = [
    "Inflation is robbing families of their gains. My top priority is getting prices down.",
    "We will build a national network of charging stations for electric vehicles across America.",
    "The pandemic disrupted global supply chains and factories had a hard time hiring workers.",
    "Veterans exposed to burn pits deserve the benefits and health care they were promised.",
    "It's time. Short.",
]


# --- cache key and folders --------------------------------------------------------------------


def test_recipe_hash_is_short_hex():
    value = reranker.recipe_hash()
    assert len(value) == 12 and int(value, 16) >= 0


def test_hash_covers_the_dev_questions_but_not_the_test_ones(monkeypatch, tmp_path):
    queries = json.loads(recipe.DEV_QUERIES.read_text())
    path = tmp_path / "queries.json"
    monkeypatch.setattr(recipe, "DEV_QUERIES", path)
    path.write_text(json.dumps(queries))
    before = reranker.recipe_hash()
    test_query = next(q for q in queries["queries"] if q.get("split", "test") == "test")
    test_query["query"] += " (edited)"
    path.write_text(json.dumps(queries))
    assert reranker.recipe_hash() == before  # the test split never shapes the model
    dev_query = next(q for q in queries["queries"] if q.get("split") == "dev")
    dev_query["query"] += " (edited)"
    path.write_text(json.dumps(queries))
    assert reranker.recipe_hash() != before


def test_model_dir_has_a_stable_name_under_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("RERANK_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("RERANK_TRAIN_PERTURBATION", raising=False)
    assert reranker.model_dir() == tmp_path / "models" / "offline-reranker"


def test_a_perturbed_training_needs_a_cache_of_its_own(monkeypatch, tmp_path):
    monkeypatch.delenv("RERANK_TRAIN_PERTURBATION", raising=False)
    monkeypatch.delenv("RERANK_CACHE_DIR", raising=False)
    normal = reranker.model_dir()
    monkeypatch.setenv("RERANK_TRAIN_PERTURBATION", "threads1")
    with pytest.raises(ValueError, match="RERANK_CACHE_DIR"):  # would sit beside the normal one
        reranker.perturbation()
    monkeypatch.setenv("RERANK_CACHE_DIR", str(tmp_path))
    assert reranker.perturbation() == "threads1"
    # Same folder name (the notebooks print it), another cache.
    assert reranker.model_dir().name == normal.name and reranker.model_dir() != normal
    monkeypatch.setenv("RERANK_TRAIN_PERTURBATION", "cosmic-rays")
    with pytest.raises(ValueError, match="RERANK_TRAIN_PERTURBATION"):
        reranker.perturbation()


def test_config_names_the_model_without_importing_the_trainer():
    code = (
        "import sys; from helpers.config import load_config; c = load_config(); "
        "heavy = [m for m in ('sentence_transformers', 'torch', 'tools.offline_reranker.lesson') "
        "if m in sys.modules]; print(c.reranker_model, heavy)"
    )
    env = {**os.environ, "RERANK_PROFILE": "offline", "RERANK_TRAIN_PERTURBATION": ""}
    env.pop("RERANK_RERANKER_MODEL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "offline-reranker []" in out.stdout


def test_build_skips_an_existing_model(monkeypatch, tmp_path):
    from tools.offline_reranker import build

    monkeypatch.setenv("RERANK_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("RERANK_TRAIN_PERTURBATION", raising=False)
    folder = reranker.model_dir()
    folder.mkdir(parents=True)
    for name in recipe.REQUIRED_FILES:
        (folder / name).write_text("{}")
    (folder / "recipe.json").write_text(json.dumps({"recipe_hash": reranker.recipe_hash()}))
    monkeypatch.setattr(build, "fine_tune", lambda *a, **k: pytest.fail("should not train"))
    assert build.build() == folder


def test_a_failed_save_leaves_no_model_and_no_staging_folder(tmp_path):
    class Broken:
        def save_pretrained(self, folder, **kwargs):
            (Path(folder) / "config.json").write_text("{}")
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lesson.publish(Broken(), tmp_path / "model", {})
    assert list(tmp_path.iterdir()) == []


# --- notebook 06's page is the code `make models` runs ------------------------------------------


def page_definitions() -> dict[str, str]:
    """Return {name: ast dump} of every function and constant notebook 06's code cells define."""
    found = {}
    for cell in json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] != "code":
            continue
        try:
            tree = ast.parse("".join(cell["source"]))
        except SyntaxError:  # the Colab cell's shell lines
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = ast.dump(node)
            elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                found[node.targets[0].id] = ast.dump(node)
    return found


def test_the_build_trains_with_the_functions_notebook_06_writes_on_its_page():
    saved = ast.parse(Path(lesson.__file__).read_text(encoding="utf-8"))
    page = page_definitions()
    names = []
    for node in saved.body:
        if isinstance(node, ast.FunctionDef | ast.Assign):
            name = node.name if isinstance(node, ast.FunctionDef) else node.targets[0].id
            names.append(name)
            assert page.get(name) == ast.dump(node), f"{name}: the page and lesson.py differ"
    assert {"pseudo_queries", "mine_lists", "teacher_labels", "train"} <= set(names)


# --- training lists ----------------------------------------------------------------------------


def test_keyword_query_keeps_content_words_and_is_seeded():
    sentence = "We will build a national network of charging stations for electric vehicles."
    no_swap = Recipe(keep_words=0.6)
    first = lesson.keyword_query(sentence, random.Random(0), no_swap)
    assert first == lesson.keyword_query(sentence, random.Random(0), no_swap)
    words = first.split()
    assert 2 <= len(words) < len(sentence.split())
    assert not {w.lower() for w in words} & offline.STOPWORDS
    assert all(w in sentence for w in words)
    always = replace(no_swap, substitute_words=1.0)
    swapped = lesson.keyword_query(sentence, random.Random(0), always, lambda w: ["zz"])
    assert set(swapped.split()) == {"zz"}


def test_word_neighbours_come_from_minilms_embedding_table():
    from tools.offline_reranker.build import base_model_path

    neighbours = lesson.word_neighbours(base_model_path(), count=5)
    assert "cops" in neighbours("Police")
    assert len(neighbours("inflation")) == 5
    assert not [w for w in neighbours("police") if w.startswith("poli")]
    assert neighbours("daycare") == []


def test_pseudo_queries_cover_each_sentence_with_its_passage():
    plain = Recipe(keyword_share=0.0, variants=2)
    queries = lesson.pseudo_queries(PASSAGES, plain, random.Random(0))
    sentences = [s for p in PASSAGES for s in split_sentences(p, plain.min_words)]
    assert len(queries) == 2 * len(sentences)
    assert all(query in passage for query, passage in queries)  # whole sentences, no keywords
    framed = lesson.pseudo_queries(PASSAGES, Recipe(keyword_share=1.0, question_share=1.0),
                                   random.Random(0))  # fmt: skip
    assert all(query.endswith("?") for query, _ in framed)
    assert framed == lesson.pseudo_queries(PASSAGES, Recipe(keyword_share=1.0, question_share=1.0),
                                           random.Random(0))  # fmt: skip


def test_the_committed_faq_file_holds_real_questions_with_answers():
    rows = lesson.faq_pairs(10_000)
    assert len(rows) == 463 and Recipe().faq_rows <= len(rows)
    assert all(q.endswith("?") and len(a) >= 80 for q, a in rows)
    assert len({q for q, _ in rows}) > 0.95 * len(rows)
    assert lesson.faq_pairs(0) == [] and len(lesson.faq_pairs(3)) == 3


@pytest.fixture(scope="module")
def bi_encoder():
    from tools.offline_reranker.build import base_model_path

    return lesson.load_bi_encoder(base_model_path())


def test_mined_lists_start_with_the_positive_then_distinct_negatives(bi_encoder):
    queries = [("electric car chargers", PASSAGES[1]), ("prices too high", PASSAGES[0])]
    lists = lesson.mine_lists(queries, PASSAGES, bi_encoder, Recipe(negatives=3))
    assert lists.column_names == ["query", "passages"] and len(lists) == 2
    for (query, positive), row in zip(queries, lists, strict=True):
        assert row["query"] == query and row["passages"][0] == positive
        negatives = row["passages"][1:]
        assert 1 <= len(negatives) <= 3 and positive not in negatives
        assert len(set(negatives)) == len(negatives) and set(negatives) <= set(PASSAGES)


def test_teacher_labels_are_maxp_over_the_temperature_plus_the_bonus(bi_encoder):
    from datasets import Dataset

    from helpers.maxp import maxp_scores

    row = {"query": "charging stations", "passages": [PASSAGES[1], PASSAGES[0]]}
    settings = Recipe(temperature=0.1, positive_bonus=2.0)
    (labels,) = lesson.teacher_labels(Dataset.from_list([row]), lesson.embed_function(bi_encoder),
                                      settings)["labels"]  # fmt: skip
    teacher = maxp_scores(lesson.embed_function(bi_encoder), row["query"], row["passages"])
    np.testing.assert_allclose(labels, [teacher[0] / 0.1 + 2.0, teacher[1] / 0.1], rtol=1e-5)


def test_dev_samples_hold_the_labelled_chunks_and_the_first_stages_top_k(chunks, retriever):
    from helpers import evaluation as ev

    queries = ev.select(ev.load_queries(), "dev", answerable=True)[:3]
    samples = lesson.dev_samples(queries, chunks, retriever, k=20)
    labels = ev.label_chunks(queries, chunks)
    texts = {str(c.metadata["id"]): c.page_content for c in chunks}
    for query, sample in zip(queries, samples, strict=True):
        assert sample["query"] == query["query"] and len(sample["documents"]) == 20
        assert sorted(sample["positive"]) == sorted(texts[i] for i in labels[query["id"]])


def test_the_head_learns_faster_than_the_frozen_lower_layers():
    from tools.offline_reranker.build import base_model_path

    settings = Recipe(frozen_layers=2)
    model = lesson.load_start(base_model_path(), max_length=64)
    lesson.freeze_lower(model, settings.frozen_layers)
    body = model[0].model.base_model
    assert not any(p.requires_grad for p in body.embeddings.parameters())
    assert not any(p.requires_grad for p in body.encoder.layer[1].parameters())
    assert all(p.requires_grad for p in body.encoder.layer[2].parameters())
    head, rest = lesson.make_optimizer(model, settings).param_groups
    assert head["lr"] == settings.head_learning_rate and rest["lr"] == settings.learning_rate
    assert sum(p.numel() for p in head["params"]) == 384 + 1  # one logit: weights and bias


# --- the command line: a tiny real training run -------------------------------------------------


def test_cli_adapts_a_reranker_to_a_small_corpus(tmp_path):
    from helpers.reranking import make_cross_encoder

    corpus = tmp_path / "notes.txt"
    corpus.write_text("\n\n".join(PASSAGES * 2), encoding="utf-8")
    out = tmp_path / "my-reranker"
    command = [sys.executable, "-m", "tools.offline_reranker", "--corpus", str(corpus),
               "--out", str(out), "--max-steps", "2", "--faq", "4"]  # fmt: skip
    env = {**os.environ, "RERANK_THREADS": "1", "RERANK_TRAIN_PERTURBATION": ""}
    run = {"env": env, "capture_output": True, "text": True, "cwd": ROOT}
    done = subprocess.run(command, timeout=600, **run)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "%|" not in done.stderr  # no progress bars
    # ...but one line per tenth of the run says where it is and how long is left
    assert "training: step 2 of 2 (100%)" in done.stdout and " s left" in done.stdout
    info = json.loads((out / "recipe.json").read_text())
    assert info["steps"] == 2 and info["corpus"] == "notes.txt"
    assert info["recipe"]["faq_rows"] == 4 and Recipe().faq_rows == 0  # FAQ pairs only on request
    scores = make_cross_encoder(str(out)).score([("charging stations", PASSAGES[1])])
    assert np.isfinite(scores).all()
    again = subprocess.run(command, timeout=600, **run)
    assert again.returncode == 2 and "--force" in again.stderr
    alone = subprocess.run(command[:5], timeout=60, **run)
    assert alone.returncode == 2 and "--corpus and --out go together" in alone.stderr


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


def dense_and_reranked(cross_encoder, retriever, chunks, queries, k: int = 20) -> dict:
    """Return {run: {metric: value}} (ranx) for the dense top k and the same k reranked."""
    from helpers import evaluation as ev

    qrels = ev.qrels_for(queries, chunks)  # the course's labels: one chunk per passage
    candidates = ev.first_stage_candidates(retriever, queries, k)
    cross = ev.second_stage_scores(ev.cross_encoder_scorer(cross_encoder), queries, candidates)
    dense = ev.candidates_run(candidates, k, "dense")
    reranked = ev.reranked_run(candidates, cross, k, "reranked")
    return ev.compare_runs(qrels, [dense, reranked], k=k).results


@pytest.fixture(scope="module")
def scored(dense_top20_scored):
    """Every answerable question's dense top 20 with the built reranker's scores (conftest)."""
    return dense_top20_scored(built_model_dir())


def split_results(scored, chunks, split, k: int = 20) -> dict:
    """Return dense_and_reranked's results for one split (None: all), from ``scored``."""
    from helpers import evaluation as ev

    answerable, candidates, cross = scored
    queries = ev.select(answerable, split)
    lists = {q["id"]: candidates[q["id"]] for q in queries}
    runs = [ev.candidates_run(lists, k, "dense"), ev.reranked_run(lists, cross, k, "reranked")]
    return ev.compare_runs(ev.qrels_for(queries, chunks), runs, k=k).results


def own_dev_queries() -> list[dict]:
    """Return the recipe's own development questions in the labelled-query format."""
    items = json.loads(OWN_DEV_QUERIES.read_text())["queries"]
    return [
        {"id": f"d{i}", "query": q["question"], "relevant": [{"text": q["answer"], "grade": 2}]}
        for i, q in enumerate(items)
    ]


def test_model_folder_holds_fp32_weights_and_its_recipe():
    folder = built_model_dir()
    info = json.loads((folder / "recipe.json").read_text())
    assert info["recipe_hash"] == reranker.recipe_hash()
    assert info["recipe"] == json.loads(json.dumps(Recipe().__dict__))
    config = json.loads((folder / "config.json").read_text())
    assert len(config["id2label"]) == 1
    assert config.get("dtype", config.get("torch_dtype")) == "float32"


def test_scores_are_deterministic(cross_encoder):
    pairs_ = [(SEED_QUERY, p) for p in PASSAGES]
    first = np.array(list(cross_encoder.score(pairs_)))
    assert first.shape == (len(PASSAGES),)
    np.testing.assert_array_equal(first, np.array(list(cross_encoder.score(pairs_))))


# Issue 13's bar, on the course's labelled questions, reranking the dense top 20: MRR@10 and
# nDCG@10 at least dense's on test and on dev, higher on all answerable questions, Recall@5 at
# most 0.02 below dense's, and the seed question's top 3 holding two labelled passages. The
# 10-minute fp32 recipe does not reach it (docs/offline_reranker.md), and issue 20's session did
# not retrain (the blend below is what earns the cross-encoder its place): strict xfail, so that a
# recipe that does reach it fails here until this test is turned back into a plain one.
@pytest.mark.xfail(
    strict=True,
    reason="issue 13's bar (the cross-encoder alone >= dense) is not reached by recipe G, and "
    "it was not retrained (issue 20 blends it instead): docs/offline_reranker.md",
)
def test_the_issues_bar(scored, cross_encoder, retriever, chunks):
    from helpers import evaluation as ev

    def row(metrics):  # ev.bar_misses reads pipeline rows
        keys = {"recall": "recall@5", "mrr": "mrr@10", "ndcg@10": "ndcg@10"}
        return {key: metrics[name] for key, name in keys.items()}

    misses = {}
    for split in ("test", "dev", None):
        results = split_results(scored, chunks, split)
        dense, reranked = results["dense"], results["reranked"]
        misses[split] = ev.bar_misses(row(dense), row(reranked))
        if split is None and not reranked["mrr@10"] > dense["mrr@10"]:
            misses[split].append("mrr@10 not higher")
    assert not any(misses.values()), misses
    assert seed_top3_relevant(cross_encoder, retriever, chunks) >= 2


# The level reached by the chosen recipe (G in docs/offline_reranker.md): reranked / dense, per
# split, with 0.02 of slack for another CPU's last bits. Measured with the final labels
# (ev.qrels_for) on build 0022eba89806: test MRR@10 0.909, nDCG@10 0.889, Recall@5 0.789; dev
# 0.954, 0.957, 1.065; all 0.924, 0.911, 0.866; own dev questions MRR@10 0.937 (0.985 with the
# earlier labels: a whole copy shown first now credits dense, which finds them, more than the
# reranker).
LEVEL = {
    "test": {"mrr@10": 0.88, "ndcg@10": 0.87, "recall@5": 0.77},
    "dev": {"mrr@10": 0.93, "ndcg@10": 0.93, "recall@5": 1.04},
    "all": {"mrr@10": 0.90, "ndcg@10": 0.89, "recall@5": 0.84},
    "own": {"mrr@10": 0.91},
}
SEED_TOP3_LEVEL = 1  # chunk 38 of [48, 21, 38]; the bar asks 2


@pytest.mark.parametrize("split", ["test", "dev", None], ids=["test", "dev", "all"])
def test_the_level_reached(scored, chunks, split):
    results = split_results(scored, chunks, split)
    for metric, share in LEVEL[split or "all"].items():
        kept = results["reranked"][metric] / results["dense"][metric]
        assert kept >= share, (metric, results)


def test_the_recipes_own_dev_questions(cross_encoder, retriever, chunks):
    results = dense_and_reranked(cross_encoder, retriever, chunks, own_dev_queries())
    kept = results["reranked"]["mrr@10"] / results["dense"]["mrr@10"]
    assert kept >= LEVEL["own"]["mrr@10"], results


def seed_top3_relevant(cross_encoder, retriever, chunks) -> int:
    """Return how many of the seed question's reranked top 3 its labels mark relevant."""
    from helpers import evaluation as ev
    from helpers.reranking import ScoredCrossEncoderReranker

    (seed,) = [q for q in ev.load_queries() if q["id"] == "q01"]
    assert seed["query"] == SEED_QUERY
    relevant = ev.label_chunks([seed], chunks)["q01"]
    top = ScoredCrossEncoderReranker(model=cross_encoder, top_n=3).compress_documents(
        retriever.invoke(SEED_QUERY), SEED_QUERY
    )
    return sum(str(d.metadata["id"]) in relevant for d in top)


def test_seed_question_top_3_holds_labelled_passages(cross_encoder, retriever, chunks):
    assert seed_top3_relevant(cross_encoder, retriever, chunks) >= SEED_TOP3_LEVEL


# The blend (issue 20): the cross-encoder's score z-scored with the first stage's (or MaxP's)
# over each question's dense top 20, the weights chosen on dev by notebook 03's rule. Measured on
# build 0022eba89806 (recipe G), reranked / first stage: test MRR@10 0.9306 / 0.8519 = 1.092,
# nDCG@10 0.8990 / 0.8399 = 1.070, Recall@5 0.9074 / 0.9213 = 0.985; the MaxP blend over MaxP
# on test: MRR@10 0.9861 / 0.9444 = 1.044, nDCG@10 0.9299 / 0.9088 = 1.023. Levels: 0.02 slack.
BLEND_WEIGHTS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BLEND_WEIGHT, MAXP_BLEND_WEIGHT = 0.3, 0.2  # notebook 02 teaches the blend with 0.3
BLEND_LEVEL = {"mrr@10": 1.07, "ndcg@10": 1.05, "recall@5": 0.96}
MAXP_BLEND_LEVEL = {"mrr@10": 1.02, "ndcg@10": 1.0}


@pytest.fixture(scope="module")
def blend_inputs(scored, embeddings):
    from helpers import evaluation as ev
    from helpers.maxp import embed_with

    answerable, candidates, cross = scored
    maxp = ev.second_stage_scores(ev.maxp_scorer(embed_with(embeddings)), answerable, candidates)
    return answerable, candidates, cross, maxp


def split_qrels(answerable, chunks, split):
    from helpers import evaluation as ev

    return ev.qrels_for(answerable, chunks, [q["id"] for q in ev.select(answerable, split)])


def test_the_blend_weights_chosen_on_dev_and_robust_to_another_cpus_last_bits(blend_inputs, chunks):
    import random

    from helpers import evaluation as ev
    from tools.evaluation.pages import page_functions

    choose_weight = page_functions("03", "choose_weight", ev=ev)["choose_weight"]
    answerable, candidates, cross, maxp = blend_inputs
    dev = split_qrels(answerable, chunks, "dev")
    assert choose_weight(dev, candidates, cross, 20, BLEND_WEIGHTS)[0] == BLEND_WEIGHT
    assert choose_weight(dev, candidates, cross, 20, BLEND_WEIGHTS, maxp)[0] == MAXP_BLEND_WEIGHT
    rng = random.Random(0)  # another CPU moves logits by ~1e-3: ten times that changes nothing
    for _ in range(3):
        noisy = {q: {c: s + rng.gauss(0, 0.01) for c, s in d.items()} for q, d in cross.items()}
        assert choose_weight(dev, candidates, noisy, 20, BLEND_WEIGHTS)[0] == BLEND_WEIGHT
        chosen = choose_weight(dev, candidates, noisy, 20, BLEND_WEIGHTS, maxp)[0]
        assert chosen == MAXP_BLEND_WEIGHT


def test_the_blends_level_on_test(blend_inputs, chunks):
    from helpers import evaluation as ev

    answerable, candidates, cross, maxp = blend_inputs
    test = split_qrels(answerable, chunks, "test")
    lists = {q: candidates[q] for q in test.keys()}

    def measured(scores):
        return ev.evaluate(test, ev.reranked_run(lists, scores, 20, "run"), list(BLEND_LEVEL))

    dense = ev.evaluate(test, ev.candidates_run(lists, 20, "dense"), list(BLEND_LEVEL))
    blend = measured(ev.blend_of(cross, BLEND_WEIGHT)(lists, 20))
    for metric, share in BLEND_LEVEL.items():
        assert blend[metric] / dense[metric] >= share, (metric, blend, dense)
    alone = measured(maxp)
    on_maxp = measured(ev.blend_of(cross, MAXP_BLEND_WEIGHT, base=maxp)(lists, 20))
    for metric, share in MAXP_BLEND_LEVEL.items():
        assert on_maxp[metric] / alone[metric] >= share, (metric, on_maxp, alone)
