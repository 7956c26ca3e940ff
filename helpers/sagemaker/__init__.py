"""Package, serve locally, call and deploy the reranker's SageMaker endpoint (notebook 04).

The endpoint code lives in ``serving/code`` (``inference.py`` + ``rerank_schema.py``); this
package never imports ``inference.py`` except to try it in process, it ships it. One module a job:

- ``contract``: where the endpoint code lives; ``load_schema`` / ``load_handler``;
- ``package``: ``model.tar.gz`` (write, list, unpack);
- ``local``: serve with SageMaker's own model server from ``.venv-serve``;
- ``runtime``: call it with boto3 and LangChain (a local bridge stands in for AWS);
- ``deploy``: deploy to AWS and clean up (needs the optional ``sagemaker>=2,<3``).

CLI: ``python -m helpers.sagemaker serve MODEL_DIR [--port 8080] [--handler huggingface|default]``
"""

from helpers.sagemaker.contract import CODE_DIR, ROOT, load_handler, load_schema
from helpers.sagemaker.deploy import (
    HF_DLC,
    TUTORIAL_TAG,
    delete_endpoint_resources,
    delete_tutorial_endpoints,
    deploy_huggingface,
    deployed,
    tutorial_endpoints,
)
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
    REGION,
    content_handler,
    invoke_scores,
    local_aws_env,
    model_error_body,
    patched_env,
    runtime_bridge,
    runtime_client,
    sagemaker_cross_encoder,
)

__all__ = [
    "CODE_DIR", "FALLBACK_SERVER", "HF_DLC", "LAUNCHER", "REGION", "ROOT", "SERVE_VENV",
    "TUTORIAL_TAG", "LocalEndpoint", "archive_listing", "content_handler",
    "delete_endpoint_resources", "delete_tutorial_endpoints", "deploy_huggingface", "deployed",
    "free_port", "invoke_scores", "java_available", "load_handler", "load_schema",
    "local_aws_env", "model_error_body", "package_model", "patched_env", "print_archive",
    "runtime_bridge", "runtime_client", "sagemaker_cross_encoder", "serve_locally",
    "serve_python", "server_env", "start_server", "stop_process_group", "tutorial_endpoints",
    "unpack_model", "wait_until_ready",
]  # fmt: skip
