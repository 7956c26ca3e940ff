"""moto's fake AWS for a block: the control plane only, never inference (notebooks 04 and 07)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from unittest import mock

from helpers.sagemaker.account import METADATA_ENV
from helpers.sagemaker.deploy import import_sdk
from helpers.sagemaker.runtime import patched_env

HIDDEN = (
    "AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER",
    "AWS_SESSION_TOKEN",
)  # fmt: skip
FAKE_ROLE = "arn:aws:iam::123456789012:role/rerank-lab-sagemaker"


@contextmanager
def fake_aws(region: str = "eu-west-1") -> Iterator[None]:
    """Send every boto3 call of a block to moto (dummy credentials, Studio metadata hidden)."""
    from moto import mock_aws

    values = dict.fromkeys(HIDDEN) | {
        "AWS_ACCESS_KEY_ID": "fake",
        "AWS_SECRET_ACCESS_KEY": "fake",
        "AWS_DEFAULT_REGION": region,
        "AWS_EC2_METADATA_DISABLED": "true",
        "SAGEMAKER_ROLE_ARN": FAKE_ROLE,
        METADATA_ENV: "/nonexistent/resource-metadata.json",
    }
    with ExitStack() as stack:
        stack.enter_context(patched_env(values))
        stack.enter_context(mock_aws())
        try:
            import_sdk()
        except ImportError:  # no SDK v2: nothing of it waits
            pass
        else:  # the SDK sleeps 30 s before each look; moto finishes what it creates at once
            stack.enter_context(mock.patch("sagemaker.session._wait_until", _look_until_done))
        yield


def _look_until_done(look, poll=None):
    """Return the SDK's ``look()`` once it is done, without the SDK's sleeps (moto only)."""
    for _ in range(100):
        if (done := look()) is not None:
            return done
    raise TimeoutError("moto still reports the resource as in progress after 100 looks")
