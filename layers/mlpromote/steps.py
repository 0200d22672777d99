"""The promotion's steps: one function per Task state of statemachines/promote_model.asl.json.

Each function takes typed inputs and returns a typed result; the Lambda handlers only parse the
event and call one of them. AWS sits behind mlpromote.aws.
"""

from __future__ import annotations

import contextvars
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from mlpromote import approvals, arns, history, leases
from mlpromote.aws import cloudwatch, dynamodb, events, iam, rekognition, sessions, ssm, stepfunctions
from mlpromote.config import Config
from mlpromote.errors import (
    EnvironmentChanged,
    GrantNotYetEffective,
    InvalidPromotionRequest,
    ModelNotServing,
    ModelStartFailed,
    ModelStartTimedOut,
    NothingToRollBackTo,
    NotVerifiedUpstream,
    PromotionError,
    PromotionInProgress,
    RollbackAlarmNotFound,
    RolledBackOnAlarm,
    SmokeTestAccessDenied,
    SmokeTestFailed,
    TransientAwsError,
    VersionBeingStopped,
    VersionNoLongerServing,
)
from mlpromote.grants import GrantPolicy, statement_for
from mlpromote.plan import AccountPlan, PromotionPlan, PromotionRequest, TargetAccount
from mlpromote.promotions import require_ml_account
from mlpromote.versions import FAILED, RUNNING, SERVING_STATES, STARTING, ModelVersionArn, require_promotable

T = TypeVar("T")
_ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})


def now() -> datetime:
    return datetime.now(UTC)


def _stamp() -> str:
    return now().isoformat()


def _seconds_since(timestamp: str) -> float:
    return (now() - datetime.fromisoformat(timestamp)).total_seconds()


class StepResult(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", defer_build=True)
    ended_at: str = Field(default_factory=_stamp)

    def dump(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


# --- 1. Validate and plan ------------------------------------------------------------------


def validate_and_plan(request_input: object, execution: str, requested_at: str, config: Config) -> PromotionPlan:
    """Check the request against the config and the ML account.

    Changes nothing: every refusal of the request happens here, before the first write. What the
    environment serves is read later, under the lock (`take_environment`).
    """
    request = PromotionRequest.parse(request_input)
    environment = config.environment(request.environment)
    reader = config.target_roles.parameter_reader
    pointers: dict[str, str | None] | None = None
    if request.rollback:
        project_name = _project_to_roll_back(request, config)
        pointers = read_pointers(
            environment.accounts,
            reader,
            config.project(project_name).parameter_name,
            config.workflow.max_concurrency,
            partition=config.partition,
        )
        version = ModelVersionArn.parse(_rollback_target(request.environment, project_name, pointers))
    else:
        version = ModelVersionArn.parse(request.model_version_arn)
    require_ml_account(version, config)
    project = config.project(version.project)
    project_arn = rekognition.project_arn(version.project)
    description = rekognition.describe_version(project_arn, version.version, version.arn)
    require_promotable(version.label, description.status)
    if environment.requires and not request.rollback and not request.force:
        _require_verified_upstream(config, environment.requires, project.parameter_name, version)

    # What each account serves is read under the lock (take_environment): read here, it could be
    # stale by then. A rollback reads it here too (its target depends on it), and is refused with
    # EnvironmentChanged if it moved before the lock.
    _require_rollback_alarms(config, request.environment)
    known = pointers or {}
    accounts = [TargetAccount(account=account, current=known.get(account)) for account in environment.accounts]
    return PromotionPlan(
        execution=execution,
        requested_at=requested_at,
        planned_at=_stamp(),
        reason=request.reason,
        kind="rollback" if request.rollback else "promotion",
        forced=request.force,
        entry_point=request.entry_point,
        requested_by=request.requested_by,
        environment=request.environment,
        project=version.project,
        project_arn=project_arn,
        version_arn=version.arn,
        version_label=version.label,
        status_at_plan=description.status,
        ml_account=config.ml_account,
        region=config.region,
        access_role_name=config.access_role_name(request.environment),
        parameter_name=project.parameter_name,
        smoke_test_role_name=config.target_roles.smoke_test,
        parameter_writer_role_name=config.target_roles.parameter_writer,
        parameter_reader_role_name=reader,
        alarm_reader_role_name=config.target_roles.alarm_reader,
        accounts=accounts,
        # Decided under the lock, from what take_environment reads there.
        already_served=False,
        already_running=description.status == RUNNING,
        min_inference_units=project.min_inference_units,
        max_inference_units=project.max_inference_units,
        smoke_test=project.smoke_test,
        retire_superseded=environment.retire_superseded,
        start_poll_seconds=config.workflow.start_poll_seconds,
        start_timeout_seconds=config.workflow.start_timeout_minutes * 60,
        grant_propagation_seconds=config.workflow.grant_propagation_seconds,
        max_concurrency=config.workflow.max_concurrency,
        bake_seconds=environment.bake_minutes * 60,
        rollback_alarms=environment.rollback_alarms,
        alarm_poll_seconds=config.workflow.alarm_poll_seconds,
        external_id=environment.external_id,
        vpc_endpoint_ids=environment.vpc_endpoint_ids,
        requires_approval=environment.requires_approval,
        approval_timeout_seconds=environment.approval_timeout_hours * 3600,
    )


def _project_to_roll_back(request: PromotionRequest, config: Config) -> str:
    if request.project:
        config.project(request.project)
        return request.project
    if len(config.projects) == 1:
        return next(iter(config.projects))
    raise InvalidPromotionRequest(
        f"rollback: name the project to roll back (one of {', '.join(sorted(config.projects))}) with project"
    )


def _rollback_target(environment: str, project: str, pointers: dict[str, str | None]) -> str:
    serving = set(pointers.values())
    if len(serving) != 1 or None in serving:
        raise NothingToRollBackTo(
            f"{environment}'s accounts do not all serve one version of {project} ({len(serving)} different "
            "values); promote the version you want instead"
        )
    current = str(serving.pop())
    target = history.rollback_target([r for r in dynamodb.records(environment) if r.project == project], current)
    if target is None:
        raise NothingToRollBackTo(
            f"the history of {environment} has no version of {project} before {current}; promote one explicitly"
        )
    return target


def _require_verified_upstream(config: Config, upstream: str, parameter: str, version: ModelVersionArn) -> None:
    """The version is live in every account of the upstream environment, or was promoted there before."""
    accounts = config.environment(upstream).accounts
    reader = config.target_roles.parameter_reader
    live = read_pointers(accounts, reader, parameter, config.workflow.max_concurrency, config.partition)
    if all(value == version.arn for value in live.values()):
        return
    if any(r.version == version.arn and r.status == "SUCCEEDED" for r in dynamodb.records(upstream)):
        return
    raise NotVerifiedUpstream(
        f"{version.label} is not live in {upstream} and was never promoted there successfully; promote it to "
        f"{upstream} first, or promote with force: true and a reason (the history records both)"
    )


def _require_rollback_alarms(config: Config, name: str) -> None:
    """Every rollback alarm exists in every account of the environment: the bake reads a missing one
    as not in ALARM, so it would watch nothing there."""
    environment = config.environment(name)
    if not environment.rollback_alarms:
        return
    reader = config.target_roles.alarm_reader
    missing = for_each_account(
        environment.accounts,
        lambda account: cloudwatch.missing_alarms(
            arns.role(config.partition, account, reader), environment.rollback_alarms
        ),
        config.workflow.max_concurrency,
    )
    gaps = [(alarm, account) for account, alarms in missing.items() for alarm in alarms]
    if gaps:
        alarm, account = gaps[0]
        more = f" ({len(gaps) - 1} more missing alarm(s) in {name}'s accounts)" if len(gaps) > 1 else ""
        raise RollbackAlarmNotFound(
            f"rollback alarm {alarm!r} does not exist in account {account}{more}: the bake would watch "
            f"nothing there. Create it in every account of {name}, or take it out of "
            f"environments.{name}.rollbackAlarms"
        )


def read_pointers(
    accounts: list[str], reader_role: str, parameter_name: str, workers: int, partition: str
) -> dict[str, str | None]:
    """What each account's parameter holds, read side by side (hundreds of accounts, one call each), through
    the accounts' parameter-reader role."""
    return for_each_account(
        accounts,
        lambda account: ssm.read_pointer(arns.role(partition, account, reader_role), parameter_name),
        workers,
    )


def for_each_account(accounts: list[str], read: Callable[[str], T], workers: int) -> dict[str, T]:
    """`read(account)` for every account, side by side in up to `workers` threads."""
    if len(accounts) <= 1:
        return {account: read(account) for account in accounts}
    with ThreadPoolExecutor(max_workers=min(workers, len(accounts))) as pool:
        # Each read runs in a copy of the caller's context (logging keys, tracing), not a blank one.
        futures = {account: pool.submit(contextvars.copy_context().run, read, account) for account in accounts}
        return {account: future.result() for account, future in futures.items()}


# --- Take the environment: one promotion per environment at a time -------------------------


def _record(plan: PromotionPlan) -> history.PromotionRecord:
    return history.PromotionRecord(
        promotion_id=plan.execution,
        environment=plan.environment,
        project=plan.project,
        version=plan.version_arn,
        kind=plan.kind,
        accounts=[
            history.AccountChange(account=t.account, from_version=t.current, to_version=plan.version_arn)
            for t in plan.accounts
        ],
        reason=plan.reason,
        forced=plan.forced,
        entry_point=plan.entry_point,
        requested_by=plan.requested_by or plan.entry_point,
        started_at=plan.requested_at,
    )


def _event_detail(plan: PromotionPlan, **extra: Any) -> dict[str, Any]:
    return {
        "promotionId": plan.execution,
        "environment": plan.environment,
        "project": plan.project,
        "version": plan.version_arn,
        "kind": plan.kind,
        "accounts": [{"account": t.account, "from": t.current, "to": plan.version_arn} for t in plan.accounts],
        **extra,
    }


def take_environment(plan: PromotionPlan) -> PromotionPlan:
    """Lock the environment for this promotion, lease the promoted version and open its record (one
    transaction); then, under the lock, read what the later steps rely on and return the plan with it.

    Read under the lock: what each account serves (the record's `from`, what compensation puts
    back and retirement revokes and stops), the version's status (whether to start it, and so
    whether compensation may stop it) and, when every account already points at a RUNNING version,
    its grant (already served means granted too). Those versions are leased before the first change
    (mlpromote.leases). A plan made before the lock is never used after it: a promotion that waited
    for the lock (a throttled transaction) carries on from the world the previous one left. Only a
    rollback, whose target depends on what the environment served, is refused with
    EnvironmentChanged if that moved in between.

    A lock whose execution has ended (aborted, timed out, crashed before releasing) is recovered:
    its record is closed with the execution's real status, its leases are released, and the lock
    passes to this promotion. Refused with PromotionInProgress while another promotion runs.
    """
    record = _record(plan)
    took_over_from = _lock(plan, record)
    try:
        fresh = _read_under_lock(plan).model_copy(update={"took_over_from": took_over_from})
        superseded = [t.current for t in fresh.accounts if t.current]
        if not dynamodb.hold(_record(fresh), superseded):
            # Another promotion is stopping one of them (it found nothing using it, before this
            # environment's pointers were read): refuse rather than serve or put back a stopped version.
            stopping = {v: who for v in superseded if (who := leases.stopper(v, plan.execution))}
            if stopping or not dynamodb.hold(_record(fresh), superseded):
                raise VersionBeingStopped(
                    f"{plan.environment} serves {', '.join(ModelVersionArn.parse(v).label for v in stopping)}, "
                    f"which {', '.join(sorted(set(stopping.values())))} is stopping right now; promote again "
                    "in a minute"
                )
    except (PromotionError, ClientError) as error:
        if isinstance(error, TransientAwsError) or (isinstance(error, ClientError) and sessions.is_transient(error)):
            raise  # retried by the state machine: this step finds the lock its own, and carries on
        _give_back(plan, error)
        raise
    events.publish("Model Promotion Started", _event_detail(fresh, reason=fresh.reason))
    return fresh


def _lock(plan: PromotionPlan, record: history.PromotionRecord) -> str | None:
    """Take the lock (and the promoted version's lease); the execution whose stale lock it recovered, if any."""
    took_over_from = None
    for _ in range(3):  # the holder may release between our write and our read; a stale lock is recovered once
        if dynamodb.start(record):
            return took_over_from
        holder = dynamodb.lock_holder(plan.environment)
        if holder is None:
            # The lock is free, so the lease was refused: another promotion is stopping the version.
            if stopping := leases.stopper(plan.version_arn, plan.execution):
                raise VersionBeingStopped(
                    f"{plan.version_label} is being stopped by {stopping}, which found nothing using it; "
                    "promote again in a minute (the promotion then starts it again)"
                )
            continue
        if holder["holder"] == plan.execution:  # this step, retried after its write succeeded
            return took_over_from
        status, error, cause = stepfunctions.execution_ending(holder["holder"])
        if status == "RUNNING":
            raise PromotionInProgress(
                f"{plan.environment} is being promoted by {holder['holder']} (since {holder.get('since')}); "
                "wait for it to end, or stop it, then promote again"
            )
        _release_ended(plan.environment, holder, status, error, cause, recovered_by=plan.execution)
        took_over_from = str(holder["holder"])
    raise PromotionInProgress(f"{plan.environment} is being locked and released repeatedly; try again")


def _read_under_lock(plan: PromotionPlan) -> PromotionPlan:
    pointers = read_pointers(
        [t.account for t in plan.accounts],
        plan.parameter_reader_role_name,
        plan.parameter_name,
        plan.max_concurrency,
        plan.partition,
    )
    if plan.kind == "rollback" and any(pointers[t.account] != t.current for t in plan.accounts):
        raise EnvironmentChanged(
            f"{plan.environment} changed between this rollback's plan and its lock (another promotion ran); "
            "look at what it serves now, and roll back or promote again"
        )
    version = ModelVersionArn.parse(plan.version_arn)
    status = rekognition.describe_version(plan.project_arn, version.version, plan.version_arn).status
    require_promotable(plan.version_label, status)
    accounts = [TargetAccount(account=t.account, current=pointers[t.account]) for t in plan.accounts]
    # Served means: every pointer on it, RUNNING, and granted as the environment grants now.
    # Pointing at a version that is not running, or not granted, is drift: the workflow repairs it.
    served = status == RUNNING and all(t.current == plan.version_arn for t in accounts)
    if served:
        wanted = statement_for(plan.version_arn, plan.vpc_endpoint_ids)
        served = wanted in iam.read_grants(plan.access_role_name).statements
    return plan.model_copy(
        update={
            "accounts": accounts,
            "status_at_plan": status,
            "already_served": served,
            "already_running": status == RUNNING,
            "locked_at": _stamp(),
        }
    )


def _give_back(plan: PromotionPlan, error: Exception) -> None:
    """Refused under the lock: close the record with the reason, release the lock and the leases."""
    name = type(error).__name__ if isinstance(error, PromotionError) else "AwsCallFailed"
    record = _record(plan).model_copy(
        update={"status": "FAILED", "ended_at": _stamp(), "error": name, "cause": str(error)}
    )
    holder = dynamodb.lock_holder(plan.environment) or {}
    dynamodb.finish(record, [str(v) for v in holder.get("leases") or []])


class Released(StepResult):
    released: bool
    approval: str | None = Field(default=None, description="the approval it closed, if one was awaiting")


def release_abandoned(execution: str, status: str, execution_input: str | None) -> Released:
    """An execution ended with its record still open: aborted or timed out (its last state never
    ran), or its "Record the outcome" failed past its retries. Close the record with the
    execution's real status, error and cause (from DescribeExecution), close an approval still
    awaiting, and release the lock. Every ending's status-change event comes here; for a promotion
    that recorded its outcome, nothing is left to do."""
    try:
        environment = json.loads(execution_input or "{}").get("environment")
    except ValueError:
        environment = None
    holder = dynamodb.lock_holder(environment) if isinstance(environment, str) else None
    if not isinstance(environment, str) or not holder or holder.get("holder") != execution:
        closed = approvals.close(execution, ending=_approval_ending(status))
        return Released(released=False, approval=_closed_now(closed, status))
    # The event's status is the ending; DescribeExecution adds the error and cause it ended with.
    _, error, cause = stepfunctions.execution_ending(execution)
    closed, released = _release_ended(environment, holder, status, error, cause)
    return Released(released=released, approval=_closed_now(closed, status))


def _approval_ending(status: str) -> str:
    # Stopped or timed out as a whole, the execution abandoned its approval; ended by its own
    # states (the gate timed out, then the record could not be written), the approval timed out.
    return approvals.ABANDONED if status in ("ABORTED", "TIMED_OUT") else approvals.TIMED_OUT


def _closed_now(approval: approvals.Approval | None, status: str) -> str | None:
    return approval.status if approval is not None and approval.status == _approval_ending(status) else None


def close_ended(
    environment: str,
    holder: dict[str, Any],
    status: str,
    error: str | None,
    cause: str | None,
    recovered_by: str | None = None,
) -> approvals.Approval | None:
    """Close the open record of the lock holder's ended execution, with its approval; the approval."""
    execution = str(holder["holder"])
    approval = approvals.close(execution, ending=_approval_ending(status))
    note = f"ended {status} without recording its outcome" + (f"; recovered by {recovered_by}" if recovered_by else "")
    fields = (
        {"approval": approval.status, "approver": approval.approver, "approvalComment": approval.comment}
        if approval is not None
        else None
    )
    dynamodb.mark_ended(
        environment,
        str(holder.get("recordKey", "")),
        status,
        _stamp(),
        cause or note,  # as record_outcome would have written it: the execution's own cause
        error=error,
        approval=fields,
    )
    return approval


def _release_ended(
    environment: str,
    holder: dict[str, Any],
    status: str,
    error: str | None,
    cause: str | None,
    recovered_by: str | None = None,
) -> tuple[approvals.Approval | None, bool]:
    """Close the ended lock holder's record and approval, drop its leases, release its lock."""
    approval = close_ended(environment, holder, status, error, cause, recovered_by=recovered_by)
    ended = str(holder["holder"])
    for version in holder.get("leases") or []:
        dynamodb.drop_lease(str(version), ended)
    return approval, dynamodb.release(environment, ended)


def _leased(plan: PromotionPlan) -> list[str]:
    """The versions a promotion leased: the promoted one, and what its environment served under the lock."""
    return sorted({plan.version_arn, *(t.current for t in plan.accounts if t.current)})


class Outcome(StepResult):
    status: str
    error: dict[str, str] | None = None


def record_outcome(plan: PromotionPlan, state: dict[str, Any]) -> Outcome:
    """Write how the promotion ended into its history record, and release the environment."""
    if state.get("summary") is not None:
        status, error = "SUCCEEDED", None
    else:
        status = "FAILED"
        error = (state.get("compensation") or {}).get("error") or {"Error": "PromotionFailed", "Cause": ""}
    approval = approvals.close(plan.execution) if plan.requires_approval else None
    record = _record(plan).model_copy(
        update={
            "status": status,
            "ended_at": _stamp(),
            "error": error["Error"] if error else None,
            "cause": error["Cause"] if error else None,
            "approval": approval.status if approval else None,
            "approver": approval.approver if approval else None,
            "approval_comment": approval.comment if approval else None,
        }
    )
    dynamodb.finish(record, _leased(plan))
    events.publish(
        f"Model Promotion {'Succeeded' if status == 'SUCCEEDED' else 'Failed'}",
        _event_detail(
            plan,
            status=status,
            error=record.error,
            cause=record.cause,
            approval=approvals.outcome(approval) if approval else None,
        ),
    )
    return Outcome(status=status, error=error)


# --- 2. Start the model version ------------------------------------------------------------


class ModelStart(StepResult):
    started_by_this_execution: bool
    started_at: str
    status: str
    wait_seconds: int


def poll_delay(elapsed: float, poll_seconds: int, timeout_seconds: int) -> int:
    """Seconds until the next status check.

    A start takes minutes, so the first check waits four intervals; after that, one interval,
    so RUNNING is noticed within `poll_seconds` of happening. Never waits past the cap.
    """
    delay = 4 * poll_seconds if elapsed < 4 * poll_seconds else poll_seconds
    return int(max(1, min(delay, timeout_seconds - elapsed + 1)))


def start_model(plan: PromotionPlan) -> ModelStart:
    started = plan.status_at_plan not in SERVING_STATES
    if started:
        rekognition.start_version(plan.version_arn, plan.min_inference_units, plan.max_inference_units)
    return ModelStart(
        started_by_this_execution=started,
        started_at=_stamp(),
        status=STARTING,
        wait_seconds=poll_delay(0, plan.start_poll_seconds, plan.start_timeout_seconds),
    )


def check_model_status(plan: PromotionPlan, start: ModelStart) -> ModelStart:
    version = ModelVersionArn.parse(plan.version_arn)
    description = rekognition.describe_version(plan.project_arn, version.version, plan.version_arn)
    elapsed = _seconds_since(start.started_at)
    if description.status == RUNNING:
        return start.model_copy(update={"status": RUNNING, "wait_seconds": 0, "ended_at": _stamp()})
    if description.status == FAILED:
        raise ModelStartFailed(
            f"{plan.version_label} failed to start after {elapsed:.0f} s: "
            f"{description.status_message or 'no StatusMessage'}"
        )
    if description.status != STARTING:
        raise ModelStartFailed(
            f"{plan.version_label} went to {description.status} while starting; something else stopped it"
        )
    if elapsed >= plan.start_timeout_seconds:
        raise ModelStartTimedOut(
            f"{plan.version_label} is still STARTING after {elapsed / 60:.0f} minutes, past the "
            f"{plan.start_timeout_seconds // 60}-minute cap; raise workflow.startTimeoutMinutes or check "
            "the version in the Rekognition console"
        )
    return start.model_copy(
        update={
            "status": description.status,
            "wait_seconds": poll_delay(elapsed, plan.start_poll_seconds, plan.start_timeout_seconds),
            "ended_at": _stamp(),
        }
    )


# --- 3. Grant access -------------------------------------------------------------------------


class Grant(StepResult):
    added_by_this_execution: bool
    granted_at: str | None = Field(description="when the statement was added; None if it already existed")


def grant_access(plan: PromotionPlan) -> Grant:
    added = False

    def add(policy: GrantPolicy) -> bool:
        nonlocal added
        # Every grant follows the environment's vpcEndpointIds as the plan read them.
        conformed = policy.require_endpoints(plan.vpc_endpoint_ids)
        added = policy.grant(plan.version_arn, plan.vpc_endpoint_ids)
        return added or conformed

    iam.update_grants(plan.access_role_name, add)
    return Grant(added_by_this_execution=added, granted_at=_stamp() if added else None)


# --- 4. Smoke-test through the delegation, from each account ---------------------------------


class SmokeTestResult(StepResult):
    """Kept small: one per account stays in the execution's state (256 KB in all)."""

    account: str


def smoke_test(plan: AccountPlan, account: str, grant: Grant) -> SmokeTestResult:
    """Call the model the way the account's applications will: through its role and the access role."""
    chain = (plan.smoke_test_role_arn(account), plan.access_role_arn)
    seen: dict[str, float] = {}
    for bucket, key in plan.smoke_test.image_locations():
        try:
            labels = rekognition.detect_custom_labels(
                chain, plan.version_arn, bucket, key, plan.smoke_test.min_confidence, external_id=plan.external_id
            )
        except ClientError as error:
            _explain_smoke_test_error(error, plan, account, grant)
            raise
        for name, confidence in labels.items():
            seen[name] = max(seen.get(name, 0.0), confidence)
    missing = [
        label for label in plan.smoke_test.expect_labels if seen.get(label, 0.0) < plan.smoke_test.min_confidence
    ]
    if missing:
        found = ", ".join(f"{name} {confidence:.1f}%" for name, confidence in sorted(seen.items())) or "none"
        raise SmokeTestFailed(
            f"account {account}: {plan.version_label} did not find {', '.join(missing)} at "
            f">= {plan.smoke_test.min_confidence:g}% in {', '.join(plan.smoke_test.images)}; found: {found}"
        )
    return SmokeTestResult(account=account)


def _explain_smoke_test_error(error: ClientError, plan: AccountPlan, account: str, grant: Grant) -> None:
    code = sessions.error_code(error)
    operation = error.operation_name
    if code in _ACCESS_DENIED and operation == "DetectCustomLabels":
        if grant.granted_at and _seconds_since(grant.granted_at) < plan.grant_propagation_seconds:
            raise GrantNotYetEffective(
                f"account {account}: DetectCustomLabels denied {_seconds_since(grant.granted_at):.0f} s after "
                "the grant; IAM is still propagating it"
            ) from error
        raise SmokeTestAccessDenied(
            f"account {account}: {plan.access_role_name} may not call {plan.version_label} "
            f"({error.response['Error'].get('Message', code)}); check its {iam.POLICY_NAME} policy (with "
            "vpcEndpointIds, the smoke test must call through one of them: docs/security.md)"
        ) from error
    if code in _ACCESS_DENIED:
        raise SmokeTestAccessDenied(
            f"account {account}: {operation} was denied ({error.response['Error'].get('Message', code)}); "
            f"deploy the target-account stack in {account} and check that {plan.access_role_name} trusts it "
            "(the environment's accounts, consumerRoleArns, organizationId, externalId)"
        ) from error
    if code == "ResourceNotReadyException":
        raise ModelNotServing(f"account {account}: {plan.version_label} is not running") from error
    sessions.raise_if_transient(error, f"rekognition {operation} from {account}")


# --- 5. Rotate the pointer -------------------------------------------------------------------


class Serving(StepResult):
    status: str


def confirm_serving(plan: PromotionPlan) -> Serving:
    """Right before the first pointer moves: the version is RUNNING and the access role grants it.

    Checked once for the environment rather than in each account's rotation: from the lock on, this
    promotion's lease keeps every other promotion from stopping the version (mlpromote.leases) and
    the lock keeps them from the environment's grants, so a check per account would only repeat this
    one, at two calls per account. Whatever acts outside mlpromote can act between any check and a
    write; drift detection reports that.
    """
    version = ModelVersionArn.parse(plan.version_arn)
    status = rekognition.describe_version(plan.project_arn, version.version, plan.version_arn).status
    granted = iam.read_grants(plan.access_role_name).grants(plan.version_arn)
    if status != RUNNING or not granted:
        why = f"is {status}" if status != RUNNING else f"is no longer granted by {plan.access_role_name}"
        raise VersionNoLongerServing(
            f"{plan.version_label} {why} after its smoke test, before any pointer of {plan.environment} moved; "
            "something outside this promotion changed it. Nothing was switched; promote again"
        )
    return Serving(status=status)


class Rotation(StepResult):
    """Kept small: one per account stays in the execution's state. From and to are in the plan."""

    account: str
    failed: bool = False
    parameter_version: int | None


def rotate_pointer(plan: AccountPlan, account: str) -> Rotation:
    parameter_version = ssm.write_pointer(
        plan.parameter_writer_role_arn(account), plan.parameter_name, plan.version_arn
    )
    return Rotation(account=account, parameter_version=parameter_version)


# --- Bake: watch the rollback alarms after the switch ---------------------------------------


class Watch(StepResult):
    until: str
    done: bool
    wait_seconds: int


def watch_alarms(plan: PromotionPlan, watch: Watch | None) -> Watch:
    """Look at the environment's rollback alarms in every account; RolledBackOnAlarm if one is in ALARM.

    The first look starts the bake; the state machine waits `waitSeconds` between looks until `until`.
    """
    started = now()
    until = datetime.fromisoformat(watch.until) if watch else started + timedelta(seconds=plan.bake_seconds)

    def alarming(account: str) -> list[str]:
        if not plan.rollback_alarms:  # DescribeAlarms without names would list every alarm
            return []
        return cloudwatch.alarms_in_alarm(plan.alarm_reader_role_arn(account), plan.rollback_alarms)

    found = for_each_account([t.account for t in plan.accounts], alarming, plan.max_concurrency)
    firing = [f"{name} in {account}" for account, names in found.items() for name in names]
    if firing:
        back_to = ", ".join(
            sorted({ModelVersionArn.parse(t.current).label if t.current else "none" for t in plan.accounts})
        )
        raise RolledBackOnAlarm(
            f"{', '.join(firing)} went to ALARM during the bake after {plan.version_label} took over "
            f"{plan.environment}; putting it back on {back_to}"
        )
    remaining = (until - now()).total_seconds()
    return Watch(
        until=until.isoformat(),
        done=remaining <= 0,
        wait_seconds=int(max(1, min(plan.alarm_poll_seconds, remaining))),
    )


# --- 6. Retire the superseded version --------------------------------------------------------


class LeftBehind(BaseModel):
    version: str
    granted: bool
    running: bool
    why: str


class Retirement(StepResult):
    revoked: list[str] = []
    stopped: list[str] = []
    left: list[LeftBehind] = []


def references(config: Config, plan: PromotionPlan, after_promotion: bool) -> dict[str, list[str]]:
    """Which environment/account parameters point at each version, read now from every account
    (through the accounts' parameter-reader role).

    The promoting environment's own accounts are taken from the plan: after a promotion they all
    point at the new version (`after_promotion`), after a compensation at what they held before.
    """
    found: dict[str, list[str]] = {}
    for target in plan.accounts:
        value = plan.version_arn if after_promotion else target.current
        if value:
            found.setdefault(value, []).append(f"{plan.environment}/{target.account}")
    for name, environment in sorted(config.environments.items()):
        if name == plan.environment:
            continue
        pointers = read_pointers(
            environment.accounts,
            plan.parameter_reader_role_name,
            plan.parameter_name,
            plan.max_concurrency,
            plan.partition,
        )
        for account, value in pointers.items():
            if value:
                found.setdefault(value, []).append(f"{name}/{account}")
    return found


def retire_superseded(plan: PromotionPlan, config: Config) -> Retirement:
    superseded = plan.superseded()
    retirement = Retirement()
    if not superseded:
        return retirement
    if not plan.retire_superseded:
        why = f"retireSuperseded is false for {plan.environment}"
        retirement.left = [LeftBehind(version=v, granted=True, running=True, why=why) for v in superseded]
        return retirement

    def revoke(policy: GrantPolicy) -> bool:
        return any([policy.revoke(version) for version in superseded])

    try:
        iam.update_grants(plan.access_role_name, revoke)
        retirement.revoked = superseded
    except ClientError as error:
        sessions.raise_if_transient(error, "iam revoke superseded grants")
        why = f"could not revoke: {error}"
        retirement.left = [LeftBehind(version=v, granted=True, running=True, why=why) for v in superseded]
        return retirement

    def stop(version: str) -> str | None:
        try:
            rekognition.stop_version(version)
        except ClientError as error:
            sessions.raise_if_transient(error, "rekognition StopProjectVersion")
            return f"could not stop: {error}"
        return None

    # Stopped only if no other running promotion leases it and nothing points at it (mlpromote.leases).
    retirement.stopped, left = leases.stop_unless_used(
        superseded,
        plan.execution,
        lambda: references(config, plan, after_promotion=True),
        stop,
        done_with_them=True,
    )
    retirement.left = [
        LeftBehind(version=version, granted=False, running=True, why=why) for version, why in sorted(left.items())
    ]
    return retirement


# --- Compensate -------------------------------------------------------------------------------


class Compensation(StepResult):
    error: dict[str, str] = Field(description="the error being compensated: Error and Cause")
    restored: list[str] = Field(description="accounts whose parameter was put back")
    revoked: bool
    stopped: bool
    left_running_why: str | None = None


def original_error(error: dict[str, Any]) -> dict[str, str]:
    """The error that made the promotion fail: the caught one, or the first account's whose rotation failed.

    Failed rotations end their own Map iteration (so none is in flight during compensation) and
    arrive here as the list of every account's result.
    """
    if "failedRotations" in error:
        failed: dict[str, Any] = next((r["error"] for r in error["failedRotations"] if r.get("failed")), {})
        return {"Error": str(failed.get("Error", "RotationFailed")), "Cause": str(failed.get("Cause", ""))}
    return {"Error": str(error.get("Error", "States.TaskFailed")), "Cause": str(error.get("Cause", ""))}


def compensate(plan: PromotionPlan, config: Config, error: dict[str, Any]) -> Compensation:
    """Put the world back as the plan found it. Idempotent: it compares before it writes."""
    restored = []
    for target in plan.accounts:
        # Read through the writer too: one role per account, which reads what it may put back.
        writer = plan.parameter_writer_role_arn(target.account)
        if ssm.read_pointer(writer, plan.parameter_name) != target.current:
            ssm.write_pointer(writer, plan.parameter_name, target.current)
            restored.append(target.account)

    revoked = False
    if not any(target.current == plan.version_arn for target in plan.accounts):

        def revoke(policy: GrantPolicy) -> bool:
            nonlocal revoked
            revoked = policy.revoke(plan.version_arn)
            return revoked

        iam.update_grants(plan.access_role_name, revoke)

    stopped, left_running_why = False, None
    if plan.status_at_plan not in SERVING_STATES:  # this promotion started it (read under the lock)
        version = ModelVersionArn.parse(plan.version_arn)

        def stop(arn: str) -> str | None:
            if rekognition.describe_version(plan.project_arn, version.version, arn).status not in SERVING_STATES:
                return "not running"
            rekognition.stop_version(arn)
            return None

        # Stopped only if no other running promotion leases it (another environment may be bringing
        # it into service) and nothing points at it (mlpromote.leases).
        # Past its compensation this promotion neither serves nor puts back the version: where
        # another promotion is in the way, it lets go of its lease, so that one may stop it later.
        done, left = leases.stop_unless_used(
            [plan.version_arn],
            plan.execution,
            lambda: references(config, plan, after_promotion=False),
            stop,
            done_with_them=True,
        )
        stopped = bool(done)
        left_running_why = left.get(plan.version_arn) if left.get(plan.version_arn) != "not running" else None
    return Compensation(
        error=original_error(error),
        restored=restored,
        revoked=revoked,
        stopped=stopped,
        left_running_why=left_running_why,
    )
