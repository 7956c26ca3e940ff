"""The reranker's request/response contract: the one place both sides read (notebook 04).

The endpoint (``inference.py``, in the container) and the client (``helpers.sagemaker``'s content
handler) both import this file, so they cannot drift apart. Standard library only: it ships
inside ``model.tar.gz`` as ``code/rerank_schema.py`` next to ``inference.py``.

Request  (``Content-Type: application/json``)::

    {"pairs": [["query", "document"], ...]}          # what most clients send
    {"text_pairs": [["query", "document"], ...]}     # what LangChain's default handler sends

Response (``Accept: application/json``)::

    {"scores": [0.93, 0.02, ...]}                    # one float per pair, in input order

Batch Transform (``Content-Type: application/jsonlines``): one request object per line, one
``{"scores": [...]}`` per line in the answer, in the same order (``SplitType=Line`` with
``BatchStrategy=MultiRecord`` puts several lines in one body).

Errors: a JSON body ``{"code": STATUS, "type": "RequestError"|"ServerError", "message": ...}``
whose message starts with one of the codes in ``ERRORS`` (``"missing_key: ..."``) so that a
client can branch on it. Client mistakes are 4xx, server faults 5xx.

Limits (environment variables of the endpoint, read per request):
    RERANKER_MAX_PAIRS    pairs per request (or per line of a jsonlines body)     (256)
    RERANKER_MAX_CHARS    characters per query or document                        (10000)
    RERANKER_MAX_TOKENS   tokens per request, summed over its pairs after
                          truncation to RERANKER_MAX_LENGTH                       (8192)
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from http import HTTPStatus

JSON = "application/json"
JSONLINES = "application/jsonlines"
REQUEST_KEYS = ("pairs", "text_pairs")  # accepted request keys, the first is the canonical one
RESPONSE_KEY = "scores"
DEFAULT_MAX_PAIRS = 256
SHOWN_CHARS = 40  # how much of a client's header an error message repeats
MAX_ACCEPT_CHARS = 64  # longer Accept headers are refused (inference.py says why)

# error code -> HTTP status. 4xx: the client's mistake, the same request will fail again.
# 5xx: the server's fault (SageMaker counts them as Invocation5XXErrors).
ERRORS = {
    "invalid_json": 400,
    "invalid_body": 400,
    "missing_key": 400,
    "ambiguous_key": 400,
    "wrong_shape": 400,
    "not_a_string": 400,
    "empty": 400,
    "unsupported_accept": 406,
    "too_many_pairs": 413,
    "text_too_long": 413,
    "too_many_tokens": 413,
    "unsupported_content_type": 415,
    "model_failed": 500,
    "model_unavailable": 500,
    "non_finite_scores": 500,
    "out_of_memory": 503,
}


class ServingError(Exception):
    """An answer other than 200; ``code`` is a key of ``ERRORS``, ``status`` its HTTP status."""

    def __init__(self, code: str, detail: str):
        self.code = code
        self.status = ERRORS[code]
        self.detail = detail
        super().__init__(f"{code}: {detail}")

    @property
    def phrase(self) -> str:
        return HTTPStatus(self.status).phrase


class RequestError(ServingError, ValueError):
    """A request that breaks the contract or the limits (4xx)."""


class ServerError(ServingError, RuntimeError):
    """A fault of the endpoint, not of the request (5xx)."""


@dataclass(frozen=True)
class Limits:
    """How much one request may ask for (see the module docstring)."""

    max_pairs: int = DEFAULT_MAX_PAIRS
    max_chars: int = 10_000
    max_tokens: int = 8_192

    @classmethod
    def from_env(cls, environ=os.environ) -> Limits:
        """Read RERANKER_MAX_PAIRS / _MAX_CHARS / _MAX_TOKENS (unset: the defaults)."""
        values = {}
        for field in ("max_pairs", "max_chars", "max_tokens"):
            name = f"RERANKER_{field.upper()}"
            if environ.get(name):
                values[field] = _positive_int(name, environ[name])
        return cls(**values)

    def pairs_per_call(self, max_length: int = 512) -> int:
        """Return how many pairs a client may send per call whatever their length."""
        return max(1, min(self.max_pairs, self.max_tokens // max_length))


def media_type(header: str | None) -> str:
    """Return the bare media type of a Content-Type/Accept value ("" when absent)."""
    return (header or "").split(";")[0].strip().lower()


def shown(header: str | None) -> str:
    """Return a client's header as an error message may repeat it: short, printable, quoted."""
    if not header:
        return "none"
    text = "".join(c if c.isprintable() else "?" for c in header[:SHOWN_CHARS])
    return repr(text + ("..." if len(header) > SHOWN_CHARS else ""))


def check_content_type(content_type: str | None) -> str:
    """Return JSON or JSONLINES, the request body's declared type; raise for anything else."""
    declared = media_type(content_type)
    if declared not in (JSON, JSONLINES):
        raise RequestError(
            "unsupported_content_type",
            f"send Content-Type {JSON} (or {JSONLINES}), not {shown(content_type)}",
        )
    return declared


def check_accept(accept: str | None) -> None:
    """Raise ``RequestError`` unless the client accepts a JSON (or JSON Lines) answer."""
    accepted = [media_type(part) for part in (accept or "").split(",")]
    if not any(part in ("", "*/*", "application/*", JSON, JSONLINES) for part in accepted):
        raise RequestError(
            "unsupported_accept", f"this endpoint answers {JSON}, not {shown(accept)}"
        )


def long_accept(accept: str) -> RequestError:
    """Return the error for an Accept header longer than MAX_ACCEPT_CHARS."""
    return RequestError(
        "unsupported_accept",
        f"an Accept header of {len(accept)} characters, at most {MAX_ACCEPT_CHARS}: send {JSON}",
    )


def parse_request(body: bytes | str, limits: Limits | None = None) -> list[tuple[str, str]]:
    """Validate a JSON request body and return its (query, document) pairs."""
    text = _text(body)
    try:
        payload = json.loads(text)
    except ValueError as err:
        raise RequestError("invalid_json", f"the body is not valid JSON ({err})") from None
    return pairs_of(payload, limits or Limits.from_env())


def parse_jsonlines(body: bytes | str, limits: Limits | None = None) -> list[list]:
    """Validate a JSON Lines body (one request per line); return each line's pairs, in order."""
    limits = limits or Limits.from_env()
    text = _text(body).rstrip("\r\n\t ")  # the last record's newline ends no record
    if not text:
        raise RequestError("empty", "the body holds no lines")
    records = []
    for number, line in enumerate(text.split("\n"), start=1):
        try:
            records.append(pairs_of(json.loads(line), limits))
        except ValueError as err:
            if not isinstance(err, RequestError):
                err = RequestError("invalid_json", f"not valid JSON ({err})")
            raise RequestError(err.code, f"line {number}: {err.detail}") from None
    return records


def pairs_of(payload, limits: Limits) -> list[tuple[str, str]]:
    """Return the pairs of one decoded request object; raise ``RequestError`` if it is wrong."""
    if not isinstance(payload, dict):
        raise RequestError("invalid_body", f"the body must be a JSON object, not {_kind(payload)}")
    present = [key for key in REQUEST_KEYS if key in payload]
    if not present:
        raise RequestError("missing_key", f"the body needs one of {' or '.join(REQUEST_KEYS)}")
    if len(present) > 1:
        raise RequestError("ambiguous_key", f"send only one of {' or '.join(present)}")
    key = present[0]
    pairs = payload[key]
    if not isinstance(pairs, list):
        raise RequestError("wrong_shape", f"{key} must be a list of pairs, not {_kind(pairs)}")
    if not pairs:
        raise RequestError("empty", f"{key} holds no pairs")
    if len(pairs) > limits.max_pairs:
        raise RequestError(
            "too_many_pairs", f"{len(pairs)} pairs sent, at most {limits.max_pairs} per request"
        )
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise RequestError("wrong_shape", f"{key}[{i}] must be [query, document]")
        for j, text in enumerate(pair):
            if not isinstance(text, str):
                raise RequestError("not_a_string", f"{key}[{i}][{j}] is {_kind(text)}")
            if len(text) > limits.max_chars:
                raise RequestError(
                    "text_too_long",
                    f"{key}[{i}][{j}] has {len(text)} characters, at most {limits.max_chars}",
                )
    return [(query, doc) for query, doc in pairs]


def check_tokens(total: int, pairs: int, limits: Limits, counted_all: bool = True) -> None:
    """Raise ``RequestError`` when a request's pairs hold more tokens than the budget."""
    if total > limits.max_tokens:
        held = f"{total}" if counted_all else f"more than {total - 1}"
        raise RequestError(
            "too_many_tokens",
            f"{pairs} pairs hold {held} tokens, at most {limits.max_tokens} per request:"
            " send fewer or shorter pairs per call",
        )


def encode_request(pairs, key: str = REQUEST_KEYS[0]) -> bytes:
    """Return the JSON request body for (query, document) pairs (client side), UTF-8 encoded.

    Not ASCII-escaped: ``\\uXXXX`` escapes make Chinese text up to 6 times bigger, and SageMaker
    limits the body's bytes (6 MB real-time, 4 MB serverless).
    """
    if key not in REQUEST_KEYS:
        raise ValueError(f"key must be one of {REQUEST_KEYS}")
    body = {key: [[query, doc] for query, doc in pairs]}
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def encode_response(scores) -> str:
    """Return the JSON response body for a list of scores (server side); finite numbers only."""
    try:
        return json.dumps({RESPONSE_KEY: [float(score) for score in scores]}, allow_nan=False)
    except ValueError:  # NaN or infinity: not JSON, and not a score anyone can rank by
        raise ServerError(
            "non_finite_scores", "the model produced NaN or infinite scores"
        ) from None


def encode_jsonlines(records) -> str:
    """Return the JSON Lines response body: one scores object per request line, in order."""
    return "\n".join(encode_response(scores) for scores in records)


def decode_response(body: bytes | str, expected: int | None = None) -> list[float]:
    """Return the scores of a JSON response body, checking their count (client side)."""
    payload = json.loads(body)
    scores = payload.get(RESPONSE_KEY) if isinstance(payload, dict) else None
    if not isinstance(scores, list) or not all(_is_number(s) for s in scores):
        raise ValueError(f"expected {{{RESPONSE_KEY!r}: [numbers]}}, got {str(body)[:200]}")
    if expected is not None and len(scores) != expected:
        raise ValueError(f"expected {expected} scores, got {len(scores)}")
    return [float(s) for s in scores]


def error_body(error: ServingError) -> str:
    """Return the JSON body of an error answer (the shape multi-model-server uses)."""
    kind = "RequestError" if error.status < 500 else "ServerError"
    return json.dumps({"code": error.status, "type": kind, "message": str(error)})


def error_code(body: bytes | str) -> str | None:
    """Return the contract's error code found in an error body (any toolkit's wrapping)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else body
    try:  # ours and multi-model-server's: {"code": 400, "type": ..., "message": "missing_key: ..."}
        payload = json.loads(text)
        message = payload.get("message", "") if isinstance(payload, dict) else ""
    except ValueError:  # a plain-text body: "missing_key: ..."
        message = text
    head = str(message).split(":", 1)[0].strip()
    return head if head in ERRORS else None


def _text(body: bytes | str) -> str:
    if isinstance(body, bytes | bytearray):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RequestError("invalid_json", f"the body is not UTF-8 ({err.reason})") from None
    return body


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return number


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
