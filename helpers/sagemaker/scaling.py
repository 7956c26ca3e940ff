"""Scale a real-time endpoint with Application Auto Scaling (notebook 07).

Requests to a reranker carry 1 to 256 pairs, so one invocation can cost 256 times another:
``SageMakerVariantInvocationsPerInstance`` (the usual target) counts calls, not work. The
policy here tracks what the work uses up, the variant's CPU; on GPU instances track
``GPUUtilization`` the same way. The cleanup in ``helpers.sagemaker.cleanup`` deletes the
policies and deregisters the target before it deletes the endpoint.
"""

from __future__ import annotations

from helpers.sagemaker.account import Deployment
from helpers.sagemaker.cleanup import SCALABLE_DIMENSION

ENDPOINT_METRICS = "/aws/sagemaker/Endpoints"  # CloudWatch namespace of instance metrics
# vCPUs of the instance types the course names: SageMaker's CPUUtilization is the SUM over cores
# (0-400 % on 4 vCPUs), so a per-core target must be multiplied by this.
VCPUS = {
    "ml.m5.large": 2,
    "ml.m5.xlarge": 4,
    "ml.m5.2xlarge": 8,
    "ml.c5.xlarge": 4,
    "ml.c5.2xlarge": 8,
    "ml.g5.xlarge": 4,
}


def cpu_tracking_policy(
    deployment: Deployment,
    instance_type: str,
    per_core_percent: float = 70,
    scale_out_cooldown_s: int = 60,
    scale_in_cooldown_s: int = 300,
) -> dict:
    """Return a target-tracking configuration that keeps each core near per_core_percent busy."""
    if instance_type not in VCPUS:
        raise ValueError(f"unknown vCPU count for {instance_type}: add it to VCPUS")
    return {
        "TargetValue": float(per_core_percent * VCPUS[instance_type]),
        "CustomizedMetricSpecification": {
            "MetricName": "CPUUtilization",
            "Namespace": ENDPOINT_METRICS,
            "Dimensions": [
                {"Name": "EndpointName", "Value": deployment.name},
                {"Name": "VariantName", "Value": deployment.variant},
            ],
            "Statistic": "Average",
        },
        "ScaleOutCooldown": scale_out_cooldown_s,  # add capacity quickly ...
        "ScaleInCooldown": scale_in_cooldown_s,  # ... and remove it slowly
    }


def enable_autoscaling(
    autoscaling, deployment: Deployment, policy: dict, min_instances=1, max_instances=4
) -> str:
    """Register the variant as a scalable target, attach the policy; return the policy's ARN."""
    target = {
        "ServiceNamespace": "sagemaker",
        "ResourceId": deployment.scaling_resource_id,
        "ScalableDimension": SCALABLE_DIMENSION,
    }
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
