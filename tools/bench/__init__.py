"""Benchmarks that show what reranking costs on this machine, and what to ship (notebook 05).

``python -m helpers.bench [--quick] [--out build/bench] [--model PATH] [--threads N]`` measures
six things side by side and writes ``results.json``, ``results.md`` and PNG plots:

1. throughput (pairs/s) of every CPU backend by batch size and max_length;
2. every backend on the course's request (20 pairs) over every answerable labelled question:
   speed-up and nDCG@10 against torch fp32, with a bootstrap interval;
3. LangChain's reranking wrappers against a raw ``CrossEncoder.predict``;
4. end-to-end query latency split into embedding, FAISS search and rerank, for k = 10, 20, 50;
5. the local SageMaker endpoint (HTTP through MMS) against the same handler in-process;
6. 1 vs 2 threads.

One module a job, in reading order: ``helpers.timing`` (warm-up, interleaving, medians: the core)
and ``stats`` (paired differences, bootstrap); ``settings``; ``machine`` (CPU, instruction sets,
libraries); ``workload``; ``export`` and ``scorers`` (the backends); one module per section
(``throughput``, ``quality``, ``overhead``, ``latency``, ``serving``, ``threads``);
``verdicts``, ``tables`` (the report) and ``plots``; ``runner``; ``ship`` (package the winner);
``__main__`` (the command line).
"""

from helpers.bench.quality import best_backend
from helpers.bench.runner import load_or_run, run
from helpers.bench.settings import BACKENDS, GOALS, SECTIONS, TITLES, Settings
from helpers.bench.tables import (
    langchain_table,
    latency_table,
    quality_table,
    report,
    sagemaker_table,
    threads_table,
    throughput_tables,
    validate_results,
)
from helpers.bench.verdicts import decision, goals, summary_lines

__all__ = [
    "BACKENDS", "GOALS", "SECTIONS", "TITLES", "Settings", "best_backend", "decision", "goals",
    "langchain_table", "latency_table", "load_or_run", "quality_table", "report", "run",
    "sagemaker_table", "summary_lines", "threads_table", "throughput_tables", "validate_results",
]  # fmt: skip
