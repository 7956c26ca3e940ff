"""Deploy to AWS so that cleanup finds exactly what was created, and nothing else (notebook 04).

A deployment gets one unique name (``unique_name``) that its model, endpoint config and endpoint
all carry, and three tags on everything it creates: ``project=rerank-lab``, ``rerank-lab:run``
(the unique name) and ``rerank-lab:owner`` (the IAM user or role that deployed). ``deployed``
hands the endpoint over only after it is InService and one real invocation answered, and deletes
in ``finally`` what that run created (``helpers.sagemaker.cleanup``), interrupts included.

The SageMaker SDK v2 (``pip install "sagemaker>=2,<3"``) is needed to deploy, not to clean up.
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from helpers.sagemaker.contract import ENDPOINT_ENV
from helpers.sagemaker.runtime import invoke_scores, runtime_client, session_region

TUTORIAL_TAG = {"Key": "project", "Value": "rerank-lab"}
RUN_TAG = "rerank-lab:run"
OWNER_TAG = "rerank-lab:owner"
ROLE_ENV = "SAGEMAKER_ROLE_ARN"
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
# Statuses in which AWS refuses to delete an endpoint: wait until it leaves them.
ENDPOINT_BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack")
SMOKE_PAIRS = [("smoke test", "a smoke test checks that the model answers")]

# The newest Hugging Face inference DLC that sagemaker 2.257.7 knows (image tag
# 2.6.0-transformers4.51.3-{cpu,gpu}-py312-...); 4.49.0 with pytorch 2.6.0 is the previous one.
HF_DLC = {"transformers_version": "4.51.3", "pytorch_version": "2.6.0", "py_version": "py312"}


@dataclass
class Deployment:
    """What one run creates: a model, endpoint config and endpoint named ``name`` (notebook 04)."""

    name: str
    region: str
    owner: str
    variant: str = "AllTraffic"
    transform_jobs: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[dict]:
        """Return the tags every resource of this run carries."""
        return [
            TUTORIAL_TAG,
            {"Key": RUN_TAG, "Value": self.name},
            {"Key": OWNER_TAG, "Value": self.owner},
        ]

    @property
    def scaling_resource_id(self) -> str:
        """Return the variant's id in Application Auto Scaling (notebook 07)."""
        return f"endpoint/{self.name}/variant/{self.variant}"


def import_sdk():
    """Import the SageMaker SDK v2 without its v2 notice and config INFO lines (notebook 04)."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import sagemaker
        import sagemaker.experiments._metrics  # noqa: F401 (imported by transform jobs, see below)
        import sagemaker.huggingface  # noqa: F401 (v3 removed it: fail here, not mid-deploy)
    except ImportError as missing:
        raise ImportError(
            'deploying needs the SageMaker SDK v2: pip install "sagemaker>=2,<3" '
            "(v3 removed sagemaker.huggingface)"
        ) from missing
    finally:  # sagemaker.experiments._metrics calls logging.basicConfig(level=INFO) on import
        root.setLevel(level)
        root.handlers[:] = handlers
    return sagemaker


def unique_name(base: str = "rerank-lab") -> str:
    """Return ``base-YYYYmmdd-HHMMSS-xxxxxx``, at most 63 characters, as SageMaker names allow.

    Like the SDK's ``name_from_base``, plus random hex: two runs in the same second never share
    a name, and cleanup needs no SDK.
    """
    suffix = time.strftime("-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(3)
    base = re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-")[: 63 - len(suffix)] or "rerank-lab"
    return base + suffix


def caller_identity(sts) -> str:
    """Return the caller's IAM user or role ARN (an assumed role without its session name)."""
    arn = sts.get_caller_identity()["Arn"]
    match = re.fullmatch(r"arn:([\w-]+):sts::(\d+):assumed-role/([^/]+)/.*", arn)
    return f"arn:{match[1]}:iam::{match[2]}:role/{match[3]}" if match else arn


def plan_deployment(base: str = "rerank-lab", region: str | None = None) -> Deployment:
    """Choose a unique name and the tags for a deployment; nothing is created yet."""
    import boto3

    region = session_region(region)
    owner = caller_identity(boto3.client("sts", region_name=region))
    return Deployment(name=unique_name(base), region=region, owner=owner)


def execution_role() -> str:
    """Return SAGEMAKER_ROLE_ARN, else what sagemaker.get_execution_role() finds (Studio)."""
    if os.environ.get(ROLE_ENV):
        return os.environ[ROLE_ENV]
    try:
        return import_sdk().get_execution_role()
    except Exception as err:  # ImportError, ValueError (not a role), botocore errors
        raise RuntimeError(
            f"No SageMaker execution role: set {ROLE_ENV} to the ARN of an IAM role that "
            "SageMaker can assume, or run where sagemaker.get_execution_role() finds one "
            f"(SageMaker Studio, a notebook instance). get_execution_role() said: {err}"
        ) from err


def huggingface_model(model_data: str, role: str, deployment: Deployment, env: dict | None = None):
    """Return the SDK's HuggingFaceModel for model.tar.gz, named and placed as ``deployment``."""
    import boto3

    sagemaker = import_sdk()
    from sagemaker.huggingface import HuggingFaceModel

    bucket = model_data.removeprefix("s3://").split("/")[0]
    return HuggingFaceModel(
        model_data=model_data,
        role=role,
        name=deployment.name,
        code_location=f"s3://{bucket}/code",  # else the SDK creates its default bucket
        sagemaker_session=sagemaker.Session(boto3.Session(region_name=deployment.region)),
        env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1", **ENDPOINT_ENV, **(env or {})},
        **HF_DLC,
    )


def deploy_huggingface(
    model_data: str,
    role: str,
    deployment: Deployment,
    *,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    serverless=None,
    async_inference=None,
    env: dict | None = None,
):
    """Create the model, endpoint config and endpoint of ``deployment``; do not wait.

    ``serverless``: a ``ServerlessInferenceConfig`` (no instances); ``async_inference``: an
    ``AsyncInferenceConfig`` with an explicit S3 ``output_path`` (else the SDK creates a bucket).
    """
    if async_inference is not None:  # the SDK's defaults would create a bucket of its own
        if not async_inference.output_path:
            raise ValueError(
                "AsyncInferenceConfig needs output_path='s3://...' (a bucket of yours)"
            )
        async_inference.failure_path = async_inference.failure_path or (
            async_inference.output_path.rstrip("/") + "-failures"
        )
    model = huggingface_model(model_data, role, deployment, env)
    kwargs = {"endpoint_name": deployment.name, "tags": deployment.tags, "wait": False}
    if serverless is not None:
        kwargs["serverless_inference_config"] = serverless
    else:
        kwargs.update(initial_instance_count=instance_count, instance_type=instance_type)
    if async_inference is not None:
        kwargs["async_inference_config"] = async_inference
    return model.deploy(**kwargs)


def wait_for_endpoint(sm, name: str, timeout_s: float = 1800, poll_s: float = 15) -> str:
    """Poll until the endpoint leaves Creating/Updating or timeout_s passes; return its status."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status not in ENDPOINT_BUSY or time.monotonic() >= deadline:
            return status
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))


def smoke_test(runtime, name: str) -> list[float]:
    """Invoke once and check the answer: /ping says 200 even when model_fn failed."""
    try:
        scores = invoke_scores(runtime, name, SMOKE_PAIRS)
    except Exception as err:
        raise RuntimeError(f"smoke invocation of {name} failed: {err}") from err
    if not all(math.isfinite(score) for score in scores):
        raise RuntimeError(f"smoke invocation of {name} returned non-finite scores {scores}")
    return scores


@contextmanager
def deployed(
    model_data: str,
    role: str | None = None,
    base: str = "rerank-lab",
    *,
    region: str | None = None,
    smoke: bool = True,
    timeout_s: float = 1800,
    poll_s: float = 15,
    **deploy_kwargs,
):
    """Deploy for a block, handed over once InService and answering; then delete what it made.

    Cleanup runs whatever happens (errors, Ctrl-C), touches only resources tagged with this run,
    waits out ``Creating`` (up to ``timeout_s``) and prints what it deleted or could not delete.
    """
    import boto3

    from helpers.sagemaker.cleanup import cleaned_up

    role = role or execution_role()
    deployment = plan_deployment(base, region)
    with cleaned_up(deployment, wait_s=timeout_s, poll_s=poll_s):
        print(f"deploying {deployment.name} in {deployment.region} ...", flush=True)
        deploy_huggingface(model_data, role, deployment, **deploy_kwargs)
        sm = boto3.client("sagemaker", region_name=deployment.region)
        status = wait_for_endpoint(sm, deployment.name, timeout_s, poll_s)
        if status != "InService":
            reason = sm.describe_endpoint(EndpointName=deployment.name).get("FailureReason", "")
            raise RuntimeError(f"endpoint {deployment.name} is {status}, not InService. {reason}")
        if smoke and deploy_kwargs.get("async_inference") is None:  # async answers land in S3
            smoke_test(runtime_client(region=deployment.region), deployment.name)
        yield deployment
