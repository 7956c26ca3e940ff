"""Register an endpoint's variant for autoscaling under notebook 07's policy (plumbing)."""

from __future__ import annotations

from helpers.sagemaker.account import Deployment
from helpers.sagemaker.cleanup import scalable_target

# vCPUs of the course's instance types: SageMaker's CPUUtilization is the SUM over cores.
VCPUS = {
    "ml.m5.large": 2, "ml.m5.xlarge": 4, "ml.m5.2xlarge": 8,
    "ml.c5.xlarge": 4, "ml.c5.2xlarge": 8, "ml.g5.xlarge": 4,
}  # fmt: skip


def enable_autoscaling(
    autoscaling, deployment: Deployment, policy: dict, min_instances=1, max_instances=4
) -> str:
    """Register the variant as a scalable target, attach the policy; return the policy's ARN."""
    target = scalable_target(deployment.scaling_resource_id)
    deployment.scalable_targets.append(deployment.scaling_resource_id)  # cleanup deregisters it
    autoscaling.register_scalable_target(
        **target,
        MinCapacity=min_instances,
        MaxCapacity=max_instances,
        Tags={tag["Key"]: tag["Value"] for tag in deployment.tags},
    )
    answer = autoscaling.put_scaling_policy(
        PolicyName=f"{deployment.name}-cpu",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration=policy,
        **target,
    )
    return answer["PolicyARN"]
