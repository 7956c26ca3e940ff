"""Solutions to notebook 07's exercises: try them in the notebook first."""

from __future__ import annotations

import math


def exercise_1(target_rps: float, measured_rps: float, utilisation: float = 0.7) -> int:
    """Return how many instances serve target_rps, each run at `utilisation` of what it can do."""
    return max(1, math.ceil(target_rps / (measured_rps * utilisation)))


def exercise_2(endpoint_name: str) -> dict:
    """Return a target-tracking configuration: 60 % of each of ml.c5.2xlarge's 8 vCPUs."""
    return {
        "TargetValue": 60.0 * 8,  # SageMaker's CPUUtilization is the sum over the cores
        "CustomizedMetricSpecification": {
            "MetricName": "CPUUtilization",
            "Namespace": "/aws/sagemaker/Endpoints",
            "Dimensions": [
                {"Name": "EndpointName", "Value": endpoint_name},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            "Statistic": "Average",
        },
        "ScaleOutCooldown": 60,
        "ScaleInCooldown": 300,
    }
