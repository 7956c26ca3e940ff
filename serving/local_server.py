"""Fallback for machines without Java: the Hugging Face toolkit's handler behind http.server.

Run with .venv-serve's python: ``python serving/local_server.py --base-dir BASE``; the model is in
``BASE/model`` (weights + ``code/inference.py``), the port is ``SAGEMAKER_BIND_TO_PORT`` (8080).

Same contract as the container (``GET /ping``, ``POST /invocations``) and the same Python code
path for your code: ``HuggingFaceHandlerService.initialize`` / ``handle`` call your ``model_fn``
and ``transform_fn`` exactly as in the DLC, with one ``Context`` reused for every request as an
MMS worker does (the status a handler sets on it is the status sent); an exception answers the
same 400 JSON body. Bodies over ``SAGEMAKER_MAX_PAYLOAD_IN_MB`` (else MMS's default 6,553,500
bytes) answer 413; the body is discarded as it arrives, never kept.

NOT exercised here (only multi-model-server does that): the Java frontend (its request queue,
response timeout, worker processes and their restarts), ``/ping`` answering while the model still
loads (here the port opens after ``model_fn`` returns), and the container's start-up code (the
MMS config file, ``pip install -r code/requirements.txt``).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MMS_MAX_REQUEST_SIZE = 6_553_500  # bytes: multi-model-server's default max_request_size


def max_request_size() -> int:
    """Return the largest body accepted, in bytes (as sagemaker-inference configures MMS)."""
    megabytes = os.environ.get("SAGEMAKER_MAX_PAYLOAD_IN_MB")
    return int(megabytes) * 1024 * 1024 if megabytes else MMS_MAX_REQUEST_SIZE


def load_service(model_dir: str):
    """Initialize the toolkit's handler service on model_dir, as an MMS worker does."""
    from mms.context import Context
    from sagemaker_huggingface_inference_toolkit.handler_service import HuggingFaceHandlerService

    service = HuggingFaceHandlerService()
    service.initialize(Context("model", model_dir, {}, 1, None, "1.1.11"))
    return service


def make_handler(service):
    """Return an HTTP handler class that serves the SageMaker contract with service."""
    from mms.context import RequestProcessor
    from mms.metrics.metrics_store import MetricsStore
    from mms.service import PredictionException

    lock = threading.Lock()  # one worker, as SAGEMAKER_MODEL_SERVER_WORKERS=1
    context = service.context  # MMS keeps one Context per worker; handlers keep a reference
    limit = max_request_size()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            if self.path == "/ping":
                return self._send(200, b"{}\n", "application/json")
            return self._error(404, "ResourceNotFoundException", f"no resource {self.path}")

        def do_POST(self):  # noqa: N802
            if self.path != "/invocations":
                return self._error(404, "ResourceNotFoundException", f"no resource {self.path}")
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                return self._error(400, "BadRequestException", "invalid Content-Length")
            if length > limit:
                self.close_connection = True
                self._error(413, "RequestEntityTooLarge", f"body over {limit} bytes")
                # Discard what the client is still sending (never kept) so that it reads the 413
                # instead of a broken pipe; past 8 times the limit the connection is cut.
                remaining = min(length, 8 * limit)
                while remaining > 0 and (chunk := self.rfile.read(min(65536, remaining))):
                    remaining -= len(chunk)
                return None
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            with lock:
                context.request_processor = [RequestProcessor(headers)]
                context.metrics = MetricsStore({0: "local"}, "model")
                try:
                    answer = service.handle([{"body": body}], context)[0]
                except PredictionException as err:
                    return self._error(err.error_code, "InternalServerException", err.message)
                status, _ = context.get_response_status(0)
                content_type = context.get_response_content_type(0) or "application/json"
            data = answer.encode() if isinstance(answer, str) else bytes(answer)
            self._send(status or 200, data, content_type)

        def _error(self, status: int, kind: str, message: str):
            payload = {"code": status, "type": kind, "message": message}
            self._send(status, (json.dumps(payload, indent=2) + "\n").encode(), "application/json")

        def _send(self, status: int, data: bytes, content_type: str):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            print(f'{self.client_address[0]} "{self.requestline}" {args[1] if args else ""}')

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-dir", required=True, help="stands in for /opt/ml")
    parser.add_argument("--handler", choices=["huggingface"], default="huggingface")
    args = parser.parse_args(argv)
    port = int(os.environ.get("SAGEMAKER_BIND_TO_PORT", 8080))
    service = load_service(os.path.join(os.path.abspath(args.base_dir), "model"))
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(service))
    print(f"fallback server (no MMS) listening on http://127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
