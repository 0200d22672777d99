"""The front door shared by the entry points (the REST API, the command line): check a request,
start its execution once, read a promotion, list an environment's promotions.

Checks here need no AWS call beyond the lock: a request the config refuses never starts an
execution. The workflow's first step checks again, against the ML account itself.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Any

from mlpromote import approvals
from mlpromote.aws import dynamodb, stepfunctions
from mlpromote.config import Config
from mlpromote.errors import InvalidPromotionRequest, PromotionInProgress, VersionOutsideMlAccount
from mlpromote.executions import readable_cause, step_names, steps_from_history
from mlpromote.plan import PromotionRequest
from mlpromote.versions import ModelVersionArn

# Identical requests within this window start one execution, not two (a retried call).
IDEMPOTENCY_WINDOW_SECONDS = 300


class IdempotencyKeyReused(InvalidPromotionRequest):
    """The same Idempotency-Key came with a different request."""


def check(request: PromotionRequest, config: Config) -> None:
    """What can be refused from the config alone: the environment, the ARN, its account, its project."""
    config.environment(request.environment)
    if request.rollback:
        if request.project:
            config.project(request.project)
        return
    version = ModelVersionArn.parse(request.model_version_arn)
    require_ml_account(version, config)
    config.project(version.project)


# Left out of GET /config: what narrows who may call the access roles is nobody else's business.
_UNPUBLISHED = ("externalId", "consumerRoleArns", "organizationId", "vpcEndpointIds")


def published_config(config: Config) -> dict[str, Any]:
    """The config as GET /config answers it: enough for a client to refuse what check() would refuse."""
    document = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    document.pop("organizationId", None)
    for environment in document["environments"].values():
        for key in _UNPUBLISHED:
            environment.pop(key, None)
    return {**document, "partition": config.partition}


def config_from_published(document: dict[str, Any]) -> Config:
    """The Config a GET /config answer describes (what check() needs of it)."""
    from mlpromote.config import parse_config

    return parse_config({k: v for k, v in document.items() if k != "partition"}, source="GET /config")


def require_ml_account(version: ModelVersionArn, config: Config) -> None:
    """mlpromote promotes versions of the configured ML account and region, no others."""
    if (version.partition, version.account, version.region) != (config.partition, config.ml_account, config.region):
        raise VersionOutsideMlAccount(
            f"{version.arn} is in account {version.account}, region {version.region} ({version.partition}); "
            f"mlpromote promotes versions of the ML account {config.ml_account} in {config.region}. "
            "Promote a version trained there, or fix mlAccount/region in the config"
        )


def refuse_if_in_progress(environment: str) -> None:
    """PromotionInProgress, naming the promotion that holds the environment, if one runs now."""
    holder = dynamodb.lock_holder(environment)
    if holder and stepfunctions.execution_status(str(holder["holder"])) == "RUNNING":
        raise PromotionInProgress(
            f"{environment} is being promoted by {holder['holder']} (since {holder.get('since')}); "
            "wait for it to end, or stop it, then ask again"
        )


def execution_name(request: PromotionRequest, now: datetime, idempotency_key: str | None = None) -> str:
    """The same for a retry: the Idempotency-Key if given, else the request within a time window."""
    if idempotency_key:
        # The key alone names the execution: reused with another request, it finds the first one.
        return f"key-{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}"
    body = json.dumps(request.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=True)
    digest = hashlib.sha256(f"{body}|{int(now.timestamp()) // IDEMPOTENCY_WINDOW_SECONDS}".encode()).hexdigest()[:20]
    return f"{request.environment}-{'rollback' if request.rollback else 'promote'}-{digest}"[:80]


def retry_of(
    state_machine_arn: str,
    request: PromotionRequest,
    now: datetime,
    idempotency_key: str | None = None,
    table: str | None = None,
) -> str | None:
    """The execution this request is a retry of, or None if it is a new one.

    Asked before anything else about the environment (its lock, its running promotion): a retry is
    answered with its first promotion in every state, running, at the gate or ended, and a key
    reused with another request is refused whatever state the first one is in.
    """
    base = execution_name(request, now, idempotency_key)
    document = json.loads(_document(request))
    for attempt in range(1, _MAX_REPEATS + 1):
        name = base if idempotency_key or attempt == 1 else f"{base[:74]}-{attempt}"
        existing = execution_arn(state_machine_arn, name)
        description = stepfunctions.find_execution(existing)
        if description is None:
            return None
        if idempotency_key:
            _require_same_request(idempotency_key, description, document)
            return existing
        if not _promoted_since(request.environment, existing, description["startDate"], table):
            return existing
    return None


def _require_same_request(idempotency_key: str, description: dict[str, Any], document: dict[str, Any]) -> None:
    first = json.loads(description.get("input") or "{}")
    if first != document:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {idempotency_key!r} was used for another request ({json.dumps(first)}); "
            "use a new key for a new request"
        )


def _document(request: PromotionRequest) -> str:
    return json.dumps(request.model_dump(mode="json", by_alias=True, exclude_defaults=True), sort_keys=True)


def start(
    state_machine_arn: str,
    request: PromotionRequest,
    now: datetime,
    idempotency_key: str | None = None,
    table: str | None = None,
) -> str:
    """Start the promotion's execution, or return the one this same request started before.

    With an Idempotency-Key, the key alone decides. Without one, the same body within the window
    is a retry only if no other promotion of the environment started since the first: v2, then a
    rollback, then v2 again is a new intent, and starts a new execution (named after the first,
    with a counter, so a retry of it finds it in turn).
    """
    base = execution_name(request, now, idempotency_key)
    document = _document(request)
    for attempt in range(1, _MAX_REPEATS + 1):
        name = base if idempotency_key or attempt == 1 else f"{base[:74]}-{attempt}"
        started = stepfunctions.start_execution(state_machine_arn, name, document)
        if started is not None:
            return started
        existing = execution_arn(state_machine_arn, name)
        description = stepfunctions.describe_execution(existing)
        if idempotency_key:
            _require_same_request(idempotency_key, description, json.loads(document))
            return existing
        if not _promoted_since(request.environment, existing, description["startDate"], table):
            return existing
    raise InvalidPromotionRequest(
        f"the same request was made {_MAX_REPEATS} times within {IDEMPOTENCY_WINDOW_SECONDS} seconds with other "
        "promotions in between; send an Idempotency-Key header to say which requests are one"
    )


# Starts of the same body within one window, each after another promotion of the environment.
_MAX_REPEATS = 20


def _promoted_since(environment: str, execution: str, started: datetime, table: str | None) -> bool:
    """Whether another promotion of the environment started after `execution` did (from the history)."""
    return any(
        record.promotion_id != execution and datetime.fromisoformat(record.started_at) > started
        for record in dynamodb.records(environment, table=table)
    )


def status_of(execution: str) -> dict[str, Any]:
    """What a 202 says of a promotion: its execution's status now, and its approval if it has one
    (RUNNING with an approval `awaiting` is a promotion waiting at the gate)."""
    description = stepfunctions.describe_execution(execution)
    approval = approvals.read(execution)
    return {
        "promotionId": execution.rsplit(":", 1)[-1],
        "executionArn": execution,
        "status": description["status"],
        "approval": approval.public() if approval else None,
    }


def execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def describe(state_machine_arn: str, execution: str) -> dict[str, Any]:
    """A promotion as a person wants it: status, request, steps, summary or error."""
    description = stepfunctions.describe_execution(execution)
    definition = stepfunctions.state_machine_definition(state_machine_arn)
    events = stepfunctions.history(execution)
    steps = [{"name": s.name, "status": s.status} for s in steps_from_history(events, step_names(definition))]
    if description["status"] == "RUNNING" and steps:
        steps[-1]["status"] = "RUNNING"
    return {
        "promotionId": execution.rsplit(":", 1)[-1],
        "executionArn": execution,
        "status": description["status"],
        "request": json.loads(description.get("input") or "{}"),
        "steps": steps,
        "summary": json.loads(description["output"]) if description.get("output") else None,
        "error": description.get("error"),
        "cause": readable_cause(description.get("cause")),
        "approval": approval.public() if (approval := approvals.read(execution)) else None,
    }


def recent(environment: str, limit: int, next_token: str | None, table: str | None = None) -> dict[str, Any]:
    """An environment's promotions from the history, newest first, a page at a time."""
    records = list(reversed(dynamodb.records(environment, table=table)))
    start_at = _offset(next_token)
    page = records[start_at : start_at + limit]
    more = start_at + limit < len(records)
    return {
        "environment": environment,
        "promotions": [r.model_dump(mode="json", by_alias=True) for r in page],
        "nextToken": base64.urlsafe_b64encode(str(start_at + limit).encode()).decode() if more else None,
    }


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        return max(0, int(base64.urlsafe_b64decode(token.encode()).decode()))
    except (ValueError, binascii.Error):
        raise InvalidPromotionRequest("nextToken is not one this API returned; start again without it") from None
