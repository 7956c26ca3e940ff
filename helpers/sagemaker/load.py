"""Load a local endpoint: N requests from C concurrent clients, checked and timed (notebook 07).

Each client keeps one HTTP connection open (as boto3 and most SDKs do) and sends its share of
the requests one after another; every answer is checked (status 200, one score per pair) and,
given a ``reference`` (in-process scoring), compared with it.
"""

from __future__ import annotations

import http.client
import math
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from helpers.sagemaker.contract import load_handler, load_schema
from helpers.sagemaker.runtime import patched_env
from helpers.timing import percentile


@dataclass
class LoadReport:
    """What a load run measured; latencies are per request, as one client sees them."""

    requests: int
    clients: int
    errors: int
    seconds: float
    requests_per_s: float
    p50_ms: float
    p95_ms: float
    max_abs_diff: float | None  # largest |served - in-process| score; None without a reference
    scores_match: bool | None  # max_abs_diff <= tolerance
    tolerance: float
    error_samples: list[str] = field(default_factory=list)  # the first few, for the reader

    def summary(self) -> str:
        """Return one line: counts, rate, latencies and the comparison."""
        match = "" if self.scores_match is None else f", scores match: {self.scores_match}"
        return (
            f"{self.requests} requests from {self.clients} clients: {self.errors} errors, "
            f"{self.requests_per_s:.1f} requests/s, p50 {self.p50_ms:.0f} ms, "
            f"p95 {self.p95_ms:.0f} ms{match}"
        )


def make_requests(pairs_pool, n: int, *, min_pairs=1, max_pairs=20, seed=0) -> list[list]:
    """Return n requests of min_pairs..max_pairs pairs drawn from pairs_pool (seeded)."""
    rng = random.Random(seed)
    pool = [tuple(pair) for pair in pairs_pool]
    top = min(max_pairs, len(pool))
    return [rng.sample(pool, rng.randint(min(min_pairs, top), top)) for _ in range(n)]


def run_load(
    endpoint, requests, *, clients=8, reference=None, tolerance=1e-4, timeout=60
) -> LoadReport:
    """Send requests from `clients` concurrent connections; return what was measured."""
    url = endpoint if isinstance(endpoint, str) else endpoint.url
    shares = [requests[i::clients] for i in range(clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answered = pool.map(lambda share: _client(url, share, timeout), shares)
        results = [result for share in answered for result in share]
    seconds = time.perf_counter() - started
    latencies = [latency for _, _, latency, _ in results]
    errors = [error for _, _, _, error in results if error]
    diff = _max_abs_diff(results, reference) if reference is not None else None
    return LoadReport(
        requests=len(results),
        clients=clients,
        errors=len(errors),
        seconds=seconds,
        requests_per_s=len(results) / seconds,
        p50_ms=percentile(latencies, 50) * 1000,
        p95_ms=percentile(latencies, 95) * 1000,
        max_abs_diff=diff,
        scores_match=None if diff is None else diff <= tolerance,
        tolerance=tolerance,
        error_samples=errors[:5],
    )


def in_process_scorer(model_dir, env: dict | None = None):
    """Return inference.py's scoring in this process (model_fn under the server's env vars)."""
    with patched_env(env or {}):
        return load_handler().model_fn(str(model_dir)).score


def instances_needed(target_rps: float, rps_per_instance: float, utilisation=0.7) -> int:
    """Return the instance count for target_rps, each run at `utilisation` of its measured rate."""
    return max(1, math.ceil(target_rps / (rps_per_instance * utilisation)))


def _client(url: str, requests, timeout: float) -> list[tuple]:
    """Send requests one after another on one keep-alive connection; return per-request results."""
    schema = load_schema()
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = {"Content-Type": schema.JSON, "Accept": schema.JSON}
    results = []
    try:
        for pairs in requests:
            body = schema.encode_request(pairs)
            started = time.perf_counter()
            scores, error = None, None
            try:
                connection.request("POST", "/invocations", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                if response.status == 200:
                    scores = schema.decode_response(answer, expected=len(pairs))
                else:
                    error = f"{response.status}: {answer[:200].decode(errors='replace')}"
            except (OSError, ValueError, http.client.HTTPException) as err:
                error = f"{type(err).__name__}: {err}"
                connection.close()  # reconnects on the next request
            results.append((pairs, scores, time.perf_counter() - started, error))
    finally:
        connection.close()
    return results


def _max_abs_diff(results, reference) -> float:
    """Return the largest gap between served scores and reference(pairs), over every pair."""
    unique = list(dict.fromkeys(pair for pairs, _, _, _ in results for pair in pairs))
    expected = dict(zip(unique, reference(unique), strict=True))
    gaps = [
        abs(score - expected[pair])
        for pairs, scores, _, _ in results
        if scores is not None
        for pair, score in zip(pairs, scores, strict=True)
    ]
    return max(gaps, default=0.0)
