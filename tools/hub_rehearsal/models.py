"""The two seed repositories' files, with seeded random weights (make rehearse)."""

from __future__ import annotations

import io
import json
from pathlib import Path

from helpers.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL
from tools.hub_rehearsal.layout import write_repo
from tools.hub_rehearsal.vocab import (
    corpus_lines,
    sentencepiece_model,
    unigram_tokenizer,
    wordpiece_tokenizer,
)

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


def parameter_count(repo_id: str) -> int:
    """Return the real model's parameter count, computed from its published config (no weights)."""
    import torch
    from transformers import (
        DistilBertConfig,
        DistilBertModel,
        XLMRobertaConfig,
        XLMRobertaForSequenceClassification,
    )

    classes = {
        DEFAULT_EMBEDDING_MODEL: (DistilBertConfig, DistilBertModel, DISTILBERT_CONFIG),
        DEFAULT_RERANKER_MODEL: (
            XLMRobertaConfig,
            XLMRobertaForSequenceClassification,
            XLMR_CONFIG,
        ),
    }
    config_class, model_class, config = classes[repo_id]
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = model_class(config_class(**config))
    return sum(parameter.numel() for parameter in model.parameters())


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
