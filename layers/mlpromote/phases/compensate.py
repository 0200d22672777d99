"""Undo a failed promotion: put back the pointers, revoke the new grant, stop what it started.

ASL Task: "Compensate" (compensate).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlpromote import leases, quotas
from mlpromote.aws import iam, ssm
from mlpromote.config import Config
from mlpromote.errors import CopiesBusy, ModelStillStarting, ModelVersionNotFound
from mlpromote.fanout import for_each_account
from mlpromote.grant_reads import read_grants_after
from mlpromote.plan import PromotionPlan
from mlpromote.results import Compensation, Grant, Rotation
from mlpromote.services import copying_service, model_service
from mlpromote.serving import references
from mlpromote.versions import RUNNING, SERVING_STATES, STARTING, STOPPING, ModelVersionArn


def original_error(error: dict[str, Any]) -> dict[str, str]:
    """The error that made the promotion fail: the caught one, or the first account's whose rotation failed.

    Failed rotations end their own Map iteration (so none is in flight during compensation); the
    state machine hands over the first failed one (each is kept once, in the state's rotations).
    """
    if "failedRotations" in error:
        batch = next((r for r in error["failedRotations"] if r.get("failed")), None)
        failed = (Rotation.model_validate(batch).first_error if batch else None) or {}
        return {"Error": str(failed.get("Error", "RotationFailed")), "Cause": str(failed.get("Cause", ""))}
    return {"Error": str(error.get("Error", "States.TaskFailed")), "Cause": str(error.get("Cause", ""))}


def compensate(
    plan: PromotionPlan,
    config: Config,
    error: dict[str, Any],
    grant: Grant | None = None,
    wave: int | None = None,
    retry_count: int | None = None,
) -> Compensation:
    """Put the world back as the plan found it. Idempotent: it compares before it writes.
    `grant`: what the grant step did, if it ran (a read of the grants must show its statement).
    `wave`: the last wave of the rollout that was taken up (0-based): only waves 0..`wave` can have
    moved, so only their accounts are put back (later waves never started). None: every account.
    `retry_count`: how often the state machine has run this compensation again ($$.State.RetryCount).
    While it may run again, a version this promotion started that is still STARTING is waited for
    (ModelStillStarting) rather than left running; None (ReleaseAbandoned, which is not retried): left,
    with why."""
    reached = set(plan.switched_by(wave)) if wave is not None else None
    service = model_service(plan.service)
    started = plan.status_at_plan not in SERVING_STATES  # this promotion started it (read under the lock)
    may_wait = retry_count is not None and retry_count < quotas.COMPENSATION_START_RETRIES
    if (
        plan.strategy != "copy"
        and started
        and may_wait
        and service.status(plan.project_arn, plan.version_arn) == STARTING
    ):
        # StopProjectVersion stops a running model (Rekognition API reference); a start still under way
        # (ModelStartTimedOut) cannot be stopped until it has ended. Left STARTING, it would run, unused
        # and paid for, once it is RUNNING: the state machine runs this again (Retry). Raised before any
        # change, so that the run that completes reports all it did (a STARTING version was never
        # granted or pointed at: there is nothing to put back meanwhile).
        raise ModelStillStarting(
            f"{plan.version_label} is still STARTING, and a start under way cannot be stopped: the compensation "
            f"runs again every {quotas.COMPENSATION_START_RETRY_SECONDS} s, and stops it once it is RUNNING"
        )
    # What each parameter held: what the applications called (the version, or its endpoint).
    current = {
        account: service.serving_arn(was) if was else None
        for account, was in plan.current.items()
        if reached is None or account in reached
    }

    on_copies = plan.on_copies

    def put_back(account: str) -> bool:
        # Read through the writer too: one role per account, which reads what it may put back.
        writer = plan.parameter_writer_role_arn(account)
        value = current[account]
        source = plan.current.get(account)
        if account in on_copies and source is not None:
            # The account pointed at its own copy of `source`: the plan keeps the source; the copy is found by
            # its name in the account (mlpromote.plan.Pointing), and the pointer holds what calls it there.
            value = service.serving_arn(_copy_arn(plan, account, source))
        if ssm.read_pointer(writer, plan.parameter_name) == value:
            return False
        ssm.write_pointer(writer, plan.parameter_name, value)
        return True

    # Side by side, as the fan-out wrote them: four calls per account one after another would take
    # an environment of hundreds of accounts past the function's timeout. Every account is tried;
    # the first failure, if any, is raised once all are done (and the state machine retries it).
    put = for_each_account(list(current), put_back, plan.max_concurrency)
    restored = [account for account, changed in put.items() if changed]

    if plan.strategy == "copy":
        stopped, left_running_why = _undo_copies(plan)
        return Compensation(
            error=original_error(error),
            restored=restored,
            revoked=False,
            stopped=stopped,
            left_running_why=left_running_why,
        )
    revoked = False
    if not any(group.version == plan.version_arn for group in plan.pointing):
        policy = read_grants_after(plan, grant)
        revoked = policy.revoke(plan.serving_arn)
        if revoked:
            iam.write_grants(plan.access_role_name, policy)

    stopped, left_running_why = False, None
    if started:

        def stop(arn: str) -> str | None:
            status = service.status(plan.project_arn, arn)
            if status not in SERVING_STATES:
                return "not running"
            if status == STARTING:
                # Waited for as long as the state machine reruns it (retry_count looks, a minute apart).
                waited = f" after {retry_count} looks a minute apart" if retry_count else ""
                return (
                    f"still STARTING{waited}, and a start under way cannot be stopped: stop it once it "
                    "is RUNNING (drift detection reports it running with nothing pointing at it)"
                )
            service.stop(arn)
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


def _copy_arn(plan: PromotionPlan, account: str, source: str) -> str:
    """The ARN of the account's copy of `source` (what its pointer named before this promotion)."""
    copy = copying_service(plan.service).version_named(plan.model_retirer_role_arn(account), source)
    if copy is None:
        raise ModelVersionNotFound(
            f"account {account} pointed at its copy of {ModelVersionArn.parse(source).label} before this promotion, "
            "and that copy is gone (deleted outside mlpromote): point its parameter at a running version by hand"
        )
    return copy.arn


def _undo_copies(plan: PromotionPlan) -> tuple[bool, str | None]:
    """A copy environment: take back the project policy, stop the copies of the promoted version that no
    account pointed at before, and delete those this promotion made (created after it took the lock).
    Copies still STOPPING or COPYING cannot be deleted yet: CopiesBusy, and the state machine runs the
    compensation again (it compares before it writes). (whether any copy was stopped or deleted, why one was
    left)"""
    service = copying_service(plan.service)
    service.unshare(plan.project_arn, plan.version_arn, plan.environment)
    # Every account's, whatever wave the rollout reached: the model phase copied into all of them.
    current, on_copies = plan.current, plan.on_copies
    locked = datetime.fromisoformat(plan.locked_at).timestamp() if plan.locked_at else None

    def undo(account: str) -> tuple[bool, str | None]:
        if account in on_copies and current[account] == plan.version_arn:
            return False, None  # the account served this copy before: it stays
        role = plan.model_retirer_role_arn(account)
        _, copy = service.find_copy(role, plan.version_arn)
        if copy is None or current[account] == copy.arn:
            return False, None  # none, or the account served it before: it stays
        stopped, status = False, copy.status
        if status == RUNNING:
            service.stop_copy(role, copy.arn)
            stopped, status = True, STOPPING
        if status == STARTING:
            return False, (
                f"the copy in {account} is still STARTING, and a start under way cannot be stopped: "
                "stop it once it is RUNNING (drift detection reports it running with nothing pointing at it)"
            )
        if locked is None or copy.created < locked:
            return stopped, None  # made before this promotion: stopped, kept
        if status in (STOPPING, "COPYING_IN_PROGRESS"):
            raise CopiesBusy(f"account {account}: the copy of {plan.version_label} is {status}; deleted once it is not")
        service.delete_copy(role, copy.arn)
        return True, None  # stopped by this run or an earlier one (CopiesBusy), and now gone

    undone = for_each_account(sorted(current), undo, plan.max_concurrency)
    why = next((why for _, why in undone.values() if why), None)
    return any(stopped for stopped, _ in undone.values()), why
