"""SageMaker inference handler for a cross-encoder reranker (notebook 04).

Copy this folder (``inference.py`` + ``rerank_schema.py`` + ``requirements.txt``) into the
``code/`` folder of ``model.tar.gz``. It implements ``model_fn`` + ``transform_fn``, which both
the Hugging Face DLC's toolkit (``sagemaker-huggingface-inference-toolkit``) and the plain
``sagemaker-inference`` handler call. It imports nothing from the rerank-lab ``helpers``.

Environment variables (all optional):
    RERANKER_MODEL_ID     Hub id loaded when model_dir holds no model (BAAI/bge-reranker-base)
    RERANKER_REVISION     Hub revision for RERANKER_MODEL_ID (a commit hash pins it)
    RERANKER_MAX_LENGTH   tokens per (query, document) pair; longer pairs are truncated (512)
    RERANKER_BATCH_SIZE   pairs per forward pass (32)
    RERANKER_MAX_PAIRS    pairs per request; more answers 413 / 400 (256)
    RERANKER_ACTIVATION   "sigmoid" or "none"; default: as sentence-transformers' CrossEncoder
    RERANKER_NUM_THREADS  torch CPU threads per worker (torch's default when unset)
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from http import HTTPStatus

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:  # both toolkits add code/ to sys.path; in process we do it ourselves
    sys.path.insert(0, _HERE)
import rerank_schema as schema  # noqa: E402

try:  # the plain sagemaker-inference handler maps this base class to the HTTP status
    from sagemaker_inference.errors import BaseInferenceToolkitError as _ToolkitError
except ImportError:  # in process, outside a SageMaker container
    _ToolkitError = None

LOG = logging.getLogger(__name__)
DEFAULT_MODEL_ID = "BAAI/bge-reranker-base"
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)


@dataclass
class Reranker:
    """What ``model_fn`` returns and ``transform_fn`` receives."""

    model: torch.nn.Module
    tokenizer: object
    device: torch.device
    max_length: int
    batch_size: int
    activation: str  # "sigmoid" or "none"

    @torch.inference_mode()
    def score(self, pairs: list[tuple[str, str]]) -> list[float]:
        """Score (query, document) pairs; one float per pair, in input order."""
        # Sort by length so each batch pads little, then put the scores back in input order.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        scores = [0.0] * len(pairs)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = self.tokenizer(
                [pairs[i][0] for i in chunk],
                [pairs[i][1] for i in chunk],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            logits = self.model(**batch).logits.float()
            # One label: its logit. Two or more: the "relevant" column, as LangChain reads it.
            logits = logits[:, 0] if logits.shape[-1] == 1 else logits[:, 1]
            if self.activation == "sigmoid":
                logits = torch.sigmoid(logits)
            for i, value in zip(chunk, logits.cpu().tolist(), strict=True):
                scores[i] = value
        return scores


def has_model(model_dir: str | None) -> bool:
    """Return True when model_dir holds a transformers model (config.json + weights)."""
    if not model_dir or not os.path.isfile(os.path.join(model_dir, "config.json")):
        return False
    return any(os.path.isfile(os.path.join(model_dir, name)) for name in WEIGHT_FILES)


def model_fn(model_dir: str | None = None) -> Reranker:
    """Load the packaged cross-encoder (else the Hub id in RERANKER_MODEL_ID) onto GPU or CPU."""
    if os.environ.get("RERANKER_NUM_THREADS"):
        torch.set_num_threads(int(os.environ["RERANKER_NUM_THREADS"]))
    if has_model(model_dir):
        source, revision = model_dir, None
    else:  # the slow path: downloads at every cold start and needs the Hub from the endpoint
        source = os.environ.get("RERANKER_MODEL_ID", DEFAULT_MODEL_ID)
        revision = os.environ.get("RERANKER_REVISION") or None
    LOG.info("loading cross-encoder from %s", source)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    model = AutoModelForSequenceClassification.from_pretrained(source, revision=revision)
    if tokenizer.pad_token is None:  # Qwen-style rerankers: batches > 1 need a pad token
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    model.to(device=device, dtype=torch.float16 if cuda else torch.float32).eval()
    return Reranker(
        model=model,
        tokenizer=tokenizer,
        device=device,
        max_length=int(os.environ.get("RERANKER_MAX_LENGTH", 512)),
        batch_size=int(os.environ.get("RERANKER_BATCH_SIZE", 32)),
        activation=os.environ.get("RERANKER_ACTIVATION") or default_activation(model.config),
    )


def default_activation(config) -> str:
    """Return the activation sentence-transformers' CrossEncoder would apply for this config."""
    saved = (getattr(config, "sentence_transformers", None) or {}).get("activation_fn")
    if saved:
        return "sigmoid" if saved.endswith("Sigmoid") else "none"
    return "sigmoid" if config.num_labels == 1 else "none"


def transform_fn(model: Reranker, input_data, content_type, accept):
    """Validate one request, score its pairs, return the JSON body (its type is the Accept)."""
    try:
        schema.check_content_type(content_type)
        schema.check_accept(accept)
        pairs = schema.parse_request(input_data)
    except schema.RequestError as err:
        LOG.warning("rejected request: %s", err)
        raise _as_toolkit_error(err) from None
    # A bare body, not a (body, content type) tuple: the Hugging Face toolkit would serialise
    # the tuple itself. Both toolkits label the answer with the Accept header (JSON by default).
    return schema.encode_response(model.score(pairs))


def _as_toolkit_error(err: schema.RequestError) -> Exception:
    """Wrap a contract error so that the serving toolkit answers its 4xx status."""
    if _ToolkitError is None:
        return err
    wrapped = _ToolkitError(err.status, str(err), phrase=HTTPStatus(err.status).phrase)
    wrapped.args = (str(err),)  # the Hugging Face toolkit puts str(exception) in its 400 body
    return wrapped
