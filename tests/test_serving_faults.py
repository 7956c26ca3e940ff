"""Server faults through the real model server (MMS from .venv-serve), under both SageMaker
handlers: the statuses a client sees when the model fails, runs out of memory, writes NaN, cannot
load, or runs past the model server's timeout. Nothing here needs a GPU or a broken model: a test
double of ``code/exported_backends.py`` (issue 16's hook, written here, never shipped) fails on
request, and a real broken archive (config.json, no weights) stands for a failed model_fn.
"""

from __future__ import annotations

import json
import shutil
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import sagemaker as sm

schema = sm.load_schema()
DOC = (sm.ROOT / "docs" / "troubleshooting.md").read_text()
TIMEOUT_S = 40  # SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS here: above a worker's load time
MODEL_FILES = ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json"]
MODEL_FILES += ["special_tokens_map.json"]

# The exported backend's test double: fixed logits, and a fault chosen by the query.
FAULTY_BACKEND = """
import math
import time


class Backend:
    def logits(self, pairs):
        query, doc = pairs[0]
        if query == "nan":  # what fp16 overflow produces
            return [math.nan] * len(pairs)
        if query == "oom":
            raise RuntimeError("CUDA out of memory. Tried to allocate 20 GiB (/opt/ml/model)")
        if query == "fail":
            raise FileNotFoundError("/opt/ml/model/exported/secret.bin")
        if query == "sleep":
            time.sleep(float(doc))
        return [float(len(d) - len(q)) for q, d in pairs]


def load(model_dir, *, max_length, batch_size, threads):
    return Backend()
"""


@pytest.fixture(scope="module")
def faulty_model(random_head_cross_encoder_dir, tmp_path_factory):
    """A model folder whose exported backend is the test double (its code/ is ours + the double)."""
    folder = tmp_path_factory.mktemp("faulty") / "model"
    folder.mkdir()
    for name in MODEL_FILES:
        shutil.copy(random_head_cross_encoder_dir / name, folder / name)
    (folder / "exported").mkdir()
    (folder / "exported" / "backend.json").write_text(json.dumps({"activation": "none"}))
    ignore = shutil.ignore_patterns("__pycache__", "exported_backends.py")
    shutil.copytree(sm.contract.CODE_DIR, folder / "code", ignore=ignore)
    (folder / "code" / "exported_backends.py").write_text(FAULTY_BACKEND)
    return folder


FAULTY_ENV = {"SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": str(TIMEOUT_S), "HF_HUB_OFFLINE": "1"}


# A server of its own for the test that kills its worker: nobody else asks for this environment.
# A shorter timeout (the test waits it out), still well above this double's load time.
KILLED_TIMEOUT_S = 25
KILLED_ENV = {
    **FAULTY_ENV,
    "SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": str(KILLED_TIMEOUT_S),
    "RERANK_TEST_SERVER": "its worker is killed by a timeout",
}


@pytest.fixture(scope="module")
def faulty_endpoints(faulty_model, model_servers):
    """The faulty model under both handlers, shared by the session (tests that use them only send
    requests), and the timeout test's own server, all three started side by side."""
    names = ["huggingface", "default", "killed"]
    specs = [(faulty_model, "huggingface", FAULTY_ENV), (faulty_model, "default", FAULTY_ENV)]
    running = model_servers.start([*specs, (faulty_model, "huggingface", KILLED_ENV)])
    return dict(zip(names, running, strict=True))


@pytest.fixture(params=["huggingface", "default"])
def faulty_endpoint(request, faulty_endpoints):
    return faulty_endpoints[request.param]


def ask(endpoint, query, doc="doc"):
    status, _, body = endpoint.request(schema.encode_request([(query, doc)]))
    return status, body.decode()


@pytest.mark.parametrize(
    "query, status, code",
    [
        ("nan", 500, "non_finite_scores"),
        ("oom", 503, "out_of_memory"),
        ("fail", 500, "model_failed"),
    ],
)
def test_server_faults_answer_5xx_json_without_internals(faulty_endpoint, query, status, code):
    assert ask(faulty_endpoint, "q", "a doc") == (200, '{"scores": [4.0]}')  # the double's logit
    got, body = ask(faulty_endpoint, query)
    assert got == status, body
    assert json.loads(body) == {
        "code": status,
        "type": "ServerError",
        "message": json.loads(body)["message"],
    }
    assert schema.error_code(body) == code
    assert "/opt/ml" not in body and "Traceback" not in body and "GiB" not in body
    assert ask(faulty_endpoint, "q", "a doc")[0] == 200  # the worker keeps serving
    log = faulty_endpoint.log_tail(400)
    if code != "non_finite_scores":
        deadline = time.monotonic() + 15  # MMS writes the worker's log asynchronously
        while "Traceback" not in log and time.monotonic() < deadline:
            time.sleep(0.5)
            log = faulty_endpoint.log_tail(400)
        assert "Traceback" in log  # the details are in the endpoint's log, not in the answer


def test_past_sagemakers_invocation_limit_the_client_gets_a_model_error(faulty_endpoints):
    # the limit is SageMaker's, whatever the handler: timed once, under the Hugging Face handler
    slow = faulty_endpoints["huggingface"]
    with sm.runtime_bridge({"slow": slow.url}, timeout=2) as url:  # 60 s on AWS
        client = sm.runtime_client(url)
        with pytest.raises(client.exceptions.ModelError) as info:
            sm.invoke_scores(client, "slow", [("sleep", "4")])
    error = info.value.response
    assert error["OriginalStatusCode"] == 0
    assert error["OriginalMessage"].startswith("Your invocation timed out while waiting")
    time.sleep(3)  # the worker finishes the request nobody waits for any more


def test_a_request_past_the_timeout_is_cut_off_and_the_worker_restarts(faulty_endpoints):
    # its own server (it kills the worker); the timeout is MMS's, the same under both handlers
    endpoint = faulty_endpoints["killed"]
    started = time.monotonic()
    status, body = ask(endpoint, "sleep", str(KILLED_TIMEOUT_S + 15))
    took = time.monotonic() - started
    assert status == 500 and json.loads(body)["message"] == "Worker died.", body
    assert '"type": "InternalServerException", "message": "Worker died."' in DOC
    assert KILLED_TIMEOUT_S - 1 < took < KILLED_TIMEOUT_S + 10  # MMS counts seconds, not minutes
    deadline = time.monotonic() + 180  # a new worker loads the model again
    while ask(endpoint, "q", "a doc")[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    assert ask(endpoint, "q", "a doc") == (200, '{"scores": [4.0]}')


def archive_of(folder, names, model_dir):
    """Write folder/model.tar.gz holding model_dir's names and serving/code; return it."""
    archive = folder / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name in names:
            tar.add(model_dir / name, arcname=name)
        for path in sorted(sm.contract.CODE_DIR.glob("*.py")):
            tar.add(path, arcname=f"code/{path.name}")
    return archive


@pytest.fixture(scope="module")
def unloadable(random_head_cross_encoder_dir, real_server, tmp_path_factory):
    """Two servers whose model cannot load, started side by side (each test reads its own):
    "no_weights", config.json without weights (what a cache of links packaged without
    dereferencing gave), and "retried", no model in the archive, a pinned Hub id and no Hub: an
    OSError, as a Hub hiccup raises."""
    retried_env = {
        "RERANKER_MODEL_ID": "BAAI/bge-reranker-base",
        "RERANKER_REVISION": "0" * 40,
        "HF_HUB_OFFLINE": "1",
        "RERANKER_LOAD_RETRY_S": "0",
    }
    servers, ports = {}, []
    try:
        for name, files, env in (("no_weights", MODEL_FILES, {}), ("retried", [], retried_env)):
            folder = tmp_path_factory.mktemp(name)
            base = folder / "serve"
            base.mkdir()
            archive = archive_of(folder, files, random_head_cross_encoder_dir)
            sm.package.unpack_model(archive, base / "model")
            port = sm.local.free_port()
            while port in ports:  # the first server may not listen yet
                port = sm.local.free_port()
            ports.append(port)
            endpoint = sm.local.start_server(
                base, port, "huggingface", sm.local.server_env(base, port, env)
            )
            servers[name] = (endpoint, folder)
        yield servers
    finally:  # side by side: one that fails to stop does not keep the other up
        with ThreadPoolExecutor(max_workers=2) as pool:
            stops = [
                pool.submit(sm.local.stop_process_group, e.process) for e, _ in servers.values()
            ]
        for stop in stops:
            stop.result()


def first_answer(endpoint) -> tuple[int, str]:
    """Return the first invocation's answer once a worker has tried to load the model."""
    deadline = time.monotonic() + 240
    status, body = 0, ""
    while status in (0, 503) and time.monotonic() < deadline:  # 503: no worker up yet
        time.sleep(1)
        try:
            status, body = ask(endpoint, "q")
        except OSError:
            status = 0
    return status, body


def test_a_model_that_cannot_load_answers_500_naming_the_cause(unloadable):
    endpoint, folder = unloadable["no_weights"]
    status, body = first_answer(endpoint)
    assert endpoint.ping() == 200  # the model server says healthy ...
    assert status == 500, body  # ... but every invocation says why it cannot score
    assert schema.error_code(body) == "model_unavailable"
    assert "config.json but no weights" in body and str(folder) not in body
    assert ask(endpoint, "q") == (status, body)  # no retry of model_fn per request
    assert "model_unavailable: the model failed to load" in DOC


def test_a_load_failure_that_may_pass_is_retried_by_the_worker(unloadable):
    endpoint, _ = unloadable["retried"]
    status, body = first_answer(endpoint)
    assert status == 500 and schema.error_code(body) == "model_unavailable", body
    log = endpoint.log_tail(400)
    assert "model_fn attempt 1 of 3 failed; trying again" in log
    assert "model_fn attempt 2 of 3 failed; trying again" in log
    assert "model_fn attempt 3 of 3 failed" not in log  # the third failure is the answer


def test_a_server_outlives_no_kernel_killed_without_warning(random_head_cross_encoder_dir):
    """SIGKILL runs no atexit and no finally: the watchdog stops the server's process group."""
    import os
    import signal
    import subprocess
    import sys

    code = (
        "import os, sys, time\n"
        "from helpers import sagemaker as sm\n"
        "with sm.serve_locally(sys.argv[1]) as endpoint:\n"
        "    print(os.getpgid(endpoint.process.pid), flush=True)\n"
        "    time.sleep(600)\n"
    )
    kernel = subprocess.Popen(
        [sys.executable, "-c", code, str(random_head_cross_encoder_dir)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    group = int(kernel.stdout.readline())  # printed once the server answers
    os.killpg(group, 0)  # the server runs
    kernel.send_signal(signal.SIGKILL)
    kernel.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.5)
    os.killpg(group, signal.SIGKILL)  # leave nothing behind, then fail
    pytest.fail("the model server outlived the process that started it")
