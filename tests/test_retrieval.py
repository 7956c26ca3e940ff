import json

import numpy as np
import pytest

from helpers import build_faiss_retriever, make_embeddings, pretty_print_docs, search_with_scores
from helpers.config import ModelUnavailableError
from helpers.retrieval import similarity_of, without_normalize

SEED_QUERY = "What is the plan for the economy?"


def test_known_models_get_their_trained_similarity():
    assert similarity_of("sentence-transformers/msmarco-distilbert-dot-v5") == "dot"
    assert similarity_of("sentence-transformers/all-MiniLM-L6-v2") == "cosine"


def test_unknown_model_reads_its_config(tmp_path):
    (tmp_path / "config_sentence_transformers.json").write_text(
        json.dumps({"similarity_fn_name": "dot"})
    )
    assert similarity_of(str(tmp_path)) == "dot"
    assert similarity_of(str(tmp_path / "elsewhere")) == "cosine"


def test_offline_embeddings_are_normalised(embeddings):
    vector = np.array(embeddings.embed_query(SEED_QUERY))
    assert vector.shape == (384,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


def test_seed_query_finds_the_economy(retriever):
    docs = retriever.invoke(SEED_QUERY)
    assert len(docs) == 20
    assert "economy" in docs[0].page_content


def test_scores_come_best_first(retriever):
    scores = [float(score) for _, score in search_with_scores(retriever, SEED_QUERY)]
    assert len(scores) == 20
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("query", ["", "   \n"])
def test_empty_query_is_a_clear_error(retriever, query):
    with pytest.raises(ValueError, match="empty"):
        search_with_scores(retriever, query)


def test_l2_and_inner_product_agree_on_normalised_vectors(chunks, embeddings, retriever):
    l2 = build_faiss_retriever(chunks, embeddings, k=20, distance="l2")
    ids = [d.metadata["id"] for d in retriever.invoke(SEED_QUERY)]
    assert [d.metadata["id"] for d in l2.invoke(SEED_QUERY)] == ids


def test_unknown_distance_is_refused(chunks, embeddings):
    with pytest.raises(ValueError, match="inner_product"):
        build_faiss_retriever(chunks[:3], embeddings, distance="cosine")


def test_without_normalize_gives_raw_vectors(embeddings):
    raw_model = without_normalize(embeddings.model_name)
    assert without_normalize(embeddings.model_name) == raw_model  # reuses its folder
    raw = make_embeddings(raw_model, normalize=False)
    assert np.linalg.norm(raw.embed_query(SEED_QUERY)) > 1.5


def test_missing_embedding_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="RERANK_EMBEDDING_MODEL"):
        make_embeddings(str(tmp_path / "no-model"))


def test_pretty_print_docs_matches_the_seed(chunks, capsys):
    pretty_print_docs(chunks[:2])
    out = capsys.readouterr().out
    assert out.startswith("Document 1:\n\n")
    assert f"\n{'-' * 100}\nDocument 2:\n\n" in out
