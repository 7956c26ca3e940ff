"""Section 6: 1 vs 2 threads, for torch fp32 and the backend section 2 picked.

One torch thread per physical core is the usual best; on a 2-core machine with something else
running, 2 threads can be slower than 1 (the threads wait for each other).
"""

from __future__ import annotations

from helpers.timing import interleaved, paired_ratios
from tools.bench.settings import REFERENCE, Settings
from tools.bench.stats import measurement
from tools.bench.workload import Workload, spread


def bench_threads(scorers: dict, workload: Workload, settings: Settings, batch: int, best) -> dict:
    """Throughput with each thread count: torch fp32 (set_num_threads) and the chosen backend."""
    import torch

    pairs = spread(workload.pairs, settings.threads_pairs)
    length = settings.grid_max_length
    contenders, previous = {}, torch.get_num_threads()

    def torch_with(count, scorer):
        def call():
            torch.set_num_threads(count)
            scorer.score(pairs, batch, length)

        return call

    names = [REFERENCE] + ([best] if best and best != REFERENCE else [])
    for name in names:
        for count in settings.threads:
            if scorers[name].engine == "torch":
                call = torch_with(count, scorers[name])
            else:
                rebuilt = scorers[name].rebuild(count)
                call = lambda s=rebuilt: s.score(pairs, batch, length)  # noqa: E731
            contenders[f"{name}, {count} thread(s)"] = call
    try:
        seconds = interleaved(contenders, settings.repetitions, settings.warmup)
    finally:
        torch.set_num_threads(previous)
    measurements = [
        measurement(name, [len(pairs) / s for s in values], "pairs/s", batch_size=batch,
                    max_length=length)
        for name, values in seconds.items()
    ]  # fmt: skip
    low, high = min(settings.threads), max(settings.threads)
    ratios = [
        measurement(
            f"{name}: {high} vs {low} threads",
            paired_ratios(
                seconds[f"{name}, {low} thread(s)"], seconds[f"{name}, {high} thread(s)"]
            ),
            "× speed-up",
        )
        for name in names
    ]
    return {
        "status": "ok",
        "batch_size": batch,
        "max_length": length,
        "measurements": measurements,
        "ratios": ratios,
    }
