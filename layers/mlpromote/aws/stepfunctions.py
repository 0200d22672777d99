"""Executions of the promotion state machine, as seen by the lock: still running, or not."""

from __future__ import annotations

import json
from typing import Any

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


def history(execution_arn: str) -> list[dict[str, Any]]:
    """Every event of the execution's history, oldest first."""
    events: list[dict[str, Any]] = []
    try:
        for page in (
            sessions.client("stepfunctions").get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        ):
            events.extend(page["events"])
    except ClientError as error:
        if sessions.error_code(error) in ("ExecutionDoesNotExist", "InvalidArn"):
            return []
        sessions.raise_if_transient(error, "states GetExecutionHistory")
        raise
    return events


def definition_of(execution_arn: str) -> dict[str, Any]:
    """The state machine definition the execution runs (or ran) with: the one it started with, whatever
    was deployed since (DescribeStateMachineForExecution)."""
    try:
        answer = sessions.client("stepfunctions").describe_state_machine_for_execution(executionArn=execution_arn)
    except ClientError as error:
        sessions.raise_if_transient(error, "states DescribeStateMachineForExecution")
        raise
    return dict(json.loads(answer["definition"]))


def stop(execution_arn: str, error: str, cause: str) -> None:
    """StopExecution: the execution ends ABORTED with this error and cause; no Catch runs."""
    try:
        sessions.client("stepfunctions").stop_execution(
            executionArn=execution_arn, error=error[:256], cause=cause[:32768]
        )
    except ClientError as error_:
        sessions.raise_if_transient(error_, "states StopExecution")
        raise
