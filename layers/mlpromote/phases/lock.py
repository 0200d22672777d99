"""The environment's lock: one promotion per environment at a time, its leases and its open record.

ASL Task: "Take the environment" (take_environment). Also the lock's recovery: an execution that
ended without releasing it (release_abandoned, on its status-change event; close_ended).
"""

from __future__ import annotations

import json
from typing import Any

from mlpromote import abandoned, approvals, history, leases, records
from mlpromote.aws import dynamodb, events, iam, stepfunctions
from mlpromote.clock import stamp
from mlpromote.errors import (
    EnvironmentChanged,
    PromotionError,
    PromotionInProgress,
    TransientAwsError,
    VersionBeingStopped,
)
from mlpromote.plan import PromotionPlan
from mlpromote.results import Released
from mlpromote.services import model_service
from mlpromote.serving import copy_pointing, read_pointers
from mlpromote.versions import RUNNING, ModelVersionArn, require_promotable


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
    record = records.record(plan)
    took_over_from = _lock(plan, record)
    try:
        fresh = _read_under_lock(plan).model_copy(update={"took_over_from": took_over_from})
        superseded = fresh.leased_versions
        if not dynamodb.hold(records.record(fresh), superseded):
            # Another promotion is stopping one of them (it found nothing using it, before this
            # environment's pointers were read): refuse rather than serve or put back a stopped version.
            stopping = {v: who for v in superseded if (who := leases.stopper(v, plan.execution))}
            if stopping or not dynamodb.hold(records.record(fresh), superseded):
                raise VersionBeingStopped(
                    f"{plan.environment} serves {', '.join(ModelVersionArn.parse(v).label for v in stopping)}, "
                    f"which {', '.join(sorted(set(stopping.values())))} is stopping right now; promote again "
                    "in a minute"
                )
    except PromotionError as error:
        if isinstance(error, TransientAwsError):
            raise  # retried by the state machine: this step finds the lock its own, and carries on
        _give_back(plan, error)
        raise
    events.publish("Model Promotion Started", records.event_detail(fresh, reason=fresh.reason))
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
    service = model_service(plan.service)
    pointers = read_pointers(
        plan.account_ids,
        plan.parameter_reader_role_name,
        plan.parameter_name,
        plan.max_concurrency,
        plan.partition,
        service,
        plan.project,
    )
    # A copy environment's plan keeps its accounts by the source of the copy each points at: one group
    # per version, not per account (mlpromote.serving.copy_pointing).
    pointing = copy_pointing(pointers, plan) if plan.strategy == "copy" else plan.with_pointers(pointers).pointing
    if plan.kind == "rollback" and pointing != plan.pointing:
        raise EnvironmentChanged(
            f"{plan.environment} changed between this rollback's plan and its lock (another promotion ran); "
            "look at what it serves now, and roll back or promote again"
        )
    status = service.status(plan.project_arn, plan.version_arn)
    require_promotable(plan.version_label, status)
    # Served means: every pointer on it, RUNNING, and granted as the environment grants now.
    # Pointing at a version that is not running, or not granted, is drift: the workflow repairs it.
    # A copy environment's pointers name each account's copy: the copy phase finds what is done already.
    served = (
        plan.strategy == "share" and status == RUNNING and all(value == plan.version_arn for value in pointers.values())
    )
    if served:
        wanted = service.grant_statement(plan.version_arn, plan.vpc_endpoint_ids)
        served = wanted in iam.read_grants(plan.access_role_name).statements
    return plan.model_copy(
        update={
            "pointing": pointing,
            "status_at_plan": status,
            "already_served": served,
            "already_running": status == RUNNING and plan.strategy == "share",
            "locked_at": stamp(),
        }
    )


def _give_back(plan: PromotionPlan, error: PromotionError) -> None:
    """Refused under the lock: close the record with the reason, release the lock and the leases."""
    name = type(error).__name__
    record = records.record(plan).model_copy(
        update={"status": "FAILED", "ended_at": stamp(), "error": name, "cause": str(error)}
    )
    holder = dynamodb.lock_holder(plan.environment) or {}
    dynamodb.finish(record, [str(v) for v in holder.get("leases") or []])


def release_abandoned(execution: str, status: str, execution_input: str | None) -> Released:
    """An execution ended with its record still open: aborted or timed out (its last state never
    ran; what it changed is compensated first), or its "Record the outcome" failed past its
    retries. Close the record with the
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
    if status != "SUCCEEDED":
        # Stopped or timed out, no Catch ran: undo what it changed, with its own Compensate, and keep
        # what that did on the record (mlpromote.abandoned). Nothing, if it had concluded itself.
        compensation = abandoned.compensate_ended(execution)
        if compensation is not None:
            statuses = compensation.pop("waves", None)
            dynamodb.note_compensation(environment, str(holder.get("recordKey", "")), compensation, statuses)
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
        stamp(),
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
