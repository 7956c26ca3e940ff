"""One deployment's unique name, owner and tags (notebooks 04 and 07; plumbing).

Everything a run creates is tagged ``project=rerank-lab``, ``rerank-lab:run`` and
``rerank-lab:owner`` (a person, even on a shared role); cleanup deletes only what is yours.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from helpers.sagemaker.runtime import session_region

TUTORIAL_TAG = {"Key": "project", "Value": "rerank-lab"}
RUN_TAG = "rerank-lab:run"
OWNER_TAG = "rerank-lab:owner"
NAME_PREFIX = "rerank-lab"  # every unique_name starts with it (the sweep filters on it)
RESOURCE_METADATA = "/opt/ml/metadata/resource-metadata.json"  # Studio and notebook instances
METADATA_ENV = "RERANK_SAGEMAKER_METADATA"  # another path, for tests
ENDPOINT_BUSY = ("Creating", "Updating", "SystemUpdating", "RollingBack")  # not deletable


@dataclass
class Deployment:
    """A run's model, endpoint config and endpoint (``name``), and its listed jobs and targets."""

    name: str
    region: str
    owner: str
    variant: str = "AllTraffic"
    transform_jobs: list[str] = field(default_factory=list)
    scalable_targets: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[dict]:
        """Return the tags every resource of this run carries."""
        return [
            TUTORIAL_TAG,
            {"Key": RUN_TAG, "Value": self.name},
            {"Key": OWNER_TAG, "Value": self.owner},
        ]

    @property
    def scaling_resource_id(self) -> str:
        """Return the variant's id in Application Auto Scaling (notebook 07)."""
        return f"endpoint/{self.name}/variant/{self.variant}"


def unique_name(base: str = NAME_PREFIX) -> str:
    """Return ``rerank-lab...-YYYYmmdd-HHMMSS-xxxxxx``, at most 63 characters."""
    suffix = time.strftime("-%Y%m%d-%H%M%S-", time.gmtime()) + secrets.token_hex(3)
    base = re.sub(r"[^A-Za-z0-9-]+", "-", base).strip("-")
    if not base.startswith(NAME_PREFIX):
        base = f"{NAME_PREFIX}-{base}".rstrip("-")
    return base[: 63 - len(suffix)].rstrip("-") + suffix


def sagemaker_metadata() -> dict | None:
    """Return this machine's SageMaker metadata (None outside Studio and notebook instances)."""
    try:
        return json.loads(Path(os.environ.get(METADATA_ENV) or RESOURCE_METADATA).read_text())
    except (OSError, ValueError):
        return None


def owner_of(arn: str, metadata: dict | None = None) -> str:
    """Return the person behind a caller ARN as a tag value: Studio's user profile, else an
    assumed role's ARN (with its session), else a notebook instance's ARN, else the user's."""
    metadata = metadata or {}
    if metadata.get("UserProfileName"):
        account = arn.split(":")[4]
        owner = f"studio:{account}:{metadata.get('DomainId', '')}/{metadata['UserProfileName']}"
    elif ":assumed-role/" in arn:
        owner = arn
    else:
        owner = metadata.get("ResourceArn") or arn
    return re.sub(r"[^\w.:/=+@-]", "_", owner)[:256]  # what SageMaker tag values allow


def caller_identity(sts, metadata: dict | None = None) -> str:
    """Return the owner tag of whoever holds these credentials."""
    if metadata is None:
        metadata = sagemaker_metadata()
    return owner_of(sts.get_caller_identity()["Arn"], metadata)


def plan_deployment(base: str = NAME_PREFIX, region: str | None = None) -> Deployment:
    """Choose a unique name and the tags for a deployment; nothing is created yet."""
    import boto3

    region = session_region(region)
    owner = caller_identity(boto3.client("sts", region_name=region))
    return Deployment(name=unique_name(base), region=region, owner=owner)


def wait_for_endpoint(sm, name: str, timeout_s: float = 1800, poll_s: float = 15) -> str:
    """Poll until the endpoint leaves Creating/Updating or timeout_s passes; return its status."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = sm.describe_endpoint(EndpointName=name)["EndpointStatus"]
        if status not in ENDPOINT_BUSY or time.monotonic() >= deadline:
            return status
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
