"""MaxP: a passage scored by itself and by its best sentence, with the first stage's bi-encoder."""

import numpy as np
import pytest
from langchain_core.documents import Document

from helpers import maxp

ALPHABET = "abcdefghijklmnopqrstuvwxyz"


def letters(texts):
    """Embed texts as bag-of-letters counts (not normalised: maxp must normalise them)."""
    return np.array([[t.lower().count(c) + 0.0 for c in ALPHABET] for t in texts])


def cosine(a: str, b: str) -> float:
    x, y = letters([a, b])
    return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))


def test_split_sentences_at_stops_and_line_breaks():
    text = "Inflation is high. Is it? Yes!\n\nWe will act  now"
    assert maxp.split_sentences(text) == [
        "Inflation is high.",
        "Is it?",
        "Yes!",
        "We will act  now",
    ]
    assert maxp.split_sentences(text, min_words=3) == ["Inflation is high.", "We will act  now"]
    assert maxp.split_sentences("  \n ") == []


def test_scores_mix_the_passage_and_its_best_sentence():
    query, passage = "zebra", "A zebra ran. Horses eat hay."
    best = max(cosine(query, "A zebra ran."), cosine(query, "Horses eat hay."))
    whole = cosine(query, passage)
    (half,) = maxp.maxp_scores(letters, query, [passage])
    assert half == pytest.approx(0.5 * whole + 0.5 * best, abs=1e-6)
    assert maxp.maxp_scores(letters, query, [passage], weight=1.0) == [pytest.approx(whole)]
    assert maxp.maxp_scores(letters, query, [passage], weight=0.0) == [pytest.approx(best)]
    assert best > whole  # the one sentence about zebras is closer than the whole passage


def test_one_matching_sentence_lifts_its_passage_above_a_vague_one():
    query = "zebra stripes"
    passages = ["Hounds howl loudly. Zebra stripes.", "Zebras graze on the plains of Africa."]
    chunk_only = maxp.maxp_scores(letters, query, passages, weight=1.0)
    mixed = maxp.maxp_scores(letters, query, passages)
    assert chunk_only[0] < chunk_only[1] and mixed[0] > mixed[1]


def test_scores_handle_no_passages_and_reject_a_bad_weight():
    assert maxp.maxp_scores(letters, "q", []) == []
    with pytest.raises(ValueError, match="weight"):
        maxp.maxp_scores(letters, "q", ["p"], weight=1.5)


def test_cached_embed_embeds_each_text_once():
    seen = []

    def embed(texts):
        seen.extend(texts)
        return letters(texts)

    cached = maxp.cached_embed(embed)
    first = cached(["abc", "abd", "abc"])
    second = cached(["abd", "xyz"])
    assert seen == ["abc", "abd", "xyz"]
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(first[1], second[0])


@pytest.mark.parametrize("with_scores", [False, True])
def test_search_reorders_the_first_stages_docs_best_first(with_scores):
    docs = [
        Document(page_content="Horses eat hay.", metadata={"id": 0}),
        Document(page_content="Cats nap. Zebra stripes!", metadata={"id": 1}),
        Document(page_content="Horses eat hay.", metadata={"id": 2}),
    ]
    stage = (
        (lambda q: [(d, 1.0 - i) for i, d in enumerate(docs)]) if with_scores else lambda q: docs
    )
    ranked = maxp.maxp_search(stage, letters)("zebra stripes")
    assert [d.metadata["id"] for d, _ in ranked] == [1, 0, 2]  # the tie keeps the first order
    scores = [s for _, s in ranked]
    assert scores == sorted(scores, reverse=True)


def test_embed_with_accepts_langchain_embeddings_and_rejects_others():
    class Fake:
        def embed_documents(self, texts):
            return letters(texts).tolist()

    np.testing.assert_array_equal(maxp.embed_with(Fake())(["ab"]), letters(["ab"]))
    with pytest.raises(TypeError, match="function"):
        maxp.embed_with(object())


def test_maxp_beats_dense_on_the_dev_questions(retriever, embeddings, chunks):
    """The offline reranker's teacher must be stronger than its first stage (issue 13)."""
    from helpers import evaluation as ev

    queries = ev.select(ev.load_queries(), "dev", answerable=True)
    qrels = ev.build_qrels(ev.label_chunks(queries, chunks))
    dense = ev.make_run(retriever, queries, "dense")
    reranked = ev.make_run(maxp.maxp_search(retriever, maxp.embed_with(embeddings)), queries, "m")
    report = ev.compare_runs(qrels, [dense, reranked])
    assert report.results["m"]["mrr@10"] > report.results["dense"]["mrr@10"] + 0.03
    assert report.results["m"]["ndcg@10"] > report.results["dense"]["ndcg@10"]
