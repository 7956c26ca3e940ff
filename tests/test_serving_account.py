"""A shared AWS account (issue 22) under moto: people on one role, sweeps, uploads, cold starts.

What this proves: two people who assume one IAM role get different owner tags, and neither can
delete the other's endpoint by any path the notebooks or ``python -m tools.aws cleanup``
offer; a sweep deletes nothing unless asked twice; it reads tags only of the course's names; a run
without autoscaling calls Application Auto Scaling not once; the upload checks the bucket's region;
the smoke invocation waits out a cold start, within a bound. It cannot prove IAM on real AWS.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import sagemaker as sm
from helpers.sagemaker.cleanup import Clients
from tools import aws as tools_aws
from tools.aws.sweep import CONFIRM

boto3 = pytest.importorskip("boto3")
moto = pytest.importorskip("moto")

from moto_aws import (  # noqa: E402 (after the skips)
    ACCOUNT,
    REGION,
    aws_fixture,  # noqa: F401 (the fixture `aws`)
    leftovers,
)
from test_serving_deploy import create_by_hand  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WORKSHOP_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Workshop-Role"


def become(monkeypatch, session_name: str) -> None:
    """Switch this process's credentials to WORKSHOP_ROLE assumed as session_name."""
    iam = boto3.client("iam", region_name=REGION)
    if not iam.list_roles()["Roles"]:
        iam.create_role(RoleName="Workshop-Role", AssumeRolePolicyDocument="{}")
    sts = boto3.client("sts", region_name=REGION)
    answer = sts.assume_role(RoleArn=WORKSHOP_ROLE, RoleSessionName=session_name)["Credentials"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", answer["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", answer["SecretAccessKey"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", answer["SessionToken"])
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it keeps the credentials it first found


def test_two_people_on_one_role_cannot_delete_each_others_endpoints(aws, monkeypatch, capsys):
    from tools.aws.__main__ import main

    become(monkeypatch, "alice")
    alice = sm.plan_deployment()
    create_by_hand(aws, alice.name, alice.tags)
    assert alice.owner.endswith(":assumed-role/Workshop-Role/alice")
    become(monkeypatch, "bob")
    bob = sm.plan_deployment()
    create_by_hand(aws, bob.name, bob.tags)
    assert bob.owner != alice.owner
    assert tools_aws.sweep(delete=True, confirm=CONFIRM).deleted == [
        f"{kind} {bob.name}" for kind in ("endpoint", "endpoint config", "model")
    ]
    for argv in (
        ["cleanup", "--delete", "--yes"],
        ["cleanup", "--delete", "--yes", "--run", alice.name],
        ["cleanup", "--delete", "--yes", "--any-owner"],
    ):
        main(argv)
    assert "drop --any-owner" in capsys.readouterr().err
    with pytest.raises(ValueError, match="never deletes other people's"):
        tools_aws.sweep(delete=True, confirm=CONFIRM, any_owner=True)
    assert len(leftovers(aws)) == 3  # alice's model, config and endpoint
    assert f"would delete endpoint {alice.name}" in str(
        tools_aws.sweep(any_owner=True)
    )  # listed only
    become(monkeypatch, "alice")
    assert main(["cleanup", "--delete", "--yes"]) == 0
    assert leftovers(aws) == []


def test_studio_users_of_one_execution_role_are_told_apart(aws, monkeypatch, tmp_path):
    metadata = tmp_path / "resource-metadata.json"
    monkeypatch.setenv("RERANK_SAGEMAKER_METADATA", str(metadata))
    owners = []
    for profile in ("alice", "bob"):
        metadata.write_text(json.dumps({"DomainId": "d-1", "UserProfileName": profile}))
        become(monkeypatch, "SageMaker")  # the session name Studio gives everyone
        owners.append(sm.plan_deployment().owner)
    assert owners == [f"studio:{ACCOUNT}:d-1/alice", f"studio:{ACCOUNT}:d-1/bob"]


def test_a_sweep_deletes_only_when_asked_twice(aws):
    mine = sm.plan_deployment()
    create_by_hand(aws, mine.name, mine.tags)
    for confirm in (None, "yes", "DELETE "):
        with pytest.raises(ValueError, match='confirm="delete"'):
            tools_aws.sweep(delete=True, confirm=confirm)
    assert str(tools_aws.sweep()).count("would delete") == 3
    assert len(leftovers(aws)) == 3


def test_the_notebooks_delete_only_what_their_own_run_created():
    for path in sorted(NOTEBOOKS.glob("0[47]_*.ipynb")):
        code = "\n".join(
            "".join(cell["source"])
            for cell in json.loads(path.read_text())["cells"]
            if cell["cell_type"] == "code"
        )
        assert "sweep(delete=True" not in code, path.name
        assert "cleanup --delete" not in code and '"--delete"' not in code, path.name


class Counting:
    """A client wrapper that counts the calls of each operation."""

    def __init__(self, client, refuse=False):
        self.client, self.refuse, self.calls = client, refuse, []

    def __getattr__(self, name):
        if self.refuse:
            from botocore.exceptions import ClientError

            error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
            raise ClientError(error, name)
        self.calls.append(name)
        return getattr(self.client, name)


def test_a_sweep_reads_tags_only_of_the_course_names(aws):
    for n in range(6):
        create_by_hand(aws, f"other-team-{n}", [])
    mine = sm.plan_deployment()
    create_by_hand(aws, mine.name, mine.tags)
    counting = Counting(aws.sagemaker)
    clients = Clients(counting, aws.autoscaling, REGION)
    assert len(tools_aws.sweep(clients=clients).would_delete) == 3
    assert counting.calls.count("list_tags") == 3  # not 21: one per course resource


def test_a_run_without_autoscaling_needs_no_autoscaling_permission(aws):
    deployment = sm.plan_deployment()
    create_by_hand(aws, deployment.name, deployment.tags)
    clients = Clients(aws.sagemaker, Counting(aws.autoscaling, refuse=True), REGION)
    with sm.cleaned_up(deployment, clients=clients, poll_s=0):
        pass  # no CleanupIncomplete: nothing asked Application Auto Scaling
    assert leftovers(aws) == []


def test_upload_goes_to_a_bucket_in_the_endpoints_region(aws, tmp_path):
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"archive")
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="mine", CreateBucketConfiguration={"LocationConstraint": REGION})
    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="virginia")
    with pytest.raises(ValueError, match="bucket virginia is in us-east-1, the endpoint in eu"):
        sm.upload_model(archive, "virginia")
    uri = sm.upload_model(archive, "mine")
    assert uri.startswith("s3://mine/rerank-lab/rerank-lab-") and uri.endswith("/model.tar.gz")
    key = uri.removeprefix("s3://mine/")
    assert s3.get_object(Bucket="mine", Key=key)["Body"].read() == b"archive"


class ColdStart:
    """A runtime client whose first `cold` calls time out as a serverless cold start does."""

    def __init__(self, cold: int, status: int = 0):
        self.cold, self.status, self.calls = cold, status, 0

    def invoke_endpoint(self, **kwargs):
        import io

        from botocore.exceptions import ClientError

        self.calls += 1
        if self.calls <= self.cold:
            error = {"Code": "ModelError", "Message": "Your invocation timed out"}
            raise ClientError({"Error": error, "OriginalStatusCode": self.status}, "Invoke")
        return {"Body": io.BytesIO(b'{"scores": [0.5]}')}


def test_the_smoke_invocation_waits_out_a_cold_start_within_a_bound(capsys):
    runtime = ColdStart(cold=2)
    assert sm.smoke_test(runtime, "rerank-lab-x", wait_s=5, pause_s=0) == [0.5]
    assert runtime.calls == 3 and "not answering yet" in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="smoke invocation of rerank-lab-x failed"):
        sm.smoke_test(ColdStart(cold=10**6), "rerank-lab-x", wait_s=0.2, pause_s=0.05)
    refused = ColdStart(cold=1, status=400)  # the request's fault: trying again cannot help
    with pytest.raises(RuntimeError):
        sm.smoke_test(refused, "rerank-lab-x", wait_s=5, pause_s=0)
    assert refused.calls == 1
