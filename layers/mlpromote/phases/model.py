"""Bring the promoted version into service: start it, and poll until it is RUNNING.

ASL Tasks: "Start the model version" (start_model), "Check the model status" (check_model_status).
"""

from __future__ import annotations

from mlpromote.clock import seconds_since, stamp
from mlpromote.errors import ModelStartFailed, ModelStartTimedOut
from mlpromote.fanout import for_each_account
from mlpromote.plan import PromotionPlan
from mlpromote.results import ModelStart
from mlpromote.services import copying_service, model_service
from mlpromote.versions import FAILED, RUNNING, SERVING_STATES, STARTABLE_STATES, STARTING, STOPPING


def poll_delay(elapsed: float, poll_seconds: int, timeout_seconds: int) -> int:
    """Seconds until the next status check.

    A start takes minutes, so the first check waits four intervals; after that, one interval,
    so RUNNING is noticed within `poll_seconds` of happening. Never waits past the cap.
    """
    delay = 4 * poll_seconds if elapsed < 4 * poll_seconds else poll_seconds
    return int(max(1, min(delay, timeout_seconds - elapsed + 1)))


def start_model(plan: PromotionPlan) -> ModelStart:
    """Start the version, unless it serves already. A STOPPING one (a rollback right after the promotion
    that stopped it) cannot be started until it is STOPPED (StartProjectVersion: ResourceInUseException):
    status STOPPING, and check_model_status starts it once the stop has ended.
    A copy environment copies the version into each account instead (`_start_copies`)."""
    if plan.strategy == "copy":
        return _start_copies(plan)
    started = plan.status_at_plan not in SERVING_STATES
    status = STARTING
    if started:
        status = _start_once_stopped(plan, plan.status_at_plan)
    return ModelStart(
        started_by_this_execution=started,
        started_at=stamp(),
        status=status,
        wait_seconds=poll_delay(0, plan.start_poll_seconds, plan.start_timeout_seconds),
    )


def _start_once_stopped(plan: PromotionPlan, status: str) -> str:
    """STARTING once StartProjectVersion is called; STOPPING while the version still stops."""
    if status == STOPPING:
        status = model_service(plan.service).status(plan.project_arn, plan.version_arn)
        if status == STOPPING:
            return STOPPING
        if status not in STARTABLE_STATES:
            raise ModelStartFailed(
                f"{plan.version_label} went to {status} while it was stopping; something else changed it"
            )
    model_service(plan.service).start(plan.version_arn, plan.min_inference_units, plan.max_inference_units)
    return STARTING


def check_model_status(plan: PromotionPlan, start: ModelStart) -> ModelStart:
    if plan.strategy == "copy":
        return _check_copies(plan, start)
    elapsed = seconds_since(start.started_at)
    if start.status == STOPPING:
        # Waiting for a stop to end before starting the version again; the same cap bounds both.
        if _start_once_stopped(plan, STOPPING) == STOPPING:
            if elapsed >= plan.start_timeout_seconds:
                raise ModelStartTimedOut(
                    f"{plan.version_label} is still STOPPING after {elapsed / 60:.0f} minutes, so it could not be "
                    f"started within the {plan.start_timeout_seconds // 60}-minute cap; promote it again once it is "
                    "STOPPED"
                )
            wait = poll_delay(elapsed, plan.start_poll_seconds, plan.start_timeout_seconds)
            return start.model_copy(update={"wait_seconds": wait, "ended_at": stamp()})
        return start.model_copy(
            update={
                "status": STARTING,
                "started_at": stamp(),
                "wait_seconds": poll_delay(0, plan.start_poll_seconds, plan.start_timeout_seconds),
                "ended_at": stamp(),
            }
        )
    description = model_service(plan.service).describe(plan.project_arn, plan.version_arn)
    if description.status == RUNNING:
        return start.model_copy(update={"status": RUNNING, "wait_seconds": 0, "ended_at": stamp()})
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
            "ended_at": stamp(),
        }
    )


# --- copy environments (strategy: copy) -------------------------------------------------------
# "Start" shares the version with the environment's accounts (a project policy on the source project) and
# copies it into each account's project of the same name (created if missing), through the account's
# model-copier role; "check" waits for COPYING_COMPLETED, starts each copy, waits for RUNNING, and takes
# the project policy back once no copy is in progress. The state says only where the whole environment
# is (COPYING, then STARTING, then RUNNING): each account's copy is found again by its name.

COPYING = "COPYING"
_COPY_IN_PROGRESS = "COPYING_IN_PROGRESS"
_READY_TO_START = frozenset({"COPYING_COMPLETED", "STOPPED"})


def _start_copies(plan: PromotionPlan) -> ModelStart:
    service = copying_service(plan.service)
    accounts = plan.account_ids
    found = for_each_account(
        accounts,
        lambda account: service.find_copy(plan.model_copier_role_arn(account), plan.version_arn, create_project=True),
        plan.max_concurrency,
    )
    missing = {account: str(project) for account, (project, copy) in found.items() if copy is None}
    if missing:
        # Scoped to the environment's accounts and the one version; taken back by _check_copies once no
        # copy is in progress, or by the compensation.
        service.share_for_copy(plan.project_arn, plan.version_arn, plan.environment, accounts, plan.copy_units)
        for_each_account(
            list(missing),
            lambda account: service.copy(
                plan.model_copier_role_arn(account), plan.version_arn, plan.project_arn, missing[account]
            ),
            plan.max_concurrency,
        )
    return ModelStart(
        started_by_this_execution=bool(missing),
        started_at=stamp(),
        status=COPYING,
        wait_seconds=poll_delay(0, plan.start_poll_seconds, plan.start_timeout_seconds),
    )


def _check_copies(plan: PromotionPlan, start: ModelStart) -> ModelStart:
    service = copying_service(plan.service)
    elapsed = seconds_since(start.started_at)

    def advance(account: str) -> str:
        """Where this account's copy is now, started once it may be."""
        role = plan.model_copier_role_arn(account)
        _, copy = service.find_copy(role, plan.version_arn)
        if copy is None:
            raise ModelStartFailed(
                f"account {account}: the copy of {plan.version_label} is gone (deleted outside this promotion)"
            )
        if copy.status in _READY_TO_START:
            service.start_copy(role, copy.arn, plan.min_inference_units, plan.max_inference_units)
            return STARTING
        if copy.status in (_COPY_IN_PROGRESS, STARTING, STOPPING, RUNNING):
            return copy.status
        raise ModelStartFailed(
            f"account {account}: the copy of {plan.version_label} is {copy.status}"
            f"{': ' + copy.status_message if copy.status_message else ''}; see it in that account's console"
        )

    states = for_each_account(plan.account_ids, advance, plan.max_concurrency)
    status = start.status
    if status == COPYING and _COPY_IN_PROGRESS not in states.values():
        # Every copy is done: nobody needs the policy any more.
        service.unshare(plan.project_arn, plan.version_arn, plan.environment)
        status = STARTING
    if status != COPYING and all(state == RUNNING for state in states.values()):
        return start.model_copy(update={"status": RUNNING, "wait_seconds": 0, "ended_at": stamp()})
    if elapsed >= plan.start_timeout_seconds:
        waiting = sorted(account for account, state in states.items() if state != RUNNING)
        raise ModelStartTimedOut(
            f"the copies of {plan.version_label} in {', '.join(waiting[:5])}{' ...' if len(waiting) > 5 else ''} "
            f"are not RUNNING after {elapsed / 60:.0f} minutes, past the {plan.start_timeout_seconds // 60}-minute "
            "cap; raise workflow.startTimeoutMinutes or check them in those accounts"
        )
    return start.model_copy(
        update={
            "status": status,
            "wait_seconds": poll_delay(elapsed, plan.start_poll_seconds, plan.start_timeout_seconds),
            "ended_at": stamp(),
        }
    )
