"""Executions of the promotion state machine, as seen by the lock: still running, or not."""

from __future__ import annotations

from botocore.exceptions import ClientError

from mlpromote.aws import sessions


def execution_status(execution_arn: str) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; an execution that does not exist counts as ABORTED."""
    try:
        return str(sessions.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"])
    except ClientError as error:
        if sessions.error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            return "ABORTED"
        sessions.raise_if_transient(error, "states DescribeExecution")
        raise
