"""Time the default profile's heavy steps on the real-dimension stand-in (random weights).

The stand-in has the real models' configs, so the work per token is the real work; its weights
are random and its tokenizers are trained on the course corpus, so the token counts are close to,
not equal to, the real ones (both are printed). Parameter counts and download sizes are computed
from the real configs, not downloaded. Each step prints its wall time and the CPU time of this
process (all threads): on a busy machine the wall time grows, the CPU time much less, so
"CPU s / threads" bounds what an idle machine would take. Run it on an otherwise idle machine:

    python -m helpers.hub_rehearsal build/rehearse-real/hub --size real-dimension
    HF_HUB_CACHE=build/rehearse-real/hub HF_HUB_OFFLINE=1 RERANK_PROFILE=default \\
        python -m helpers.hub_rehearsal.timing --pairs 2700
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

from helpers.config import DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL
from helpers.hub_rehearsal.models import parameter_count

CANDIDATES = 50  # notebook 03 scores each question's top 50 dense candidates
# Files the course needs, beside the fp32 weights (sizes from the Hub's file listings).
TOKENIZER_BYTES = {DEFAULT_EMBEDDING_MODEL: 466_000 + 232_000, DEFAULT_RERANKER_MODEL: 22_170_000}


def machine() -> str:
    """Return the CPU model, core count, torch threads and the load average."""
    model = platform.processor() or "unknown CPU"
    with open("/proc/cpuinfo") as info:  # Linux: the marketing name of the CPU
        names = [line.split(":", 1)[1].strip() for line in info if line.startswith("model name")]
    import torch

    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{names[0] if names else model}; {os.cpu_count()} cores; torch threads "
        f"{torch.get_num_threads()}; load average {load}"
    )


def seconds(step, repeats: int = 3) -> tuple[float, float]:
    """Return the median (wall, CPU) seconds of ``step()`` over ``repeats`` runs."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def shown(wall_cpu: tuple[float, float]) -> str:
    """Return 'wall 1.2 s, CPU 2.0 s'."""
    return f"wall {wall_cpu[0]:.1f} s, CPU {wall_cpu[1]:.1f} s"


def model_facts() -> list[str]:
    """Return one line per default model: parameters and download size, computed."""
    lines = []
    for repo_id in (DEFAULT_EMBEDDING_MODEL, DEFAULT_RERANKER_MODEL):
        params = parameter_count(repo_id)
        download = 4 * params + TOKENIZER_BYTES[repo_id]
        lines.append(
            f"{repo_id}: {params / 1e6:.1f} M parameters, {download / 1e9:.2f} GB to download "
            "(fp32 safetensors + tokenizer; computed from the config)"
        )
    return lines


def question_pairs(chunks, retriever, questions: int) -> list[list[tuple[str, str]]]:
    """Return notebook 03's workload: each question with its top dense candidates."""
    from helpers.evaluation import load_queries

    queries = [q["query"] for q in load_queries()][:questions]
    return [[(q, d.page_content) for d in retriever.invoke(q)] for q in queries]


def main(argv: list[str] | None = None) -> int:
    """Measure and print the default profile's heavy steps."""
    parser = argparse.ArgumentParser(prog="python -m helpers.hub_rehearsal.timing")
    parser.add_argument("--pairs", type=int, default=2700, help="notebook 03's pair count")
    parser.add_argument("--questions", type=int, default=4, help="questions actually scored")
    parser.add_argument("--threads", type=int, help="torch threads (default: as the notebooks)")
    args = parser.parse_args(argv)
    from helpers import (
        build_faiss_retriever,
        load_config,
        make_embeddings,
        set_cpu_threads,
        split_corpus,
    )
    from helpers.reranking import make_cross_encoder

    set_cpu_threads(args.threads)
    if load_config().profile != "default":
        parser.error("set RERANK_PROFILE=default (and HF_HUB_CACHE to the stand-in cache)")
    print("machine:", machine())
    print("\n".join(model_facts()))
    chunks = split_corpus()
    texts = [chunk.page_content for chunk in chunks]
    embeddings = None

    def load_embeddings():
        nonlocal embeddings
        embeddings = make_embeddings(device="cpu")

    print("load the embedding model:", shown(seconds(load_embeddings, repeats=1)))
    embed = seconds(lambda: embeddings.embed_documents(texts), repeats=2)
    print(f"embed the corpus ({len(texts)} chunks):", shown(embed))
    retriever = build_faiss_retriever(chunks, embeddings, k=CANDIDATES)
    cross_encoder = make_cross_encoder(device="cpu")
    workload = question_pairs(chunks, retriever, args.questions)
    twenty = workload[0][:20]
    cross_encoder.score(twenty)  # warm-up
    print(
        "score 20 pairs (k=20, one question):", shown(seconds(lambda: cross_encoder.score(twenty)))
    )
    wall, cpu = seconds(lambda: [cross_encoder.score(pairs) for pairs in workload], repeats=1)
    scored = sum(map(len, workload))
    tokens = cross_encoder.client.tokenizer([q for q, _ in twenty], [d for _, d in twenty])
    mean_tokens = statistics.mean(len(ids) for ids in tokens["input_ids"])
    scale = args.pairs / scored / 60
    print(
        f"notebook 03's scoring: {scored} pairs measured ({shown((wall, cpu))}) -> {args.pairs} "
        f"pairs about {wall * scale:.1f} min wall, {cpu * scale:.1f} min CPU (extrapolated); "
        f"{mean_tokens:.0f} stand-in tokens a pair"
    )
    print("machine after:", machine())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
