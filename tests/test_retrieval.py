import json

import numpy as np
import pytest

from helpers import build_faiss_retriever, make_embeddings, search_with_scores
from helpers.config import ModelUnavailableError, resolve_model
from helpers.retrieval import similarity_of
from tools.evaluation.pages import page_functions
from tools.hub_rehearsal import corpus_lines, embedding_files, write_repo

# Notebook 01 defines these on its page.
NB01 = page_functions("01", "without_normalize", "pretty_print_docs", resolve_model=resolve_model)
without_normalize, pretty_print_docs = NB01["without_normalize"], NB01["pretty_print_docs"]

SEED_QUERY = "What is the plan for the economy?"
DOT_MODEL = "rerank-lab/dot-product-stand-in"


def test_the_loaded_model_says_how_it_compares(embeddings):
    assert similarity_of(embeddings) == "cosine"  # all-MiniLM-L6-v2's own similarity_fn_name
    assert similarity_of(embeddings._client) == "cosine"
    assert embeddings.encode_kwargs["normalize_embeddings"] is True


def test_a_model_folder_is_read_from_its_config(tmp_path):
    (tmp_path / "config_sentence_transformers.json").write_text(
        json.dumps({"similarity_fn_name": "dot"})
    )
    assert similarity_of(str(tmp_path)) == "dot"
    (tmp_path / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {}}))
    assert similarity_of(str(tmp_path)) == "cosine"  # sentence-transformers' own default
    with pytest.raises(ModelUnavailableError, match="RERANK_EMBEDDING_MODEL"):
        similarity_of(str(tmp_path / "elsewhere"))


@pytest.fixture(scope="module")
def dot_model_cache(tmp_path_factory):
    """A dot-product model (the seed's kind) under a Hub id that no name table could know."""
    cache = tmp_path_factory.mktemp("dot-model-cache")
    write_repo(cache, DOT_MODEL, embedding_files(corpus_lines(), "small", similarity="dot"))
    return cache


def test_a_dot_product_model_is_searched_by_raw_inner_product(
    dot_model_cache, use_hub_cache, chunks, monkeypatch
):
    from langchain_community.vectorstores.utils import DistanceStrategy

    use_hub_cache(dot_model_cache)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    dot = make_embeddings(DOT_MODEL, device="cpu")
    assert dot.encode_kwargs["normalize_embeddings"] is False
    assert similarity_of(dot) == "dot" and similarity_of(DOT_MODEL) == "dot"
    texts = [chunk.page_content for chunk in chunks[:30]]
    vectors = np.array(dot.embed_documents(texts))
    assert not np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-2)  # raw, unnormalised
    retriever = build_faiss_retriever(chunks[:30], dot, k=5)
    assert retriever.vectorstore.distance_strategy == DistanceStrategy.MAX_INNER_PRODUCT
    expected = sorted(vectors @ np.array(dot.embed_query(SEED_QUERY)), reverse=True)[:5]
    scores = [float(score) for _, score in search_with_scores(retriever, SEED_QUERY)]
    assert scores == pytest.approx(expected, rel=1e-4)  # FAISS's score is the raw dot product


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
