"""moto's fake AWS for a block: the control plane only, never inference (notebooks 04 and 07)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Variables that would send boto3 elsewhere than moto, or to the instance metadata service.
HIDDEN = ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER")
FAKE_ROLE = "arn:aws:iam::123456789012:role/rerank-lab-sagemaker"


@contextmanager
def fake_aws(region: str = "eu-west-1") -> Iterator[None]:
    """Run a block against moto with dummy credentials in ``region``; restore the environment.

    Every boto3 call inside goes to moto, even with real credentials configured: nothing created
    in the block exists on AWS, and nothing outlives it.
    """
    from moto import mock_aws

    saved = dict(os.environ)
    for key in HIDDEN:
        os.environ.pop(key, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="fake",
        AWS_SECRET_ACCESS_KEY="fake",
        AWS_DEFAULT_REGION=region,
        AWS_EC2_METADATA_DISABLED="true",
        SAGEMAKER_ROLE_ARN=FAKE_ROLE,
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    try:
        with mock_aws():
            yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
