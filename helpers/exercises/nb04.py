"""Self-checks for notebook 04's exercises (the SageMaker contract)."""

from __future__ import annotations

import io
import json

from helpers.exercises.common import _check, _close


def check_04_request_body(answer, pairs) -> bool:
    """Check a request body with the endpoint's own contract, rerank_schema.py (notebook 04)."""
    from helpers.sagemaker import load_schema

    schema = load_schema()

    def judge(body, expected):
        if not isinstance(body, str | bytes):
            return False, f"a Python {type(body).__name__}: the endpoint receives JSON text."
        try:
            got = schema.parse_request(body)
        except schema.RequestError as error:
            return False, f"inference.py would answer {error.status}, {error}"
        if got != expected:
            return False, f"valid, but not these {len(expected)} pairs in this order."
        if "text_pairs" not in json.loads(body):
            return False, "valid, but LangChain's default handler sends the key text_pairs."
        return True, f"inference.py reads {len(got)} pairs from text_pairs, LangChain's key."

    return _check(answer, "a JSON string", lambda: [tuple(p) for p in pairs], judge)


class _InProcessRuntime:
    """A sagemaker-runtime client that answers with inference.py in this process: no server."""

    def __init__(self, handler, reranker):
        self.handler, self.reranker, self.bodies, self.answered = handler, reranker, [], False

    def invoke_endpoint(self, EndpointName, Body, ContentType, Accept, **kwargs):  # noqa: N803
        self.bodies.append(Body)
        reply = self.handler.transform_fn(self.reranker, Body, ContentType, Accept)
        self.answered = True
        return {"Body": io.BytesIO(reply.encode("utf-8"))}  # a stream, like boto3's StreamingBody


def check_04_content_handler(answer, handler, reranker, pairs) -> bool:
    """Check a LangChain content handler that sends ``pairs`` to inference.py (notebook 04)."""
    from langchain_community.cross_encoders import SagemakerEndpointCrossEncoder
    from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler

    pairs = [tuple(p) for p in pairs]

    def judge(content, expected):
        content = content() if isinstance(content, type) else content
        if not isinstance(content, CrossEncoderContentHandler):
            return False, "subclass CrossEncoderContentHandler: LangChain accepts nothing else."
        encoder = SagemakerEndpointCrossEncoder(
            endpoint_name="in-process", region_name="us-east-1", content_handler=content
        )
        encoder.client = runtime = _InProcessRuntime(handler, reranker)  # ours, not boto3's
        try:
            scores = encoder.score(pairs)
        except Exception as error:
            where = "transform_output (read the stream: output.read())" if runtime.answered else ""
            return False, f"{where or 'the request'} failed: {str(error)[:90]}"
        if not (isinstance(scores, list) and _close(scores, expected, 1e-4)):
            return False, "transform_output must return the list of scores, one per pair."
        if "pairs" not in json.loads(runtime.bodies[0]):
            return False, "it works here, but the seed's inference.py reads only the key pairs."
        return True, f"LangChain scored {len(pairs)} pairs through inference.py, sending pairs."

    return _check(answer, "a content handler", lambda: reranker.score(pairs), judge)
