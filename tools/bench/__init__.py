"""Benchmarks that show what reranking costs on this machine, and what to ship (notebook 05).

``python -m tools.bench [--quick] [--out build/bench] [--model PATH] [--threads N] [--reuse HOURS]``
(from the repository root) measures six things side by side and writes ``results.json`` (each
section's table under "tables", the decision, the backend to ship), ``results.md`` and PNG plots:

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
``__main__`` (the command line: also ``--table NAME`` and ``ship``). Notebook 05 runs it as a
command and reads what it wrote; it does not import ``tools``.
"""

from tools.bench.quality import best_backend
from tools.bench.runner import run, saved_run
from tools.bench.settings import BACKENDS, GOALS, SECTIONS, TITLES, Settings
from tools.bench.tables import (
    langchain_table,
    latency_table,
    quality_table,
    report,
    sagemaker_table,
    threads_table,
    throughput_tables,
    validate_results,
)
from tools.bench.verdicts import decision, goals, summary_lines

__all__ = [
    "BACKENDS", "GOALS", "SECTIONS", "TITLES", "Settings", "best_backend", "decision", "goals",
    "langchain_table", "latency_table", "quality_table", "report", "run", "sagemaker_table",
    "saved_run", "summary_lines", "threads_table", "throughput_tables", "validate_results",
]  # fmt: skip
