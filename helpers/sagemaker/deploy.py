"""Deploy to AWS and clean up (optional extra: sagemaker>=2,<3; notebook 04)."""

from __future__ import annotations

from contextlib import contextmanager

TUTORIAL_TAG = {"Key": "project", "Value": "rerank-lab"}


# The newest Hugging Face inference DLC that sagemaker 2.257.7 knows (image tag
# 2.6.0-transformers4.51.3-{cpu,gpu}-py312-...); 4.49.0 with pytorch 2.6.0 is the previous one.
HF_DLC = {"transformers_version": "4.51.3", "pytorch_version": "2.6.0", "py_version": "py312"}


def deploy_huggingface(model_data: str, role: str, endpoint_name: str, **kwargs):
    """Deploy model.tar.gz (an s3:// URI) on the Hugging Face DLC; real-time unless serverless."""
    from sagemaker.huggingface import HuggingFaceModel
    from sagemaker.serverless import ServerlessInferenceConfig

    model = HuggingFaceModel(
        model_data=model_data,
        role=role,
        name=endpoint_name,
        **HF_DLC,
        env={"SAGEMAKER_MODEL_SERVER_WORKERS": "1", **kwargs.pop("env", {})},
    )
    if "serverless_memory_mb" in kwargs:
        memory = kwargs.pop("serverless_memory_mb")
        kwargs["serverless_inference_config"] = ServerlessInferenceConfig(memory_size_in_mb=memory)
    else:
        kwargs.setdefault("initial_instance_count", 1)
        kwargs.setdefault("instance_type", "ml.m5.xlarge")
    return model.deploy(endpoint_name=endpoint_name, tags=[TUTORIAL_TAG], **kwargs)


@contextmanager
def deployed(model_data: str, role: str, endpoint_name: str, **kwargs):
    """Deploy for a block, then delete endpoint, endpoint config and model, whatever happened."""
    import boto3

    try:
        yield deploy_huggingface(model_data, role, endpoint_name, **kwargs)
    finally:
        delete_endpoint_resources(boto3.client("sagemaker"), endpoint_name)


def delete_endpoint_resources(sm, endpoint_name: str) -> list[str]:
    """Delete an endpoint, its endpoint config and its models; a second call deletes nothing."""
    config_name, model_names = endpoint_name, [endpoint_name]
    endpoint = _missing_ok(sm.describe_endpoint, EndpointName=endpoint_name)
    config_name = endpoint["EndpointConfigName"] if endpoint else config_name
    config = _missing_ok(sm.describe_endpoint_config, EndpointConfigName=config_name)
    if config:
        model_names = [variant["ModelName"] for variant in config["ProductionVariants"]]
    deleted = []
    if endpoint and _missing_ok(sm.delete_endpoint, EndpointName=endpoint_name) is not None:
        deleted.append(f"endpoint {endpoint_name}")
    if (
        config
        and _missing_ok(sm.delete_endpoint_config, EndpointConfigName=config_name) is not None
    ):
        deleted.append(f"endpoint config {config_name}")
    for name in model_names:
        if _missing_ok(sm.delete_model, ModelName=name) is not None:
            deleted.append(f"model {name}")
    return deleted


def _missing_ok(call, **kwargs):
    """Call a SageMaker API; return None when the resource does not exist."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError as err:
        message = err.response.get("Error", {}).get("Message", "")
        if err.response.get("Error", {}).get("Code") == "ValidationException" and (
            "not find" in message.lower() or "does not exist" in message.lower()
        ):
            return None
        raise


def tutorial_endpoints(sm, tag: dict = TUTORIAL_TAG) -> list[str]:
    """Return the names of the endpoints that carry the tutorial's tag."""
    names = []
    for page in sm.get_paginator("list_endpoints").paginate():
        for endpoint in page["Endpoints"]:
            tags = sm.list_tags(ResourceArn=endpoint["EndpointArn"]).get("Tags", [])
            if tag in tags:
                names.append(endpoint["EndpointName"])
    return names


def delete_tutorial_endpoints(sm, tag: dict = TUTORIAL_TAG) -> list[str]:
    """Delete every tutorial-tagged endpoint with its config and models; return what went."""
    return [
        item for name in tutorial_endpoints(sm, tag) for item in delete_endpoint_resources(sm, name)
    ]
