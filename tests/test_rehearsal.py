"""The default profile rehearsed offline: the stand-in Hub cache is faithful, and notebook 04's
serving path works on a model.tar.gz packaged from it.

The stand-in (tools.hub_rehearsal) has the real repositories' layout, files and configs but
random weights: these tests check mechanics (layout, loading in both stacks, packaging, serving),
never quality. Tests marked ``rehearsal`` start SageMaker's real model server (MMS from
.venv-serve); ``make rehearse`` runs them, ``make test`` leaves them to it.
"""

from __future__ import annotations

import json
import subprocess
import tarfile

import pytest

from helpers import sagemaker as sm
from helpers.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL
from tools.hub_rehearsal import parameter_count, snapshot_path

PAIRS = [
    ("What did the president say about Ukraine?", "We stand with the people of Ukraine."),
    ("What is the plan for the economy?", "Lower costs, not lower wages."),
    ("", "An empty question still gets a score."),
]
TOL = 1e-4


def test_huggingface_hub_reads_the_cache_as_its_own(hub_cache):
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(hub_cache)
    assert not info.warnings
    repos = {repo.repo_id: repo for repo in info.repos}
    assert set(repos) == {DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL}
    for repo_id, repo in repos.items():
        (revision,) = repo.revisions
        assert revision.snapshot_path == snapshot_path(hub_cache, repo_id)
        assert repo.refs["main"] == revision
        for file in revision.files:  # relative links into this repository's blobs
            link = file.file_path.readlink()
            assert not link.is_absolute() and file.blob_path.parent == repo.repo_path / "blobs"


def test_the_sentencepiece_model_agrees_with_tokenizer_json(hub_cache):
    from tokenizers import Tokenizer
    from transformers.convert_slow_tokenizer import XLMRobertaConverter

    from tools.hub_rehearsal import corpus_lines

    snapshot = snapshot_path(hub_cache, DEFAULT_RERANKER_MODEL)
    fast = Tokenizer.from_file(str(snapshot / "tokenizer.json"))

    class SlowTokenizer:  # what the converter reads from XLMRobertaTokenizer
        vocab_file = str(snapshot / "sentencepiece.bpe.model")
        convert_tokens_to_ids = staticmethod(fast.token_to_id)

    converted = XLMRobertaConverter(SlowTokenizer()).converted()
    lines = corpus_lines()
    assert [converted.encode(line).ids for line in lines] == [
        fast.encode(line).ids for line in lines
    ]


SERVE_STACK_PROBE = """
import json, sys
import torch
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer
reranker, embedder, pairs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
tokenizer = AutoTokenizer.from_pretrained(reranker)
batch = tokenizer([q for q, _ in pairs], [d for _, d in pairs], padding=True, return_tensors="pt")
model = AutoModelForSequenceClassification.from_pretrained(reranker).eval()
words = AutoTokenizer.from_pretrained(embedder)(["hello world"], return_tensors="pt")
with torch.no_grad():
    logits = model(**batch).logits[:, 0].tolist()
    hidden = AutoModel.from_pretrained(embedder).eval()(**words).last_hidden_state[0, 0, :4]
print(json.dumps({
    "tokenizer": type(tokenizer).__name__, "keys": sorted(batch),
    "num_labels": model.config.num_labels, "logits": logits, "hidden": hidden.tolist(),
    "first": tokenizer.convert_ids_to_tokens(batch["input_ids"][0]),
}))
"""


def test_both_stacks_load_the_same_models(hub_cache, serve_venv_python, tmp_path):
    """transformers 5 (.venv) and 4.51 (.venv-serve, the SageMaker image) read the same files."""
    import torch
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    reranker = snapshot_path(hub_cache, DEFAULT_RERANKER_MODEL)
    embedder = snapshot_path(hub_cache, DEFAULT_EMBEDDING_MODEL)
    run = subprocess.run(
        [str(serve_venv_python), "-c", SERVE_STACK_PROBE, str(reranker), str(embedder)]
        + [json.dumps(PAIRS)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**sm.local.server_env(tmp_path, 0), "HF_HUB_OFFLINE": "1"},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    served = json.loads(run.stdout.splitlines()[-1])
    assert served["tokenizer"] == "XLMRobertaTokenizerFast" and served["num_labels"] == 1
    assert served["keys"] == ["attention_mask", "input_ids"]  # no token_type_ids, as XLM-R
    first = served["first"]
    assert first[0] == "<s>" and first.count("</s>") == 3  # <s> A </s></s> B </s>
    assert first[first.index("</s>") + 1] == "</s>"
    tokenizer = AutoTokenizer.from_pretrained(reranker)
    batch = tokenizer(
        [q for q, _ in PAIRS], [d for _, d in PAIRS], padding=True, return_tensors="pt"
    )
    assert tokenizer.convert_ids_to_tokens(batch["input_ids"][0]) == first
    with torch.no_grad():
        model = AutoModelForSequenceClassification.from_pretrained(reranker).eval()
        logits = model(**batch).logits[:, 0].tolist()
        words = AutoTokenizer.from_pretrained(embedder)(["hello world"], return_tensors="pt")
        hidden = AutoModel.from_pretrained(embedder).eval()(**words).last_hidden_state[0, 0, :4]
    assert logits == pytest.approx(served["logits"], abs=1e-5)
    assert hidden.tolist() == pytest.approx(served["hidden"], abs=1e-5)


def test_the_embedding_model_loads_as_a_dot_product_sentence_transformer(hub_cache):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(
        str(snapshot_path(hub_cache, DEFAULT_EMBEDDING_MODEL)), device="cpu"
    )
    assert model.similarity_fn_name == "dot" and model.max_seq_length == 512
    assert [type(module).__name__ for module in model] == ["Transformer", "Pooling"]  # no Normalize


@pytest.mark.parametrize(
    "repo_id, published_bytes",
    [(DEFAULT_EMBEDDING_MODEL, 265_000_000), (DEFAULT_RERANKER_MODEL, 1_110_000_000)],
)
def test_real_dimension_configs_have_the_real_models_sizes(repo_id, published_bytes):
    # fp32 weights: 4 bytes a parameter; the Hub lists model.safetensors at 265 MB and 1.11 GB
    assert 4 * parameter_count(repo_id) == pytest.approx(published_bytes, rel=0.01)


# --- the serving path on an archive packaged from the cache (real MMS) ----------------------


@pytest.fixture(scope="module")
def real_server(serve_venv_python):
    if not sm.local.java_available():
        pytest.skip("no Java runtime: multi-model-server needs Java 11+")


@pytest.fixture(scope="module")
def cached_reranker(hub_cache):
    return snapshot_path(hub_cache, DEFAULT_RERANKER_MODEL)


@pytest.fixture(scope="module")
def reference(cached_reranker):
    from sentence_transformers import CrossEncoder

    encoder = CrossEncoder(str(cached_reranker), device="cpu")
    return lambda pairs: [float(s) for s in encoder.predict(list(pairs))]


def server_env(cache, **extra) -> dict:
    """No Hub, and the given folder as the Hub cache the server would fall back to."""
    return {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), **extra}


@pytest.mark.rehearsal
def test_the_packaged_default_reranker_is_served(cached_reranker, reference, real_server, tmp_path):
    archive = sm.package_model(cached_reranker, tmp_path / "model.tar.gz")  # as notebook 04 does
    empty_cache = tmp_path / "empty-hub-cache"  # only the archive's own weights can answer
    empty_cache.mkdir()
    with sm.serve_locally(archive, env=server_env(empty_cache)) as endpoint:
        for key in ("pairs", "text_pairs"):
            scores = endpoint.score(PAIRS, key=key)
            assert scores == pytest.approx(reference(PAIRS), abs=TOL)


@pytest.mark.rehearsal
def test_an_archive_without_weights_fails_loudly(hub_cache, cached_reranker, real_server, tmp_path):
    # A hand-made archive whose weights went missing, on a machine whose Hub cache HAS the base
    # model: serving the base model instead would be silent and wrong.
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz", dereference=True) as tar:
        for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
            tar.add(cached_reranker / name, arcname=name)
        for path in sorted(sm.contract.CODE_DIR.glob("*.py")):
            tar.add(path, arcname=f"code/{path.name}")
    with pytest.raises(RuntimeError) as failure:
        with sm.serve_locally(archive, env=server_env(hub_cache)):
            pass
    assert "weights" in str(failure.value)


@pytest.mark.rehearsal
def test_the_hub_fallback_needs_an_explicit_pinned_model(
    hub_cache, cached_reranker, reference, real_server, tmp_path
):
    archive = tmp_path / "model.tar.gz"  # code only: the model comes from the (cached) Hub
    with tarfile.open(archive, "w:gz", dereference=True) as tar:
        for path in sorted(sm.contract.CODE_DIR.glob("*.py")):
            tar.add(path, arcname=f"code/{path.name}")
    pinned = server_env(
        hub_cache, RERANKER_MODEL_ID=DEFAULT_RERANKER_MODEL, RERANKER_REVISION=cached_reranker.name
    )
    with sm.serve_locally(archive, env=pinned) as endpoint:
        assert endpoint.score(PAIRS) == pytest.approx(reference(PAIRS), abs=TOL)
