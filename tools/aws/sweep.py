"""Sweep: list, then (typed ``delete``) delete what you created with the course in a region.

Every resource named ``rerank-lab*`` and tagged ``project=rerank-lab`` and
``rerank-lab:owner=<you>``. A dry run unless ``delete=True`` AND ``confirm="delete"``
(``python -m tools.aws cleanup --delete``, which asks you to type it); other owners' resources
can be listed (``any_owner``), never deleted. Deleting goes through
``helpers.sagemaker.cleanup.delete_resources``, the path ``delete_run`` takes too.
"""

from __future__ import annotations

from helpers.sagemaker.account import NAME_PREFIX, OWNER_TAG, RUN_TAG, TUTORIAL_TAG, caller_identity
from helpers.sagemaker.cleanup import (
    KINDS,
    SCALABLE_DIMENSION,
    CleanupReport,
    Clients,
    Resource,
    aws_clients,
    delete_resources,
    has_tags,
    short_error,
)

CONFIRM = "delete"  # what a reader types to let sweep delete


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
    confirm="delete". ``any_owner`` lists everyone's (an instructor looking), never deletes."""
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
    """Return the resources named ``rerank-lab*`` tagged ``required`` (in deletion order, with
    their endpoints' scalable targets), and what could not be checked.

    Names are filtered before tags: ListTags runs once per course resource, not once per
    resource of the region (it throttles in a shared account).
    """
    sm = clients.sagemaker
    found = []
    for kind, operation, key, name_key, arn_key, filters in LISTINGS:
        pages = sm.get_paginator(operation).paginate(NameContains=NAME_PREFIX, **filters)
        for item in (item for page in pages for item in page[key]):
            if item[name_key].startswith(NAME_PREFIX) and has_tags(
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
        return [], [f"scalable targets of {len(ids)} endpoints not checked: {short_error(err)}"]
    mine = [t for t in targets if any(t.startswith(prefix) for prefix in ids)]
    return [Resource("scalable target", target) for target in mine], []
