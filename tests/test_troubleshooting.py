"""Each docs/troubleshooting.md entry names a cause; these tests reproduce the causes."""

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

DOC = (Path(__file__).resolve().parents[1] / "docs" / "troubleshooting.md").read_text()


def test_langchain_1x_has_no_langchain_retrievers():
    assert "No module named 'langchain.retrievers'" in DOC
    with pytest.raises(ModuleNotFoundError, match="langchain.retrievers"):
        import langchain.retrievers  # noqa: F401


def test_the_faiss_install_fix_is_what_the_course_installs():
    """The cause (PyPI's `faiss` holds one release, 1.5.3, with CPython 3.7 wheels only) needs the
    package index to reproduce, and tests make no network calls: the entry's fix is checked."""
    expected = "Could not find a version that satisfies the requirement faiss (from versions: none)"
    assert expected in DOC and "pip install faiss-cpu" in DOC
    root = Path(__file__).resolve().parents[1]
    assert "faiss-cpu==" in (root / "requirements.txt").read_text()
    import faiss  # what faiss-cpu installs

    assert faiss.IndexFlatIP(4).d == 4


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


# --- SageMaker serving: the real model server and toolkit from .venv-serve ----------------------

# The seed page's handler, reduced to what causes the error: its transform_fn passes the JSON
# body's keys as keyword arguments to CrossEncoder.__call__(self, pairs). It loads the packaged
# model instead of downloading BAAI/bge-reranker-base, so that it runs offline.
SEED_STYLE_HANDLER = """
import json

import torch
from sagemaker_inference import encoder
from transformers import AutoModelForSequenceClassification, AutoTokenizer


class CrossEncoder:
    def __init__(self, model_dir):
        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()

    def __call__(self, pairs):
        with torch.inference_mode():
            inputs = self.tokenizer(pairs, padding=True, truncation=True, return_tensors="pt")
            return self.model(**inputs).logits.view(-1).float().tolist()


def model_fn(model_dir):
    return CrossEncoder(model_dir)


def transform_fn(cross_encoder, input_data, content_type, accept):
    payload = json.loads(input_data)
    return encoder.encode({"scores": cross_encoder(**payload)}, accept)
"""

# Run by .venv-serve's python: load each model folder with the Hugging Face toolkit's handler
# service, as a model server worker does, then send it one {"pairs": ...} request.
TOOLKIT_PROBE = r"""
import json
import sys

from mms.context import Context, RequestProcessor
from mms.metrics.metrics_store import MetricsStore

sys.path.insert(0, sys.argv[1])
from local_server import load_service

results = []
for model_dir in sys.argv[2:]:
    try:
        service = load_service(model_dir)
    except Exception as err:
        results.append({"load_error": f"{type(err).__name__}: {err}"})
        continue
    context = Context("model", model_dir, {}, 1, None, "1.1.11")
    context.request_processor = [RequestProcessor({"Content-Type": "application/json"})]
    context.metrics = MetricsStore({0: "local"}, "model")
    result = {"model": type(service.model).__name__}
    try:
        answer = service.handle([{"body": b'{"pairs": [["q", "d"]]}'}], context)[0]
        result["answer"] = answer if isinstance(answer, str) else answer.decode()
    except Exception as err:  # the toolkit's PredictionException: the client gets a 400
        result.update(status=err.error_code, message=err.message)
    results.append(result)
print("RESULTS " + json.dumps(results))
"""


def log_once_written(endpoint, text: str, timeout: float = 15) -> str:
    """Return the server's log once it holds text (MMS writes its log asynchronously)."""
    deadline = time.monotonic() + timeout
    log = endpoint.log_path.read_text(errors="replace")
    while text not in log and time.monotonic() < deadline:
        time.sleep(0.2)
        log = endpoint.log_path.read_text(errors="replace")
    return log


def test_langchain_text_pairs_against_the_seed_handler_is_a_type_error(
    random_head_cross_encoder_dir, serve_venv_python, tmp_path
):
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    from helpers import sagemaker as sm

    model_dir = tmp_path / "seed-model"
    shutil.copytree(random_head_cross_encoder_dir, model_dir)
    (model_dir / "code").mkdir()
    (model_dir / "code" / "inference.py").write_text(SEED_STYLE_HANDLER)
    pairs = [("what is faiss?", "FAISS is a library for similarity search.")]
    with (
        sm.serve_locally(model_dir, env={"HF_HUB_OFFLINE": "1"}) as endpoint,
        sm.runtime_bridge({"seed-page": endpoint.url}) as bridge,
        sm.patched_env(sm.local_aws_env(bridge)),
    ):
        assert len(endpoint.score(pairs, key="pairs")) == 1  # the seed handler reads "pairs"
        langchain_default = SagemakerEndpointCrossEncoder(
            endpoint_name="seed-page", region_name=sm.runtime.REGION
        )
        with pytest.raises(ValueError) as info:
            langchain_default.score(pairs)  # its content handler sends "text_pairs"
        if sm.local.java_available():  # multi-model-server logs the worker's traceback
            log = log_once_written(endpoint, "TypeError: CrossEncoder.__call__()")
            assert "TypeError: CrossEncoder.__call__() got an unexpected keyword argument" in log
    message = str(info.value)
    assert message.startswith(
        "Error raised by inference endpoint: An error occurred (ModelError) when calling the "
        "InvokeEndpoint operation: Received client error (400) from primary with message"
    )
    assert "CrossEncoder.__call__() got an unexpected keyword argument" in message
    assert "text_pairs" in message
    # the fix: the course's inference.py accepts LangChain's default body as it is
    body = CrossEncoderContentHandler().transform_input(pairs)
    assert sm.load_schema().parse_request(body) == pairs
    assert "got an unexpected keyword argument 'text_pairs'" in DOC
    assert "Received client error (400) from primary with message" in DOC


def test_without_code_inference_py_the_toolkit_runs_its_default_pipeline(
    random_head_cross_encoder_dir, serve_venv_python, tmp_path
):
    from helpers import sagemaker as sm

    # `tar czf model.tar.gz model/` from the parent folder: everything lands under model/
    folder = tmp_path / "model"
    shutil.copytree(
        sm.contract.CODE_DIR, folder / "code", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(random_head_cross_encoder_dir / "config.json", folder)
    nested_tar = tmp_path / "nested.tar.gz"
    with tarfile.open(nested_tar, "w:gz") as tar:
        tar.add(folder, arcname="model")
    names = [line.split()[-1] for line in sm.archive_listing(nested_tar)]
    assert "model/code/inference.py" in names and "code/inference.py" not in names
    nested = sm.package.unpack_model(nested_tar, tmp_path / "opt-ml-nested")
    no_code = random_head_cross_encoder_dir  # weights at the root, but no code/ folder
    packaged = sm.package.unpack_model(
        random_head_cross_encoder_dir, tmp_path / "opt-ml-packaged"
    )  # adds our code/

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for name in ("HF_TASK", "SAGEMAKER_PROGRAM"):
        env.pop(name, None)
    env["HF_HUB_OFFLINE"] = "1"
    run = subprocess.run(
        [str(serve_venv_python), "-c", TOOLKIT_PROBE, str(sm.ROOT / "serving")]
        + [str(nested), str(no_code), str(packaged)],  # no code/ first: the module is cached
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    lines = [line for line in run.stdout.splitlines() if line.startswith("RESULTS ")]
    assert lines, run.stdout[-2000:] + run.stderr[-4000:]
    nested_result, no_code_result, packaged_result = json.loads(lines[-1][len("RESULTS ") :])

    assert nested_result["load_error"].startswith(
        "ValueError: (\"You need to define one of the following ['audio-classification', "
    )
    assert nested_result["load_error"].endswith("or text-to-image as env 'HF_TASK'.\", 403)")
    assert no_code_result["model"] == "TextClassificationPipeline"
    assert no_code_result["status"] == 400
    assert no_code_result["message"] == "You need to specify either `text` or `text_target`."
    assert "scores" in json.loads(packaged_result["answer"])  # code/inference.py ran
    assert "or text-to-image as env 'HF_TASK'" in DOC
    assert "You need to specify either `text` or `text_target`." in DOC


class ModelServerContext:
    """What a model server hands a handler: properties, and the response status it sends."""

    system_properties = {"gpu_id": None}
    status = None

    def set_response_status(self, code=200, phrase=""):
        self.status = code


def test_a_request_over_the_token_budget_answers_413(random_head_cross_encoder_dir, monkeypatch):
    from helpers import sagemaker as sm

    monkeypatch.setenv("RERANKER_MAX_LENGTH", "128")
    monkeypatch.setenv("RERANKER_MAX_TOKENS", "2048")
    handler, schema = sm.load_handler(), sm.load_schema()
    reranker = handler.model_fn(str(random_head_cross_encoder_dir))
    context = ModelServerContext()
    body = schema.encode_request([("question", "word " * 800)] * 17)
    answer = handler.transform_fn(reranker, body, "application/json", None, context)
    assert context.status == 413
    message = json.loads(answer)["message"]
    assert message.startswith("too_many_tokens: 17 pairs hold 2176 tokens, at most 2048 per")
    aws = sm.runtime.model_error_body("rerank", 413, answer)[
        "Message"
    ]  # what boto3's ModelError says
    assert aws.startswith('Received client error (413) from primary with message "{"code": 413')
    assert 'Received client error (413) from primary with message "{"code": 413' in DOC
    assert '"type": "RequestError", "message": "too_many_tokens: ..."' in DOC


def test_a_model_without_weights_answers_500_naming_the_cause(
    random_head_cross_encoder_dir, tmp_path
):
    from helpers import sagemaker as sm

    broken = tmp_path / "model"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        shutil.copy(random_head_cross_encoder_dir / name, broken / name)
    handler = sm.load_handler()
    context = ModelServerContext()
    model = handler.model_fn(str(broken), context)  # under a model server: no exception
    answer = handler.transform_fn(
        model, b'{"pairs": [["q", "d"]]}', "application/json", None, context
    )
    assert context.status == 500
    assert json.loads(answer)["message"].startswith(
        "model_unavailable: the model failed to load: the archive has config.json but no weights"
    )
    assert '"message": "model_unavailable: the model failed to load: ..."' in DOC


def test_an_image_the_sdk_does_not_know_is_unsupported_huggingface_version():
    """The SDK's own image table: 4.51.3 resolves on the pinned SDK, a newer one does not (as the
    course's image does not on an SDK before 2.254)."""
    pytest.importorskip("sagemaker")
    from helpers.sagemaker import HF_DLC, import_sdk

    sagemaker = import_sdk()

    def image(transformers_version):
        return sagemaker.image_uris.retrieve(
            "huggingface",
            region="eu-west-1",
            version=transformers_version,
            base_framework_version=f"pytorch{HF_DLC['pytorch_version']}",
            py_version=HF_DLC["py_version"],
            instance_type="ml.m5.xlarge",
            image_scope="inference",
        )

    assert "4.51.3" in image(HF_DLC["transformers_version"])
    with pytest.raises(ValueError, match="Unsupported huggingface version: 9.99.0") as error:
        image("9.99.0")
    assert "You may need to upgrade your SDK version" in str(error.value)
    assert "Unsupported huggingface version" in DOC and "sagemaker>=2.254,<3" in DOC
