"""What notebook 04's deploy cell calls around the SDK: the checked SDK import, the role, the
upload to a bucket in the endpoint's region, and a smoke invocation (plumbing, not the lesson).

The SageMaker SDK v2 (``pip install "sagemaker>=2.254,<3"``) is needed to deploy, not to clean up.
"""

from __future__ import annotations

import logging
import math
import os
import time

from helpers.sagemaker.account import sagemaker_metadata, unique_name
from helpers.sagemaker.runtime import invoke_scores, session_region

ROLE_ENV = "SAGEMAKER_ROLE_ARN"
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
