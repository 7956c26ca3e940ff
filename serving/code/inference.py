"""SageMaker inference handler for a cross-encoder reranker (notebook 04).

Copy this folder (``inference.py``, ``rerank_schema.py``, ``rerank_backends.py``,
``exported_backends.py``, ``requirements.txt``) into the ``code/`` folder of ``model.tar.gz``. It
implements ``model_fn`` + ``transform_fn``, which both the Hugging Face DLC's toolkit
(``sagemaker-huggingface-inference-toolkit``) and the plain ``sagemaker-inference`` handler
call. It imports nothing from the rerank-lab ``helpers``.

Environment variables (all optional):
    RERANKER_MODEL_ID      Hub id to serve when the archive holds no model (none: no download)
    RERANKER_REVISION      the 40-character commit of RERANKER_MODEL_ID (required with it)
    RERANKER_ALLOW_PICKLE  "1" allows pytorch_model.bin (a pickle) when there is no safetensors
    RERANKER_DTYPE         float32, float16 or bfloat16 (float16 on a GPU, float32 on the CPU)
    RERANKER_NUM_THREADS   torch CPU threads per worker (torch's default when unset)
    RERANKER_MAX_LENGTH    tokens per (query, document) pair; longer pairs are truncated (512)
    RERANKER_BATCH_SIZE    pairs per forward pass (32)
    RERANKER_ACTIVATION    "sigmoid" or "none"; default: as sentence-transformers' CrossEncoder
    RERANKER_MAX_PAIRS     pairs per request (or per JSON Lines line); more answers 413 (256)
    RERANKER_MAX_CHARS     characters per query or document; more answers 413 (10000)
    RERANKER_LOAD_ATTEMPTS model_fn's tries when loading fails for a reason that may pass (3)
    RERANKER_LOAD_RETRY_S  seconds between those tries (10)
    RERANKER_MAX_TOKENS    tokens per request, summed over its pairs after truncation; more
                           answers 413 (8192: bge-reranker-base scores that in well under 60 s
                           on an ml.m5.xlarge; serving/README.md shows the measurement)
Read by sagemaker-inference when the container starts (set them on the SageMaker Model):
    SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS  120: MMS kills and restarts a worker that takes
                           longer to answer OR to load the model; SAGEMAKER_MODEL_SERVER_TIMEOUT
                           counts MINUTES (its default, 60, is an hour): set it to 2 as well

Answers: 200 with ``{"scores": [...]}`` (JSON Lines: one such line per request line); errors with
the status of ``rerank_schema.ERRORS`` (4xx: the request, 5xx: the endpoint) and a JSON body
``{"code", "type", "message"}`` without paths or tracebacks (those go to the log). The Hugging
Face toolkit answers 400 with ``str(exception)`` for ANY exception ``transform_fn`` raises, so
this handler raises none under a model server: it sets the status on the request's ``context``
and returns the error body itself (the plain handler would answer 500 with a traceback).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from dataclasses import dataclass

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # both toolkits add code/ to sys.path; in process we do it ourselves
    sys.path.insert(0, _HERE)
import rerank_backends as backends  # noqa: E402
import rerank_schema as schema  # noqa: E402

LOG = logging.getLogger(__name__)


@dataclass
class Reranker:
    """What ``model_fn`` returns and ``transform_fn`` receives."""

    backend: object  # .logits(pairs) -> one raw logit per pair, in input order
    tokenizer: object  # counts a request's tokens against limits.max_tokens
    max_length: int
    activation: str  # "sigmoid" or "none"
    limits: schema.Limits

    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        """Score (query, document) pairs; one float per pair, in input order."""
        logits = [float(x) for x in self.backend.logits(pairs)]
        if len(logits) != len(pairs):
            raise RuntimeError(f"the backend returned {len(logits)} logits for {len(pairs)} pairs")
        if not all(math.isfinite(x) for x in logits):
            LOG.error("NaN or infinite logits: float16 overflow? try RERANKER_DTYPE=float32")
            raise schema.ServerError("non_finite_scores", "the model produced NaN or infinity")
        return [_sigmoid(x) for x in logits] if self.activation == "sigmoid" else logits

    def score_records(self, records: list[list[tuple[str, str]]]) -> list[list[float]]:
        """Score several requests at once, within the token budget; one list of scores each."""
        pairs = [pair for record in records for pair in record]
        self.check_budget(pairs)
        scores = iter(self.score(pairs))
        return [[next(scores) for _ in record] for record in records]

    def check_budget(self, pairs: list[tuple[str, str]], step: int = 32) -> None:
        """Raise too_many_tokens once the pairs' tokens (after truncation) exceed the budget."""
        total = 0
        for start in range(0, len(pairs), step):  # stop early: tokenizing is not free either
            chunk = pairs[start : start + step]
            encoded = self.tokenizer(
                [q for q, _ in chunk],
                [d for _, d in chunk],
                truncation=True,
                max_length=self.max_length,
            )
            total += sum(len(ids) for ids in encoded["input_ids"])
            schema.check_tokens(total, len(pairs), self.limits, start + step >= len(pairs))


def model_fn(model_dir: str | None = None, context=None):
    """Load the reranker; under a model server a failure answers 500 to every request instead.

    A failure that may pass (a Hub or file-system hiccup: anything but ModelLoadError, which
    names a mistake in the archive or the settings) is retried RERANKER_LOAD_ATTEMPTS times (3),
    RERANKER_LOAD_RETRY_S seconds apart (10), inside the model server's 120 s for a load.
    """
    try:
        return _load_with_retries(model_dir, context)
    except Exception as err:
        if context is None:  # called in process, not by a model server: raise, as Python does
            raise
        # The Hugging Face toolkit would retry model_fn at every request and answer each with a
        # 400, the plain handler with a 500 and a traceback: /ping says 200 either way.
        LOG.exception("model_fn failed: every request answers 500 until the model is fixed")
        reason = str(err) if isinstance(err, backends.ModelLoadError) else type(err).__name__
        return schema.ServerError("model_unavailable", f"the model failed to load: {reason}")


def _load_with_retries(model_dir, context):
    attempts = int(os.environ.get("RERANKER_LOAD_ATTEMPTS", 3)) if context is not None else 1
    for attempt in range(1, attempts + 1):
        try:
            return load_reranker(model_dir, context)
        except backends.ModelLoadError:
            raise  # a mistake in the archive or settings: loading again cannot fix it
        except Exception:
            if attempt == attempts:
                raise
            LOG.exception("model_fn attempt %s of %s failed; trying again", attempt, attempts)
            time.sleep(float(os.environ.get("RERANKER_LOAD_RETRY_S", 10)))


def load_reranker(model_dir: str | None, context=None) -> Reranker:
    """Load the packaged cross-encoder onto the GPU the model server gave this worker, or CPU."""
    max_length = int(os.environ.get("RERANKER_MAX_LENGTH", 512))
    backend, tokenizer, activation = backends.load_backend(
        model_dir,
        context,
        max_length=max_length,
        batch_size=int(os.environ.get("RERANKER_BATCH_SIZE", 32)),
    )
    activation = os.environ.get("RERANKER_ACTIVATION") or activation
    if activation not in ("sigmoid", "none"):
        raise backends.ModelLoadError(f"RERANKER_ACTIVATION must be sigmoid or none: {activation}")
    limits = schema.Limits.from_env()
    if limits.max_tokens < max_length:
        raise backends.ModelLoadError(
            f"RERANKER_MAX_TOKENS={limits.max_tokens} is below RERANKER_MAX_LENGTH={max_length}: "
            "a single long pair could never be scored"
        )
    return Reranker(backend, tokenizer, max_length, activation, limits)


def transform_fn(model: Reranker, input_data, content_type, accept, context=None):
    """Answer one request: its scores, or an error with its own status and a JSON body."""
    if context is not None and len(accept or "") > schema.MAX_ACCEPT_CHARS:
        # Both toolkits copy Accept into the answer's Content-Type, and multi-model-server 1.1.11
        # kills the worker when a header outgrows its read buffer ("Worker died."): refuse it
        # through the toolkit's own error path, which sends no header.
        raise _toolkit_error(schema.long_accept(accept))
    try:
        if isinstance(model, schema.ServerError):  # what model_fn returned when loading failed
            raise model
        schema.check_accept(accept)
        if schema.check_content_type(content_type) == schema.JSONLINES:
            records = schema.parse_jsonlines(input_data, model.limits)
            return schema.encode_jsonlines(model.score_records(records))
        pairs = schema.parse_request(input_data, model.limits)
        return schema.encode_response(model.score_records([pairs])[0])
    except Exception as err:
        if context is None:  # called in process, not by a model server: raise, as Python does
            raise
        error = as_serving_error(err)
        # Both toolkits send the status set here with the body returned; the body is labelled
        # with the request's Accept header, as a success would be.
        context.set_response_status(error.status, error.phrase)
        return schema.error_body(error)


def as_serving_error(err: Exception) -> schema.ServingError:
    """Return the answer for an exception: its own when it has one, else a logged 5xx."""
    if isinstance(err, schema.ServingError):
        log = LOG.warning if err.status < 500 else LOG.error
        log("answered %s: %s", err.status, err)
        return err
    if _out_of_memory(err):
        LOG.exception("out of memory")
        return schema.ServerError(
            "out_of_memory",
            "the endpoint ran out of memory on this request; retry with fewer pairs",
        )
    LOG.exception("scoring failed")
    return schema.ServerError("model_failed", "scoring failed; the endpoint's log has the details")


def _toolkit_error(error: schema.ServingError) -> Exception:
    """Return error as the plain sagemaker-inference handler's exception, which keeps its status."""
    try:
        from sagemaker_inference.errors import BaseInferenceToolkitError
    except ImportError:  # not in a SageMaker container
        return error
    wrapped = BaseInferenceToolkitError(error.status, str(error), phrase=error.phrase)
    wrapped.args = (str(error),)  # the Hugging Face toolkit answers str(exception) with a 400
    return wrapped


def _out_of_memory(err: Exception) -> bool:
    if isinstance(err, MemoryError):
        return True
    text = str(err)
    if "out of memory" in text.lower() or "can't allocate memory" in text.lower():
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # give the next request the memory back
        return True
    return False


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # no overflow for very negative logits
    return z / (1.0 + z)
