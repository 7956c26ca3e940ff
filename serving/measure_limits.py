"""Time the worst request RERANKER_MAX_TOKENS allows, on this CPU, for bge-reranker-base's size.

Run with .venv-serve's python: ``python serving/measure_limits.py [--tokens 8192] [--repeats 5]``.
It builds a random-weight XLM-R with BAAI/bge-reranker-base's dimensions (no download), times
``tokens / 512`` pairs of 512 tokens in fp32 at 1 and 2 threads, interleaved with a 2048^3 fp32
GEMM on the same threads, and prints the model's FLOP rate as a share of the GEMM's. That share
carries to another CPU better than seconds do: multiply it by that CPU's GEMM rate to estimate
the worst request there (serving/README.md, "Limits", does this for an ml.m5.xlarge).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch
from transformers import XLMRobertaConfig, XLMRobertaForSequenceClassification

BGE_BASE = dict(  # BAAI/bge-reranker-base's config.json, without the weights
    vocab_size=250002, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072, max_position_embeddings=514, type_vocab_size=1,
    layer_norm_eps=1e-5, num_labels=1, pad_token_id=1,
)  # fmt: skip


def flop_per_token(length: int, hidden=768, ffn=3072, layers=12) -> int:
    """Return the forward FLOP per token: weight matmuls plus attention over `length` tokens."""
    return layers * (2 * (4 * hidden * hidden + 2 * hidden * ffn) + 4 * length * hidden)


def cpu_flags() -> str:
    """Return the vector-instruction flags of this CPU that matter for fp32 and low precision."""
    try:
        flags = open("/proc/cpuinfo").read().split("flags", 1)[1].split("\n", 1)[0].split()
    except (OSError, IndexError):
        return "unknown"
    wanted = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile")
    return " ".join(flag for flag in wanted if flag in flags) or "none of AVX2/AVX-512/AMX"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8192, help="RERANKER_MAX_TOKENS to time")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model = XLMRobertaForSequenceClassification(XLMRobertaConfig(**BGE_BASE)).eval()
    pairs = max(1, args.tokens // 512)
    ids = torch.randint(5, 30000, (pairs, 512))
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    model_flop, gemm_flop = flop_per_token(512) * 512 * pairs, 2 * 2048**3
    print(f"CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs,")
    print(f"     flags: {cpu_flags()}; load average {os.getloadavg()[0]:.1f}")
    print(f"worst request: {pairs} pairs x 512 tokens = {model_flop / 1e12:.2f} TFLOP (fp32)")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        seconds, shares = [], []
        with torch.inference_mode():
            model(**batch)
            for _ in range(args.repeats):
                started = time.perf_counter()
                torch.mm(a, b)
                gemm = gemm_flop / (time.perf_counter() - started)
                started = time.perf_counter()
                model(**batch)
                seconds.append(time.perf_counter() - started)
                shares.append(model_flop / seconds[-1] / gemm)
        seconds.sort(), shares.sort()
        median, share = seconds[len(seconds) // 2], shares[len(shares) // 2]
        print(f"{threads} thread(s): median {median:.1f} s (best {seconds[0]:.1f} s), ", end="")
        print(f"model at {share:.2f}x the GEMM's FLOP rate")


if __name__ == "__main__":
    main()
