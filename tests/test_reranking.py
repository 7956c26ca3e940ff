import numpy as np
import pytest
from langchain_core.documents import Document
from sentence_transformers import CrossEncoder
from transformers import AutoTokenizer

from helpers.reranking import (
    ScoredCrossEncoderReranker,
    blend_scores,
    build_reranking_retriever,
    make_cross_encoder,
    sigmoid,
    zscores,
)
from tools.evaluation.pages import page_functions

# Notebook 02 defines these on its page.
NB02 = page_functions(
    "02", "before_after_table", "reranked_with_scores", "unknown_token_share", "ScoredRetriever",
    "BlendedCrossEncoderReranker",
)  # fmt: skip
ScoredRetriever = NB02["ScoredRetriever"]
BlendedCrossEncoderReranker = NB02["BlendedCrossEncoderReranker"]
before_after_table = NB02["before_after_table"]
reranked_with_scores = NB02["reranked_with_scores"]
unknown_token_share = NB02["unknown_token_share"]

QUERY = "What is the plan for the economy?"
PAIRS = [(QUERY, "My plan will grow the economy."), (QUERY, "We salute our troops, and more.")]


@pytest.fixture(scope="module")
def cross_encoder(random_head_cross_encoder_dir):
    return make_cross_encoder(str(random_head_cross_encoder_dir))


@pytest.fixture(scope="module")
def no_pad_dir(random_head_cross_encoder_dir, tmp_path_factory):
    """The same model, saved with a tokenizer that has no pad token (like Qwen3 rerankers)."""
    folder = tmp_path_factory.mktemp("no-pad")
    model = CrossEncoder(str(random_head_cross_encoder_dir))
    model.model.save_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(random_head_cross_encoder_dir)
    tokenizer.pad_token = None
    tokenizer.save_pretrained(folder)
    return folder


def test_scores_are_raw_logits_of_a_non_default_model(cross_encoder, random_head_cross_encoder_dir):
    logits = np.array(list(cross_encoder.score(PAIRS)))
    probabilities = CrossEncoder(str(random_head_cross_encoder_dir)).predict(PAIRS)
    assert np.allclose([sigmoid(x) for x in logits], probabilities, atol=1e-5)


def test_pad_token_less_tokenizer_breaks_batches_and_is_fixed(no_pad_dir, cross_encoder):
    with pytest.raises(ValueError, match="pad"):
        CrossEncoder(str(no_pad_dir)).predict(PAIRS, batch_size=2)
    fixed = make_cross_encoder(str(no_pad_dir))
    assert np.allclose(list(fixed.score(PAIRS)), list(cross_encoder.score(PAIRS)), atol=1e-5)


def test_inputs_past_max_length_are_truncated_not_an_error(cross_encoder):
    passage = "The economy grew. " * 200  # about 1,000 tokens
    longer = passage + "Completely different words about weather at the end. " * 50
    short, long = cross_encoder.score([(QUERY, passage), (QUERY, longer)])
    assert short == pytest.approx(long, abs=1e-5)


def documents(n):
    return [
        Document(page_content=f"passage {i} about the economy" * (i + 1), metadata={"id": i})
        for i in range(n)
    ]


def test_compressor_keeps_scores_sorted_and_cuts_top_n(cross_encoder):
    reranked = ScoredCrossEncoderReranker(model=cross_encoder, top_n=3).compress_documents(
        documents(6), QUERY
    )
    scores = [d.metadata["rerank_score"] for d in reranked]
    assert len(reranked) == 3 and scores == sorted(scores, reverse=True)
    for doc in reranked:
        assert doc.metadata["rerank_score"] == pytest.approx(sigmoid(doc.metadata["rerank_logit"]))


def test_compressor_threshold_and_top_n_together(cross_encoder):
    everything = ScoredCrossEncoderReranker(model=cross_encoder, top_n=6).compress_documents(
        documents(6), QUERY
    )
    cut = everything[2].metadata["rerank_score"]
    kept = ScoredCrossEncoderReranker(model=cross_encoder, top_n=2, score_threshold=cut)
    assert [d.metadata["id"] for d in kept.compress_documents(documents(6), QUERY)] == [
        d.metadata["id"] for d in everything[:2]
    ]
    strict = ScoredCrossEncoderReranker(model=cross_encoder, top_n=6, score_threshold=cut)
    assert len(strict.compress_documents(documents(6), QUERY)) == 3
    assert ScoredCrossEncoderReranker(model=cross_encoder).compress_documents([], QUERY) == []


def test_order_matches_langchains_cross_encoder_reranker(
    cross_encoder, random_head_cross_encoder_dir
):
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import HuggingFaceCrossEncoder

    seed = CrossEncoderReranker(
        model=HuggingFaceCrossEncoder(model_name=str(random_head_cross_encoder_dir)), top_n=4
    )
    ours = ScoredCrossEncoderReranker(model=cross_encoder, top_n=4)
    ids = [d.metadata["id"] for d in seed.compress_documents(documents(6), QUERY)]
    assert [d.metadata["id"] for d in ours.compress_documents(documents(6), QUERY)] == ids


def test_reranking_retriever_returns_top_n_of_the_base_candidates(retriever, cross_encoder):
    reranking = build_reranking_retriever(retriever, top_n=3, cross_encoder=cross_encoder)
    candidates = {d.metadata["id"] for d in retriever.invoke(QUERY)}
    reranked = reranking.invoke(QUERY)
    assert len(reranked) == 3 and {d.metadata["id"] for d in reranked} <= candidates


def test_before_after_table_has_every_candidate(retriever, cross_encoder):
    candidates = retriever.invoke(QUERY)
    rescored = ScoredCrossEncoderReranker(model=cross_encoder, top_n=20).compress_documents(
        candidates, QUERY
    )
    lines = before_after_table(candidates, rescored, top_n=3).splitlines()
    assert len(lines) == 22
    kept = lines[0].index("kept")
    assert sum(line[kept : kept + 4] == "top " for line in lines[2:]) == 3


def test_before_after_table_without_scores_keeps_ranks_and_drops_numbers(retriever, cross_encoder):
    candidates = retriever.invoke(QUERY)
    rescored = ScoredCrossEncoderReranker(model=cross_encoder, top_n=20).compress_documents(
        candidates, QUERY
    )
    with_scores = before_after_table(candidates, rescored, top_n=3).splitlines()
    ranks_only = before_after_table(candidates, rescored, top_n=3, scores=False).splitlines()
    assert "logit" in with_scores[0] and "logit" not in ranks_only[0]
    assert [line.split()[:4] for line in ranks_only[2:]] == [
        line.split()[:4] for line in with_scores[2:]
    ]


def test_reranked_with_scores_returns_the_compressors_scores_best_first(retriever, cross_encoder):
    reranker = ScoredCrossEncoderReranker(model=cross_encoder, top_n=4)
    results = reranked_with_scores(retriever, reranker)(QUERY)
    kept = reranker.compress_documents(retriever.invoke(QUERY), QUERY)
    assert [d.metadata["id"] for d, _ in results] == [d.metadata["id"] for d in kept]
    assert [s for _, s in results] == [d.metadata["rerank_score"] for d in kept]
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


def test_unknown_token_share_sees_chinese_the_english_vocabulary_cannot_read(cross_encoder):
    tokenizer = cross_encoder.client.tokenizer
    assert unknown_token_share(tokenizer, "What is the plan for the economy?") == 0.0
    assert unknown_token_share(tokenizer, "经济计划是什么？") > 0.5  # most characters are [UNK]
    assert unknown_token_share(tokenizer, "") == 0.0


# The blend: first-stage score + cross-encoder score, z-scored per query -----------------------


@pytest.fixture(scope="module")
def scored_retriever(retriever):
    return ScoredRetriever(vectorstore=retriever.vectorstore, k=20)


def test_scored_retriever_keeps_faiss_scores_in_metadata(retriever, scored_retriever):
    from helpers import search_with_scores

    found = scored_retriever.invoke(QUERY)
    expected = search_with_scores(retriever, QUERY)
    assert [d.metadata["id"] for d in found] == [d.metadata["id"] for d, _ in expected]
    assert [d.metadata["first_stage_score"] for d in found] == [float(s) for _, s in expected]


@pytest.mark.parametrize("query", ["", "   \n"])
def test_scored_retriever_refuses_an_empty_query_like_search_with_scores(scored_retriever, query):
    with pytest.raises(ValueError, match="The query is empty"):
        scored_retriever.invoke(query)


def test_scored_retriever_negates_l2_distances(chunks, embeddings):
    from helpers import build_faiss_retriever

    l2 = build_faiss_retriever(chunks, embeddings, k=5, distance="l2")
    scores = [d.metadata["first_stage_score"] for d in ScoredRetriever(
        vectorstore=l2.vectorstore, k=5).invoke(QUERY)]  # fmt: skip
    assert scores == sorted(scores, reverse=True) and all(s <= 0 for s in scores)


def test_zscores_and_blend_scores():
    assert zscores([1.0, 2.0, 3.0]) == pytest.approx([-1.2247, 0.0, 1.2247], abs=1e-4)
    assert zscores([5.0, 5.0]) == [0.0, 0.0] and zscores([]) == []
    assert blend_scores([1.0, 3.0], [30.0, 10.0], 1.0) == pytest.approx([-1.0, 1.0])
    assert blend_scores([1.0, 3.0], [30.0, 10.0], 0.0) == pytest.approx([1.0, -1.0])
    assert blend_scores([1.0, 3.0], [30.0, 10.0], 0.25) == pytest.approx([0.5, -0.5])
    with pytest.raises(ValueError, match="between 0 and 1"):
        blend_scores([1.0], [1.0], 1.5)


def test_blend_weights_one_and_zero_give_the_cross_encoder_and_first_stage_orders(
    scored_retriever, cross_encoder
):
    candidates = scored_retriever.invoke(QUERY)
    alone = ScoredCrossEncoderReranker(model=cross_encoder, top_n=20)
    only_cross = BlendedCrossEncoderReranker(model=cross_encoder, top_n=20, weight=1.0)
    only_first = BlendedCrossEncoderReranker(model=cross_encoder, top_n=20, weight=0.0)
    ids = lambda docs: [d.metadata["id"] for d in docs]  # noqa: E731
    assert ids(only_cross.compress_documents(candidates, QUERY)) == ids(
        alone.compress_documents(candidates, QUERY)
    )
    assert ids(only_first.compress_documents(candidates, QUERY)) == ids(candidates)


def test_blend_keeps_scores_sorted_and_cuts_top_n(scored_retriever, cross_encoder):
    candidates = scored_retriever.invoke(QUERY)
    kept = BlendedCrossEncoderReranker(model=cross_encoder, top_n=3, weight=0.3)
    kept = kept.compress_documents(candidates, QUERY)
    logits = cross_encoder.score([(QUERY, d.page_content) for d in candidates])
    blended = blend_scores(logits, [d.metadata["first_stage_score"] for d in candidates], 0.3)
    assert len(kept) == 3
    assert [d.metadata["blend_score"] for d in kept] == pytest.approx(sorted(blended)[::-1][:3])
    assert all({"rerank_logit", "first_stage_score"} <= set(d.metadata) for d in kept)


def test_blend_of_nothing_is_nothing_and_a_missing_score_is_a_clear_error(cross_encoder):
    blend = BlendedCrossEncoderReranker(model=cross_encoder, top_n=3)
    assert blend.compress_documents([], QUERY) == []
    with pytest.raises(ValueError, match=r"first_stage_score.*documents \[0, 1\].*ScoredRetriever"):
        blend.compress_documents(documents(2), QUERY)


def test_blend_in_langchains_compression_retriever(scored_retriever, cross_encoder):
    from langchain_classic.retrievers import ContextualCompressionRetriever

    blend = BlendedCrossEncoderReranker(model=cross_encoder, top_n=3, weight=0.3)
    pipeline = ContextualCompressionRetriever(
        base_compressor=blend, base_retriever=scored_retriever
    )
    direct = blend.compress_documents(scored_retriever.invoke(QUERY), QUERY)
    assert [d.metadata["id"] for d in pipeline.invoke(QUERY)] == [d.metadata["id"] for d in direct]
