"""Notebook 04's AWS clean-up helpers against moto's SageMaker control plane (boto3 only).

What this proves: the create/describe/list/tag/delete calls that the helpers make, with the
argument shapes AWS documents, and that clean-up is idempotent. What it cannot prove: that an
endpoint starts, that the image versions exist, or anything about inference (moto answers
invoke_endpoint with canned bodies). The sagemaker SDK (``deploy_huggingface``) is not installed
in the test environment and is not exercised.
"""

from __future__ import annotations

import pytest

from helpers import sagemaker as sm

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

ROLE = "arn:aws:iam::123456789012:role/rerank-lab-sagemaker"
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-inference:"
    "2.6.0-transformers4.51.3-cpu-py312-ubuntu22.04"
)


@pytest.fixture
def sagemaker_client(monkeypatch):
    for key, value in sm.local_aws_env("http://unused").items():
        if key != "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME":
            monkeypatch.setenv(key, value)
    with moto.mock_aws():
        yield boto3.client("sagemaker", region_name=sm.REGION)


def create_endpoint(client, name: str, tags: list[dict]) -> None:
    """What HuggingFaceModel.deploy creates: a model, an endpoint config, an endpoint."""
    client.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bucket/rerank/model.tar.gz"},
        Tags=tags,
    )
    client.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InitialInstanceCount": 1,
                "InstanceType": "ml.m5.xlarge",
            }
        ],
        Tags=tags,
    )
    client.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)


def test_delete_endpoint_resources_is_complete_and_idempotent(sagemaker_client):
    create_endpoint(sagemaker_client, "rerank-lab-test", [sm.TUTORIAL_TAG])
    deleted = sm.delete_endpoint_resources(sagemaker_client, "rerank-lab-test")
    assert deleted == [
        "endpoint rerank-lab-test",
        "endpoint config rerank-lab-test",
        "model rerank-lab-test",
    ]
    assert sagemaker_client.list_endpoints()["Endpoints"] == []
    assert sagemaker_client.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker_client.list_models()["Models"] == []
    assert sm.delete_endpoint_resources(sagemaker_client, "rerank-lab-test") == []


def test_delete_after_a_failed_deploy_removes_what_exists(sagemaker_client):
    create_endpoint(sagemaker_client, "half-made", [sm.TUTORIAL_TAG])
    sagemaker_client.delete_endpoint(EndpointName="half-made")  # as if create_endpoint failed
    assert sm.delete_endpoint_resources(sagemaker_client, "half-made") == [
        "endpoint config half-made",
        "model half-made",
    ]


def test_only_tutorial_tagged_endpoints_are_listed_and_deleted(sagemaker_client):
    create_endpoint(sagemaker_client, "rerank-lab-a", [sm.TUTORIAL_TAG])
    create_endpoint(sagemaker_client, "rerank-lab-b", [sm.TUTORIAL_TAG, {"Key": "x", "Value": "y"}])
    create_endpoint(sagemaker_client, "someone-elses", [{"Key": "project", "Value": "other"}])
    assert sorted(sm.tutorial_endpoints(sagemaker_client)) == ["rerank-lab-a", "rerank-lab-b"]
    deleted = sm.delete_tutorial_endpoints(sagemaker_client)
    assert len(deleted) == 6
    names = [e["EndpointName"] for e in sagemaker_client.list_endpoints()["Endpoints"]]
    assert names == ["someone-elses"]
    assert sm.delete_tutorial_endpoints(sagemaker_client) == []


def test_other_errors_are_not_swallowed(sagemaker_client):
    from botocore.exceptions import ClientError

    def denied(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Op")

    with pytest.raises(ClientError, match="AccessDenied"):
        sm.deploy._missing_ok(denied, EndpointName="x")


def test_deploy_and_cleanup_with_the_sdk(sagemaker_client):
    """Runs only where the optional extra sagemaker>=2,<3 is installed (not in .venv)."""
    pytest.importorskip("sagemaker.huggingface", reason="optional extra sagemaker>=2,<3 missing")
    with pytest.raises(RuntimeError, match="inside the block"):
        with sm.deployed("s3://bucket/model.tar.gz", ROLE, "rerank-lab-sdk"):
            assert sm.tutorial_endpoints(sagemaker_client) == ["rerank-lab-sdk"]
            image = sagemaker_client.describe_model(ModelName="rerank-lab-sdk")
            assert "transformers4.51.3" in image["PrimaryContainer"]["Image"]
            raise RuntimeError("inside the block")
    assert sagemaker_client.list_endpoints()["Endpoints"] == []
    assert sagemaker_client.list_models()["Models"] == []
