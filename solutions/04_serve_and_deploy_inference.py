"""Solutions to notebook 04's exercises: try them in the notebook first."""

from __future__ import annotations

import json

from langchain_community.cross_encoders.sagemaker_endpoint import CrossEncoderContentHandler


def exercise_1(pairs) -> str:
    """Return the JSON body LangChain's default content handler sends for ``pairs``."""
    return json.dumps({"text_pairs": [[query, document] for query, document in pairs]})


class PairsContentHandler(CrossEncoderContentHandler):
    """Send ``{"pairs": ...}``, which the seed page's inference.py reads, and return the scores."""

    def transform_input(self, text_pairs) -> bytes:
        body = {"pairs": [[query, document] for query, document in text_pairs]}
        return json.dumps(body).encode("utf-8")

    def transform_output(self, output) -> list[float]:
        # `output` is boto3's StreamingBody: a stream to read, not bytes.
        return json.loads(output.read())["scores"]


def exercise_2() -> PairsContentHandler:
    """Return a content handler for SagemakerEndpointCrossEncoder that sends ``pairs``."""
    return PairsContentHandler()
