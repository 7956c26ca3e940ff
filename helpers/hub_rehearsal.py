"""A stand-in Hugging Face cache of the default profile's models, for rehearsals (`make rehearse`).

Writes, under a given ``HF_HUB_CACHE``, ``sentence-transformers/msmarco-distilbert-dot-v5`` and
``BAAI/bge-reranker-base`` exactly as ``huggingface_hub`` lays out a download
(``models--ORG--NAME/blobs/<hash>``, ``refs/main``, ``snapshots/<commit>/`` of relative links into
``../../blobs``), with the real repositories' file sets and configuration keys, but seeded random
weights and tokenizers trained with ``tokenizers`` on the course corpus. It lets the default
profile's code run end to end without the Hub. Nothing it computes is a result: its scores and
rankings are noise, never shown or committed.

Sizes: ``small`` (tiny dimensions, for CI) and ``real-dimension`` (the real configs' sizes, for
timing only). The ``onnx/``, ``openvino/`` and ``tf_model.h5`` files the real repositories also
ship are placeholder bytes: nothing in the course loads them; they are there so that packaging's
allow-list is tested against the real file set.

CLI: ``python -m helpers.hub_rehearsal HF_HUB_CACHE [--size small|real-dimension]``
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import os
from pathlib import Path

from helpers.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL

SIZES = ("small", "real-dimension")
SEED = 12
PLACEHOLDER = b"rerank-lab stand-in: the real repository ships a %s here; nothing loads it.\n"

# The real repositories' configs (keys and values as published); "small" shrinks the sizes.
DISTILBERT_CONFIG = {
    "_name_or_path": "final-models/distilbert-margin_mse-sym_mnrl-mean-v1/",
    "activation": "gelu",
    "architectures": ["DistilBertModel"],
    "attention_dropout": 0.1,
    "dim": 768,
    "dropout": 0.1,
    "hidden_dim": 3072,
    "initializer_range": 0.02,
    "max_position_embeddings": 512,
    "model_type": "distilbert",
    "n_heads": 12,
    "n_layers": 6,
    "pad_token_id": 0,
    "qa_dropout": 0.1,
    "seq_classif_dropout": 0.2,
    "sinusoidal_pos_embds": False,
    "tie_weights_": True,
    "torch_dtype": "float32",
    "transformers_version": "4.6.1",
    "vocab_size": 30522,
}
XLMR_CONFIG = {
    "_name_or_path": "BAAI/bge-reranker-base",
    "architectures": ["XLMRobertaForSequenceClassification"],
    "attention_probs_dropout_prob": 0.1,
    "bos_token_id": 0,
    "classifier_dropout": None,
    "eos_token_id": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "hidden_size": 768,
    "id2label": {"0": "LABEL_0"},
    "initializer_range": 0.02,
    "intermediate_size": 3072,
    "label2id": {"LABEL_0": 0},
    "layer_norm_eps": 1e-05,
    "max_position_embeddings": 514,
    "model_type": "xlm-roberta",
    "num_attention_heads": 12,
    "num_hidden_layers": 12,
    "output_past": True,
    "pad_token_id": 1,
    "position_embedding_type": "absolute",
    "torch_dtype": "float32",
    "transformers_version": "4.34.0.dev0",
    "type_vocab_size": 1,
    "use_cache": True,
    "vocab_size": 250002,
}
SMALL = {
    "distilbert": {"dim": 32, "hidden_dim": 64, "n_heads": 2, "n_layers": 2},
    "xlm-roberta": {
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_attention_heads": 2,
        "num_hidden_layers": 2,
    },
}
TOKENIZER_VOCAB = {"small": 2000, "real-dimension": 8000}  # what the corpus can teach
ST_MODULES = "sentence_transformers.models"  # the module path the 2021 modules.json names
WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
XLMR_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
# Printable ASCII is always in the vocabulary, whatever the corpus lacks (e.g. "!"), as in the
# real tokenizers: a learner's own question should not turn into unknown tokens.
ALPHABET = [chr(code) for code in range(33, 127)]


def _blob_hash(path: str, data: bytes, lfs_patterns: list[str]) -> str:
    # As on the Hub: LFS files are named by their SHA-256, other files by their git blob SHA-1.
    if any(fnmatch.fnmatch(Path(path).name, pattern) for pattern in lfs_patterns):
        return hashlib.sha256(data).hexdigest()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def write_repo(cache_dir, repo_id: str, files: dict[str, bytes]) -> Path:
    """Lay ``files`` out as a Hub download in ``cache_dir``; return the snapshot folder."""
    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    attributes = files.get(".gitattributes", b"").decode().splitlines()
    lfs = [line.split()[0] for line in attributes if "filter=lfs" in line]
    hashes = {path: _blob_hash(path, data, lfs) for path, data in sorted(files.items())}
    commit = hashlib.sha1(json.dumps(hashes, sort_keys=True).encode()).hexdigest()
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    snapshot = repo / "snapshots" / commit
    for path, data in files.items():
        blob = repo / "blobs" / hashes[path]
        if not blob.exists():
            blob.write_bytes(data)
        link = snapshot / path
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to(os.path.relpath(blob, link.parent))
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def snapshot_path(cache_dir, repo_id: str) -> Path:
    """Return the snapshot folder that refs/main points at, as huggingface_hub resolves it."""
    repo = Path(cache_dir) / f"models--{repo_id.replace('/', '--')}"
    return repo / "snapshots" / (repo / "refs" / "main").read_text().strip()


def corpus_lines() -> list[str]:
    """Return the course corpus as non-empty lines (the tokenizers' training text)."""
    from helpers.data import corpus_path

    text = Path(corpus_path()).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def wordpiece_tokenizer(lines: list[str], vocab_size: int):
    """Train a lower-casing BERT WordPiece tokenizer ([CLS] A [SEP] B [SEP]) on ``lines``."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from tokenizers.trainers import WordPieceTrainer

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=None)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = WordPieceTrainer(
        vocab_size=vocab_size,
        special_tokens=WORDPIECE_SPECIALS,
        initial_alphabet=ALPHABET,
        show_progress=False,
    )
    tokenizer.train_from_iterator(lines, trainer)
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)],
    )
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def unigram_tokenizer(lines: list[str], vocab_size: int):
    """Train an XLM-R style Unigram tokenizer (<s> A </s></s> B </s>, <mask> last) on ``lines``."""
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )
    from tokenizers.trainers import UnigramTrainer

    tokenizer = Tokenizer(models.Unigram())
    # What transformers' XLMRobertaConverter builds from a SentencePiece model, NFKC first.
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.Strip(left=False, right=True),
            normalizers.Replace(Regex(" {2,}"), "▁"),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    trainer = UnigramTrainer(
        vocab_size=vocab_size,
        special_tokens=XLMR_SPECIALS,
        unk_token="<unk>",
        initial_alphabet=ALPHABET,
        show_progress=False,
    )
    tokenizer.train_from_iterator(lines, trainer)
    tokenizer.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False)])
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", 0), ("</s>", 2)],
    )
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    return tokenizer


def sentencepiece_model(tokenizer) -> bytes:
    """Return the Unigram vocabulary as a SentencePiece model file (sentencepiece.bpe.model).

    fairseq's XLM-R ids are the SentencePiece ids + 1 (<pad> is fairseq's own), as in the real one.
    """
    from transformers.convert_slow_tokenizer import import_protobuf

    proto = import_protobuf().ModelProto()
    vocab = json.loads(tokenizer.to_str())["model"]["vocab"]
    normal, unknown, control = 1, 2, 3  # SentencePiece's piece types
    for piece, score, kind in (("<unk>", 0.0, unknown), ("<s>", 0.0, control)):
        proto.pieces.add(piece=piece, score=score, type=kind)
    proto.pieces.add(piece="</s>", score=0.0, type=control)
    for piece, score in vocab[len(XLMR_SPECIALS) :]:
        proto.pieces.add(piece=piece, score=score, type=normal)
    proto.trainer_spec.model_type = 1  # UNIGRAM
    proto.trainer_spec.vocab_size = len(proto.pieces)
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id, proto.trainer_spec.eos_id = 0, 1, 2
    proto.trainer_spec.pad_id = -1
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    return proto.SerializeToString()


def _json(value) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def _weights(model) -> dict[str, bytes]:
    """Return the model's weights as the Hub ships them: safetensors and a pickled .bin twin."""
    import torch
    from safetensors.torch import save

    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return {
        "model.safetensors": save(state, metadata={"format": "pt"}),
        "pytorch_model.bin": buffer.getvalue(),
    }


def _sized(config: dict, size: str, vocab: int) -> dict:
    if size == "real-dimension":
        return dict(config)
    return {**config, **SMALL[config["model_type"]], "vocab_size": vocab}


def _card(repo_id: str, size: str) -> bytes:
    return (
        f"---\nlibrary_name: transformers\ntags:\n- rerank-lab-stand-in\n---\n# {repo_id} "
        f"(rerank-lab stand-in, {size})\n\nSeeded random weights with the real repository's files "
        "and configuration. Its outputs are noise: never a result.\n"
    ).encode()


def embedding_files(lines, size: str = "small", similarity: str = "dot") -> dict[str, bytes]:
    """Return msmarco-distilbert-dot-v5's file set with seeded random weights."""
    import torch
    from transformers import DistilBertConfig, DistilBertModel

    tokenizer = wordpiece_tokenizer(lines, TOKENIZER_VOCAB[size])
    config = _sized(DISTILBERT_CONFIG, size, tokenizer.get_vocab_size())
    torch.manual_seed(SEED)
    model = DistilBertModel(DistilBertConfig(**config)).eval()
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])
    tokens = {f"{role}_token": f"[{role.upper()}]" for role in ("unk", "sep", "pad", "cls", "mask")}
    return {
        ".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
        b"*.h5 filter=lfs diff=lfs merge=lfs -text\n"
        b"*.onnx filter=lfs diff=lfs merge=lfs -text\n"
        b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": _card(DEFAULT_EMBEDDING_MODEL, size),
        "config.json": _json(config),
        "config_sentence_transformers.json": _json(
            {
                "__version__": {
                    "sentence_transformers": "3.0.0.dev0",
                    "transformers": "4.41.0.dev0",
                    "pytorch": "2.3.0+cu121",
                },
                "prompts": {},
                "default_prompt_name": None,
                "similarity_fn_name": similarity,
            }
        ),
        "modules.json": _json(
            [
                {"idx": 0, "name": "0", "path": "", "type": f"{ST_MODULES}.Transformer"},
                {"idx": 1, "name": "1", "path": "1_Pooling", "type": f"{ST_MODULES}.Pooling"},
            ]
        ),
        "sentence_bert_config.json": _json({"max_seq_length": 512, "do_lower_case": False}),
        "1_Pooling/config.json": _json(
            {
                "word_embedding_dimension": config["dim"],
                "pooling_mode_cls_token": False,
                "pooling_mode_mean_tokens": True,
                "pooling_mode_max_tokens": False,
                "pooling_mode_mean_sqrt_len_tokens": False,
            }
        ),
        "special_tokens_map.json": _json(tokens),
        "tokenizer_config.json": _json(
            {
                "do_lower_case": True,
                **tokens,
                "tokenize_chinese_chars": True,
                "strip_accents": None,
                "model_max_length": 512,
                "special_tokens_map_file": None,
                "name_or_path": DISTILBERT_CONFIG["_name_or_path"],
            }
        ),
        "tokenizer.json": tokenizer.to_str().encode(),
        "vocab.txt": "".join(f"{token}\n" for token, _ in vocab).encode(),
        **_weights(model),
        "tf_model.h5": PLACEHOLDER % b"TensorFlow checkpoint",
        "onnx/model.onnx": PLACEHOLDER % b"ONNX export",
        "onnx/model_qint8_avx512_vnni.onnx": PLACEHOLDER % b"quantised ONNX export",
        "openvino/openvino_model.xml": PLACEHOLDER % b"OpenVINO graph",
        "openvino/openvino_model.bin": PLACEHOLDER % b"OpenVINO weights file",
    }


def reranker_files(lines, size: str = "small") -> dict[str, bytes]:
    """Return bge-reranker-base's file set with seeded random weights (one label, raw logit)."""
    import torch
    from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

    tokenizer = unigram_tokenizer(lines, TOKENIZER_VOCAB[size])
    config = _sized(XLMR_CONFIG, size, tokenizer.get_vocab_size())
    torch.manual_seed(SEED)
    model = XLMRobertaForSequenceClassification(XLMRobertaConfig(**config)).eval()
    with torch.no_grad():  # a wider head than the default init: scores spread, as a reranker's do
        model.classifier.out_proj.weight.normal_(0.0, 0.5)
    mask = {
        "__type": "AddedToken",
        "content": "<mask>",
        "lstrip": True,
        "normalized": True,
        "rstrip": False,
        "single_word": False,
    }
    roles = {"bos": "<s>", "cls": "<s>", "eos": "</s>", "pad": "<pad>", "sep": "</s>"}
    tokens = {f"{role}_token": token for role, token in roles.items()}
    special_map = {**tokens, "mask_token": {k: v for k, v in mask.items() if k != "__type"}}
    return {
        ".gitattributes": b"*.bin filter=lfs diff=lfs merge=lfs -text\n"
        b"*.model filter=lfs diff=lfs merge=lfs -text\n"
        b"*.onnx filter=lfs diff=lfs merge=lfs -text\n"
        b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"
        b"tokenizer.json filter=lfs diff=lfs merge=lfs -text\n",
        "README.md": _card(DEFAULT_RERANKER_MODEL, size),
        "config.json": _json(config),
        "sentencepiece.bpe.model": sentencepiece_model(tokenizer),
        "special_tokens_map.json": _json({**special_map, "unk_token": "<unk>"}),
        "tokenizer_config.json": _json(
            {
                **{k: v for k, v in tokens.items() if k != "pad_token"},
                "clean_up_tokenization_spaces": True,
                "mask_token": mask,
                "model_max_length": 512,
                "pad_token": "<pad>",
                "sp_model_kwargs": {},
                "tokenizer_class": "XLMRobertaTokenizer",
                "unk_token": "<unk>",
            }
        ),
        "tokenizer.json": tokenizer.to_str().encode(),
        **_weights(model),
        "onnx/model.onnx": PLACEHOLDER % b"ONNX export",
    }


def build_cache(cache_dir, size: str = "small") -> dict[str, Path]:
    """Write both seed models into ``cache_dir``; return {repo id: snapshot folder}."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}, not {size!r}")
    lines = corpus_lines()
    return {
        DEFAULT_EMBEDDING_MODEL: write_repo(
            cache_dir, DEFAULT_EMBEDDING_MODEL, embedding_files(lines, size)
        ),
        DEFAULT_RERANKER_MODEL: write_repo(
            cache_dir, DEFAULT_RERANKER_MODEL, reranker_files(lines, size)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Build the stand-in cache and print each snapshot folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cache_dir", type=Path, help="the HF_HUB_CACHE folder to write")
    parser.add_argument("--size", choices=SIZES, default="small")
    args = parser.parse_args(argv)
    for repo_id, snapshot in build_cache(args.cache_dir, args.size).items():
        print(f"{repo_id:<50} {snapshot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
