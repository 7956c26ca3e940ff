"""Serve a model locally with SageMaker's own model server from .venv-serve (plumbing): MMS and
the Hugging Face toolkit, or without Java the toolkit's handler behind http.server."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from helpers.sagemaker.contract import ENDPOINT_ENV, ROOT, load_schema
from helpers.sagemaker.package import unpack_model

LAUNCHER = ROOT / "serving" / "mms_launcher.py"
FALLBACK_SERVER = ROOT / "serving" / "local_server.py"
SERVE_VENV = Path(os.environ.get("RERANK_SERVE_VENV", ROOT / ".venv-serve"))


def free_port(low: int = 20000, high: int = 32766) -> int:
    """Return a free TCP port on 127.0.0.1 below 32767 (MMS rejects higher port numbers)."""
    for port in random.Random().sample(range(low, high), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {low}-{high}")


def java_available() -> bool:
    """Return True when multi-model-server's Java runtime is here (RERANK_NO_JAVA: pretend not)."""
    if os.environ.get("RERANK_NO_JAVA"):
        return False
    java_home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (java_home and Path(java_home, "bin", "java").exists()))


def serve_python() -> Path:
    """Return .venv-serve's python, or say how to create it."""
    python = SERVE_VENV / "bin" / "python"
    if not python.exists():
        raise FileNotFoundError(f"{python} is missing: run `bash serving/make_serve_venv.sh`")
    return python


@dataclass
class LocalEndpoint:
    """A running local endpoint: SageMaker's container contract on ``url``."""

    url: str
    base_dir: Path
    log_path: Path
    process: subprocess.Popen

    def request(self, body, content_type="application/json", accept="application/json", timeout=60):
        """POST /invocations; return (status, content type, body), errors included."""
        data = body.encode() if isinstance(body, str) else body
        headers = {k: v for k, v in (("Content-Type", content_type), ("Accept", accept)) if v}
        req = urllib.request.Request(f"{self.url}/invocations", data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.headers.get("Content-Type"), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers.get("Content-Type"), err.read()

    def score(self, pairs, key: str = "pairs") -> list[float]:
        """Score (query, document) pairs through the server; raise on a non-200 answer."""
        schema = load_schema()
        status, _, body = self.request(schema.encode_request(pairs, key))
        if status != 200:
            raise RuntimeError(f"{status}: {body.decode(errors='replace')}")
        return schema.decode_response(body, expected=len(pairs))

    def ping(self) -> int:
        """GET /ping; return the status (0 when nothing answers)."""
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return 0

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the server's log."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def server_env(base_dir, port: int, extra: dict | None = None) -> dict:
    """Return the server's environment: ENDPOINT_ENV, port, its own TMPDIR, 1 worker, 1 thread."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    tmp = Path(base_dir, "tmp")
    tmp.mkdir(exist_ok=True)
    env.update(ENDPOINT_ENV)
    env.update(
        SAGEMAKER_BIND_TO_PORT=str(port),
        TMPDIR=str(tmp),  # MMS's pid file: one per server
        TEMP=str(tmp),
        SAGEMAKER_MODEL_SERVER_WORKERS=os.environ.get("SAGEMAKER_MODEL_SERVER_WORKERS", "1"),
        RERANKER_NUM_THREADS=os.environ.get("RERANKER_NUM_THREADS", "1"),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra or {})
    return env


@contextmanager
def serve_locally(
    model, port: int | None = None, handler: str = "huggingface", env: dict | None = None
) -> Iterator[LocalEndpoint]:
    """Serve a model dir or model.tar.gz with SageMaker's model server; always stop it."""
    port = port or free_port()
    base = Path(tempfile.mkdtemp(prefix="rerank-serve-"))
    try:
        unpack_model(model, base / "model")
        endpoint = start_server(base, port, handler, server_env(base, port, env))
        try:
            wait_until_ready(endpoint)
            yield endpoint
        finally:
            stop_process_group(endpoint.process)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def start_server(base: Path, port: int, handler: str, env: dict) -> LocalEndpoint:
    """Start MMS (without Java: serving/local_server.py) in its own process group."""
    script = LAUNCHER if java_available() else FALLBACK_SERVER
    if script == FALLBACK_SERVER:
        print("No Java runtime found: multi-model-server cannot run. Falling back to the")
        print("Hugging Face toolkit's handler behind http.server: same contract and handler code,")
        print("but no MMS frontend, queue, timeouts or worker restarts (serving/local_server.py).")
        handler = "huggingface"
    log_path = base / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(serve_python()), str(script), "--base-dir", str(base), "--handler", handler],
            cwd=base,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    watch_parent(process.pid)
    return LocalEndpoint(f"http://127.0.0.1:{port}", base, log_path, process)


# Kills the server's group once this process dies without stopping it (a SIGKILLed kernel).
WATCHDOG = """
import os, signal, sys, time
parent, group = int(sys.argv[1]), int(sys.argv[2])
while os.getppid() == parent:
    time.sleep(1)
try:
    os.killpg(group, signal.SIGKILL)
except ProcessLookupError:
    pass
"""
WATCHDOGS: dict[int, subprocess.Popen] = {}  # by the server's process group


def watch_parent(group: int) -> None:
    WATCHDOGS[group] = subprocess.Popen(
        [sys.executable, "-c", WATCHDOG, str(os.getpid()), str(group)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        start_new_session=True,  # out of reach of a kill aimed at the kernel's group
    )  # fmt: skip


def wait_until_ready(endpoint: LocalEndpoint, timeout: float = 240) -> None:
    """Wait for /ping, then one warm-up invocation (/ping answers before model_fn ends)."""
    body = load_schema().encode_request([("warm-up", "warm-up")])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and endpoint.process.poll() is None:
        if endpoint.ping() == 200:
            try:  # the first invocation runs model_fn: it may take a while
                status, _, answer = endpoint.request(body, timeout=deadline - time.monotonic())
            except OSError:
                status, answer = 0, b""
            if status == 200:
                return
            if status not in (0, 503):  # 503: no worker up yet
                text = answer.decode(errors="replace")[:2000]
                raise RuntimeError(f"warm-up answered {status}: {text}\n{endpoint.log_tail()}")
        time.sleep(0.5)
    raise RuntimeError(f"server not ready after {timeout:.0f} s; log:\n{endpoint.log_tail()}")


def stop_process_group(process: subprocess.Popen) -> None:
    """Stop a server's whole process group at once (MMS ignores SIGTERM sent to its launcher,
    and its own graceful stop waits out Netty's quiet periods, ~5 s, for a server with no state)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=5)
    deadline = time.monotonic() + 5
    while group_alive(process) and time.monotonic() < deadline:  # orphans reaped by init
        time.sleep(0.05)
    watchdog = WATCHDOGS.pop(process.pid, None)
    if watchdog is not None:
        watchdog.kill()
        watchdog.wait(timeout=5)


def group_alive(process: subprocess.Popen) -> bool:
    """Return True while any process of the server's group lives (the launcher reaped)."""
    process.poll()
    try:
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return False
    return True
