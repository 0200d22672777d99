"""Bring the promoted version into service: start it, and poll until it is RUNNING.

ASL Tasks: "Start the model version" (start_model), "Check the model status" (check_model_status).
"""

from __future__ import annotations

from mlpromote.clock import seconds_since, stamp
from mlpromote.errors import ModelStartFailed, ModelStartTimedOut
from mlpromote.plan import PromotionPlan
from mlpromote.results import ModelStart
from mlpromote.services import model_service
from mlpromote.versions import FAILED, RUNNING, SERVING_STATES, STARTING


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
        model_service().start(plan.version_arn, plan.min_inference_units, plan.max_inference_units)
    return ModelStart(
        started_by_this_execution=started,
        started_at=stamp(),
        status=STARTING,
        wait_seconds=poll_delay(0, plan.start_poll_seconds, plan.start_timeout_seconds),
    )


def check_model_status(plan: PromotionPlan, start: ModelStart) -> ModelStart:
    description = model_service().describe(plan.project_arn, plan.version_arn)
    elapsed = seconds_since(start.started_at)
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
