"""Capacity arithmetic from a load test's measurement (notebook 07 and its exercise check)."""

from __future__ import annotations

import math


def instances_needed(target_rps: float, rps_per_instance: float, utilisation=0.7) -> int:
    """Return the instance count for target_rps, each run at `utilisation` of its measured rate."""
    return max(1, math.ceil(target_rps / (rps_per_instance * utilisation)))
