"""Bring the promoted version into service: start it, and poll until it is RUNNING.

ASL Tasks: "Start the model version" (start_model), "Check the model status" (check_model_status).
"""

from __future__ import annotations

from mlpromote.clock import seconds_since, stamp
from mlpromote.errors import ModelStartFailed, ModelStartTimedOut
from mlpromote.plan import PromotionPlan
from mlpromote.results import ModelStart
from mlpromote.services import model_service
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
    status STOPPING, and check_model_status starts it once the stop has ended."""
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
