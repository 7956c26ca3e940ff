"""``deployed``: deploy for a block, handed over once InService and answering, then deleted.

Notebook 04 writes the same SDK calls on its page (``deploy_and_score``); this is the
parametrised version the tests drive under moto (real-time, serverless and async).
"""

from __future__ import annotations

from contextlib import contextmanager

from helpers.sagemaker.account import Deployment, plan_deployment, wait_for_endpoint
from helpers.sagemaker.cleanup import cleaned_up
from helpers.sagemaker.contract import ENDPOINT_ENV
from helpers.sagemaker.deploy import HF_DLC, execution_role, import_sdk, smoke_test
from helpers.sagemaker.runtime import runtime_client

DEFAULT_INSTANCE_TYPE = "ml.m5.xlarge"


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

    ``serverless``: a ``ServerlessInferenceConfig``; ``async_inference``: an
    ``AsyncInferenceConfig`` with an explicit S3 ``output_path`` (else the SDK creates a bucket).
    """
    if async_inference is not None:
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
    """Deploy for a block, handed over once InService and answering; then delete what it made
    (errors and Ctrl-C included; only this run's resources; ``Creating`` waited out)."""
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
