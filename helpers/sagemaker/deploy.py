"""Upload, deploy and smoke-test on AWS so that cleanup finds exactly what was created (nb 04).

Names and tags come from ``helpers.sagemaker.account`` (one unique name per run, tagged with the
run and its owner, a person); ``deployed`` hands the endpoint over only after it is InService and
one real invocation answered, and deletes in ``finally`` what that run created
(``helpers.sagemaker.cleanup``), interrupts included.

The SageMaker SDK v2 (``pip install "sagemaker>=2.254,<3"``) is needed to deploy, not to clean up.
"""

from __future__ import annotations

import logging
import math
import os
import time
from contextlib import contextmanager

from helpers.sagemaker.account import (  # noqa: F401 (re-exported: notebooks import them here)
    ENDPOINT_BUSY,
    OWNER_TAG,
    RUN_TAG,
    TUTORIAL_TAG,
    Deployment,
    caller_identity,
    plan_deployment,
    sagemaker_metadata,
    unique_name,
    wait_for_endpoint,
)
from helpers.sagemaker.cleanup import cleaned_up
from helpers.sagemaker.contract import ENDPOINT_ENV
from helpers.sagemaker.runtime import invoke_scores, runtime_client, session_region

ROLE_ENV = "SAGEMAKER_ROLE_ARN"
DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"
SMOKE_PAIRS = [("smoke test", "a smoke test checks that the model answers")]
# The newest Hugging Face inference DLC that sagemaker 2.257.7 knows (image tag
# 2.6.0-transformers4.51.3-{cpu,gpu}-py312-...); the SDK knows it from 2.254.0 on, and an older
# SDK fails at deploy with "Unsupported huggingface version".
HF_DLC = {"transformers_version": "4.51.3", "pytorch_version": "2.6.0", "py_version": "py312"}
SDK_FLOOR = (2, 254)
SDK_PIN = f"sagemaker>={SDK_FLOOR[0]}.{SDK_FLOOR[1]},<3"


def check_sdk_version(version: str) -> None:
    """Raise ImportError unless version is a v2 SDK that knows HF_DLC's image."""
    numbers = tuple(int(part) for part in version.split(".")[:2] if part.isdigit())
    if len(numbers) < 2 or not SDK_FLOOR <= numbers < (3,):
        raise ImportError(
            f'the SageMaker SDK {version} cannot deploy this course: pip install "{SDK_PIN}" '
            f"(the Hugging Face image transformers {HF_DLC['transformers_version']} is known "
            "from 2.254 on; v3 removed sagemaker.huggingface). Restart the kernel after it."
        )


def import_sdk():
    """Import the SageMaker SDK v2 (checked: >= 2.254, < 3) without its notices (notebook 04)."""
    os.environ.setdefault("SAGEMAKER_SUPPRESS_V2_WARNING", "1")
    logging.getLogger("sagemaker.config").setLevel(logging.WARNING)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        import sagemaker

        check_sdk_version(sagemaker.__version__)
        import sagemaker.experiments._metrics  # noqa: F401 (imported by transform jobs, see below)
        import sagemaker.huggingface  # noqa: F401 (v3 removed it: fail here, not mid-deploy)
    except ImportError as missing:
        if "cannot deploy this course" in str(missing):
            raise
        raise ImportError(f'deploying needs the SageMaker SDK v2: pip install "{SDK_PIN}"') from (
            missing
        )
    finally:  # sagemaker.experiments._metrics calls logging.basicConfig(level=INFO) on import
        root.setLevel(level)
        root.handlers[:] = handlers
    return sagemaker


def execution_role() -> str:
    """Return SAGEMAKER_ROLE_ARN; else, only in Studio or a notebook instance, their role.

    Elsewhere ``sagemaker.get_execution_role()`` returns your own SSO or assumed role, which
    SageMaker usually cannot assume: the deploy would fail later with a less clear error.
    """
    if os.environ.get(ROLE_ENV):
        return os.environ[ROLE_ENV]
    how = (
        f"set {ROLE_ENV} to the ARN of an IAM role that SageMaker can assume (trust policy for "
        "sagemaker.amazonaws.com; read access to your model bucket, ECR and CloudWatch Logs), "
        "and let yourself iam:PassRole it: docs/troubleshooting.md, 'No SageMaker execution role'"
    )
    if sagemaker_metadata() is None:
        raise RuntimeError(
            f"No SageMaker execution role (not in Studio or a notebook instance): {how}"
        )
    try:
        return import_sdk().get_execution_role()
    except Exception as err:  # ImportError, ValueError (not a role), botocore errors
        raise RuntimeError(
            f"No SageMaker execution role: {how}. get_execution_role() said: {err}"
        ) from err


def upload_model(archive, bucket: str, region: str | None = None, prefix="rerank-lab") -> str:
    """Upload model.tar.gz to a bucket in the endpoint's region; return its s3:// URI.

    SageMaker reads the archive from the endpoint's own region: a bucket elsewhere fails at
    deploy (PermanentRedirect, AuthorizationHeaderMalformed), so it is checked first.
    """
    import boto3

    region = session_region(region)
    s3 = boto3.client("s3", region_name=region)
    location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
    location = "eu-west-1" if location == "EU" else location  # the oldest buckets' answer
    if location != region:
        raise ValueError(
            f"bucket {bucket} is in {location}, the endpoint in {region}: use a bucket in {region} "
            f"(aws s3 mb s3://NAME --region {region}) or deploy in {location}"
        )
    key = f"{prefix.strip('/')}/{unique_name()}/model.tar.gz"
    s3.upload_file(str(archive), bucket, key)
    return f"s3://{bucket}/{key}"


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


def smoke_test(runtime, name: str, wait_s: float = 300, pause_s: float = 15) -> list[float]:
    """Invoke until one answer comes, for at most wait_s; check it (/ping says 200 even when
    model_fn failed). A serverless endpoint's first call after creation or idle can time out
    while its container starts (a cold start): that, and 5xx or throttling, are retried."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            scores = invoke_scores(runtime, name, SMOKE_PAIRS)
            break
        except Exception as err:
            if not _worth_retrying(err) or time.monotonic() + pause_s > deadline:
                raise RuntimeError(f"smoke invocation of {name} failed: {err}") from err
            print(f"{name} is not answering yet ({err}); trying again in {pause_s:.0f} s")
            time.sleep(pause_s)
    if not all(math.isfinite(score) for score in scores):
        raise RuntimeError(f"smoke invocation of {name} returned non-finite scores {scores}")
    return scores


RETRIED = ("ThrottlingException", "ServiceUnavailable", "InternalFailure", "ModelNotReadyException")


def _worth_retrying(err: Exception) -> bool:
    """Return True for a cold start's timeout, a 5xx from the model, throttling, a read timeout."""
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    if isinstance(err, (ReadTimeoutError, BotoConnectionError)):
        return True
    response = getattr(err, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code == "ModelError":
        return response.get("OriginalStatusCode", 0) in (0, 500, 502, 503, 504)
    return code in RETRIED


@contextmanager
def deployed(
    model_data: str,
    role: str | None = None,
    base: str = "rerank-lab",
    *,
    region: str | None = None,
    smoke: bool = True,
    smoke_wait_s: float = 300,
    timeout_s: float = 1800,
    poll_s: float = 15,
    **deploy_kwargs,
):
    """Deploy for a block, handed over once InService and answering; then delete what it made.

    Cleanup runs whatever happens (errors, Ctrl-C), touches only resources tagged with this run,
    waits out ``Creating`` (up to ``timeout_s``) and prints what it deleted or could not delete.
    """
    import boto3

    if smoke and deploy_kwargs.get("async_inference") is not None:
        raise ValueError(  # its answers land in S3: an unchecked endpoint would ship silently
            "no smoke invocation for an async endpoint here: pass smoke=False and check one "
            "answer in its S3 output yourself before you send it work"
        )
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
        if smoke:
            smoke_test(runtime_client(region=deployment.region), deployment.name, smoke_wait_s)
        yield deployment
