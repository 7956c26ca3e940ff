"""Self-checks for notebook 07's exercises (instance arithmetic, an autoscaling policy)."""

from __future__ import annotations

from helpers.exercises.common import _check


def check_07_instances(answer, target_rps: float, measured_rps: float, utilisation=0.7) -> bool:
    """Check an instance count for target_rps with the course's arithmetic (notebook 07)."""
    from helpers.sagemaker.load import instances_needed

    def judge(count, expected):
        if not isinstance(count, int) or isinstance(count, bool):
            return False, f"a {type(count).__name__}: you cannot start part of an instance."
        if count == expected:
            return (
                True,
                f"{expected} instances serve {target_rps:g} requests/s at {utilisation:.0%}.",
            )
        if count == max(1, int(target_rps // (measured_rps * utilisation))):
            return False, "rounded down: the last, partly used instance is still needed."
        if count == instances_needed(target_rps, measured_rps, utilisation=1.0):
            return False, f"each instance at 100%: leave headroom, run it at {utilisation:.0%}."
        return False, "divide the target by what one instance serves at the utilisation, round up."

    return _check(
        answer,
        "an int",
        lambda: instances_needed(target_rps, measured_rps, utilisation),
        judge,
    )


def check_07_scaling_policy(
    answer, endpoint_name: str, instance_type: str, per_core: float
) -> bool:
    """Apply a target-tracking policy under moto and check what it tracks (notebook 07)."""
    from helpers.sagemaker import Deployment, aws_clients, fake_aws
    from helpers.sagemaker.scaling import VCPUS, enable_autoscaling

    target = per_core * VCPUS[instance_type]

    def judge(policy, expected):
        if not isinstance(policy, dict):
            return False, f"a {type(policy).__name__}: write the configuration as a dict."
        with fake_aws():  # AWS checks the argument shapes; moto does too
            deployment = Deployment(endpoint_name, "eu-west-1", "you")
            enable_autoscaling(aws_clients().autoscaling, deployment, policy)
        predefined = policy.get("PredefinedMetricSpecification", {})
        if "InvocationsPerInstance" in predefined.get("PredefinedMetricType", ""):
            return False, "invocations count calls, not work: a 256-pair call counts as one."
        metric = policy.get("CustomizedMetricSpecification", {})
        if metric.get("MetricName") != "CPUUtilization":
            return False, "track the variant's CPUUtilization (a CustomizedMetricSpecification)."
        if metric.get("Namespace") != "/aws/sagemaker/Endpoints":
            return False, "instance metrics live in the namespace /aws/sagemaker/Endpoints."
        dimensions = {d.get("Name"): d.get("Value") for d in metric.get("Dimensions", [])}
        if dimensions != {"EndpointName": endpoint_name, "VariantName": "AllTraffic"}:
            return False, "name this endpoint and its variant AllTraffic in Dimensions."
        if policy.get("TargetValue") == per_core:
            return False, f"CPUUtilization sums the cores: {per_core:g} % per core is more here."
        if policy.get("TargetValue") != expected:
            return False, f"TargetValue: {per_core:g} % on each of the instance's cores."
        return True, f"moto accepted it: CPU at {expected:g} % (all cores) of {instance_type}."

    return _check(answer, "a dict", lambda: target, judge)
