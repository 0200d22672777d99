"""The step decorator reports the named errors the adapters raise: it classifies nothing itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.errors import AwsCallFailed, TransientAwsError
from mlpromote.handler import CAUSE_CHARACTERS, failed_iteration, step_handler


@dataclass
class Context:
    function_name: str = "SmokeTestFunction"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111111111111:function:SmokeTestFunction"
    aws_request_id: str = "request"


def refused(code: str, message: str = "no") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "DetectCustomLabels")


def failing(error: Exception, **options: Any) -> Any:
    @step_handler("SmokeTest", **options)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise error

    return lambda: handler(
        {"execution": "arn:aws:states:us-east-1:111111111111:execution:m:e", "account": "a"}, Context()
    )


def test_an_aws_failure_in_a_fan_out_is_its_iterations_result_with_a_short_cause() -> None:
    error = sessions.translated(refused("ValidationException", "bad image"), "rekognition DetectCustomLabels")
    result = failing(error, failure_result=failed_iteration("account"))()
    assert result == {
        "account": "a",
        "failed": True,
        "error": {"Error": "AwsCallFailed", "Cause": "DetectCustomLabels: ValidationException: bad image"},
    }


def test_a_transient_error_is_raised_for_the_state_machine_to_retry_even_in_a_fan_out() -> None:
    error = sessions.translated(refused("ThrottlingException"), "rekognition DetectCustomLabels")
    with pytest.raises(TransientAwsError):
        failing(error, failure_result=failed_iteration("account"))()


def test_a_raised_aws_failure_keeps_its_name_and_code_within_the_cause_bound() -> None:
    error = sessions.translated(refused("AccessDeniedException", "x" * 5000), "rekognition DetectCustomLabels")
    with pytest.raises(AwsCallFailed) as raised:
        failing(error)()
    assert len(str(raised.value)) == CAUSE_CHARACTERS and raised.value.code == "AccessDeniedException"
