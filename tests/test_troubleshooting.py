"""Each docs/troubleshooting.md entry names a cause; these tests reproduce the causes."""

from pathlib import Path

import pytest

DOC = (Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md").read_text()


def test_langchain_1x_has_no_langchain_retrievers():
    assert "No module named 'langchain.retrievers'" in DOC
    with pytest.raises(ModuleNotFoundError, match="langchain.retrievers"):
        import langchain.retrievers  # noqa: F401


def test_untruncated_long_input_raises_the_tensor_size_error(random_head_cross_encoder_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(random_head_cross_encoder_dir)
    tokenizer = AutoTokenizer.from_pretrained(random_head_cross_encoder_dir)
    inputs = tokenizer("question", "word " * 700, return_tensors="pt")
    with pytest.raises(RuntimeError, match=r"must match the size of tensor b \(512\)"):
        model(**inputs)
    assert "must match the size of tensor b (512)" in DOC


def test_boto3_without_a_region(monkeypatch, tmp_path):
    import boto3
    from botocore.exceptions import NoRegionError

    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(NoRegionError):
        boto3.session.Session().client("sagemaker-runtime")
    assert "NoRegionError: You must specify a region." in DOC


def test_faiss_load_local_refuses_pickles(tmp_path, embeddings):
    from langchain_community.vectorstores import FAISS

    FAISS.from_texts(["a passage"], embeddings).save_local(str(tmp_path))
    with pytest.raises(ValueError, match="de-serialization relies loading a pickle file"):
        FAISS.load_local(str(tmp_path), embeddings)
    assert "The de-serialization relies loading a pickle file" in DOC
