"""model.tar.gz from a Hugging Face cache snapshot: files, not links; one copy of the weights.

The snapshot is the stand-in cache's BAAI/bge-reranker-base (tools.hub_rehearsal): the real
repository's file set (safetensors + a pickled .bin twin, an ONNX copy, the model card) laid out
as huggingface_hub does, as relative links into ../../blobs.
"""

from __future__ import annotations

import json
import tarfile

import pytest

from helpers import sagemaker as sm
from helpers.config import DEFAULT_RERANKER_MODEL
from tools.hub_rehearsal import snapshot_path

SERVING = {
    "config.json",
    "model.safetensors",
    "sentencepiece.bpe.model",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
}
PAIRS = [
    ("what did the president say about ukraine?", "We stand with the people of Ukraine."),
    ("a", "b"),
]


@pytest.fixture(scope="module")
def snapshot(hub_cache):
    return snapshot_path(hub_cache, DEFAULT_RERANKER_MODEL)


@pytest.fixture(scope="module")
def archive(snapshot, tmp_path_factory):
    return sm.package_model(snapshot, tmp_path_factory.mktemp("package") / "model.tar.gz")


def members(tar_path) -> dict:
    with tarfile.open(tar_path) as tar:
        return {member.name: member for member in tar.getmembers()}


def test_the_snapshot_is_links_into_the_blobs(snapshot):
    weights = snapshot / "model.safetensors"
    assert weights.is_symlink() and weights.readlink().parts[:2] == ("..", "..")
    assert (snapshot / "pytorch_model.bin").is_file() and (snapshot / "onnx").is_dir()


def test_archive_holds_the_files_themselves_not_links(archive, snapshot):
    stored = members(archive)
    assert all(member.isfile() for member in stored.values()), "links or folders in the archive"
    assert stored["model.safetensors"].size == (snapshot / "model.safetensors").stat().st_size
    assert SERVING | {"code/inference.py", "code/rerank_schema.py"} <= set(stored)


def test_archive_ships_one_copy_of_the_weights_and_no_exports(archive):
    names = set(members(archive))
    assert "pytorch_model.bin" not in names  # the .bin twin of model.safetensors
    assert not {name for name in names if name.startswith(("onnx/", "openvino/"))}
    assert not {"README.md", ".gitattributes"} & names
    assert names - SERVING == {name for name in names if name.startswith("code/")}


def test_listing_shows_the_weights_with_their_size(archive, snapshot):
    sizes = {
        line.split()[1]: int(line.split()[0].replace(",", ""))
        for line in sm.archive_listing(archive)
    }
    assert sizes["model.safetensors"] == (snapshot / "model.safetensors").stat().st_size > 0


def test_unpacked_archive_serves_the_packaged_model(archive, snapshot, tmp_path, monkeypatch):
    from sentence_transformers import CrossEncoder

    # filter="data", as SageMaker unpacks it
    model_dir = sm.package.unpack_model(archive, tmp_path / "opt-ml-model")
    for name in ("RERANKER_MODEL_ID", "RERANKER_REVISION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    served = sm.load_handler().model_fn(str(model_dir)).score(PAIRS)
    expected = CrossEncoder(str(snapshot), device="cpu").predict(PAIRS)
    assert served == pytest.approx([float(s) for s in expected], abs=1e-5)


def test_unpacking_a_snapshot_folder_copies_the_same_files(snapshot, tmp_path):
    folder = sm.package.unpack_model(snapshot, tmp_path / "opt-ml-model")
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    assert SERVING <= files and not any(p.is_symlink() for p in folder.rglob("*"))
    assert "pytorch_model.bin" not in files and not (folder / "onnx").exists()


def test_weights_but_no_safetensors_ship_the_bin(snapshot, tmp_path):
    folder = tmp_path / "bin-only"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "pytorch_model.bin"):
        (folder / name).write_bytes((snapshot / name).read_bytes())
    names = set(members(sm.package_model(folder, tmp_path / "model.tar.gz")))
    assert {"config.json", "pytorch_model.bin"} <= names


def test_sharded_weights_ship_the_index_and_every_shard(tmp_path):
    folder = tmp_path / "sharded"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    shards = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {"a.weight": shards[0], "b.weight": shards[1], "c.weight": shards[1]}
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    for name in [*shards, "pytorch_model.bin"]:
        (folder / name).write_bytes(b"weights")
    names = set(members(sm.package_model(folder, tmp_path / "model.tar.gz")))
    assert {"model.safetensors.index.json", *shards} <= names and "pytorch_model.bin" not in names


def test_config_without_weights_is_refused_and_writes_nothing(snapshot, tmp_path):
    folder = tmp_path / "no-weights"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_bytes((snapshot / name).read_bytes())
    out = tmp_path / "out" / "model.tar.gz"
    with pytest.raises(ValueError, match="no weights"):
        sm.package_model(folder, out)
    assert not out.exists() and not list(out.parent.glob("*"))


def test_a_cache_link_to_a_missing_blob_is_not_a_weight(snapshot, tmp_path):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "config.json").write_bytes((snapshot / "config.json").read_bytes())
    (folder / "model.safetensors").symlink_to(tmp_path / "blobs" / "gone")  # interrupted download
    with pytest.raises(ValueError, match="no weights"):
        sm.package_model(folder, tmp_path / "model.tar.gz")


def test_an_exported_model_ships_its_folder(snapshot, tmp_path):
    folder = tmp_path / "exported-model"
    (folder / "exported").mkdir(parents=True)
    (folder / "exported" / "backend.json").write_text('{"engine": "onnxruntime"}')
    (folder / "exported" / "model.onnx").write_bytes(b"onnx")
    (folder / "tokenizer.json").write_bytes((snapshot / "tokenizer.json").read_bytes())
    names = set(members(sm.package_model(folder, tmp_path / "model.tar.gz")))
    assert {"exported/backend.json", "exported/model.onnx", "tokenizer.json"} <= names
