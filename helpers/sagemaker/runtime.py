"""Call an endpoint as an application does, boto3 and LangChain (notebook 04; plumbing).

``runtime_bridge`` answers sagemaker-runtime's ``POST /endpoints/{name}/invocations`` for local
endpoints, so the real boto3 client (signing, error parsing) runs unchanged against them.
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
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from helpers.sagemaker.contract import load_schema

REGION = "us-east-1"  # the local bridge's and moto's; AWS calls use session_region()
INVOCATION_TIMEOUT_S = 60  # SageMaker's limit for a real-time endpoint's answer
# What SageMaker accepts in one request body: real-time endpoints 6 MB, serverless 4 MB.
MAX_BODY_BYTES = {"real-time": 6 * 1024 * 1024, "serverless": 4 * 1024 * 1024}
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
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
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
    """Return botocore's Config for endpoint calls: wait past SageMaker's 60 s (botocore's own 60
    s would race it); standard retries resend throttling and 5xx, never a ModelError (424)."""
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


def split_calls(pairs, max_pairs: int, max_bytes: int = MAX_BODY_BYTES["real-time"]) -> list:
    """Split pairs into equal calls of at most max_pairs pairs and max_bytes of JSON body each."""
    pairs = list(pairs)
    if not pairs:
        return []
    calls = -(-len(pairs) // max_pairs)
    size = -(-len(pairs) // calls)
    out = []
    for start in range(0, len(pairs), size):
        out += _split_by_bytes(pairs[start : start + size], max_bytes)
    return out


def _split_by_bytes(pairs: list, max_bytes: int) -> list:
    schema = load_schema()
    overhead = len(schema.encode_request([]))
    calls, current, size = [], [], overhead
    for pair in pairs:
        length = len(schema.encode_request([pair])) - overhead + 2  # its "[q, d]" and ", "
        if overhead + length > max_bytes:
            raise ValueError(f"one pair is {length} bytes: over the {max_bytes}-byte body limit")
        if current and size + length > max_bytes:
            calls.append(current)
            current, size = [], overhead
        current.append(pair)
        size += length
    return calls + [current]


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


def sagemaker_cross_encoder(
    endpoint_name: str,
    region: str | None = None,
    client=None,
    max_pairs: int | None = None,
    endpoint_env: dict | None = None,
    serverless: bool = False,
):
    """Return a SagemakerEndpointCrossEncoder that splits long lists into calls that fit the
    endpoint's limits (``endpoint_env``: its RERANKER_* variables) and 6 MB (4 MB serverless)."""
    schema = load_schema()
    env = endpoint_env or {}
    max_length = int(env.get("RERANKER_MAX_LENGTH", 512))
    region = client.meta.region_name if client is not None else session_region(region)
    encoder = _splitting_cross_encoder()(
        endpoint_name=endpoint_name,
        region_name=region,
        content_handler=content_handler(),
        max_pairs=max_pairs or schema.Limits.from_env(env).pairs_per_call(max_length),
        max_bytes=MAX_BODY_BYTES["serverless" if serverless else "real-time"],
    )
    encoder.client = client or runtime_client(region=region)  # the constructor ignores client=
    return encoder


@cache
def _splitting_cross_encoder():
    """Return LangChain's SagemakerEndpointCrossEncoder, taught to split what is too big."""
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder

    class SplittingSagemakerCrossEncoder(SagemakerEndpointCrossEncoder):
        """Scores any number of pairs (none too): calls that fit, halved on a 413 too big."""

        max_pairs: int = 16
        max_bytes: int = MAX_BODY_BYTES["real-time"]

        def score(self, text_pairs):
            scores = []
            for call in split_calls(text_pairs, self.max_pairs, self.max_bytes):
                scores += self._score_call(call)
            return scores

        def _score_call(self, pairs):
            try:
                return super().score(pairs)
            except ValueError as error:  # LangChain wraps boto3's ClientError in a ValueError
                if len(pairs) < 2 or _model_error_code(error) not in SPLIT_ON:
                    raise
            half = len(pairs) // 2
            return self._score_call(pairs[:half]) + self._score_call(pairs[half:])

    return SplittingSagemakerCrossEncoder


SPLIT_ON = ("too_many_pairs", "too_many_tokens")  # a smaller call succeeds where these failed


def _model_error_code(error: Exception) -> str | None:
    """Return the contract's error code behind LangChain's wrapped ModelError, if any."""
    cause = error.__cause__ or error.__context__  # LangChain raises without `from`
    response = getattr(cause, "response", None) or {}
    return load_schema().error_code(response.get("OriginalMessage", ""))
