"""Batch Transform's data path, locally: split, post and assemble as SageMaker does (nb 07).

A transform job with ``SplitType=Line`` and ``BatchStrategy=MultiRecord`` cuts the input file at
line ends and packs as many whole lines as fit in ``MaxPayloadInMB`` into one request body
(``Content-Type`` = the job's ``ContentType``); with ``AssembleWith=Line`` it writes each answer
followed by a newline. The endpoint must answer one line per record, in order. What only AWS
shows (S3, instance start-up, retries, the job's own timeouts) is not exercised here.
"""

from __future__ import annotations

from helpers.sagemaker.contract import load_schema


def mini_batches(lines: list[str], max_payload_bytes: int) -> list[str]:
    """Pack whole lines into bodies of at most max_payload_bytes (one line may not fit: error)."""
    bodies, current, size = [], [], 0
    for line in lines:
        length = len(line.encode("utf-8")) + 1  # the newline that ends it
        if length > max_payload_bytes:
            raise ValueError(f"a record of {length} bytes exceeds MaxPayloadInMB")
        if current and size + length > max_payload_bytes:
            bodies.append("".join(current))
            current, size = [], 0
        current.append(line + "\n")
        size += length
    if current:
        bodies.append("".join(current))
    return bodies


def transform_locally(endpoint, records, max_payload_bytes: int = 6 * 1024 * 1024) -> list:
    """Score records ([(query, doc), ...] each) as a transform job would; one list per record."""
    schema = load_schema()
    lines = [schema.encode_request(pairs).decode("utf-8") for pairs in records]
    output = ""
    for body in mini_batches(lines, max_payload_bytes):
        status, _, answer = endpoint.request(body, schema.JSONLINES, schema.JSONLINES)
        if status != 200:
            raise RuntimeError(f"{status}: {answer[:500].decode(errors='replace')}")
        output += answer.decode("utf-8") + "\n"  # AssembleWith=Line
    answers = output.splitlines()
    if len(answers) != len(records):
        raise RuntimeError(f"{len(records)} records in, {len(answers)} lines out")
    return [
        schema.decode_response(line, len(pairs))
        for line, pairs in zip(answers, records, strict=True)
    ]
