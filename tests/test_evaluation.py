"""The labelled query set, chunk labelling by substring, runs, and ranx against a hand check."""

import json
import math
from collections import Counter

import pytest
from langchain_core.documents import Document

from helpers import evaluation as ev
from helpers.data import CORPUS_SHA256, corpus_path


@pytest.fixture(scope="module")
def corpus_text():
    return corpus_path().read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def queries(corpus_text):
    return ev.load_queries(ev.DEFAULT_QUERIES, corpus_text=corpus_text)


def doc(chunk_id, text):
    return Document(page_content=text, metadata={"id": chunk_id})


# The labelled query file ---------------------------------------------------------------------


def test_every_passage_occurs_exactly_once_in_the_corpus(queries, corpus_text):
    passages = [p["text"] for q in queries for p in q["relevant"]]
    assert passages
    assert [p for p in passages if corpus_text.count(p) != 1] == []


def test_query_file_covers_the_issue(queries):
    data = json.loads(ev.DEFAULT_QUERIES.read_text(encoding="utf-8"))
    assert data["corpus_sha256"] == CORPUS_SHA256
    ids = [q["id"] for q in queries]
    assert len(ids) == len(set(ids)) >= 45
    assert "What is the plan for the economy?" in {q["query"] for q in queries}
    assert set(Counter(q["type"] for q in queries)) == set(ev.QUERY_TYPES)
    assert 3 <= len(ev.select(queries, answerable=False)) <= 5
    assert all((q["type"] == "no_answer") == (not q["relevant"]) for q in queries)
    dev = len(ev.select(queries, "dev"))
    assert 0.25 <= dev / len(queries) <= 0.4
    assert len(ev.select(queries, "test")) == len(queries) - dev
    assert ev.select(queries, "dev", answerable=False) and ev.select(queries, "test", False)


@pytest.mark.parametrize("chunking", [(500, 100), (200, 20), (1000, 200)])
def test_every_passage_labels_a_chunk_whatever_the_chunking(queries, chunking):
    from helpers import split_corpus

    chunks = split_corpus(chunk_size=chunking[0], overlap=chunking[1])
    missing = [
        p["text"]
        for q in queries
        for p in q["relevant"]
        if not any(ev.is_relevant(c.page_content, p["text"]) for c in chunks)
    ]
    assert missing == []


def write(tmp_path, queries):
    path = tmp_path / "queries.json"
    path.write_text(json.dumps({"version": 1, "queries": queries}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "queries, message",
    [
        ([{"id": "a", "query": "q", "relevant": [{"text": "no such text", "grade": 2}]}], "a:"),
        ([{"id": "a", "query": "q", "relevant": [{"text": "Madam", "grade": 3}]}], "grade"),
        ([{"id": "a", "query": "q"}, {"id": "a", "query": "r"}], "twice"),
        ([{"id": "a", "query": "q", "split": "train"}], "split"),
    ],
)
def test_bad_query_files_are_clear_errors(tmp_path, corpus_text, queries, message):
    with pytest.raises(ev.QueryFileError, match=message):
        ev.load_queries(write(tmp_path, queries), corpus_text=corpus_text)


# Labelling chunks ----------------------------------------------------------------------------

PASSAGE = "the State of the Union is strong"  # 32 characters


def test_a_passage_cut_by_a_chunk_boundary_labels_the_side_holding_half_of_it():
    chunks = [
        doc(0, "Intro text. And my report is this: the State of the Un"),  # 19 of 32 chars
        doc(1, "of the Union is strong. More text follows here."),  # 22 of 32 chars
        doc(2, "Closing words: Union is strong. The end of the speech."),  # 16 but not an edge
        doc(3, "Unrelated text that mentions the State of"),  # 12 of 32: under half
        doc(4, "Whole: the State of the Union is strong, because you are strong."),
    ]
    queries = [{"id": "q", "query": "?", "relevant": [{"text": PASSAGE, "grade": 2}]}]
    assert ev.label_chunks(queries, chunks) == {"q": {"0": 2, "1": 2, "4": 2}}


def test_small_chunks_inside_a_passage_and_the_highest_grade_count():
    chunks = [doc(7, "State of the Union"), doc(8, "Nothing here")]
    relevant = [{"text": "Union", "grade": 1}, {"text": PASSAGE, "grade": 2}]
    assert ev.label_chunks([{"id": "q", "relevant": relevant}], chunks) == {"q": {"7": 2}}
    assert ev.overlap("xx the State", PASSAGE) == len("the State")
    assert ev.overlap("strong. yy", PASSAGE) == len("strong")


def test_no_answer_queries_stay_out_of_the_qrels():
    qrels = ev.build_qrels({"a": {"1": 2, "3": 1}, "b": {}})
    assert list(qrels.keys()) == ["a"]


# Runs ----------------------------------------------------------------------------------------


def test_runs_keep_the_ranking_order():
    docs = [doc(5, "a"), doc(2, "b"), doc(9, "c")]
    queries = [{"id": "q", "query": "x"}]
    plain = ev.make_run(lambda q: docs, queries, "plain").to_dict()["q"]
    assert sorted(plain, key=plain.get, reverse=True) == ["5", "2", "9"]
    tied = ev.make_run(lambda q: [(d, 0.5) for d in docs], queries, "tied").to_dict()["q"]
    assert sorted(tied, key=tied.get, reverse=True) == ["5", "2", "9"]
    with pytest.raises(ValueError, match="negate distances"):
        ev.make_run(lambda q: [(d, i) for i, d in enumerate(docs)], queries, "distances")


def test_rerank_search_orders_by_cross_encoder_score_and_keeps_it():
    from langchain_community.cross_encoders import FakeCrossEncoder

    docs = [doc(0, "zzzz"), doc(1, "the economy plan"), doc(2, "plan")]
    search = ev.rerank_search(lambda q: docs, FakeCrossEncoder(), top_n=2)
    ranked = search("the economy plan")
    assert [d.metadata["id"] for d, _ in ranked] == [1, 2]
    assert ranked[0][1] == pytest.approx(1.0)


def test_top_score_separation_counts_pairs():
    from ranx import Run

    answerable = Run({"a": {"1": 0.9}, "b": {"1": 0.5}})
    assert ev.top_score_separation(answerable, Run({"n": {"1": 0.7}})) == 0.5
    assert ev.top_score_separation(answerable, Run({"n": {"1": 0.1}})) == 1.0


# The metrics: a hand implementation agrees with ranx on the same run --------------------------


def hand_mrr_at_10(grades: dict, ranking: list) -> float:
    return next((1 / r for r, d in enumerate(ranking[:10], 1) if grades.get(d, 0) > 0), 0.0)


def hand_ndcg_at_10(grades: dict, ranking: list) -> float:
    dcg = sum(grades.get(d, 0) / math.log2(r + 1) for r, d in enumerate(ranking[:10], 1))
    ideal = sorted(grades.values(), reverse=True)[:10]
    return dcg / sum(g / math.log2(r + 1) for r, g in enumerate(ideal, 1))


def test_hand_mrr_and_ndcg_agree_with_ranx(queries, chunks, retriever):
    from ranx import evaluate

    answerable = ev.select(queries, answerable=True)
    labels = ev.label_chunks(answerable, chunks)
    run = ev.make_run(retriever, answerable, "dense")
    ranked = {q: sorted(s, key=s.get, reverse=True) for q, s in run.to_dict().items()}
    qrels = ev.build_qrels(labels)
    means = evaluate(qrels, run, ["mrr@10", "ndcg@10"])  # per-query scores go in run.scores
    assert sorted(run.scores["ndcg@10"]) == sorted(qrels.keys())
    for qid in qrels.keys():
        assert hand_mrr_at_10(labels[qid], ranked[qid]) == pytest.approx(run.scores["mrr@10"][qid])
        assert hand_ndcg_at_10(labels[qid], ranked[qid]) == pytest.approx(
            run.scores["ndcg@10"][qid]
        )
    assert 0.1 < means["ndcg@10"] < 0.99  # not degenerate: some hits, some misses


# The command line ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_output():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert ev.main(["--split", "dev", "--k", "10"]) == 0
    return out.getvalue()


def test_cli_prints_a_markdown_table_with_bm25_and_dense(cli_output):
    lines = cli_output.splitlines()
    assert lines[0].startswith("| # | run | Recall@5 | Recall@10 | MRR@10 | NDCG@10 |")
    assert lines[2].startswith("| a | BM25 | ")
    assert lines[3].startswith("| b | dense (")
    assert "answerable queries (dev)" in cli_output


def test_cli_adds_the_reranked_row_when_a_reranker_loads(cli_output):
    if "No reranked row" in cli_output:
        pytest.skip("no cross-encoder available (run `make models` for the offline one)")
    assert cli_output.splitlines()[4].startswith("| c | dense + rerank (")
    assert cli_output.splitlines()[5].startswith("| d | fused [")
    assert "tuned on the dev queries, which this table includes" in cli_output
