"""Delete what this course created on AWS, and nothing else (notebooks 04 and 07).

Two ways in, one way to delete:

- ``delete_run(deployment)``: the resources one run created, found by their unique name and deleted
  only if they carry that run's tag (``deployed`` calls it in ``finally`` via ``cleaned_up``);
- ``sweep()`` / ``python -m helpers.sagemaker cleanup``: every resource named ``rerank-lab*`` and
  tagged ``project=rerank-lab`` and ``rerank-lab:owner=<you>`` in a region. A dry run unless you
  pass ``delete=True`` AND type the word ``delete`` (``confirm="delete"``; ``--delete --yes``);
  other owners' resources can be listed, never deleted.

A scalable target is touched only when the run registered it (``Deployment.scalable_targets``),
so a run without autoscaling needs no Application Auto Scaling permission at all.

Deletion order: stop transform jobs, delete scaling policies and deregister scalable targets, then
endpoints (after waiting out ``Creating``: AWS refuses to delete before), endpoint configs and
models. A failure is reported and the next resource is tried; nothing is skipped silently.
"""

from __future__ import annotations

from collections import namedtuple
from contextlib import contextmanager
from dataclasses import dataclass, field

from helpers.sagemaker.account import (
    ENDPOINT_BUSY,
    NAME_PREFIX,
    OWNER_TAG,
    RUN_TAG,
    TUTORIAL_TAG,
    Deployment,
    caller_identity,
    wait_for_endpoint,
)
from helpers.sagemaker.runtime import session_region

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
CONFIRM = "delete"  # what a reader types to let sweep delete
KINDS = ("transform job", "scalable target", "endpoint", "endpoint config", "model")

Clients = namedtuple("Clients", "sagemaker autoscaling region")


@dataclass(frozen=True)
class Resource:
    """One AWS resource by kind (one of ``KINDS``) and name (a scalable target: its resource id)."""

    kind: str
    name: str

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
    return Clients(
        boto3.client("sagemaker", region_name=region),
        boto3.client("application-autoscaling", region_name=region),
        region,
    )


def cleanup_command(region: str) -> str:
    """Return the shell command that finishes a cleanup later."""
    return f"python -m helpers.sagemaker cleanup --delete --region {region}"


def run_resources(deployment: Deployment) -> list[Resource]:
    """Return what a deployment may have created, in the order to delete it."""
    jobs = [Resource("transform job", name) for name in deployment.transform_jobs]
    targets = [Resource("scalable target", target) for target in deployment.scalable_targets]
    return (
        jobs
        + targets
        + [
            Resource("endpoint", deployment.name),
            Resource("endpoint config", deployment.name),
            Resource("model", deployment.name),
        ]
    )


def delete_run(deployment: Deployment, *, clients=None, wait_s=1800, poll_s=15) -> CleanupReport:
    """Delete what ``deployment`` created: only resources tagged with its run and owner."""
    clients = clients or aws_clients(deployment.region)
    required = {RUN_TAG: deployment.name, OWNER_TAG: deployment.owner}
    return delete_resources(clients, run_resources(deployment), required, wait_s, poll_s)


@contextmanager
def cleaned_up(deployment: Deployment, *, clients=None, wait_s=1800, poll_s=15):
    """Run a block, then ``delete_run(deployment)`` whatever happened, and print its report.

    If the block succeeded but cleanup could not delete everything, raise ``CleanupIncomplete``.
    """
    body_failed = True
    try:
        yield deployment
        body_failed = False
    finally:
        report = delete_run(deployment, clients=clients, wait_s=wait_s, poll_s=poll_s)
        print(f"cleanup of {deployment.name}:\n{report}", flush=True)
        if not report.ok and not body_failed:
            raise CleanupIncomplete(f"{report}\nFinish with: {cleanup_command(deployment.region)}")


def sweep(
    region: str | None = None,
    *,
    delete: bool = False,
    confirm: str | None = None,
    any_owner: bool = False,
    run: str | None = None,
    clients=None,
    wait_s: float = 1800,
    poll_s: float = 15,
) -> CleanupReport:
    """List this project's resources that you created; delete them only with delete=True and
    confirm="delete" (``python -m helpers.sagemaker cleanup --delete --yes``).

    ``any_owner`` lists everyone's (a workshop's instructor looking), and never deletes.
    """
    import boto3

    if delete and confirm != CONFIRM:
        raise ValueError(f'sweep deletes only with confirm="{CONFIRM}" typed by you; nothing done')
    if delete and any_owner:
        raise ValueError("sweep never deletes other people's resources: drop any_owner")
    clients = clients or aws_clients(region)
    required = {TUTORIAL_TAG["Key"]: TUTORIAL_TAG["Value"]}
    if not any_owner:
        required[OWNER_TAG] = caller_identity(boto3.client("sts", region_name=clients.region))
    if run:
        required[RUN_TAG] = run
    found, unchecked = find_resources(clients, required)
    if not delete:
        return CleanupReport(would_delete=[str(r) for r in found], left_alone=unchecked)
    report = delete_resources(clients, found, required, wait_s, poll_s)
    report.left_alone += unchecked
    return report


LISTINGS = (  # kind, operation, answer key, name key, ARN key, filters
    ("endpoint", "list_endpoints", "Endpoints", "EndpointName", "EndpointArn", {}),
    ("endpoint config", "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName",
     "EndpointConfigArn", {}),
    ("model", "list_models", "Models", "ModelName", "ModelArn", {}),
    ("transform job", "list_transform_jobs", "TransformJobSummaries", "TransformJobName",
     "TransformJobArn", {"StatusEquals": "InProgress"}),
)  # fmt: skip


def find_resources(clients: Clients, required: dict) -> tuple[list[Resource], list[str]]:
    """Return the resources named ``rerank-lab*`` whose tags include ``required`` (in the order
    to delete them, with their endpoints' scalable targets), and what could not be checked.

    Names are filtered before tags: ListTags runs once per course resource, not once per
    resource of the region (it throttles in a shared account).
    """
    sm = clients.sagemaker
    found = []
    for kind, operation, key, name_key, arn_key, filters in LISTINGS:
        pages = sm.get_paginator(operation).paginate(NameContains=NAME_PREFIX, **filters)
        for item in (item for page in pages for item in page[key]):
            if item[name_key].startswith(NAME_PREFIX) and _has_tags(
                sm.list_tags(ResourceArn=item[arn_key])["Tags"], required
            ):
                found.append(Resource(kind, item[name_key]))
    targets, unchecked = _endpoint_targets(clients, [r.name for r in found if r.kind == "endpoint"])
    found = sorted(found + targets, key=lambda r: (KINDS.index(r.kind), r.name))
    return found, unchecked


def _endpoint_targets(clients: Clients, endpoints: list[str]) -> tuple[list[Resource], list[str]]:
    """Return the endpoints' scalable targets; without the permission to look, say so."""
    ids = [f"endpoint/{name}/variant/" for name in endpoints]
    if not ids:
        return [], []
    try:
        pages = clients.autoscaling.get_paginator("describe_scalable_targets").paginate(
            ServiceNamespace="sagemaker", ScalableDimension=SCALABLE_DIMENSION
        )
        targets = [t["ResourceId"] for page in pages for t in page["ScalableTargets"]]
    except Exception as err:  # AccessDenied: the endpoints can still go
        return [], [f"scalable targets of {len(ids)} endpoints not checked: {_short(err)}"]
    mine = [t for t in targets if any(t.startswith(prefix) for prefix in ids)]
    return [Resource("scalable target", target) for target in mine], []


def delete_resources(clients: Clients, resources, required: dict, wait_s, poll_s) -> CleanupReport:
    """Delete each resource that exists and carries ``required`` tags; report, never stop early.

    A scalable target has no tags of its own here: it goes with its endpoint (or when the
    endpoint is already gone, since its id holds the run's unique name).
    """
    report = CleanupReport()
    for resource in resources:
        try:
            owner = [{"Key": OWNER_TAG, "Value": required.get(OWNER_TAG)}]
            tags = _tags_of(clients, resource, owner)
            if tags is None:
                continue  # not there (never created, or already deleted)
            if not _has_tags(tags, required):
                report.left_alone.append(f"{resource}: not tagged {_format(required)}")
                continue
            report.deleted.append(
                f"{resource}{DELETERS[resource.kind](clients, resource.name, wait_s, poll_s)}"
            )
        except KeyboardInterrupt:
            report.failed.append(
                f"{resource}: interrupted. Finish with: {cleanup_command(clients.region)}"
            )
            print(report, flush=True)
            raise
        except Exception as err:  # report it and go on with the next resource
            report.failed.append(f"{resource}: {_short(err)}")
    if report.failed:
        report.failed.append(f"finish with: {cleanup_command(clients.region)}")
    return report


def _delete_transform_job(clients, name, wait_s, poll_s) -> str:
    status = clients.sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"]
    if status != "InProgress":
        return f" (already {status}: jobs are not deleted, only stopped)"
    clients.sagemaker.stop_transform_job(TransformJobName=name)
    return " (stopped: a job is billed until it ends)"


def _delete_scalable_target(clients, resource_id, wait_s, poll_s) -> str:
    aas = clients.autoscaling
    policies = aas.describe_scaling_policies(
        ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=SCALABLE_DIMENSION
    )["ScalingPolicies"]
    for policy in policies:
        aas.delete_scaling_policy(
            PolicyName=policy["PolicyName"],
            ServiceNamespace="sagemaker",
            ResourceId=resource_id,
            ScalableDimension=SCALABLE_DIMENSION,
        )
    aas.deregister_scalable_target(
        ServiceNamespace="sagemaker", ResourceId=resource_id, ScalableDimension=SCALABLE_DIMENSION
    )
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


def _delete_endpoint_config(clients, name, wait_s, poll_s) -> str:
    clients.sagemaker.delete_endpoint_config(EndpointConfigName=name)
    return ""


def _delete_model(clients, name, wait_s, poll_s) -> str:
    clients.sagemaker.delete_model(ModelName=name)
    return ""


DELETERS = {
    "transform job": _delete_transform_job,
    "scalable target": _delete_scalable_target,
    "endpoint": _delete_endpoint,
    "endpoint config": _delete_endpoint_config,
    "model": _delete_model,
}
DESCRIBE = {  # kind -> (describe operation, its name parameter, the ARN key of its answer)
    "transform job": ("describe_transform_job", "TransformJobName", "TransformJobArn"),
    "endpoint": ("describe_endpoint", "EndpointName", "EndpointArn"),
    "endpoint config": ("describe_endpoint_config", "EndpointConfigName", "EndpointConfigArn"),
    "model": ("describe_model", "ModelName", "ModelArn"),
}


def _tags_of(clients: Clients, resource: Resource, owner=()) -> list[dict] | None:
    """Return a resource's tags, or None when it does not exist."""
    if resource.kind == "scalable target":
        if not _scalable_target(clients.autoscaling, resource.name):
            return None
        endpoint = Resource("endpoint", resource.name.split("/")[1])
        tags = _tags_of(clients, endpoint)
        # Endpoint gone: only delete_run gets here (sweep finds targets through endpoints), for
        # a target that its own run registered; its id holds the run's unique name.
        return (
            [TUTORIAL_TAG, {"Key": RUN_TAG, "Value": endpoint.name}, *owner]
            if tags is None
            else tags
        )
    operation, parameter, arn_key = DESCRIBE[resource.kind]
    try:
        described = getattr(clients.sagemaker, operation)(**{parameter: resource.name})
    except Exception as err:
        if _is_missing(err):
            return None
        raise
    return clients.sagemaker.list_tags(ResourceArn=described[arn_key])["Tags"]


def _scalable_target(autoscaling, resource_id: str) -> bool:
    answer = autoscaling.describe_scalable_targets(
        ServiceNamespace="sagemaker",
        ResourceIds=[resource_id],
        ScalableDimension=SCALABLE_DIMENSION,
    )
    return bool(answer["ScalableTargets"])


def _has_tags(tags: list[dict], required: dict) -> bool:
    present = {tag["Key"]: tag["Value"] for tag in tags}
    return all(present.get(key) == value for key, value in required.items())


def _format(tags: dict) -> str:
    return ", ".join(f"{key}={value}" for key, value in tags.items())


def _is_missing(err: Exception) -> bool:
    """Return True for SageMaker's "Could not find ..." (a ValidationException)."""
    error = getattr(err, "response", {}).get("Error", {})
    message = error.get("Message", "").lower()
    return error.get("Code") == "ValidationException" and (
        "could not find" in message or "does not exist" in message or "not found" in message
    )


def _short(err: Exception) -> str:
    error = getattr(err, "response", {}).get("Error", {})
    if error:
        return f"{error.get('Code')}: {error.get('Message', '')[:200]}"
    return f"{type(err).__name__}: {str(err)[:200]}"
