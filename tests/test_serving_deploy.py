"""Deploy and cleanup (notebook 04) against moto's AWS control plane, with the real SageMaker SDK.

What this proves: ``deploy_huggingface`` runs end to end through SageMaker SDK v2 (model, endpoint
config, endpoint, with unique names, tags and the session's region); cleanup deletes exactly what
one run created, waits out ``Creating``, carries on past failures, and leaves other people's
resources alone; an interrupt mid-deploy leaves nothing behind. What it cannot prove: that an
endpoint starts on AWS, that the image exists, IAM permissions, or inference (moto answers
invoke_endpoint with whatever body the test queues).
"""

from __future__ import annotations

import pytest

from helpers import sagemaker as sm
from helpers.sagemaker.cleanup import SCALABLE_DIMENSION
from tools import aws as tools_aws

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from moto_aws import (  # noqa: E402 (after the skips)
    ACCOUNT,
    MODEL_DATA,
    REGION,
    ROLE,
    aws_fixture,  # noqa: F401 (the fixture `aws`)
    endpoint_status,
    leftovers,
    queue_answer,
)


@pytest.fixture
def created_creating(monkeypatch):
    """Make moto create endpoints in Creating, as AWS does for minutes."""
    from moto.sagemaker.models import FakeEndpoint

    original = FakeEndpoint.__init__

    def creating(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.endpoint_status = "Creating"

    monkeypatch.setattr(FakeEndpoint, "__init__", creating)


def tags_of(clients, arn: str) -> dict:
    return {t["Key"]: t["Value"] for t in clients.sagemaker.list_tags(ResourceArn=arn)["Tags"]}


def create_by_hand(clients, name: str, tags: list[dict]) -> None:
    """What someone else's deploy creates: a model, an endpoint config and an endpoint."""
    s = clients.sagemaker
    s.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={"Image": "hf-inference", "ModelDataUrl": MODEL_DATA},
        Tags=tags,
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1}
    s.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{**variant, "InstanceType": "ml.m5.xlarge"}],
        Tags=tags,
    )
    s.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)


# --- names, role, region ---------------------------------------------------------------------


def test_unique_names_are_valid_sagemaker_names_and_never_repeat():
    names = {sm.account.unique_name("rerank lab/demo") for _ in range(50)}
    assert len(names) == 50
    for name in names:
        assert name.startswith("rerank-lab-demo-") and len(name) <= 63
        assert all(c.isalnum() or c == "-" for c in name)
    assert len(sm.account.unique_name("x" * 100)) == 63


def test_the_owner_is_a_person_even_on_a_shared_role(tmp_path):
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Workshop-Role/alice@example.com"
    assert sm.account.owner_of(session) == session  # the session name is the person
    assert sm.account.owner_of(session) != sm.account.owner_of(session.replace("alice", "bob"))
    studio = {"DomainId": "d-abc", "UserProfileName": "alice", "ResourceArn": "arn:...:app/x"}
    shared = f"arn:aws:sts::{ACCOUNT}:assumed-role/Studio-Role/SageMaker"  # every Studio user
    assert sm.account.owner_of(shared, studio) == f"studio:{ACCOUNT}:d-abc/alice"
    user = f"arn:aws:iam::{ACCOUNT}:user/carol"
    assert sm.account.owner_of(user) == user


def test_role_comes_from_the_variable_else_only_inside_sagemaker(aws, monkeypatch, tmp_path):
    assert sm.execution_role() == ROLE
    monkeypatch.delenv("SAGEMAKER_ROLE_ARN")
    with pytest.raises(RuntimeError) as error:  # not in Studio: never your own role
        sm.execution_role()
    assert "not in Studio or a notebook instance" in str(error.value)
    assert "SAGEMAKER_ROLE_ARN" in str(error.value) and "iam:PassRole" in str(error.value)
    metadata = tmp_path / "resource-metadata.json"
    metadata.write_text('{"ResourceArn": "arn:aws:sagemaker:eu-west-1:1:notebook-instance/n"}')
    monkeypatch.setenv("RERANK_SAGEMAKER_METADATA", str(metadata))
    studio_role = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole"
    sdk = sm.import_sdk()
    monkeypatch.setattr(sdk, "get_execution_role", lambda *a, **k: studio_role)
    assert sm.execution_role() == studio_role


def test_an_sdk_older_than_the_image_is_refused_on_import(monkeypatch):
    from helpers.sagemaker.deploy import check_sdk_version

    for version in ("2.253.1", "1.72.0", "3.0.1"):
        with pytest.raises(ImportError, match=r'pip install "sagemaker>=2.254,<3"'):
            check_sdk_version(version)
    check_sdk_version("2.254.0")
    sdk = sm.import_sdk()
    monkeypatch.setattr(sdk, "__version__", "2.230.0")
    with pytest.raises(ImportError, match="cannot deploy this course"):
        sm.import_sdk()


def test_no_region_is_a_clear_error_before_anything_is_created(aws, monkeypatch, tmp_path):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    with pytest.raises(ValueError, match="no AWS region"):
        with tools_aws.deployed(MODEL_DATA):
            pass


# --- deploy end to end -----------------------------------------------------------------------


def test_deploy_huggingface_end_to_end_then_nothing_is_left(aws, capsys):
    queue_answer()
    with tools_aws.deployed(MODEL_DATA, poll_s=0) as deployment:
        assert deployment.region == REGION and deployment.name.startswith("rerank-lab-")
        s = aws.sagemaker
        endpoint = s.describe_endpoint(EndpointName=deployment.name)
        config = s.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        model = s.describe_model(ModelName=config["ProductionVariants"][0]["ModelName"])
        assert model["ModelName"] == deployment.name
        image = model["PrimaryContainer"]["Image"]
        assert f".dkr.ecr.{REGION}.amazonaws.com/huggingface-pytorch-inference" in image
        assert "transformers4.51.3" in image and "cpu" in image
        environment = model["PrimaryContainer"]["Environment"]
        timeout = sm.contract.ENDPOINT_ENV["SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS"]
        assert environment["SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS"] == timeout
        for arn in (model["ModelArn"], config["EndpointConfigArn"], endpoint["EndpointArn"]):
            tags = tags_of(aws, arn)
            assert tags["project"] == "rerank-lab"
            assert tags[sm.account.RUN_TAG] == deployment.name
            assert tags[sm.OWNER_TAG] == f"arn:aws:sts::{ACCOUNT}:user/moto"
        assert boto3.client("s3").list_buckets()["Buckets"] == []  # no SDK default bucket
    assert leftovers(aws) == []
    printed = capsys.readouterr().out
    assert f"deleted endpoint {deployment.name}" in printed
    assert f"deleted model {deployment.name}" in printed


def test_a_failed_smoke_invocation_deletes_the_endpoint(aws):
    queue_answer("<html>model_fn failed</html>")  # /ping was 200, the model does not answer
    with pytest.raises(RuntimeError, match="smoke invocation of rerank-lab-.* failed"):
        with tools_aws.deployed(MODEL_DATA, poll_s=0):
            pytest.fail("the endpoint must not be handed over")
    assert leftovers(aws) == []


def test_an_interrupt_during_the_wait_leaves_nothing(aws, created_creating, monkeypatch, capsys):
    sleeps = []

    def sleep(seconds):  # Ctrl-C while deploy waits; AWS finishes Creating during cleanup's wait
        sleeps.append(seconds)
        if len(sleeps) == 1:
            raise KeyboardInterrupt
        (name,) = [e["EndpointName"] for e in aws.sagemaker.list_endpoints()["Endpoints"]]
        endpoint_status(name, "InService")

    monkeypatch.setattr(sm.deploy.time, "sleep", sleep)
    with pytest.raises(KeyboardInterrupt):
        with tools_aws.deployed(MODEL_DATA, poll_s=5):
            pytest.fail("an endpoint still Creating must not be handed over")
    assert len(sleeps) == 2
    assert leftovers(aws) == []
    assert "is Creating: AWS deletes it only once that ends" in capsys.readouterr().out


def test_an_endpoint_creating_past_the_bound_is_reported_then_swept(aws, created_creating, capsys):
    with pytest.raises(RuntimeError, match="is Creating, not InService"):
        with tools_aws.deployed(MODEL_DATA, timeout_s=0, poll_s=0):
            pytest.fail("not InService: not handed over")
    printed = capsys.readouterr().out
    assert "FAILED endpoint rerank-lab-" in printed and "still Creating after 0 s" in printed
    assert "python -m tools.aws cleanup --delete --region eu-west-1" in printed
    (left,) = leftovers(aws)  # config and model went; the endpoint cannot go yet
    name = left.removeprefix("endpoint ")
    endpoint_status(name, "InService")  # minutes later
    assert str(tools_aws.sweep()) == f"would delete endpoint {name}"
    assert leftovers(aws) == [left]  # a dry run deletes nothing
    assert tools_aws.sweep(delete=True, confirm="delete").deleted == [f"endpoint {name}"]
    assert leftovers(aws) == []


def test_serverless_and_async_deployments_carry_their_configs(aws):
    sagemaker = sm.import_sdk()
    from sagemaker.async_inference import AsyncInferenceConfig
    from sagemaker.serverless import ServerlessInferenceConfig

    queue_answer()
    serverless = ServerlessInferenceConfig(memory_size_in_mb=4096, max_concurrency=5)
    with tools_aws.deployed(MODEL_DATA, poll_s=0, serverless=serverless) as deployment:
        config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=deployment.name)
        variant = config["ProductionVariants"][0]
        assert variant["ServerlessConfig"] == {"MemorySizeInMB": 4096, "MaxConcurrency": 5}
        assert "InstanceType" not in variant
    asynchronous = AsyncInferenceConfig(output_path="s3://my-bucket/async-out")
    with pytest.raises(ValueError, match="no smoke invocation for an async endpoint"):
        with tools_aws.deployed(MODEL_DATA, poll_s=0, async_inference=asynchronous):
            pass  # never deployed: an unchecked async endpoint would ship silently
    assert leftovers(aws) == []
    with tools_aws.deployed(
        MODEL_DATA, poll_s=0, smoke=False, async_inference=asynchronous
    ) as deployment:
        config = aws.sagemaker.describe_endpoint_config(EndpointConfigName=deployment.name)
        output = config["AsyncInferenceConfig"]["OutputConfig"]
        assert output["S3OutputPath"] == "s3://my-bucket/async-out"
        assert output["S3FailurePath"] == "s3://my-bucket/async-out-failures"
    assert leftovers(aws) == []
    with pytest.raises(ValueError, match="output_path"):
        plan = sm.Deployment("x", REGION, "me")
        tools_aws.deploy_huggingface(MODEL_DATA, ROLE, plan, async_inference=AsyncInferenceConfig())
    assert sagemaker.__version__.startswith("2.")


def test_the_sdks_own_deploy_under_fake_aws_looks_without_its_30_s_sleep(aws, monkeypatch):
    """Notebook 04's deploy cell under moto: the SDK's wait sleeps 30 s before each look."""
    sagemaker = sm.import_sdk()
    from sagemaker.huggingface import HuggingFaceModel
    from sagemaker.serverless import ServerlessInferenceConfig

    naps = []
    monkeypatch.setattr(sagemaker.session.time, "sleep", naps.append)
    model = HuggingFaceModel(
        model_data=MODEL_DATA, role=ROLE, name="sdk-deploy", code_location="s3://my-bucket/sdk",
        sagemaker_session=sagemaker.Session(boto3.Session(region_name=REGION)), **sm.HF_DLC,
    )  # fmt: skip
    model.deploy(
        endpoint_name="sdk-deploy", serverless_inference_config=ServerlessInferenceConfig()
    )
    assert (
        aws.sagemaker.describe_endpoint(EndpointName="sdk-deploy")["EndpointStatus"] == "InService"
    )
    assert naps == []


# --- cleanup touches only what it created ------------------------------------------------------


def test_cleanup_leaves_resources_it_did_not_create_alone(aws):
    mine = sm.plan_deployment("rerank-lab")
    other_owner = [sm.TUTORIAL_TAG, {"Key": sm.OWNER_TAG, "Value": "arn:aws:iam::1:user/bob"}]
    create_by_hand(aws, mine.name, [sm.TUTORIAL_TAG])  # same name, not this run's tag
    create_by_hand(aws, "rerank-lab-bobs-endpoint", other_owner)
    create_by_hand(aws, "untagged", [])
    report = sm.delete_run(mine, poll_s=0)
    assert report.deleted == [] and report.ok
    assert f"endpoint {mine.name}: not tagged rerank-lab:run={mine.name}, " in report.left_alone[0]
    assert len(leftovers(aws)) == 9
    assert tools_aws.sweep(delete=True, confirm="delete").deleted == []  # none is tagged with me
    assert "would delete endpoint rerank-lab-bobs-endpoint" in str(tools_aws.sweep(any_owner=True))
    assert len(leftovers(aws)) == 9


def test_cleanup_carries_on_past_a_failure_and_reports_it(aws, monkeypatch):
    deployment = sm.plan_deployment("rerank-lab")
    create_by_hand(aws, deployment.name, deployment.tags)
    from botocore.exceptions import ClientError

    def denied(**kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Delete")

    monkeypatch.setattr(aws.sagemaker, "delete_endpoint_config", denied)
    with pytest.raises(sm.cleanup.CleanupIncomplete, match="AccessDeniedException"):
        with sm.cleaned_up(deployment, clients=aws, poll_s=0):
            pass  # the block succeeded: an incomplete cleanup must not pass silently
    assert leftovers(aws) == [f"config {deployment.name}"]  # endpoint and model still went


def test_cleanup_deregisters_autoscaling_and_stops_transform_jobs(aws):
    deployment = sm.plan_deployment("rerank-lab")
    create_by_hand(aws, deployment.name, deployment.tags)
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": deployment.scaling_resource_id,
        "ScalableDimension": SCALABLE_DIMENSION,
    }
    aws.autoscaling.register_scalable_target(**target, MinCapacity=1, MaxCapacity=2)
    deployment.scalable_targets.append(deployment.scaling_resource_id)  # this run registered it
    aws.autoscaling.put_scaling_policy(
        PolicyName="cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 70.0,
            "PredefinedMetricSpecification": {
                "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
            },
        },
        **target,
    )
    job = f"{deployment.name}-batch"
    aws.sagemaker.create_transform_job(
        TransformJobName=job,
        ModelName=deployment.name,
        TransformInput={
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/i"}}
        },
        TransformOutput={"S3OutputPath": "s3://b/o"},
        TransformResources={"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        Tags=deployment.tags,
    )
    deployment.transform_jobs.append(job)
    report = sm.delete_run(deployment, poll_s=0)
    assert report.ok, report
    assert report.deleted[0].startswith(f"transform job {job} (already Completed")  # moto's state
    assert report.deleted[1] == (
        f"scalable target {deployment.scaling_resource_id} (deregistered, with 1 scaling policies)"
    )
    assert leftovers(aws) == []
    policies = aws.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")
    assert policies["ScalingPolicies"] == []


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_lists_by_default_and_deletes_only_with_delete(aws, capsys):
    from tools.aws.__main__ import main

    deployment = sm.plan_deployment("rerank-lab")
    create_by_hand(aws, deployment.name, deployment.tags)
    assert main(["cleanup"]) == 0
    printed = capsys.readouterr().out
    assert f"would delete endpoint {deployment.name}" in printed
    assert "dry run: nothing was deleted; add --delete" in printed
    assert len(leftovers(aws)) == 3
    assert main(["cleanup", "--delete", "--yes", "--region", REGION, "--run", deployment.name]) == 0
    assert f"deleted model {deployment.name}" in capsys.readouterr().out
    assert leftovers(aws) == []
    assert main(["cleanup"]) == 0
    assert capsys.readouterr().out.strip() == "nothing to delete"


def test_cli_says_why_when_it_cannot_list(aws, monkeypatch, tmp_path, capsys):
    from tools.aws.__main__ import main

    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    assert main(["cleanup"]) == 2
    assert "cleanup could not list your resources: no AWS region" in capsys.readouterr().err
