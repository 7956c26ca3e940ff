"""The reranker's request/response contract: the one place both sides read (notebook 04).

The endpoint (``inference.py``, in the container) and the client (``helpers.sagemaker``'s content
handler) both import this file, so they cannot drift apart. Standard library only: it ships
inside ``model.tar.gz`` as ``code/rerank_schema.py`` next to ``inference.py``.

Request  (``Content-Type: application/json``)::

    {"pairs": [["query", "document"], ...]}          # what most clients send
    {"text_pairs": [["query", "document"], ...]}     # what LangChain's default handler sends

Response (``Accept: application/json``)::

    {"scores": [0.93, 0.02, ...]}                    # one float per pair, in input order

Errors: a 4xx whose JSON body names the problem. The message always starts with one of the
codes in ``ERRORS`` (``"missing_key: ..."``) so that a client can branch on it, whichever
toolkit wrapped it.
"""

from __future__ import annotations

import json
import math
import os

JSON = "application/json"
REQUEST_KEYS = ("pairs", "text_pairs")  # accepted request keys, the first is the canonical one
RESPONSE_KEY = "scores"
DEFAULT_MAX_PAIRS = 256
MAX_PAIRS_ENV = "RERANKER_MAX_PAIRS"

# error code -> HTTP status (the Hugging Face toolkit answers 400 for all of them; the plain
# sagemaker-inference handler keeps these statuses)
ERRORS = {
    "invalid_json": 400,
    "invalid_body": 400,
    "missing_key": 400,
    "ambiguous_key": 400,
    "wrong_shape": 400,
    "not_a_string": 400,
    "empty": 400,
    "too_many_pairs": 413,
    "unsupported_content_type": 415,
    "unsupported_accept": 406,
}


class RequestError(ValueError):
    """A request that breaks the contract; ``code`` is a key of ``ERRORS``."""

    def __init__(self, code: str, detail: str):
        self.code = code
        self.status = ERRORS[code]
        self.detail = detail
        super().__init__(f"{code}: {detail}")


def media_type(header: str | None) -> str:
    """Return the bare media type of a Content-Type/Accept value ("" when absent)."""
    return (header or "").split(";")[0].strip().lower()


def max_pairs() -> int:
    """Return the most pairs one request may carry (env ``RERANKER_MAX_PAIRS``)."""
    return int(os.environ.get(MAX_PAIRS_ENV, DEFAULT_MAX_PAIRS))


def check_content_type(content_type: str | None) -> None:
    """Raise ``RequestError`` unless the request body is declared as JSON."""
    if media_type(content_type) != JSON:
        raise RequestError(
            "unsupported_content_type", f"send Content-Type {JSON}, not {content_type or 'none'}"
        )


def check_accept(accept: str | None) -> None:
    """Raise ``RequestError`` unless the client accepts a JSON answer."""
    accepted = [media_type(part) for part in (accept or "").split(",")]
    if not any(part in ("", "*/*", JSON) for part in accepted):
        raise RequestError("unsupported_accept", f"this endpoint answers {JSON}, not {accept}")


def parse_request(body: bytes | str, limit: int | None = None) -> list[tuple[str, str]]:
    """Validate a JSON request body and return its (query, document) pairs."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes | bytearray) else body
        payload = json.loads(text)
    except (UnicodeDecodeError, ValueError) as err:
        raise RequestError("invalid_json", f"the body is not valid UTF-8 JSON ({err})") from None
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
    limit = max_pairs() if limit is None else limit
    if len(pairs) > limit:
        raise RequestError("too_many_pairs", f"{len(pairs)} pairs sent, at most {limit} allowed")
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise RequestError("wrong_shape", f"{key}[{i}] must be [query, document]")
        for j, text in enumerate(pair):
            if not isinstance(text, str):
                raise RequestError("not_a_string", f"{key}[{i}][{j}] is {_kind(text)}")
    return [(query, doc) for query, doc in pairs]


def encode_request(pairs, key: str = REQUEST_KEYS[0]) -> bytes:
    """Return the JSON request body for (query, document) pairs (client side)."""
    if key not in REQUEST_KEYS:
        raise ValueError(f"key must be one of {REQUEST_KEYS}")
    return json.dumps({key: [[query, doc] for query, doc in pairs]}).encode("utf-8")


def encode_response(scores) -> str:
    """Return the JSON response body for a list of scores (server side)."""
    return json.dumps({RESPONSE_KEY: [float(score) for score in scores]})


def decode_response(body: bytes | str, expected: int | None = None) -> list[float]:
    """Return the scores of a JSON response body, checking their count (client side)."""
    payload = json.loads(body)
    scores = payload.get(RESPONSE_KEY) if isinstance(payload, dict) else None
    if not isinstance(scores, list) or not all(_is_number(s) for s in scores):
        raise ValueError(f"expected {{{RESPONSE_KEY!r}: [numbers]}}, got {str(body)[:200]}")
    if expected is not None and len(scores) != expected:
        raise ValueError(f"expected {expected} scores, got {len(scores)}")
    return [float(s) for s in scores]


def error_code(body: bytes | str) -> str | None:
    """Return the contract's error code found in an error body (any toolkit's wrapping)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes | bytearray) else body
    try:  # Hugging Face toolkit / MMS: {"code": 400, "type": ..., "message": "missing_key: ..."}
        payload = json.loads(text)
        message = payload.get("message", "") if isinstance(payload, dict) else ""
    except ValueError:  # plain sagemaker-inference handler: "missing_key: ...\nTraceback ..."
        message = text
    head = str(message).split(":", 1)[0].strip()
    return head if head in ERRORS else None


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
