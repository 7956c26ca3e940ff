"""`python -m helpers.sagemaker serve MODEL_DIR`: package and serve locally until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import time

from helpers.sagemaker.contract import ROOT, load_schema
from helpers.sagemaker.local import _group_alive, serve_locally
from helpers.sagemaker.package import package_model, print_archive


def main(argv: list[str] | None = None) -> None:
    """`python -m helpers.sagemaker serve MODEL_DIR`: package, serve locally until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m helpers.sagemaker")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="package MODEL_DIR and serve it like SageMaker does")
    serve.add_argument("model_dir", nargs="?", help="default: the active profile's reranker")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--handler", choices=["huggingface", "default"], default="huggingface")
    serve.add_argument(
        "--code", help="folder with inference.py (default: MODEL_DIR/code, else ours)"
    )
    serve.add_argument("--out", default=str(ROOT / "build" / "serve" / "model.tar.gz"))
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in background
    signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the model server too
    if args.model_dir is None:
        from helpers.config import load_config, resolve_model

        args.model_dir = resolve_model(load_config().reranker_model, "RERANK_RERANKER_MODEL")
    tar_path = package_model(args.model_dir, args.out, args.code)
    print_archive(tar_path)
    print(f"starting the model server on port {args.port} ...", flush=True)
    with serve_locally(tar_path, port=args.port, handler=args.handler) as endpoint:
        body = load_schema().encode_request([("what is faiss?", "FAISS is a library.")]).decode()
        print(f"ready: {endpoint.url}  (log: {endpoint.log_path}); try:")
        print(
            f"  curl -s {endpoint.url}/invocations -H 'Content-Type: application/json' -d '{body}'"
        )
        print("Ctrl-C stops the server.", flush=True)
        try:
            while endpoint.process.poll() is None or _group_alive(endpoint.process):
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping ...")


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
