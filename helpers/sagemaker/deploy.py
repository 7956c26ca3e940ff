"""Around the SDK calls of notebooks 04 and 07: the checked SDK import, the role, the upload,
a smoke invocation (plumbing). Deploying needs ``pip install "sagemaker>=2.254,<3"``."""

from __future__ import annotations

import logging
import math
import os
import time

from helpers.sagemaker.account import sagemaker_metadata, unique_name
from helpers.sagemaker.runtime import invoke_scores, session_region

ROLE_ENV = "SAGEMAKER_ROLE_ARN"
SMOKE_PAIRS = [("smoke test", "a smoke test checks that the model answers")]
# The newest Hugging Face inference image sagemaker 2.257.7 knows (2.254 and later know it).
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
    """Return SAGEMAKER_ROLE_ARN; else, only in Studio or a notebook instance, their role
    (elsewhere the SDK returns your own role, which SageMaker usually cannot assume)."""
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
    """Upload model.tar.gz to a bucket, checked to be in the endpoint's region; return its URI."""
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
    """Invoke until one finite answer comes, for at most wait_s (retrying a cold start's timeout,
    5xx and throttling): /ping says 200 even when model_fn failed."""
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
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import ReadTimeoutError

    if isinstance(err, (ReadTimeoutError, BotoConnectionError)):
        return True
    response = getattr(err, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    if code == "ModelError":
        return response.get("OriginalStatusCode", 0) in (0, 500, 502, 503, 504)
    return code in RETRIED
