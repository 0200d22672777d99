"""Executions of the promotion state machine, as seen by the lock: still running, or not."""

from __future__ import annotations

from botocore.exceptions import ClientError

from mlpromote.aws import sessions


def execution_status(execution_arn: str) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; an execution that does not exist counts as ABORTED."""
    return find_execution_status(execution_arn) or "ABORTED"


def find_execution_status(execution_arn: str) -> str | None:
    """The execution's status, or None when there is no such execution."""
    try:
        return str(sessions.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"])
    except ClientError as error:
        if sessions.error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            return None
        sessions.raise_if_transient(error, "states DescribeExecution")
        raise


def execution_ending(execution_arn: str) -> tuple[str, str | None, str | None]:
    """(status, error, cause) of an execution; one that does not exist counts as ABORTED, with no error."""
    try:
        description = sessions.client("stepfunctions").describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if sessions.error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            return "ABORTED", None, None
        sessions.raise_if_transient(error, "states DescribeExecution")
        raise
    return str(description["status"]), description.get("error"), description.get("cause")


def send_task_success(task_token: str, output: str) -> None:
    sessions.client("stepfunctions").send_task_success(taskToken=task_token, output=output)


def send_task_failure(task_token: str, error: str, cause: str) -> None:
    sessions.client("stepfunctions").send_task_failure(taskToken=task_token, error=error, cause=cause[:32768])
