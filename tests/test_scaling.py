"""Notebook 07's control plane under moto: autoscaling, Batch Transform jobs, and their cleanup.

moto checks the calls and their arguments (what AWS would be asked to do); it does not scale
anything, emit CloudWatch metrics, or run a job. The data path of Batch Transform (multi-record
JSON Lines bodies) is tested through the real local model server in tests/test_serving.py.
"""

from __future__ import annotations

import subprocess
import sys

from moto_aws import MODEL_DATA, ROLE, aws_fixture, leftovers  # noqa: F401 (fixture `aws`)

from helpers import sagemaker as sm
from helpers.sagemaker.cleanup import SCALABLE_DIMENSION
from helpers.sagemaker.scaling import VCPUS, enable_autoscaling


def notebook_cells(*markers: str) -> dict:
    """Run notebook 07's cells that hold each marker, in order; return their namespace."""
    import json
    from pathlib import Path

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "07_scale_out_on_sagemaker.ipynb"
    cells = ["".join(c["source"]) for c in json.loads(notebook.read_text())["cells"]]
    namespace = {"sm": sm, "schema": sm.load_schema(), "one_mb_tokens": 65536}
    namespace["SERVER_ENV"] = {"RERANKER_MAX_LENGTH": "128"}
    for marker in markers:
        (source,) = [cell for cell in cells if marker in cell]
        exec(source, namespace)
    return namespace


def test_notebook_07_cpu_policy_targets_the_sum_over_cores_of_this_endpoint():
    policy = notebook_cells("def cpu_tracking_policy(")["cpu_tracking_policy"]
    deployment = sm.Deployment("rerank-lab-x", "eu-west-1", "me")
    tracked = policy(deployment, "ml.c5.2xlarge", per_core_percent=60)
    assert tracked["TargetValue"] == 60 * VCPUS["ml.c5.2xlarge"] == 480
    metric = tracked["CustomizedMetricSpecification"]
    assert {"Name": "EndpointName", "Value": "rerank-lab-x"} in metric["Dimensions"]
    assert tracked["ScaleOutCooldown"] < tracked["ScaleInCooldown"]


def test_autoscaling_is_registered_then_deregistered_by_cleanup(aws):
    deployment = sm.plan_deployment("rerank-lab-scaled")
    with sm.cleaned_up(deployment, clients=aws, poll_s=0):
        policy = notebook_cells("def cpu_tracking_policy(")["cpu_tracking_policy"](
            deployment, "ml.m5.xlarge"
        )
        arn = enable_autoscaling(aws.autoscaling, deployment, policy, max_instances=3)
        (target,) = aws.autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")[
            "ScalableTargets"
        ]
        assert target["ResourceId"] == f"endpoint/{deployment.name}/variant/AllTraffic"
        assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 3)
        (stored,) = aws.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")[
            "ScalingPolicies"
        ]
        assert stored["PolicyARN"] == arn and stored["PolicyType"] == "TargetTrackingScaling"
        tracked = stored["TargetTrackingScalingPolicyConfiguration"]
        assert tracked["TargetValue"] == 280.0
    assert leftovers(aws) == []
    assert (
        aws.autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        == []
    )


def test_notebook_07_transform_job_is_configured_for_json_lines_and_cleaned_up(capsys):
    page = notebook_cells("def huggingface_model(", "def start_transform_job(")
    described = page["described"]
    assert described["BatchStrategy"] == "MultiRecord" and described["MaxPayloadInMB"] == 1
    assert described["TransformInput"]["SplitType"] == "Line"
    assert described["TransformInput"]["ContentType"] == "application/jsonlines"
    assert described["TransformOutput"]["AssembleWith"] == "Line"
    assert described["TransformOutput"]["Accept"] == "application/jsonlines"
    assert described["ModelClientConfig"]["InvocationsTimeoutInSeconds"] == 600
    assert f"deleted transform job {page['job']} (already Completed" in capsys.readouterr().out


def test_importing_the_sdk_leaves_logging_alone():
    """sagemaker.experiments._metrics calls logging.basicConfig(level=INFO) when imported (by the
    transform path): notebooks would then print INFO lines and progress bars. A fresh process,
    because pytest's own log handlers make basicConfig a no-op here."""
    code = (
        "import logging, helpers.sagemaker as sm; sm.import_sdk(); "
        "import sagemaker.transformer; root = logging.getLogger(); "
        "print(root.level, len(root.handlers))"
    )
    run = [sys.executable, "-c", code]
    answer = subprocess.run(run, capture_output=True, text=True, check=True)
    assert answer.stdout.split() == ["30", "0"], answer.stderr


def test_notebook_07_reads_its_own_scalable_target_in_an_account_with_others(capsys):
    """Notebook 07's autoscaling cell, run where another endpoint is already autoscaled."""
    with sm.fake_aws():  # the cell's own fake_aws() joins this one
        sm.aws_clients().autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/someone-elses/variant/AllTraffic",
            ScalableDimension=SCALABLE_DIMENSION,
            MinCapacity=1,
            MaxCapacity=2,
        )
        notebook_cells("def huggingface_model(", "enable_autoscaling(\n")
        targets = sm.aws_clients().autoscaling.describe_scalable_targets(
            ServiceNamespace="sagemaker"
        )
        assert [t["ResourceId"] for t in targets["ScalableTargets"]] == [
            "endpoint/someone-elses/variant/AllTraffic"  # left alone by the cleanup
        ]
    assert "instances: 1 to 4" in capsys.readouterr().out
