"""Delete what one run created on AWS, and nothing else (notebooks 04 and 07; plumbing).

Only resources tagged with the run and its owner go, in this order: transform jobs (stopped),
scalable targets (with their policies), endpoint (``Creating`` waited out), endpoint config,
model. A failure is reported and the next one tried. ``tools.aws`` sweeps a region the same way.
"""

from __future__ import annotations

from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field

from helpers.sagemaker.account import (
    ENDPOINT_BUSY,
    OWNER_TAG,
    RUN_TAG,
    TUTORIAL_TAG,
    Deployment,
    wait_for_endpoint,
)
from helpers.sagemaker.runtime import session_region

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
KINDS = ("transform job", "scalable target", "endpoint", "endpoint config", "model")
Clients = namedtuple("Clients", "sagemaker autoscaling region")


class Resource(namedtuple("Resource", "kind name")):  # a scalable target's name: its resource id
    def __str__(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass
class CleanupReport:
    """What a cleanup deleted, would delete (dry run), left alone, or failed to delete."""

    deleted: list[str] = field(default_factory=list)
    would_delete: list[str] = field(default_factory=list)
    left_alone: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def __str__(self) -> str:
        lines = [f"deleted {item}" for item in self.deleted]
        lines += [f"would delete {item}" for item in self.would_delete]
        lines += [f"left alone {item}" for item in self.left_alone]
        lines += [f"FAILED {item}" for item in self.failed]
        return "\n".join(lines) or "nothing to delete"


class CleanupIncomplete(RuntimeError):
    """Cleanup could not delete everything; the message lists what is left and what to run."""


def aws_clients(region: str | None = None) -> Clients:
    """Return the SageMaker and Application Auto Scaling clients of the session's region."""
    import boto3

    region = session_region(region)
    make = lambda service: boto3.client(service, region_name=region)  # noqa: E731
    return Clients(make("sagemaker"), make("application-autoscaling"), region)


def cleanup_command(region: str) -> str:
    return f"python -m tools.aws cleanup --delete --region {region}"


def delete_run(deployment: Deployment, *, clients=None, wait_s=1800, poll_s=15) -> CleanupReport:
    """Delete what ``deployment`` created: only resources tagged with its run and owner."""
    clients = clients or aws_clients(deployment.region)
    required = {RUN_TAG: deployment.name, OWNER_TAG: deployment.owner}
    resources = [Resource("transform job", job) for job in deployment.transform_jobs]
    resources += [Resource("scalable target", target) for target in deployment.scalable_targets]
    resources += [Resource(kind, deployment.name) for kind in KINDS[2:]]
    return delete_resources(clients, resources, required, wait_s, poll_s)


@contextmanager
def cleaned_up(deployment: Deployment, *, clients=None, wait_s=1800, poll_s=15):
    """Run a block, then ``delete_run`` and print its report; raise ``CleanupIncomplete`` if the
    block succeeded but something could not be deleted."""
    body_failed = True
    try:
        yield deployment
        body_failed = False
    finally:
        report = delete_run(deployment, clients=clients, wait_s=wait_s, poll_s=poll_s)
        print(f"cleanup of {deployment.name}:\n{report}", flush=True)
        if not report.ok and not body_failed:
            raise CleanupIncomplete(f"{report}\nFinish with: {cleanup_command(deployment.region)}")


def delete_resources(clients: Clients, resources, required: dict, wait_s, poll_s) -> CleanupReport:
    """Delete each resource that exists and carries ``required`` tags; report, never stop early."""
    report = CleanupReport()
    for resource in resources:
        try:
            owner = [{"Key": OWNER_TAG, "Value": required.get(OWNER_TAG)}]
            tags = _tags_of(clients, resource, owner)
            if tags is None:
                continue  # not there (never created, or already deleted)
            if not has_tags(tags, required):
                tagged = ", ".join(f"{key}={value}" for key, value in required.items())
                report.left_alone.append(f"{resource}: not tagged {tagged}")
                continue
            deleter = DELETERS[resource.kind]
            report.deleted.append(f"{resource}{deleter(clients, resource.name, wait_s, poll_s)}")
        except KeyboardInterrupt:
            finish = cleanup_command(clients.region)
            report.failed.append(f"{resource}: interrupted. Finish with: {finish}")
            print(report, flush=True)
            raise
        except Exception as err:  # report it and go on with the next resource
            report.failed.append(f"{resource}: {short_error(err)}")
    if report.failed:
        report.failed.append(f"finish with: {cleanup_command(clients.region)}")
    return report


def _stop_transform_job(clients, name, wait_s, poll_s) -> str:
    status = clients.sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
    if status != "InProgress":
        return f" (already {status}: jobs are not deleted, only stopped)"
    clients.sagemaker.stop_transform_job(TransformJobName=name)
    return " (stopped: a job is billed until it ends)"


def _deregister_scalable_target(clients, resource_id, wait_s, poll_s) -> str:
    aas, target = clients.autoscaling, scalable_target(resource_id)
    policies = aas.describe_scaling_policies(**target)["ScalingPolicies"]
    for policy in policies:
        aas.delete_scaling_policy(PolicyName=policy["PolicyName"], **target)
    aas.deregister_scalable_target(**target)
    return f" (deregistered, with {len(policies)} scaling policies)"


def _delete_endpoint(clients, name, wait_s, poll_s) -> str:
    sm = clients.sagemaker
    status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
    if status == "Deleting":
        return " (was already being deleted)"
    if status in ENDPOINT_BUSY:
        print(
            f"endpoint {name} is {status}: AWS deletes it only once that ends. Waiting up to "
            f"{wait_s:.0f} s (Ctrl-C stops waiting; then run {cleanup_command(clients.region)})",
            flush=True,
        )
        status = wait_for_endpoint(sm, name, wait_s, poll_s)
        if status in ENDPOINT_BUSY:
            raise TimeoutError(
                f"still {status} after {wait_s:.0f} s, so not deleted; it bills once InService"
            )
    sm.delete_endpoint(EndpointName=name)
    return ""


def _deleter(operation: str, parameter: str):
    def delete(clients, name, wait_s, poll_s) -> str:
        getattr(clients.sagemaker, operation)(**{parameter: name})
        return ""

    return delete


DELETERS = {
    "transform job": _stop_transform_job,
    "scalable target": _deregister_scalable_target,
    "endpoint": _delete_endpoint,
    "endpoint config": _deleter("delete_endpoint_config", "EndpointConfigName"),
    "model": _deleter("delete_model", "ModelName"),
}
DESCRIBE = {  # kind -> (describe operation, its name parameter, the ARN key of its answer)
    "transform job": ("describe_transform_job", "TransformJobName", "TransformJobArn"),
    "endpoint": ("describe_endpoint", "EndpointName", "EndpointArn"),
    "endpoint config": ("describe_endpoint_config", "EndpointConfigName", "EndpointConfigArn"),
    "model": ("describe_model", "ModelName", "ModelArn"),
}


def scalable_target(resource_id: str) -> dict:
    """Return the keys that name a variant's scalable target in Application Auto Scaling."""
    return {
        "ServiceNamespace": "sagemaker",
        "ResourceId": resource_id,
        "ScalableDimension": SCALABLE_DIMENSION,
    }


def _tags_of(clients: Clients, resource: Resource, owner=()) -> list[dict] | None:
    """Return a resource's tags, or None when it does not exist (a scalable target: its
    endpoint's tags; the endpoint gone, its run's, as only delete_run passes a target's id)."""
    if resource.kind == "scalable target":
        target = scalable_target(resource.name)
        target["ResourceIds"] = [target.pop("ResourceId")]
        if not clients.autoscaling.describe_scalable_targets(**target)["ScalableTargets"]:
            return None
        endpoint = Resource("endpoint", resource.name.split("/")[1])
        tags = _tags_of(clients, endpoint)
        run = [TUTORIAL_TAG, {"Key": RUN_TAG, "Value": endpoint.name}, *owner]
        return run if tags is None else tags
    operation, parameter, arn_key = DESCRIBE[resource.kind]
    try:
        described = getattr(clients.sagemaker, operation)(**{parameter: resource.name})
    except Exception as err:
        if _is_missing(err):
            return None
        raise
    return clients.sagemaker.list_tags(ResourceArn=described[arn_key])["Tags"]


def has_tags(tags: list[dict], required: dict) -> bool:
    """Return True when ``tags`` (AWS's Key/Value list) include every ``required`` key=value."""
    present = {tag["Key"]: tag["Value"] for tag in tags}
    return all(present.get(key) == value for key, value in required.items())


def _is_missing(err: Exception) -> bool:
    """Return True for SageMaker's "Could not find ..." (a ValidationException)."""
    error = getattr(err, "response", {}).get("Error", {})
    message = error.get("Message", "").lower()
    return error.get("Code") == "ValidationException" and any(
        words in message for words in ("could not find", "does not exist", "not found")
    )


def short_error(err: Exception) -> str:
    """Return an AWS error's code and message (else the exception's), cut to 200 characters."""
    error = getattr(err, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {error.get('Message', '')[:200]}"
    return f"{type(err).__name__}: {str(err)[:200]}"
