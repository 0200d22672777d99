"""Commands against a deployed control plane: promote, rollback, status, history.

Credentials come from the usual AWS chain. The stack is `--stack`, else samconfig.toml's
stack_name; its outputs name the state machine and the promotions table.
"""

from __future__ import annotations

import hashlib
import json
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from mlpromote.aws import dynamodb
from mlpromote.errors import InvalidPromotionRequest
from mlpromote.executions import StepReport, readable_cause, step_names, steps_from_history
from mlpromote.history import PromotionRecord, live_at
from mlpromote.plan import PromotionRequest

# Identical requests within this window start one execution, not two (a retried command).
IDEMPOTENCY_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class Stack:
    state_machine_arn: str
    table: str
    region: str | None


def stack_name_from_samconfig(path: Path = Path("samconfig.toml")) -> str | None:
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError):
        return None
    default = config.get("default", {})
    for section in ("deploy", "global"):
        name = default.get(section, {}).get("parameters", {}).get("stack_name")
        if name:
            return str(name)
    return None


def resolve_stack(name: str | None, region: str | None) -> Stack:
    """The control plane's resources, from the CloudFormation stack's outputs."""
    stack_name = name or stack_name_from_samconfig()
    if not stack_name:
        raise InvalidPromotionRequest("name the stack with --stack, or run where samconfig.toml names it")
    cloudformation = boto3.client("cloudformation", region_name=region)
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    try:
        return Stack(outputs["PromoteModelStateMachineArn"], outputs["PromotionsTableName"], region)
    except KeyError as missing:
        raise InvalidPromotionRequest(
            f"stack {stack_name} has no output {missing}; is it an mlpromote stack?"
        ) from None


def execution_name(request: PromotionRequest, now: datetime) -> str:
    """Deterministic for the same request in the same window, so a retry finds the first execution."""
    body = json.dumps(request.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=True)
    window = int(now.timestamp()) // IDEMPOTENCY_WINDOW_SECONDS
    digest = hashlib.sha256(f"{body}|{window}".encode()).hexdigest()[:20]
    return f"{request.environment}-{'rollback' if request.rollback else 'promote'}-{digest}"[:80]


def start(stack: Stack, request: PromotionRequest, now: datetime | None = None) -> str:
    """Start the promotion, or find the one an identical request started moments ago."""
    sfn = boto3.client("stepfunctions", region_name=stack.region)
    name = execution_name(request, now or datetime.now(UTC))
    document = json.dumps(request.model_dump(mode="json", by_alias=True, exclude_defaults=True))
    try:
        return str(
            sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=name, input=document)["executionArn"]
        )
    except sfn.exceptions.ExecutionAlreadyExists:
        return stack.state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def status(stack: Stack, execution_arn: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions", region_name=stack.region)
    description = sfn.describe_execution(executionArn=execution_arn)
    definition = json.loads(sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)["definition"])
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    steps = steps_from_history(events, step_names(definition))
    if description["status"] == "RUNNING" and steps:
        steps[-1] = StepReport(steps[-1].name, "RUNNING")
    return {
        "promotionId": execution_arn,
        "status": description["status"],
        "request": json.loads(description.get("input") or "{}"),
        "steps": [{"name": s.name, "status": s.status} for s in steps],
        "summary": json.loads(description["output"]) if description.get("output") else None,
        "error": description.get("error"),
        "cause": readable_cause(description.get("cause")),
    }


def wait(
    stack: Stack, execution_arn: str, on_step: Callable[[dict[str, str]], None], poll_seconds: float = 5
) -> dict[str, Any]:
    """Until the execution ends, telling each step once it has finished."""
    told = 0
    while True:
        current = status(stack, execution_arn)
        running = current["status"] == "RUNNING"
        done = current["steps"][:-1] if running else current["steps"]
        for step in done[told:]:
            on_step(step)
        told = max(told, len(done))
        if not running:
            return current
        time.sleep(poll_seconds)


def history(stack: Stack, environment: str, at: datetime | None) -> dict[str, Any]:
    records = dynamodb.records(environment, table=stack.table)
    live: PromotionRecord | None = live_at(records, at or datetime.now(UTC))
    return {
        "environment": environment,
        "at": (at or datetime.now(UTC)).isoformat(),
        "live": live.model_dump(mode="json", by_alias=True) if live else None,
        "promotions": [r.model_dump(mode="json", by_alias=True) for r in reversed(records)],
    }
