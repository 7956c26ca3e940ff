"""Course plumbing around the SageMaker endpoint (notebooks 04 to 07); the lesson is on the pages.

The endpoint code is ``serving/code``; this package ships it. ``contract``: where it lives, and
importing it here; ``package``: ``model.tar.gz``; ``local``: SageMaker's own model server from
``.venv-serve``; ``runtime``: boto3 and LangChain clients, and a local stand-in for the runtime
API; ``account``, ``cleanup``: names, tags, and deleting what one run created; ``deploy``: the
SDK import, role, upload and smoke test; ``fakeaws``: moto for a block; ``scaling``:
what notebook 07's exercise check reuses. The command line is ``python -m tools.aws``.
"""

from helpers.sagemaker.account import (
    OWNER_TAG,
    RUN_TAG,
    TUTORIAL_TAG,
    Deployment,
    owner_of,
    plan_deployment,
    unique_name,
)
from helpers.sagemaker.cleanup import CleanupIncomplete, aws_clients, cleaned_up, delete_run
from helpers.sagemaker.contract import (
    CODE_DIR,
    ENDPOINT_ENV,
    IMPORT_INFERENCE,
    ROOT,
    load_code_module,
    load_handler,
    load_schema,
)
from helpers.sagemaker.deploy import HF_DLC, execution_role, import_sdk, smoke_test, upload_model
from helpers.sagemaker.fakeaws import fake_aws
from helpers.sagemaker.local import (
    FALLBACK_SERVER,
    free_port,
    java_available,
    serve_locally,
    serve_python,
    server_env,
    start_server,
    stop_process_group,
)
from helpers.sagemaker.package import archive_listing, package_model, print_archive, unpack_model
from helpers.sagemaker.runtime import (
    REGION,
    content_handler,
    invoke_scores,
    local_aws_env,
    model_error_body,
    patched_env,
    runtime_bridge,
    runtime_client,
    sagemaker_cross_encoder,
    session_region,
)

__all__ = [
    "CODE_DIR", "CleanupIncomplete", "Deployment", "ENDPOINT_ENV", "FALLBACK_SERVER", "HF_DLC",
    "IMPORT_INFERENCE", "OWNER_TAG", "REGION", "ROOT", "RUN_TAG", "TUTORIAL_TAG",
    "archive_listing", "aws_clients", "cleaned_up", "content_handler", "delete_run",
    "execution_role", "fake_aws", "free_port", "import_sdk", "invoke_scores", "java_available",
    "load_code_module", "load_handler", "load_schema", "local_aws_env", "model_error_body",
    "owner_of", "package_model", "patched_env", "plan_deployment", "print_archive",
    "runtime_bridge", "runtime_client", "sagemaker_cross_encoder", "serve_locally", "serve_python",
    "server_env", "session_region", "smoke_test", "start_server", "stop_process_group",
    "unique_name", "unpack_model", "upload_model",
]  # fmt: skip
