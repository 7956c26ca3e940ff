"""Every exercise (helpers/exercises/): its solution in solutions/ passes the self-check, a
plausible mistake gets a "Not yet" that names it, and an unfinished answer (None) prints "Not yet"
without raising. The checks run the course's real code: FAISS, models, ranx, inference.py. The
exercises that change the pipeline (k in 01, a threshold in 02, fusion weights in 03) are also
checked for the effect they measure."""

from __future__ import annotations

import json

import pytest
from exercise_checks import expect, load_solution

from helpers import evaluation as ev
from helpers import exercises as ex
from helpers import search_with_scores
from helpers.reranking import ScoredCrossEncoderReranker, build_reranking_retriever

ECONOMY = "What is the plan for the economy?"
UKRAINE = "How are we helping the people of Ukraine?"


@pytest.fixture(scope="module")
def cross_encoder(random_head_cross_encoder_dir):
    """The mechanics of top_n and thresholds do not depend on ranking quality: an untrained head."""
    from helpers.reranking import make_cross_encoder

    return make_cross_encoder(str(random_head_cross_encoder_dir), max_length=128)  # faster


# --- 01 · Retrieve passages with FAISS -------------------------------------------------------


@pytest.fixture(scope="module")
def seed_answer_ids(chunks):
    seed = next(q for q in ev.load_queries() if q["query"] == ECONOMY)
    return sorted(int(i) for i in ev.label_chunks([seed], chunks)[seed["id"]])


def test_01_smallest_k(retriever, seed_answer_ids, capsys):
    answer = load_solution("01_retrieve_with_faiss").exercise_1(retriever, ECONOMY, seed_answer_ids)

    def check(k):
        return ex.check_01_smallest_k(k, retriever, ECONOMY, seed_answer_ids)

    # The measured effect: with k - 1 one answer chunk is missing, with k none is.
    found = {d.metadata["id"] for d in retriever.vectorstore.similarity_search(ECONOMY, k=answer)}
    fewer = {
        d.metadata["id"] for d in retriever.vectorstore.similarity_search(ECONOMY, k=answer - 1)
    }
    assert set(seed_answer_ids) <= found and not set(seed_answer_ids) <= fewer
    expect(capsys, check(answer), True, f"k={answer} finds all {len(seed_answer_ids)}")
    expect(capsys, check(answer - 1), False, "misses chunk(s)")
    expect(capsys, check(answer + 5), False, "a smaller k")
    if len(seed_answer_ids) != answer:
        expect(capsys, check(len(seed_answer_ids)), False, "that many only if")
    expect(capsys, check("twenty"), False, "could not read")
    expect(capsys, check(None), False, "replace the None")


def test_01_l2_distances(retriever, capsys):
    answer = load_solution("01_retrieve_with_faiss").exercise_2(retriever, UKRAINE)
    expect(capsys, ex.check_01_l2_distances(answer, retriever, UKRAINE), True, "same order")
    scores = [float(s) for _, s in search_with_scores(retriever, UKRAINE)[:5]]
    expect(capsys, ex.check_01_l2_distances(scores, retriever, UKRAINE), False, "the scores")
    rooted = [d**0.5 for d in answer]
    expect(capsys, ex.check_01_l2_distances(rooted, retriever, UKRAINE), False, "squared")
    halved = [1 - s for s in scores]
    expect(capsys, ex.check_01_l2_distances(halved, retriever, UKRAINE), False, "half")
    expect(capsys, ex.check_01_l2_distances(None, retriever, UKRAINE), False, "replace the None")


# --- 02 · Rerank with a cross-encoder --------------------------------------------------------


def test_02_threshold_binds_on_the_model_it_is_checked_with(retriever, cross_encoder, capsys):
    def check(threshold):
        return ex.check_02_threshold_keeps(threshold, retriever, cross_encoder, ECONOMY, 5, 2)

    answer = load_solution("02_rerank_with_a_cross_encoder").exercise_1(
        retriever, cross_encoder, ECONOMY
    )
    kept = build_reranking_retriever(
        retriever, top_n=5, cross_encoder=cross_encoder, score_threshold=answer
    ).invoke(ECONOMY)
    assert len(kept) == 2  # the measured effect: the threshold, not top_n, cut the list
    expect(capsys, check(answer), True, "keeps 2 of at most 5")
    expect(capsys, check(0.0), False, "top_n did the cutting")
    expect(capsys, check(1.0), False, "0 kept: lower it")
    scores = [
        d.metadata["rerank_score"]
        for d in ScoredCrossEncoderReranker(model=cross_encoder, top_n=20).compress_documents(
            retriever.invoke(ECONOMY), ECONOMY
        )
    ]
    expect(capsys, check((scores[2] + scores[3]) / 2), False, "3 kept: raise it")
    expect(capsys, check("high"), False, "could not read")
    expect(capsys, check(None), False, "replace the None")


def test_02_threshold_exercise_binds_on_the_trained_reranker(retriever, capsys):
    """The notebook checks the exercise with the profile's real reranker: no empty answer passes."""
    from helpers.reranking import make_cross_encoder

    trained = make_cross_encoder()
    answer = load_solution("02_rerank_with_a_cross_encoder").exercise_1(retriever, trained, ECONOMY)
    expect(capsys, ex.check_02_threshold_keeps(answer, retriever, trained, ECONOMY, 5, 2), True)
    for trivial in (0.0, 1.0):  # keep everything top_n allows, or nothing
        expect(
            capsys, ex.check_02_threshold_keeps(trivial, retriever, trained, ECONOMY, 5, 2), False
        )


def test_02_pairs_scored(retriever, capsys):
    questions = [ECONOMY, UKRAINE, "How will we fight inflation?", "What about COVID-19?"]
    answer = load_solution("02_rerank_with_a_cross_encoder").exercise_2(questions, k=30, top_n=3)

    def check(answer):
        return ex.check_02_pairs_scored(answer, retriever, questions, k=30, top_n=3)

    expect(capsys, check(answer), True, "4 questions × 30 candidates = 120 pairs")
    expect(capsys, check(12), False, "top_n only cuts after scoring")
    expect(capsys, check(30), False, "one question")
    expect(capsys, check(7), False, "one pair per candidate")
    expect(capsys, check([120]), False, "could not read")
    expect(capsys, check(None), False, "replace the None")


# --- 03 · Measure what reranking buys --------------------------------------------------------

TOY_RANKED = {
    "q1": ["c4", "c2", "c9"],
    "q2": ["c1", "c5", "c8"],
    "q3": ["c6", "c3", "c7"],
    "q4": ["c8", "c6", "c3", "c4", "c9", "c7", "c0", "c11", "c12", "c13", "c5"],
}
TOY_QRELS = {"q1": {"c2": 2, "c9": 1}, "q2": {"c1": 1}, "q3": {"c2": 2}, "q4": {"c5": 2}}


def test_03_mrr_by_hand(capsys):
    answer = load_solution("03_measure_what_reranking_buys").exercise_1(TOY_RANKED, TOY_QRELS)
    assert answer == pytest.approx((1 / 2 + 1 + 0 + 0) / 4)

    def check(answer):
        return ex.check_03_mrr_by_hand(answer, TOY_RANKED, TOY_QRELS)

    expect(capsys, check(answer), True, "as ranx computes it")
    expect(capsys, check((1 / 2 + 1 + 0 + 1 / 11) / 4), False, "below rank 10")
    expect(capsys, check((1 / 2 + 1) / 2), False, "no hit count as 0")
    expect(capsys, check(0.9), False, "first hit")
    expect(capsys, check("a lot"), False, "could not read")
    expect(capsys, check(None), False, "replace the None")


def test_03_hybrid_recall(chunks, embeddings, capsys):
    from helpers import build_faiss_retriever
    from tools.evaluation.cli import bm25_retriever  # notebook 03 builds the same on its page

    answerable = ev.select(ev.load_queries(), answerable=True)
    questions = ev.select(answerable, "test")
    qrels = ev.qrels_for(questions, chunks)
    bm25 = bm25_retriever(chunks, k=30)
    dense = build_faiss_retriever(chunks, embeddings, k=30)
    weights = (0.2, 0.8)
    answer = load_solution("03_measure_what_reranking_buys").exercise_2(
        bm25, dense, questions, qrels, weights=weights
    )

    def check(value):
        return ex.check_03_hybrid_recall(value, bm25, dense, questions, qrels, weights)

    def recall(retriever, name):
        candidates = ev.first_stage_candidates(retriever, questions, 20)
        return float(ev.evaluate(qrels, ev.candidates_run(candidates, 20, name), "recall@5"))

    equal = recall(ev.hybrid_retriever(bm25, dense), "equal")
    expect(capsys, check(answer), True, "with equal weights")
    if abs(equal - answer) > 0.0005:  # the exercise's point: the weights move the measurement
        expect(capsys, check(equal), False, "equal-weights hybrid")
    expect(capsys, check(recall(bm25, "BM25")), False, "BM25 alone")
    expect(capsys, check(-1.0), False, "ev.hybrid_retriever")
    expect(capsys, check(None), False, "replace the None")


# --- 04 · Write, serve and deploy inference.py ---------------------------------------------

PAIRS = [
    [ECONOMY, "My plan to fight inflation will lower your costs and lower the deficit."],
    [ECONOMY, "We will meet the Ukrainian people with humanitarian assistance."],
]


def test_04_request_body(capsys):
    answer = load_solution("04_serve_and_deploy_inference").exercise_1(PAIRS)
    expect(capsys, ex.check_04_request_body(answer, PAIRS), True, "2 pairs from text_pairs")
    expect(capsys, ex.check_04_request_body(answer.encode(), PAIRS), True)
    pairs_key = json.dumps({"pairs": PAIRS})
    expect(capsys, ex.check_04_request_body(pairs_key, PAIRS), False, "sends the key text_pairs")
    as_dict = {"text_pairs": PAIRS}
    expect(capsys, ex.check_04_request_body(as_dict, PAIRS), False, "a Python dict")
    wrong_key = json.dumps({"queries": PAIRS})
    expect(capsys, ex.check_04_request_body(wrong_key, PAIRS), False, "400, missing_key")
    both = json.dumps({"pairs": PAIRS, "text_pairs": PAIRS})
    expect(capsys, ex.check_04_request_body(both, PAIRS), False, "ambiguous_key")
    reversed_body = json.dumps({"text_pairs": PAIRS[::-1]})
    expect(capsys, ex.check_04_request_body(reversed_body, PAIRS), False, "in this order")
    expect(capsys, ex.check_04_request_body(None, PAIRS), False, "replace the None")


@pytest.fixture(scope="module")
def served(random_head_cross_encoder_dir):
    """inference.py imported in this process, and the model its model_fn loads."""
    from helpers.sagemaker import load_handler

    handler = load_handler()
    return handler, handler.model_fn(str(random_head_cross_encoder_dir))


def test_04_content_handler(served, capsys):
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    handler, reranker = served

    def check(answer):
        return ex.check_04_content_handler(answer, handler, reranker, PAIRS)

    answer = load_solution("04_serve_and_deploy_inference").exercise_2()
    expect(capsys, check(answer), True, "LangChain scored 2 pairs through inference.py")
    expect(capsys, check(type(answer)), True)  # the class itself is fine too
    expect(capsys, check(CrossEncoderContentHandler()), False, "reads only the key pairs")

    class ReadsBytes(type(answer)):
        def transform_output(self, output):
            return json.loads(output)["scores"]  # output is a stream, not bytes

    expect(capsys, check(ReadsBytes()), False, "transform_output (read the stream")

    class WholeBody(type(answer)):
        def transform_output(self, output):
            return json.loads(output.read())

    expect(capsys, check(WholeBody()), False, "the list of scores")

    class WrongKey(type(answer)):
        def transform_input(self, text_pairs):
            return json.dumps({"queries": text_pairs}).encode()

    expect(capsys, check(WrongKey()), False, "the request failed", "missing_key")
    expect(capsys, check(object()), False, "subclass CrossEncoderContentHandler")
    expect(capsys, check(None), False, "replace the None")


# Notebook 05 (speed): tests/test_exercises_05.py
