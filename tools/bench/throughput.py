"""Section 1: pairs per second by backend, batch size and max_length (notebook 05).

Every backend runs the batch-size grid at ``grid_max_length`` on the course's real pairs, then
the max_length sweep at torch fp32's fastest batch size on long passages (four consecutive
chunks, ~2,000 characters) so that truncation binds. Contenders are interleaved, each warmed up
on one batch of the same shape; speed-ups are per-repetition ratios. These grids show the shape
of the curves; the verdict on backends is section 2's, over every question.
"""

from __future__ import annotations

from helpers.timing import interleaved, paired_ratios
from tools.bench.settings import REFERENCE, Settings
from tools.bench.stats import measurement
from tools.bench.workload import Workload, spread


def _record(seconds, pairs, kind, **labels) -> tuple[list, list]:
    """Return throughput records for one sweep point, and each backend's speed-up over fp32."""
    records = [
        measurement(name, [len(pairs) / s for s in values], "pairs/s", **labels)
        for name, values in seconds.items()
    ]
    ratios = [
        measurement(name, paired_ratios(seconds[REFERENCE], values), "× vs torch-fp32",
                    kind=kind, **labels)
        for name, values in seconds.items()
        if name != REFERENCE and REFERENCE in seconds
    ]  # fmt: skip
    return records, ratios


def sweep(scorers: dict, pairs: list, batch_size: int, max_length: int, settings: Settings):
    """Time every scorer on the same pairs, interleaved, after a warm-up on one batch."""
    for _ in range(settings.warmup):
        for scorer in scorers.values():
            scorer.score(pairs[:batch_size], batch_size, max_length)
    return interleaved(
        {n: (lambda s=s: s.score(pairs, batch_size, max_length)) for n, s in scorers.items()},
        settings.repetitions,
        warmup=0,
    )


def bench_throughput(scorers: dict, workload: Workload, settings: Settings) -> dict:
    """Throughput over the batch grid and the max_length sweep, with speed-ups over fp32."""
    measurements, ratios = [], []
    for batch_size in settings.batch_sizes:
        pairs = spread(workload.pairs, max(batch_size, settings.min_pairs_per_repetition))
        seconds = sweep(scorers, pairs, batch_size, settings.grid_max_length, settings)
        found = _record(
            seconds, pairs, "speed-up", batch_size=batch_size,
            max_length=settings.grid_max_length, sweep="batch_size", workload="course chunks",
        )  # fmt: skip
        measurements += found[0]
        ratios += found[1]
    fastest = max((m for m in measurements if m["name"] == REFERENCE), key=lambda m: m["median"])[
        "batch_size"
    ]
    long_pairs = spread(workload.long_pairs, settings.long_pairs_per_repetition, seed=1)
    for max_length in settings.max_lengths:
        seconds = sweep(scorers, long_pairs, fastest, max_length, settings)
        found = _record(
            seconds, long_pairs, "speed-up (long)", batch_size=fastest, max_length=max_length,
            sweep="max_length", workload="long passages (4 chunks)",
        )  # fmt: skip
        measurements += found[0]
        ratios += found[1]
    return {
        "status": "ok",
        "best_torch_batch_size": fastest,
        "grid_max_length": settings.grid_max_length,
        "measurements": measurements,
        "ratios": ratios,
    }
