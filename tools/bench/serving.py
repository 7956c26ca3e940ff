"""Section 5: the local SageMaker endpoint (HTTP through MMS) against the same handler in-process.

Both sides run serving/code/inference.py with the same thread count; the server is SageMaker's
own multi-model-server from ``.venv-serve`` (``helpers.sagemaker.serve_locally``). Each call is one
labelled question's request: its 20 dense candidates (the course's k), and again its first 5
(a small request, where a fixed cost per call weighs more). Three contenders take turns on every
call:

- ``in-process score``: ``model_fn(...).score(pairs)``, the model alone;
- ``in-process transform_fn``: the same plus JSON parsing, validation, the token count, encoding;
- ``HTTP``: the body POSTed to /invocations, answer decoded.

The breakdown adds what the server itself reports (the toolkit's ``Transform Fn`` time per call,
from MMS's metrics log) and the handler timed alone in ``.venv-serve``'s Python (its older
transformers), so the gap splits into JSON, library stack, worker and frontend/HTTP.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

from helpers.timing import interleaved_calls, paired_ratios
from tools.bench.settings import Settings
from tools.bench.stats import measurement
from tools.bench.workload import Workload

SCORE, TRANSFORM, HTTP = "in-process score", "in-process transform_fn", "HTTP through MMS"
SERVER_TIMES = {  # what MMS and the toolkit log per call, in milliseconds
    "server total (MMS access log)": re.compile(r'"POST /invocations HTTP/1.1" 200 ([0-9]+)'),
    "worker (MMS backend response time)": re.compile(r"Backend response time: ([0-9]+)"),
    "transform_fn in the worker (toolkit metric)": re.compile(
        r"Transform Fn\.Milliseconds:([0-9.]+)"
    ),
}


class NotAvailable(Exception):
    """The serving stack is missing (a documented optional part: .venv-serve)."""


def serving_requests(workload: Workload, calls: int, pairs: int) -> list[list[tuple[str, str]]]:
    """Return ``calls`` requests: each question's first ``pairs`` candidates, cycled."""
    requests = list(workload.requests.values())
    return [requests[i % len(requests)][:pairs] for i in range(calls)]


def server_times(endpoint) -> dict[str, list[float]]:
    """Return what the server logged per call so far (ms): total, worker, transform_fn."""
    text = endpoint.log_path.read_text(errors="replace") if endpoint.log_path.exists() else ""
    for log in sorted(Path(endpoint.base_dir).rglob("*metrics.log")):
        text += log.read_text(errors="replace")
    return {name: [float(v) for v in rx.findall(text)] for name, rx in SERVER_TIMES.items()}


def serve_venv_times(model_path: str, requests: list, threads: int) -> list[float]:
    """Time the handler's score() in .venv-serve's Python, no server (milliseconds per call)."""
    from helpers.sagemaker import contract
    from helpers.sagemaker.contract import CODE_DIR, IMPORT_INFERENCE
    from helpers.sagemaker.local import serve_python

    script = IMPORT_INFERENCE + (
        "import json, time\n"
        "requests = json.load(sys.stdin); model = inference.model_fn(sys.argv[3])\n"
        "model.score(requests[0]); out = []\n"
        "for pairs in requests:\n"
        "    t = time.perf_counter(); model.score(pairs); out.append(time.perf_counter() - t)\n"
        "print(json.dumps(out))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["RERANKER_NUM_THREADS"] = str(threads)
    done = subprocess.run(
        [str(serve_python()), "-c", script, contract.__file__, str(CODE_DIR), model_path],
        input=json.dumps(requests), capture_output=True, text=True, env=env, timeout=600,
        check=True,
    )  # fmt: skip
    return [s * 1000 for s in json.loads(done.stdout.strip().splitlines()[-1])]


def bench_sagemaker(model_path: str, workload: Workload, settings: Settings, threads: int) -> dict:
    """Time each request through the local endpoint vs the same handler in-process."""
    from helpers import sagemaker
    from helpers.sagemaker.local import java_available, serve_python
    from helpers.sagemaker.runtime import patched_env

    try:
        serve_python()
    except FileNotFoundError as missing:
        raise NotAvailable(str(missing)) from None
    schema = sagemaker.load_schema()
    env = {"RERANKER_NUM_THREADS": str(threads)}
    with patched_env(env):
        handler = sagemaker.load_handler()
        model = handler.model_fn(model_path)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
        endpoint = stack.enter_context(sagemaker.serve_locally(model_path, env=env))
        startup = time.perf_counter() - started
        server = "multi-model-server" if java_available() else "fallback http.server"

        def http(body: bytes, count: int):
            status, _, answer = endpoint.request(body)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {answer[:300]!r}")
            return schema.decode_response(answer, expected=count)

        contenders = {
            SCORE: lambda call: model.score(call[0]),
            TRANSFORM: lambda call: handler.transform_fn(
                model, call[1], "application/json", "application/json"
            ),
            HTTP: lambda call: http(call[1], len(call[0])),
        }
        cases = []
        for count in settings.sagemaker_pair_counts:
            requests = serving_requests(workload, settings.sagemaker_calls, count)
            calls = [(pairs, schema.encode_request(pairs)) for pairs in requests]
            before = {name: len(v) for name, v in server_times(endpoint).items()}
            seconds, results = interleaved_calls(contenders, calls, settings.warmup)
            time.sleep(1)  # the server's log is written after it answers
            served = {
                name: values[before[name] + settings.warmup :]
                for name, values in server_times(endpoint).items()
            }
            diffs = [
                abs(a - b)
                for x, y in zip(results[SCORE], results[HTTP], strict=True)
                for a, b in zip(x, y, strict=True)
            ]
            cases.append(_case(count, seconds, served, max(diffs)))
    cases[0]["serve_venv_ms"] = _serve_venv(model_path, workload, settings, threads)
    return {
        "status": "ok",
        "server": server,
        "startup_seconds": startup,
        "threads": threads,
        "calls": settings.sagemaker_calls,
        "cases": cases,
    }


def _case(count: int, seconds: dict, served: dict, max_diff: float) -> dict:
    """Return one pair count's timings, ratio and what the server logged."""
    ms = {name: [s * 1000 for s in values] for name, values in seconds.items()}
    return {
        "pairs": count,
        "measurements": [measurement(name, values, "ms/call") for name, values in ms.items()],
        "ratio": measurement(
            "HTTP / in-process", paired_ratios(seconds[HTTP], seconds[SCORE]), "×"
        ),
        "server": [
            measurement(name, values, "ms/call") for name, values in served.items() if values
        ],
        "max_abs_score_diff": max_diff,
    }


def _serve_venv(model_path, workload, settings, threads):
    requests = serving_requests(
        workload, settings.sagemaker_calls, settings.sagemaker_pair_counts[0]
    )
    try:
        values = serve_venv_times(model_path, requests, threads)
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        return {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return measurement("handler in .venv-serve, no server", values, "ms/call")


def breakdown(case: dict) -> list[tuple[str, float]]:
    """Return where the HTTP call's time goes, as (step, median ms) rows: each row is the
    difference between two neighbouring measurements, so the rows add up to the HTTP total."""
    med = {m["name"]: m["median"] for m in case["measurements"]}
    med |= {m["name"]: m["median"] for m in case.get("server", [])}
    venv = case.get("serve_venv_ms") or {}
    chain = [
        ("model alone, in-process (.venv)", med[SCORE]),
        ("+ JSON, validation, token count (transform_fn)", med[TRANSFORM]),
    ]
    if "median" in venv:  # the same model call in .venv-serve, plus transform_fn's own share
        chain.append(("+ .venv-serve's library stack (transformers 4.x)",
                      venv["median"] + med[TRANSFORM] - med[SCORE]))  # fmt: skip
    for name, label in (
        ("transform_fn in the worker (toolkit metric)", "+ the worker process inside MMS"),
        ("worker (MMS backend response time)", "+ toolkit handler and frontend-worker socket"),
        ("server total (MMS access log)", "+ MMS frontend (Netty, queue)"),
    ):
        if name in med:
            chain.append((label, med[name]))
    chain.append(("+ HTTP on loopback and the client", med[HTTP]))
    rows = [chain[0]] + [(label, value - chain[i][1]) for i, (label, value) in enumerate(chain[1:])]
    return rows + [("HTTP total", med[HTTP])]
