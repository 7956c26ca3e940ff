"""Tokenizers for the stand-in models, trained with `tokenizers` on the course corpus."""

from __future__ import annotations

import json
from pathlib import Path

WORDPIECE_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
XLMR_SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]
# Printable ASCII is always in the vocabulary, whatever the corpus lacks (e.g. "!"), as in the
# real tokenizers: a learner's own question should not turn into unknown tokens.
ALPHABET = [chr(code) for code in range(33, 127)]


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
    # The trainer orders (and, at the vocabulary's cut, picks) equally frequent tokens differently
    # from run to run: a fixed order at least keeps a token's seeded embedding row across builds.
    learned = sorted(set(tokenizer.get_vocab()) - set(WORDPIECE_SPECIALS))
    vocab = {token: i for i, token in enumerate(WORDPIECE_SPECIALS + learned)}
    tokenizer.model = models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100)
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
    # What transformers' XLMRobertaConverter builds from a SentencePiece model: the real one's
    # precompiled nmt_nfkc charsmap is NFKC that also turns newlines and tabs into spaces.
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.Replace(Regex("[\n\r\t]"), " "),
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
    pieces = json.loads(tokenizer.to_str())["model"]["vocab"][len(XLMR_SPECIALS) :]
    pieces.sort()  # the set is stable across runs, the order and the last digits of scores are not
    specials = [(token, 0.0) for token in XLMR_SPECIALS]
    tokenizer.model = models.Unigram(specials + [tuple(p) for p in pieces], unk_id=3)
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
