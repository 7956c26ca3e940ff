"""CPU threads (introduced in notebook 01)."""

import os


def set_cpu_threads(threads: int | None = None) -> int:
    """Set torch's CPU threads (default: RERANK_THREADS, else all cores); return the count."""
    import torch

    count = threads or int(os.environ.get("RERANK_THREADS", 0)) or os.cpu_count() or 1
    torch.set_num_threads(count)
    return count
