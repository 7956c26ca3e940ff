"""What the benchmark measures, how much of it, and the goals it checks (notebook 05)."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 2
# Every backend the bench knows, fastest-to-build first. bf16 rows run only on CPUs with bf16.
BACKENDS = (
    "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8-dynamic", "onnx-int8-static",
    "openvino-fp32", "openvino-bf16", "openvino-int8", "openvino-int8-bf16",
)  # fmt: skip
REFERENCE = "torch-fp32"
SECTIONS = ("throughput", "quality", "langchain", "latency", "sagemaker", "threads")
TITLES = {
    "throughput": "1. Cross-encoder throughput by backend, batch size and max_length",
    "quality": "2. Each backend on the course's request: speed-up and ranking quality",
    "langchain": "3. LangChain path vs raw CrossEncoder.predict",
    "latency": "4. End-to-end query latency by stage",
    "sagemaker": "5. Local SageMaker serving (HTTP through MMS) vs in-process",
    "threads": "6. Torch threads",
}
GOALS = {
    # fastest backend: speed-up over torch fp32 at >= 99% of its nDCG@10, where VNNI or AMX exist
    "quality": (3.0, 0.99),
    "langchain": 1.05,  # wrapper time / raw predict
    "latency": 0.10,  # share of a query's time that is not the cross-encoder
    "sagemaker": 1.15,  # HTTP / in-process, 20 pairs per call
}
MIN_TIMING_SAMPLES = 30  # latency and HTTP verdicts rest on at least this many calls


@dataclass
class Settings:
    """How much to measure. ``--quick`` cuts repetitions and grid points, never the queries
    behind a verdict: quality ranks every answerable labelled question (times at least 30)."""

    quick: bool = False
    repetitions: int = 3  # throughput grid: interleaved repetitions per point
    warmup: int = 1
    batch_sizes: tuple[int, ...] = (1, 8, 16, 32, 64)
    max_lengths: tuple[int, ...] = (128, 256, 512)
    grid_max_length: int = 256
    min_pairs_per_repetition: int = 16  # each batch size scores max(this, batch size) pairs
    long_pairs_per_repetition: int = 8
    candidates: int = 20  # the course's k: dense top-20 per question, one request each
    default_batch_size: int = 32  # CrossEncoder.predict's default
    default_max_length: int = 512  # make_cross_encoder's default
    langchain_queries: int = 4
    langchain_repetitions: int = 8
    latency_queries: int = MIN_TIMING_SAMPLES
    latency_passes: int = 2  # each query is timed this many times per k (samples: queries x passes)
    ks: tuple[int, ...] = (10, 20, 50)
    sagemaker_calls: int = MIN_TIMING_SAMPLES
    sagemaker_pair_counts: tuple[int, ...] = (20, 5)  # 20: the course's request; 5: a small one
    threads_pairs: int = 32
    threads: tuple[int, ...] = (1, 2)
    backends: tuple[str, ...] = BACKENDS
    calibration_queries: int = 15  # pseudo-questions x their dense top-20 = 300 calibration pairs
    bootstrap_resamples: int = 2000
    timed_questions: int | None = None  # quality: questions timed (None: all); scores are cached
    seed: int = 0

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        """Return the full settings, or the quick ones (fewer repetitions and grid points)."""
        if not quick:
            return cls()
        return cls(
            quick=True, repetitions=2, batch_sizes=(1, 8, 32), max_lengths=(128, 512),
            long_pairs_per_repetition=4, langchain_queries=2, langchain_repetitions=4,
            latency_passes=1, threads_pairs=16, bootstrap_resamples=1000,
            timed_questions=MIN_TIMING_SAMPLES,
        )  # fmt: skip
