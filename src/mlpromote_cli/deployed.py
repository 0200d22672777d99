"""Commands against a deployed control plane: promote, rollback, status, history, list, approve, reject, abort.

Credentials come from the usual AWS chain. The stack is `--stack`, else samconfig.toml's
stack_name; its outputs name the state machine and the promotions table.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

from mlpromote import abandoned, approvals, arns, promotions
from mlpromote.aws import dynamodb, sessions
from mlpromote.errors import InvalidPromotionRequest
from mlpromote.history import PromotionRecord, live_at
from mlpromote.plan import PromotionRequest
from mlpromote_cli.inputs import local_config


@dataclass(frozen=True)
class Stack:
    state_machine_arn: str
    table: str
    region: str | None
    # The REST API's base URL (the PromotionsApiUrl output): where the deployed config is published.
    api_url: str | None = None


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
        return Stack(
            outputs["PromoteModelStateMachineArn"],
            outputs["PromotionsTableName"],
            region,
            outputs.get("PromotionsApiUrl"),
        )
    except KeyError as missing:
        raise InvalidPromotionRequest(
            f"stack {stack_name} has no output {missing}; is it an mlpromote stack?"
        ) from None


def start(stack: Stack, request: PromotionRequest, now: datetime | None = None) -> str:
    """Start the promotion, or find the one an identical request started moments ago."""
    _region_for_clients(stack)
    return promotions.start(stack.state_machine_arn, request, now or datetime.now(UTC), table=stack.table)


def status(stack: Stack, execution_arn: str) -> dict[str, Any]:
    _region_for_clients(stack)
    return promotions.describe(stack.state_machine_arn, execution_arn)


def caller(stack: Stack) -> str:
    """Who runs the command, for the history (CloudTrail's StartExecution record is the authority)."""
    return str(boto3.client("sts", region_name=stack.region).get_caller_identity()["Arn"])


def _region_for_clients(stack: Stack) -> None:
    # mlpromote's clients work in the stack's region (its state machine's), on the stack's table, as
    # the handlers set them in Lambda.
    sessions.use_region(arns.region_of_arn(stack.state_machine_arn))
    dynamodb.use_table(stack.table)


def execution_of(stack: Stack, promotion_id: str) -> str:
    """The execution ARN of a promotion id (the ARN itself, or the execution's name)."""
    if promotion_id.startswith("arn:"):
        return promotion_id
    return promotions.execution_arn(stack.state_machine_arn, promotion_id)


def decide(stack: Stack, promotion_id: str, decision: approvals.Decision) -> approvals.Approval:
    """Approve or reject a promotion at the approval gate, as the caller of the command, under the
    environment's four-eyes rules (approvers, separateApprover) when the deployed config is at hand."""
    _region_for_clients(stack)
    execution = execution_of(stack, promotion_id)
    waiting = approvals.read(execution)
    config = local_config(None)
    rules = config.environments.get(waiting.environment) if waiting and config else None
    return approvals.decide(execution, decision, approver=caller(stack), rules=rules)


def abort(stack: Stack, promotion_id: str, reason: str, wait: bool = True, timeout: float = 900) -> dict[str, Any]:
    """Stop a running promotion as the caller of the command (mlpromote.abandoned.abort). With `wait`, until
    ReleaseAbandoned has undone it and closed its record (`record`: the history record, with what the
    compensation did), or `timeout` seconds passed (`record`: None)."""
    _region_for_clients(stack)
    execution = execution_of(stack, promotion_id)
    document = abandoned.abort(execution, reason, by=caller(stack))
    if not wait:
        return document
    deadline = time.monotonic() + timeout
    request = status(stack, execution)["request"]
    while time.monotonic() < deadline:
        record = next(
            (r for r in dynamodb.records(request["environment"], table=stack.table) if r.promotion_id == execution),
            None,
        )
        if record is None or record.status != "RUNNING":
            return {**document, "record": record.model_dump(mode="json", by_alias=True) if record else None}
        time.sleep(0.2)
    return {**document, "record": None}


def wait(
    stack: Stack,
    execution_arn: str,
    on_step: Callable[[dict[str, str]], None],
    poll_seconds: float = 5,
    on_approval: Callable[[dict[str, Any]], None] | None = None,
    on_running: Callable[[dict[str, str]], None] | None = None,
) -> dict[str, Any]:
    """Until the execution ends, telling each step once it has finished, and once that it waits for approval."""
    return follow(lambda: status(stack, execution_arn), on_step, poll_seconds, on_approval, on_running)


def follow(
    fetch: Callable[[], dict[str, Any]],
    on_step: Callable[[dict[str, str]], None],
    poll_seconds: float = 5,
    on_approval: Callable[[dict[str, Any]], None] | None = None,
    on_running: Callable[[dict[str, str]], None] | None = None,
) -> dict[str, Any]:
    """Poll a promotion (`fetch`: its status document) until it ends: each step is told once it has
    finished (`on_step`), once when it starts (`on_running`), and the approval gate once it waits."""
    told = 0
    asked = False
    running_told: tuple[int, str] | None = None
    while True:
        current = fetch()
        running = current["status"] == "RUNNING"
        done = current["steps"][:-1] if running else current["steps"]
        for step in done[told:]:
            on_step(step)
        told = max(told, len(done))
        if running and on_running is not None and len(current["steps"]) > told:
            step = current["steps"][-1]
            if running_told != (len(current["steps"]), step["name"]):
                running_told = (len(current["steps"]), step["name"])
                on_running(step)
        approval = current.get("approval") or {}
        if running and approval.get("status") == "awaiting" and not asked and on_approval is not None:
            on_approval(approval)
            asked = True
        if not running:
            return current
        time.sleep(poll_seconds)


def history(stack: Stack, environment: str, at: datetime | None) -> dict[str, Any]:
    _region_for_clients(stack)
    records = dynamodb.records(environment, table=stack.table)
    live: PromotionRecord | None = live_at(records, at or datetime.now(UTC))
    return {
        "environment": environment,
        "at": (at or datetime.now(UTC)).isoformat(),
        "live": live.model_dump(mode="json", by_alias=True) if live else None,
        "promotions": [r.model_dump(mode="json", by_alias=True) for r in reversed(records)],
    }


def recent(stack: Stack, environment: str, limit: int, next_token: str | None = None) -> dict[str, Any]:
    """A page of the environment's promotions, newest first (what GET /promotions answers)."""
    _region_for_clients(stack)
    return promotions.recent(environment, limit, next_token, table=stack.table)
