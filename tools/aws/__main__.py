"""`python -m tools.aws serve MODEL_DIR`: package and serve locally until Ctrl-C.

`python -m tools.aws cleanup [--delete --yes]`: list (by default) or delete what you
deployed with this course in a region: resources named rerank-lab* and tagged project=rerank-lab
and rerank-lab:owner=<you> (a person: your Studio profile, assumed-role session or IAM user).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from helpers.sagemaker.contract import ROOT, load_schema
from helpers.sagemaker.local import group_alive, serve_locally
from helpers.sagemaker.package import package_model, print_archive


def main(argv: list[str] | None = None) -> int | None:
    """`python -m tools.aws serve MODEL_DIR` or `python -m tools.aws cleanup`."""
    parser = argparse.ArgumentParser(prog="python -m tools.aws")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="package MODEL_DIR and serve it like SageMaker does")
    serve.add_argument("model_dir", nargs="?", help="default: the active profile's reranker")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--handler", choices=["huggingface", "default"], default="huggingface")
    serve.add_argument(
        "--code", help="folder with inference.py (default: MODEL_DIR/code, else ours)"
    )
    serve.add_argument("--out", default=str(ROOT / "build" / "serve" / "model.tar.gz"))
    _add_cleanup_parser(sub)
    args = parser.parse_args(argv)
    if args.command == "cleanup":
        return cleanup_main(args)
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
            while endpoint.process.poll() is None or group_alive(endpoint.process):
                time.sleep(1)
        except KeyboardInterrupt:
            print("stopping ...")


def _add_cleanup_parser(sub) -> None:
    """Add `cleanup`: list by default; delete only with --delete and a typed confirmation."""
    clean = sub.add_parser(
        "cleanup",
        help="list (default: a dry run) or --delete --yes what you deployed with this course",
        description="Find the endpoints, endpoint configs, models, scalable targets and running "
        "transform jobs named rerank-lab* and tagged project=rerank-lab and rerank-lab:owner=<you> "
        "in one region. Without --delete nothing is deleted; with it, you confirm by typing "
        "'delete' (or pass --yes): deleting is not undoable, so you read the list first.",
    )
    clean.add_argument("--delete", action="store_true", help="delete them (default: only list)")
    clean.add_argument("--yes", action="store_true", help="with --delete: do not ask to confirm")
    clean.add_argument("--region", help="default: the region boto3 finds (AWS_DEFAULT_REGION, ...)")
    clean.add_argument("--run", help="only this run's resources (its unique name)")
    clean.add_argument(
        "--any-owner", action="store_true", help="list everyone's too (never with --delete)"
    )
    clean.add_argument("--wait-s", type=float, default=1800, help="wait out Creating this long")


def cleanup_main(args) -> int:
    """Print what `cleanup` found or deleted; exit 1 when something could not be deleted."""
    from botocore.exceptions import BotoCoreError, ClientError

    from tools.aws.sweep import CONFIRM, sweep

    if args.delete and args.any_owner:
        print("cleanup never deletes other people's resources: drop --any-owner", file=sys.stderr)
        return 2
    options = {"any_owner": args.any_owner, "run": args.run, "wait_s": args.wait_s}
    try:
        confirm = CONFIRM if args.yes else None
        if args.delete and not args.yes:
            print(sweep(args.region, **options))  # the list the reader confirms
            confirm = _ask(f"type '{CONFIRM}' to delete the resources above: ")
            if confirm != CONFIRM:
                print("nothing was deleted")
                return 0
        report = sweep(args.region, delete=args.delete, confirm=confirm, **options)
    except (ValueError, BotoCoreError, ClientError) as err:  # no region, no credentials, denied
        print(f"cleanup could not list your resources: {err}", file=sys.stderr)
        return 2
    print(report)
    if not args.delete and report.would_delete:
        print("dry run: nothing was deleted; add --delete to delete the resources above")
    return 0 if report.ok else 1


def _ask(prompt: str) -> str | None:
    """Return what the user typed, or None without a terminal (then nothing is deleted)."""
    if not sys.stdin.isatty():
        print("no terminal to confirm on: pass --yes to delete", file=sys.stderr)
        return None
    return input(prompt).strip()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
