"""Executions of the promotion state machine, as seen by the lock: still running, or not."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from mlpromote.aws import sessions

_NO_SUCH_EXECUTION = ("ExecutionDoesNotExist", "InvalidArn")


def execution_status(execution_arn: str) -> str:
    """RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED; an execution that does not exist counts as ABORTED."""
    return find_execution_status(execution_arn) or "ABORTED"


def find_execution_status(execution_arn: str) -> str | None:
    """The execution's status, or None when there is no such execution."""
    description = find_execution(execution_arn)
    return None if description is None else str(description["status"])


def find_execution(execution_arn: str) -> dict[str, Any] | None:
    """DescribeExecution's answer, or None when there is no such execution."""
    try:
        return dict(sessions.client("stepfunctions").describe_execution(executionArn=execution_arn))
    except ClientError as error:
        if sessions.error_code(error) in _NO_SUCH_EXECUTION:
            return None
        raise sessions.translated(error, "states DescribeExecution") from error


def describe_execution(execution_arn: str) -> dict[str, Any]:
    """DescribeExecution's answer; AwsCallFailed (code ExecutionDoesNotExist) when there is no such execution."""
    with sessions.translating("states DescribeExecution"):
        return dict(sessions.client("stepfunctions").describe_execution(executionArn=execution_arn))


def start_execution(state_machine_arn: str, name: str, document: str) -> str | None:
    """The new execution's ARN, or None when an execution of that name exists already."""
    try:
        answer = sessions.client("stepfunctions").start_execution(
            stateMachineArn=state_machine_arn, name=name, input=document
        )
    except ClientError as error:
        if sessions.error_code(error) == "ExecutionAlreadyExists":
            return None
        raise sessions.translated(error, "states StartExecution") from error
    return str(answer["executionArn"])


def state_machine_definition(state_machine_arn: str) -> dict[str, Any]:
    """The state machine's deployed definition (DescribeStateMachine)."""
    with sessions.translating("states DescribeStateMachine"):
        answer = sessions.client("stepfunctions").describe_state_machine(stateMachineArn=state_machine_arn)
    return dict(json.loads(answer["definition"]))


def execution_ending(execution_arn: str) -> tuple[str, str | None, str | None]:
    """(status, error, cause) of an execution; one that does not exist counts as ABORTED, with no error."""
    try:
        description = sessions.client("stepfunctions").describe_execution(executionArn=execution_arn)
    except ClientError as error:
        if sessions.error_code(error) in _NO_SUCH_EXECUTION:
            return "ABORTED", None, None
        raise sessions.translated(error, "states DescribeExecution") from error
    return str(description["status"]), description.get("error"), description.get("cause")


def send_task_success(task_token: str, output: str) -> None:
    with sessions.translating("states SendTaskSuccess"):
        sessions.client("stepfunctions").send_task_success(taskToken=task_token, output=output)


def send_task_failure(task_token: str, error: str, cause: str) -> None:
    with sessions.translating("states SendTaskFailure"):
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
        if sessions.error_code(error) in _NO_SUCH_EXECUTION:
            return []
        raise sessions.translated(error, "states GetExecutionHistory") from error
    return events


def definition_of(execution_arn: str) -> dict[str, Any]:
    """The state machine definition the execution runs (or ran) with: the one it started with, whatever
    was deployed since (DescribeStateMachineForExecution)."""
    try:
        answer = sessions.client("stepfunctions").describe_state_machine_for_execution(executionArn=execution_arn)
    except ClientError as error:
        raise sessions.translated(error, "states DescribeStateMachineForExecution") from error
    return dict(json.loads(answer["definition"]))


def stop(execution_arn: str, error: str, cause: str) -> None:
    """StopExecution: the execution ends ABORTED with this error and cause; no Catch runs."""
    try:
        sessions.client("stepfunctions").stop_execution(
            executionArn=execution_arn, error=error[:256], cause=cause[:32768]
        )
    except ClientError as error_:
        raise sessions.translated(error_, "states StopExecution") from error_
