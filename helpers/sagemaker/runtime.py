"""Call an endpoint with boto3, locally through a stand-in for the runtime API (plumbing).

``runtime_bridge`` answers ``POST /endpoints/{name}/invocations`` for local endpoints, so the real
boto3 client runs unchanged; notebook 04 writes the LangChain client on its page.
"""

from __future__ import annotations

import json
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers.sagemaker.contract import load_schema

REGION = "us-east-1"  # the local bridge's and moto's; AWS calls use session_region()
INVOCATION_TIMEOUT_S = 60  # SageMaker's limit for a real-time endpoint's answer
TIMED_OUT = (  # what SageMaker answers then (a 424 ModelError, original status 0)
    "Your invocation timed out while waiting for a response from container primary. Review the "
    "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)


class _BridgeHandler(BaseHTTPRequestHandler):
    """sagemaker-runtime's InvokeEndpoint on top of local endpoints' /invocations."""

    endpoints: dict[str, str] = {}
    timeout: float = INVOCATION_TIMEOUT_S

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
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return self._send(200, resp.read(), resp.headers.get("Content-Type"))
        except urllib.error.HTTPError as err:
            original = err.read().decode("utf-8", "replace")
            return self._reply(424, model_error_body(name, err.code, original), "ModelError")
        except (TimeoutError, urllib.error.URLError) as err:
            if not isinstance(getattr(err, "reason", err), TimeoutError):
                raise
            return self._reply(424, model_error_body(name, 0, TIMED_OUT), "ModelError")

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
    kind = "client" if 400 <= status < 500 else "server"  # a timeout (0) is "server" too
    return {
        "ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
        "Message": f'Received {kind} error ({status}) from primary with message "{original}".',
        "OriginalStatusCode": status,
        "OriginalMessage": original,
        "LogStreamArn": f"local:/aws/sagemaker/Endpoints/{endpoint_name}",
    }


@contextmanager
def runtime_bridge(
    endpoints: dict[str, str], timeout: float = INVOCATION_TIMEOUT_S
) -> Iterator[str]:
    """Serve POST /endpoints/{name}/invocations for local endpoints; yield the bridge's URL."""
    handler = type("Bridge", (_BridgeHandler,), {"endpoints": dict(endpoints), "timeout": timeout})
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
    """Set environment variables for a block (a value None removes one), then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    _set_env(values)
    try:
        yield
    finally:
        _set_env(saved)


def _set_env(values: dict) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def session_region(region: str | None = None) -> str:
    """Return region, else the one boto3 finds (AWS_REGION, AWS_DEFAULT_REGION, profile, ...)."""
    import boto3

    region = region or boto3.session.Session().region_name
    if not region:
        raise ValueError(
            "no AWS region: pass region=..., or set AWS_DEFAULT_REGION (or region in ~/.aws/config)"
        )
    return region


def client_config():
    """Return botocore's Config: wait past SageMaker's 60 s; retry throttling and 5xx, not 424."""
    from botocore.config import Config

    return Config(
        read_timeout=INVOCATION_TIMEOUT_S + 10,
        connect_timeout=10,
        retries={"mode": "standard", "total_max_attempts": 3},
    )


def runtime_client(endpoint_url: str | None = None, region: str | None = None):
    """Return a boto3 sagemaker-runtime client (endpoint_url: the local bridge, else AWS)."""
    import boto3

    if endpoint_url is None:
        region = session_region(region)
        return boto3.client("sagemaker-runtime", region_name=region, config=client_config())
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint_url,
        region_name=region or REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=client_config(),
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
