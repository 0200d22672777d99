"""Invoking one of the control plane's own functions (a published version) and reading its answer."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from mlpromote.aws import sessions


def invoke(function_arn: str, payload: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Run the function synchronously: (its result, False), or (its error payload, True) when it raised."""
    try:
        answer = sessions.client("lambda").invoke(
            FunctionName=function_arn, InvocationType="RequestResponse", Payload=json.dumps(payload).encode()
        )
    except ClientError as error:
        raise sessions.translated(error, "lambda Invoke") from error
    body = json.loads(answer["Payload"].read() or b"null")
    return (body if isinstance(body, dict) else {"result": body}), "FunctionError" in answer
