"""moto's AWS control plane for the deploy, cleanup and scaling tests (notebooks 04 and 07)."""

from __future__ import annotations

import pytest

from helpers import sagemaker as sm

moto = pytest.importorskip("moto")

ACCOUNT = "123456789012"
REGION = "eu-west-1"  # not moto's default: proves the session's region is used everywhere
ROLE = sm.fakeaws.FAKE_ROLE
MODEL_DATA = "s3://my-bucket/rerank/model.tar.gz"
GOOD_ANSWER = '{"scores": [0.5]}'


@pytest.fixture(name="aws")
def aws_fixture():
    """moto in eu-west-1 with dummy credentials; no instance-metadata lookups, ever."""
    with sm.fake_aws(REGION):
        yield sm.aws_clients()


def queue_answer(body: str = GOOD_ANSWER) -> None:
    """Make moto's invoke_endpoint answer ``body`` once (what the endpoint would return)."""
    from moto.sagemakerruntime.models import sagemakerruntime_backends

    backend = sagemakerruntime_backends[ACCOUNT][REGION]
    backend.results_queue.append((body, "application/json", "AllTraffic", ""))


def leftovers(clients) -> list[str]:
    """Return every SageMaker and autoscaling resource that exists, by kind and name."""
    s, a = clients.sagemaker, clients.autoscaling
    return (
        [f"endpoint {e['EndpointName']}" for e in s.list_endpoints()["Endpoints"]]
        + [
            f"config {c['EndpointConfigName']}"
            for c in s.list_endpoint_configs()["EndpointConfigs"]
        ]
        + [f"model {m['ModelName']}" for m in s.list_models()["Models"]]
        + [
            f"target {t['ResourceId']}"
            for t in a.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
        ]
    )


def endpoint_status(name: str, status: str) -> None:
    """Set an endpoint's status in moto (it creates endpoints InService at once)."""
    from moto.sagemaker.models import sagemaker_backends

    sagemaker_backends[ACCOUNT][REGION].endpoints[name].endpoint_status = status
