"""Where the reranker's logits come from: the packaged torch model, or an exported one (nb 04).

``inference.py`` calls ``load_backend``, which returns a backend with ``.logits(pairs)`` (raw
logits, one per pair, input order), the tokenizer (to count a request's tokens) and the
activation sentence-transformers would apply. Ships in
``model.tar.gz`` as ``code/rerank_backends.py``; imports nothing from the rerank-lab ``helpers``.

Weights: ``model.safetensors`` only, unless RERANKER_ALLOW_PICKLE=1 (``pytorch_model.bin`` is a
pickle that ``torch.load`` unpacks: it can run code). No Hub download unless RERANKER_MODEL_ID is
set, and then only pinned to a commit by RERANKER_REVISION. Device: the GPU the model server
assigned to this worker (``context.system_properties["gpu_id"]``), else CPU.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import re
from pathlib import Path

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers import __version__ as _version

LOG = logging.getLogger(__name__)
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLE_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
EXPORTED_MARKER = Path("exported", "backend.json")
# transformers 4.56 renamed from_pretrained's torch_dtype to dtype (the DLC has 4.51, .venv 5.x)
DTYPE_ARGUMENT = "dtype" if tuple(map(int, _version.split(".")[:2])) >= (4, 56) else "torch_dtype"
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


class ModelLoadError(RuntimeError):
    """model_fn cannot load what it was given; the message says what to change."""


class TorchBackend:
    """A transformers sequence-classification model: logits for (query, document) pairs."""

    def __init__(self, model, tokenizer, device: torch.device, max_length: int, batch_size: int):
        self.model, self.tokenizer, self.device = model, tokenizer, device
        self.max_length, self.batch_size = max_length, batch_size
        # transformers 5 saves a DistilBERT tokenizer as BertTokenizer; 4.x then adds
        # token_type_ids, which DistilBERT's forward refuses: pass only what the model takes.
        self.inputs = set(inspect.signature(model.forward).parameters)

    @torch.inference_mode()
    def logits(self, pairs: list[tuple[str, str]]) -> list[float]:
        """Return one raw logit per pair, in input order."""
        # Sort by length so each batch pads little, then put the logits back in input order.
        order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
        logits = [0.0] * len(pairs)
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
            batch = {name: value for name, value in batch.items() if name in self.inputs}
            out = self.model(**batch).logits.float()
            # One label: its logit. Two or more: the "relevant" column, as LangChain reads it.
            out = out[:, 0] if out.shape[-1] == 1 else out[:, 1]
            for i, value in zip(chunk, out.cpu().tolist(), strict=True):
                logits[i] = value
        return logits


def load_backend(model_dir: str | None, context=None, *, max_length: int, batch_size: int):
    """Return (backend, tokenizer, activation): the exported model if shipped, else torch's."""
    threads = os.environ.get("RERANKER_NUM_THREADS")
    threads = int(threads) if threads else None
    if model_dir and (Path(model_dir) / EXPORTED_MARKER).is_file():
        return load_exported(
            model_dir, max_length=max_length, batch_size=batch_size, threads=threads
        )
    if threads:
        torch.set_num_threads(threads)
    source, revision = model_source(model_dir)
    device = pick_device(context, torch.cuda.is_available(), torch.cuda.device_count())
    dtype = pick_dtype(os.environ.get("RERANKER_DTYPE"), device)
    LOG.info("loading %s (revision %s) on %s as %s", source, revision, device, dtype)
    tokenizer = AutoTokenizer.from_pretrained(source, revision=revision)
    model = AutoModelForSequenceClassification.from_pretrained(
        source,
        revision=revision,
        use_safetensors=not allow_pickle() or None,
        **{DTYPE_ARGUMENT: dtype},
    )
    if tokenizer.pad_token is None:  # Qwen-style rerankers: batches > 1 need a pad token
        tokenizer.pad_token = tokenizer.eos_token
        model.config.pad_token_id = tokenizer.pad_token_id
    model.to(device).eval()
    backend = TorchBackend(model, tokenizer, device, max_length, batch_size)
    return backend, tokenizer, default_activation(model.config.to_dict())


def default_activation(config: dict) -> str:
    """Return the activation sentence-transformers' CrossEncoder would apply for this config."""
    saved = (config.get("sentence_transformers") or {}).get("activation_fn")
    if saved:
        return "sigmoid" if saved.endswith("Sigmoid") else "none"
    return "sigmoid" if config.get("num_labels", len(config.get("id2label", [0]))) == 1 else "none"


def model_source(model_dir: str | None) -> tuple[str, str | None]:
    """Return (where to load from, revision): the packaged model, or a pinned Hub id."""
    hub_id = os.environ.get("RERANKER_MODEL_ID")
    packaged = bool(model_dir) and (Path(model_dir) / "config.json").is_file()
    if packaged:
        check_weights(model_dir)
        if hub_id:
            raise ModelLoadError(
                f"RERANKER_MODEL_ID={hub_id} is set but the archive holds a model too: unset it to "
                "serve the packaged model, or package no weights to serve the Hub's"
            )
        return model_dir, None
    if not hub_id:
        raise ModelLoadError(
            "no model: the archive holds no config.json at its root and RERANKER_MODEL_ID is not "
            "set (package the model's files at the root of model.tar.gz, next to code/)"
        )
    revision = os.environ.get("RERANKER_REVISION", "")
    if not re.fullmatch(r"[0-9a-f]{40}", revision):
        raise ModelLoadError(
            f"RERANKER_MODEL_ID={hub_id} needs RERANKER_REVISION set to a 40-character commit "
            "hash: a branch or tag can move, and the endpoint would serve a different model"
        )
    LOG.warning("downloading %s@%s from the Hugging Face Hub (slow cold start)", hub_id, revision)
    return hub_id, revision


def check_weights(model_dir: str) -> None:
    """Raise ModelLoadError unless model_dir holds weights this handler may load."""
    present = {name for name in SAFE_WEIGHTS + PICKLE_WEIGHTS if (Path(model_dir) / name).is_file()}
    if present & set(SAFE_WEIGHTS):
        return
    if present and allow_pickle():
        LOG.warning("loading pickled weights %s (RERANKER_ALLOW_PICKLE=1)", sorted(present))
        return
    if present:
        raise ModelLoadError(
            "the archive holds only pytorch_model.bin, a pickle that torch.load unpacks (it can "
            "run code): save the model as safetensors (save_pretrained(..., "
            "safe_serialization=True)), or set RERANKER_ALLOW_PICKLE=1 if you trust the file"
        )
    raise ModelLoadError(
        "the archive has config.json but no weights (model.safetensors): package the weight "
        "files themselves, not links to them"
    )


def allow_pickle() -> bool:
    """Return True when RERANKER_ALLOW_PICKLE=1 explicitly allows pytorch_model.bin."""
    return os.environ.get("RERANKER_ALLOW_PICKLE", "") == "1"


def pick_device(context, cuda_available: bool, gpu_count: int) -> torch.device:
    """Return the GPU the model server gave this worker (context's gpu_id), else the CPU."""
    if not cuda_available:
        return torch.device("cpu")
    gpu_id = (context.system_properties.get("gpu_id") if context is not None else None) or 0
    if not 0 <= int(gpu_id) < gpu_count:
        raise ModelLoadError(
            f"the model server assigned GPU {gpu_id}, this machine has {gpu_count}"
        )
    return torch.device("cuda", int(gpu_id))


def pick_dtype(name: str | None, device: torch.device) -> torch.dtype:
    """Return RERANKER_DTYPE's torch dtype; unset: float16 on a GPU, float32 on the CPU."""
    if not name:
        return torch.float16 if device.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise ModelLoadError(f"RERANKER_DTYPE must be one of {', '.join(DTYPES)}, not {name!r}")
    return DTYPES[name]


def load_exported(model_dir: str, *, max_length: int, batch_size: int, threads: int | None):
    """Load the exported model with code/exported_backends.py (issue 16's optimised runtimes)."""
    try:
        import exported_backends
    except ImportError as err:
        raise ModelLoadError(
            f"the archive ships {EXPORTED_MARKER} but its code/ has no exported_backends.py: "
            "package the exported model with the code that loads it"
        ) from err
    backend = exported_backends.load(
        model_dir, max_length=max_length, batch_size=batch_size, threads=threads
    )
    spec = json.loads((Path(model_dir) / EXPORTED_MARKER).read_text())
    folders = [Path(model_dir), Path(model_dir, "exported")]
    tokenizer = getattr(backend, "tokenizer", None)
    if tokenizer is None:  # needed to count a request's tokens
        found = [f for f in folders if (f / "tokenizer_config.json").is_file()]
        if not found:
            raise ModelLoadError("an exported model needs its tokenizer files in the archive")
        tokenizer = AutoTokenizer.from_pretrained(found[0])
    activation = spec.get("activation")
    if not activation:
        configs = [f / "config.json" for f in folders if (f / "config.json").is_file()]
        if not configs:
            raise ModelLoadError(
                "exported/backend.json names no activation and there is no config.json"
            )
        activation = default_activation(json.loads(configs[0].read_text()))
    return backend, tokenizer, activation
