"""Start a Batch Transform job over JSON Lines in S3, owned and cleaned up as a deployment (07).

The job reads ``s3://.../*.jsonl`` (one request per line), cuts it at line ends
(``SplitType=Line``), packs whole lines into bodies of at most ``MaxPayloadInMB``
(``BatchStrategy=MultiRecord``) and writes one answer line per input line (``AssembleWith=Line``).
``helpers.sagemaker.batch_local`` runs that same data path against a local endpoint.
"""

from __future__ import annotations

from helpers.sagemaker.account import Deployment
from helpers.sagemaker.contract import load_schema
from helpers.sagemaker.deploy import DEFAULT_INSTANCE_TYPE, huggingface_model

# Bodies of whole JSON lines, answered one line per input line, in order.
LINES = {"strategy": "MultiRecord", "assemble_with": "Line"}


def start_transform_job(
    deployment: Deployment,
    model_data: str,
    role: str,
    input_s3: str,
    output_s3: str,
    *,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    max_payload_mb: int = 1,
    timeout_s: int = 600,
    env: dict | None = None,
) -> str:
    """Create the deployment's model and start the job without waiting; return the job's name.

    Each body must finish within ``timeout_s`` (the job's InvocationsTimeoutInSeconds and the
    model server's timeout): size ``max_payload_mb`` and RERANKER_MAX_TOKENS in ``env`` for it.
    """
    jsonlines = load_schema().JSONLINES
    timeouts = {"SAGEMAKER_MODEL_SERVER_TIMEOUT_SECONDS": str(timeout_s)}
    model = huggingface_model(model_data, role, deployment, {**timeouts, **(env or {})})
    transformer = model.transformer(
        instance_count=instance_count,
        instance_type=instance_type,
        output_path=output_s3,
        max_payload=max_payload_mb,
        tags=deployment.tags,
        accept=jsonlines,
        **LINES,
    )
    job = f"{deployment.name[:54]}-batch{len(deployment.transform_jobs) + 1}"
    deployment.transform_jobs.append(job)  # before the call: an interrupt in it is cleaned up
    retries = {"InvocationsTimeoutInSeconds": timeout_s, "InvocationsMaxRetries": 1}
    transformer.transform(
        data=input_s3, data_type="S3Prefix", content_type=jsonlines, split_type="Line",
        job_name=job, model_client_config=retries, wait=False, logs=False,
    )  # fmt: skip
    return job
