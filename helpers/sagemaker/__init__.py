"""Course plumbing around the SageMaker endpoint (notebooks 04 to 07); the lesson is on the pages.

``contract``: where serving/code lives, importing it here; ``package``: model.tar.gz; ``local``:
SageMaker's model server from .venv-serve; ``runtime``: boto3 calls and a local stand-in for the
runtime API (notebook 04 writes the LangChain client); ``account``, ``cleanup``: names, tags,
deleting one run; ``deploy``: SDK import, role, upload, smoke test; ``fakeaws``: moto for a block;
``scaling``: notebook 07's autoscaling target. This package exports what the notebooks call; the
rest is reached through its module. Machinery: ``python -m tools.aws``.
"""

from helpers.sagemaker.account import OWNER_TAG, TUTORIAL_TAG, Deployment, plan_deployment
from helpers.sagemaker.cleanup import aws_clients, cleaned_up, delete_run
from helpers.sagemaker.contract import ENDPOINT_ENV, ROOT, load_handler, load_schema
from helpers.sagemaker.deploy import HF_DLC, execution_role, import_sdk, smoke_test, upload_model
from helpers.sagemaker.fakeaws import fake_aws
from helpers.sagemaker.local import serve_locally
from helpers.sagemaker.package import archive_listing, package_model, print_archive
from helpers.sagemaker.runtime import (
    invoke_scores,
    local_aws_env,
    patched_env,
    runtime_bridge,
    runtime_client,
    session_region,
)

__all__ = [
    "Deployment", "ENDPOINT_ENV", "HF_DLC", "OWNER_TAG", "ROOT", "TUTORIAL_TAG",
    "archive_listing", "aws_clients", "cleaned_up", "delete_run", "execution_role", "fake_aws",
    "import_sdk", "invoke_scores", "load_handler", "load_schema", "local_aws_env",
    "package_model", "patched_env", "plan_deployment", "print_archive", "runtime_bridge",
    "runtime_client", "serve_locally", "session_region", "smoke_test", "upload_model",
]  # fmt: skip
