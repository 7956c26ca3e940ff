"""Package, serve locally, call and deploy the reranker's SageMaker endpoint (notebook 04).

The endpoint code lives in ``serving/code`` (``inference.py`` + ``rerank_schema.py``); this
package never imports ``inference.py`` except to try it in process, it ships it. One module a job:

- ``contract``: where the endpoint code lives; ``load_schema`` / ``load_handler``;
- ``package``: ``model.tar.gz`` (write, list, unpack);
- ``local``: serve with SageMaker's own model server from ``.venv-serve``;
- ``runtime``: call it with boto3 and LangChain (a local bridge stands in for AWS);
- ``load``, ``batch_local``: load a local endpoint from concurrent clients; Batch Transform's
  multi-record bodies against it (notebook 07);
- ``account``: who deploys (a person, even on a shared role), unique names and tags;
- ``deploy``: upload, deploy, smoke-test (needs the optional ``sagemaker>=2.254,<3``);
- ``cleanup``: delete what a run created, or sweep what you created with the course (boto3 only);
- ``scaling``, ``batch``: autoscaling and Batch Transform jobs (notebook 07);
- ``fakeaws``: moto for a block, the control plane only (notebooks 04 and 07, tests).

CLI: ``python -m helpers.sagemaker serve MODEL_DIR [--port 8080] [--handler huggingface|default]``
and ``python -m helpers.sagemaker cleanup [--delete --yes] [--region R] [--run NAME] [--any-owner]``
"""

from helpers.sagemaker.account import (
    NAME_PREFIX,
    OWNER_TAG,
    RUN_TAG,
    TUTORIAL_TAG,
    Deployment,
    owner_of,
    plan_deployment,
    unique_name,
    wait_for_endpoint,
)
from helpers.sagemaker.cleanup import (
    CleanupIncomplete,
    CleanupReport,
    Resource,
    aws_clients,
    cleaned_up,
    delete_run,
    sweep,
)
from helpers.sagemaker.contract import (
    CODE_DIR,
    ENDPOINT_ENV,
    IMPORT_INFERENCE,
    ROOT,
    load_code_module,
    load_handler,
    load_schema,
)
from helpers.sagemaker.deploy import (
    HF_DLC,
    deploy_huggingface,
    deployed,
    execution_role,
    huggingface_model,
    import_sdk,
    smoke_test,
    upload_model,
)
from helpers.sagemaker.fakeaws import fake_aws
from helpers.sagemaker.local import (
    FALLBACK_SERVER,
    LAUNCHER,
    SERVE_VENV,
    LocalEndpoint,
    free_port,
    java_available,
    serve_locally,
    serve_python,
    server_env,
    start_server,
    stop_process_group,
    wait_until_ready,
)
from helpers.sagemaker.package import archive_listing, package_model, print_archive, unpack_model
from helpers.sagemaker.runtime import (
    MAX_BODY_BYTES,
    REGION,
    client_config,
    content_handler,
    invoke_scores,
    local_aws_env,
    model_error_body,
    patched_env,
    runtime_bridge,
    runtime_client,
    sagemaker_cross_encoder,
    session_region,
    split_calls,
)

__all__ = [
    "CODE_DIR", "CleanupIncomplete", "CleanupReport", "Deployment", "ENDPOINT_ENV",
    "FALLBACK_SERVER", "HF_DLC", "IMPORT_INFERENCE", "LAUNCHER", "LocalEndpoint", "MAX_BODY_BYTES",
    "NAME_PREFIX", "OWNER_TAG", "REGION", "ROOT", "RUN_TAG", "Resource", "SERVE_VENV",
    "TUTORIAL_TAG", "archive_listing", "aws_clients", "cleaned_up", "client_config",
    "content_handler", "delete_run", "deploy_huggingface", "deployed", "execution_role",
    "fake_aws", "free_port", "huggingface_model", "import_sdk", "invoke_scores", "java_available",
    "load_code_module", "load_handler", "load_schema", "local_aws_env", "model_error_body",
    "owner_of", "package_model", "patched_env", "plan_deployment", "print_archive",
    "runtime_bridge", "runtime_client", "sagemaker_cross_encoder", "serve_locally", "serve_python",
    "server_env", "session_region", "smoke_test", "split_calls", "start_server",
    "stop_process_group", "sweep", "unique_name", "unpack_model", "upload_model",
    "wait_for_endpoint", "wait_until_ready",
]  # fmt: skip
