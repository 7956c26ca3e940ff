"""Package, serve locally, call and deploy the reranker's SageMaker endpoint (notebook 04).

The endpoint code lives in ``serving/code`` (``inference.py`` + ``rerank_schema.py``); this
module never imports ``inference.py``, it ships it. Local serving runs SageMaker's own model
server (multi-model-server + the Hugging Face inference toolkit) from ``.venv-serve``, which
``bash serving/make_serve_venv.sh`` creates. CLI::

    python -m helpers.sagemaker serve MODEL_DIR [--port 8080] [--handler huggingface|default]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE_DIR = ROOT / "serving" / "code"
LAUNCHER = ROOT / "serving" / "mms_launcher.py"
FALLBACK_SERVER = ROOT / "serving" / "local_server.py"
SERVE_VENV = Path(os.environ.get("RERANK_SERVE_VENV", ROOT / ".venv-serve"))
REGION = "us-east-1"
TUTORIAL_TAG = {"Key": "project", "Value": "rerank-lab"}


# --- the shared contract --------------------------------------------------------------------


def _load_code_module(name: str, path: Path):
    """Import a file from serving/code under its own name (as the container does)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before exec: dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@cache
def load_schema():
    """Return serving/code/rerank_schema.py, the contract inference.py also imports."""
    return sys.modules.get("rerank_schema") or _load_code_module(
        "rerank_schema", CODE_DIR / "rerank_schema.py"
    )


def load_handler(code_dir=CODE_DIR):
    """Import inference.py in this process, to try model_fn/transform_fn without a server."""
    load_schema()
    return _load_code_module("inference", Path(code_dir) / "inference.py")


# --- model.tar.gz ---------------------------------------------------------------------------


def package_model(model_dir, out_path, code_dir=None) -> Path:
    """Write model.tar.gz: model files at the root, code/ from MODEL_DIR/code or serving/code."""
    if code_dir is None:
        code_dir = Path(model_dir, "code") if Path(model_dir, "code").is_dir() else CODE_DIR
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out_path, "w:gz") as tar:
        for path in sorted(Path(model_dir).iterdir()):
            if not path.name.startswith(".") and path.name != "code":
                tar.add(path, arcname=path.name)
        for path in sorted(Path(code_dir).iterdir()):
            if path.suffix in (".py", ".txt"):
                tar.add(path, arcname=f"code/{path.name}")
    return out_path


def archive_listing(tar_path) -> list[str]:
    """Return 'size  name' lines for each file in a model.tar.gz."""
    with tarfile.open(tar_path) as tar:
        return [f"{m.size:>12,}  {m.name}" for m in tar.getmembers() if m.isfile()]


def print_archive(tar_path) -> None:
    """Print a model.tar.gz listing: check weights at the root and code/inference.py."""
    print(f"{Path(tar_path).name}:")
    print("\n".join(archive_listing(tar_path)))


# --- serving locally with SageMaker's model server -----------------------------------------


def free_port(low: int = 20000, high: int = 32766) -> int:
    """Return a free TCP port on 127.0.0.1 below 32767 (MMS rejects higher port numbers)."""
    for port in random.Random().sample(range(low, high), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def java_available() -> bool:
    """Return True when a Java runtime (needed by multi-model-server) is on this machine."""
    if os.environ.get("RERANK_NO_JAVA"):  # try the fallback on a machine that has Java
        return False
    java_home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (java_home and Path(java_home, "bin", "java").exists()))


def serve_python() -> Path:
    """Return .venv-serve's python, or say how to create it."""
    python = SERVE_VENV / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `bash serving/make_serve_venv.sh`")
    return python


@dataclass
class LocalEndpoint:
    """A running local endpoint: the SageMaker container contract on ``url``."""

    url: str
    base_dir: Path
    log_path: Path
    process: subprocess.Popen

    def request(self, body, content_type="application/json", accept="application/json", timeout=60):
        """POST /invocations; return (status, content type, body bytes), errors included."""
        data = body.encode() if isinstance(body, str) else body
        headers = {k: v for k, v in (("Content-Type", content_type), ("Accept", accept)) if v}
        req = urllib.request.Request(f"{self.url}/invocations", data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers.get("Content-Type"), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Content-Type"), err.read()

    def score(self, pairs, key: str = "pairs") -> list[float]:
        """Score (query, document) pairs through the server; raise on a non-200 answer."""
        schema = load_schema()
        status, _, body = self.request(schema.encode_request(pairs, key))
        if status != 200:
            raise RuntimeError(f"{status}: {body.decode(errors='replace')}")
        return schema.decode_response(body, expected=len(pairs))

    def ping(self) -> int:
        """GET /ping; return the status (0 when nothing answers)."""
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return 0

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def unpack_model(model, dest) -> Path:
    """Lay out a model dir or model.tar.gz in dest, as SageMaker does in /opt/ml/model."""
    dest = Path(dest)
    if Path(model).is_file():
        dest.mkdir(parents=True)
        with tarfile.open(model) as tar:
            tar.extractall(dest, filter="data")
    else:
        shutil.copytree(model, dest)
        if not (dest / "code").exists():
            shutil.copytree(CODE_DIR, dest / "code", ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def server_env(base_dir, port: int, extra: dict | None = None) -> dict:
    """Return the environment for the model server: port, temp dirs, one worker, one thread."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    tmp = Path(base_dir, "tmp")
    tmp.mkdir(exist_ok=True)
    env.update(
        SAGEMAKER_BIND_TO_PORT=str(port),
        TMPDIR=str(tmp),  # MMS keeps its pid file there: one per server
        TEMP=str(tmp),
        SAGEMAKER_MODEL_SERVER_WORKERS=os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "1"),
        RERANKER_NUM_THREADS=os.environ.get("RERANKER_NUM_THREADS", "1"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


@contextmanager
def serve_locally(
    model, port: int | None = None, handler: str = "huggingface", env: dict | None = None
) -> Iterator[LocalEndpoint]:
    """Serve a model dir or model.tar.gz with SageMaker's model server; always stop it."""
    port = port or free_port()
    base = Path(tempfile.mkdtemp(prefix="rerank-serve-"))
    try:
        unpack_model(model, base / "model")
        endpoint = start_server(base, port, handler, server_env(base, port, env))
        try:
            wait_until_ready(endpoint)
            yield endpoint
        finally:
            stop_process_group(endpoint.process)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_server(base: Path, port: int, handler: str, env: dict) -> LocalEndpoint:
    """Start MMS (or, without Java, the toolkit's handler behind http.server) in its own group."""
    script = LAUNCHER if java_available() else FALLBACK_SERVER
    if script == FALLBACK_SERVER:
        print("No Java runtime found: multi-model-server cannot run. Falling back to the")
        print("Hugging Face toolkit's handler behind http.server: same contract and handler code,")
        print("but no MMS frontend, queue, timeouts or worker restarts (serving/local_server.py).")
        handler = "huggingface"
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(serve_python()), str(script), "--base-dir", str(base), "--handler", handler],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return LocalEndpoint(f"http://127.0.0.1:{port}", base, log_path, process)


def wait_until_ready(endpoint: LocalEndpoint, timeout: float = 240) -> None:
    """Wait for /ping, then warm up with one invocation (/ping answers before model_fn ends)."""
    body = load_schema().encode_request([("warm-up", "warm-up")])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and endpoint.process.poll() is None:
        if endpoint.ping() == 200:
            try:  # the first invocation runs model_fn: it may take a while
                status, _, answer = endpoint.request(body, timeout=deadline - time.monotonic())
            except OSError:
                status, answer = 0, b""
            if status == 200:
                return
            if status not in (0, 503):  # 503: no worker up yet
                text = answer.decode(errors="replace")[:2000]
                raise RuntimeError(f"warm-up answered {status}: {text}\n{endpoint.log_tail()}")
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {timeout:.0f} s; log:\n{endpoint.log_tail()}")


def stop_process_group(process: subprocess.Popen, grace: float = 10) -> None:
    """Stop a server's whole process group (MMS ignores SIGTERM sent to its launcher)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _group_alive(process):
            time.sleep(0.2)
        if not _group_alive(process):
            break
    process.wait(timeout=5)


def _group_alive(process: subprocess.Popen) -> bool:
    process.poll()  # reap the launcher itself
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- the AWS side of the call, locally ----------------------------------------------------


class _BridgeHandler(BaseHTTPRequestHandler):
    """sagemaker-runtime's InvokeEndpoint on top of local endpoints' /invocations."""

    endpoints: dict[str, str] = {}

    def do_POST(self):  # noqa: N802 (http.server's naming)
        match = re.fullmatch(r"/endpoints/([^/]+)/invocations", self.path.split("?")[0])
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        name = urllib.request.unquote(match.group(1)) if match else None
        if name not in self.endpoints:
            message = f"Endpoint {name} of account 000000000000 not found."
            return self._reply(400, {"message": message}, "ValidationError")
        req = urllib.request.Request(f"{self.endpoints[name]}/invocations", data=body)
        for header in ("Content-Type", "Accept"):
            if self.headers.get(header):
                req.add_header(header, self.headers[header])
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return self._send(200, resp.read(), resp.headers.get("Content-Type"))
        except urllib.error.HTTPError as err:
            original = err.read().decode("utf-8", "replace")
            return self._reply(424, model_error_body(name, err.code, original), "ModelError")

    def _reply(self, status: int, payload: dict, error_type: str):
        self._send(status, json.dumps(payload).encode(), "application/json", error_type)

    def _send(self, status, body: bytes, content_type, error_type=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type or "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-Amzn-Invoked-Production-Variant", "AllTraffic")
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep notebooks and test output quiet
        pass


def model_error_body(endpoint_name: str, status: int, original: str) -> dict:
    """Return the body AWS sends (as a 424 ModelError) when a container answers an error."""
    kind = "client" if 400 <= status < 500 else "server"
    return {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": f'Received {kind} error ({status}) from primary with message "{original}".',
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": f"local:/aws/sagemaker/Endpoints/{endpoint_name}",
    }


@contextmanager
def runtime_bridge(endpoints: dict[str, str]) -> Iterator[str]:
    """Serve POST /endpoints/{name}/invocations for local endpoints; yield the bridge's URL."""
    handler = type("Bridge", (_BridgeHandler,), {"endpoints": dict(endpoints)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def local_aws_env(bridge_url: str, region: str = REGION) -> dict:
    """Return env vars that point boto3's sagemaker-runtime at the bridge (dummy credentials)."""
    return {
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": bridge_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": region,
    }


@contextmanager
def patched_env(values: dict) -> Iterator[None]:
    """Set environment variables for a block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def runtime_client(endpoint_url: str | None = None, region: str = REGION):
    """Return a boto3 sagemaker-runtime client (endpoint_url: the local bridge, or AWS)."""
    import boto3

    if endpoint_url is None:
        return boto3.client("sagemaker-runtime", region_name=region)
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def invoke_scores(client, endpoint_name: str, pairs, key: str = "pairs") -> list[float]:
    """Score pairs with boto3's invoke_endpoint, using the shared contract."""
    schema = load_schema()
    response = client.invoke_endpoint(
        EndpointName=endpoint_name,
        Body=schema.encode_request(pairs, key),
        ContentType=schema.JSON,
        Accept=schema.JSON,
    )
    return schema.decode_response(response["Body"].read(), expected=len(pairs))


# --- LangChain ------------------------------------------------------------------------------


def content_handler():
    """Return a LangChain content handler that speaks rerank_schema (the endpoint's contract)."""
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    schema = load_schema()

    class RerankContentHandler(CrossEncoderContentHandler):
        def transform_input(self, text_pairs) -> bytes:
            return schema.encode_request(text_pairs)

        def transform_output(self, output) -> list[float]:
            return schema.decode_response(output.read())

    return RerankContentHandler()


def sagemaker_cross_encoder(endpoint_name: str, region: str = REGION, client=None):
    """Return a SagemakerEndpointCrossEncoder; a given boto3 client really is used."""
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder

    encoder = SagemakerEndpointCrossEncoder(
        endpoint_name=endpoint_name, region_name=region, content_handler=content_handler()
    )
    if client is not None:
        encoder.client = client  # the constructor ignores client= and builds its own
    return encoder


# --- deploying to AWS (optional extra: sagemaker>=2,<3) --------------------------------------

# The newest Hugging Face inference DLC that sagemaker 2.257.7 knows (image tag
# 2.6.0-transformers4.51.3-{cpu,gpu}-py312-...); 4.49.0 with pytorch 2.6.0 is the previous one.
HF_DLC = {"transformers_version": "4.51.3", "pytorch_version": "2.6.0", "py_version": "py312"}


def deploy_huggingface(model_data: str, role: str, endpoint_name: str, **kwargs):
    """Deploy model.tar.gz (an s3:// URI) on the Hugging Face DLC; real-time unless serverless."""
    from sagemaker.huggingface import HuggingFaceModel
    from sagemaker.serverless import ServerlessInferenceConfig

    model = HuggingFaceModel(
        model_data=model_data,
        role=role,
        name=endpoint_name,
        **HF_DLC,
        env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1", **kwargs.pop("env", {})},
    )
    if "serverless_memory_mb" in kwargs:
        memory = kwargs.pop("serverless_memory_mb")
        kwargs["serverless_inference_config"] = ServerlessInferenceConfig(memory_size_in_mb=memory)
    else:
        kwargs.setdefault("initial_instance_count", 1)
        kwargs.setdefault("instance_type", "ml.m5.xlarge")
    return model.deploy(endpoint_name=endpoint_name, tags=[TUTORIAL_TAG], **kwargs)


@contextmanager
def deployed(model_data: str, role: str, endpoint_name: str, **kwargs):
    """Deploy for a block, then delete endpoint, endpoint config and model, whatever happened."""
    import boto3

    try:
        yield deploy_huggingface(model_data, role, endpoint_name, **kwargs)
    finally:
        delete_endpoint_resources(boto3.client("sagemaker"), endpoint_name)


def delete_endpoint_resources(sm, endpoint_name: str) -> list[str]:
    """Delete an endpoint, its endpoint config and its models; a second call deletes nothing."""
    config_name, model_names = endpoint_name, [endpoint_name]
    endpoint = _missing_ok(sm.describe_endpoint, EndpointName=endpoint_name)
    config_name = endpoint["EndpointConfigName"] if endpoint else config_name
    config = _missing_ok(sm.describe_endpoint_config, EndpointConfigName=config_name)
    if config:
        model_names = [variant["ModelName"] for variant in config["ProductionVariants"]]
    deleted = []
    if endpoint and _missing_ok(sm.delete_endpoint, EndpointName=endpoint_name) is not None:
        deleted.append(f"endpoint {endpoint_name}")
    if (
        config
        and _missing_ok(sm.delete_endpoint_config, EndpointConfigName=config_name) is not None
    ):
        deleted.append(f"endpoint config {config_name}")
    for name in model_names:
        if _missing_ok(sm.delete_model, ModelName=name) is not None:
            deleted.append(f"model {name}")
    return deleted


def _missing_ok(call, **kwargs):
    """Call a SageMaker API; return None when the resource does not exist."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError as err:
        message = err.response.get("Error", {}).get("Message", "")
        if err.response.get("Error", {}).get("Code") == "ValidationException" and (
            "not find" in message.lower() or "does not exist" in message.lower()
        ):
            return None
        raise


def tutorial_endpoints(sm, tag: dict = TUTORIAL_TAG) -> list[str]:
    """Return the names of the endpoints that carry the tutorial's tag."""
    names = []
    for page in sm.get_paginator("list_endpoints").paginate():
        for endpoint in page["Endpoints"]:
            tags = sm.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
            if tag in tags:
                names.append(endpoint["EndpointName"])
    return names


def delete_tutorial_endpoints(sm, tag: dict = TUTORIAL_TAG) -> list[str]:
    """Delete every tutorial-tagged endpoint with its config and models; return what went."""
    return [
        item for name in tutorial_endpoints(sm, tag) for item in delete_endpoint_resources(sm, name)
    ]


# --- CLI --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """`python -m helpers.sagemaker serve MODEL_DIR`: package, serve locally until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sagemaker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="package MODEL_DIR and serve it like SageMaker does")
    serve.add_argument("model_dir", nargs="?", help="default: the active profile's reranker")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--handler", choices=["huggingface", "default"], default="huggingface")
    serve.add_argument(
        "--code", help="folder with inference.py (default: MODEL_DIR/code, else ours)"
    )
    serve.add_argument("--out", default=str(ROOT / "build" / "serve" / "model.tar.gz"))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the model server too
    if args.model_dir is None:
        from helpers.config import load_config, resolve_model

        args.model_dir = resolve_model(load_config().reranker_model, "RERANK_RERANKER_MODEL")
    tar_path = package_model(args.model_dir, args.out, args.code)
    print_archive(tar_path)
    print(f"starting the model server on port {args.port} ...", flush=True)
    with serve_locally(tar_path, port=args.port, handler=args.handler) as endpoint:
        body = load_schema().encode_request([("what is faiss?", "FAISS is a library.")]).decode()
        print(f"ready: {endpoint.url}  (log: {endpoint.log_path}); try:")
        print(
            f"  curl -s {endpoint.url}/invocations -H 'Content-Type: application/json' -d '{body}'"
        )
        print("Ctrl-C stops the server.", flush=True)
        try:
            while endpoint.process.poll() is None or _group_alive(endpoint.process):
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping ...")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
