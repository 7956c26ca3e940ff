"""CPU threads and timing (introduced in notebook 01)."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass


def set_cpu_threads(threads: int | None = None) -> int:
    """Set torch's CPU threads (default: RERANK_THREADS, else all cores); return the count."""
    import torch

    count = threads or int(os.environ.get("RERANK_THREADS", 0)) or os.cpu_count() or 1
    torch.set_num_threads(count)
    return count


@dataclass
class Timing:
    label: str
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"{self.label}: {self.seconds * 1000:.1f} ms"


@contextmanager
def timed(label: str = "elapsed"):
    """Measure the wall time of a ``with`` block; read ``.seconds`` afterwards."""
    timing = Timing(label)
    start = time.perf_counter()
    try:
        yield timing
    finally:
        timing.seconds = time.perf_counter() - start
