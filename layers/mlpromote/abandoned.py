"""Executions that ended outside their own states, and promotions stopped on purpose.

Stopping an execution (StopExecution, the console, `mlpromote abort`) or its timing out runs no
Catch: the workflow's own Compensate never runs. Step Functions' status-change event then brings
the ending to ReleaseAbandoned, which compensates from the execution's history: the plan "Take the
environment" read under the lock, handed to the Compensate function of the version the execution
ran with (its definition names it), so an execution is undone by the code and the plan schema it
started with. What the compensation did goes on the history record, which is then closed with the
execution's real status, error and cause, and the lock released (mlpromote.phases.lock.release_abandoned).
"""

from __future__ import annotations

import json
from typing import Any

from mlpromote import waves
from mlpromote.aws import lambdas, stepfunctions
from mlpromote.errors import (
    AwsCallFailed,
    InvalidPromotionRequest,
    PromotionAborted,
    PromotionNotFound,
    PromotionNotRunning,
    TransientAwsError,
)

TAKE_THE_ENVIRONMENT = "Take the environment"
COMPENSATE = "Compensate"
GRANT_ACCESS = "Grant access"
# Entered, the workflow had decided its own outcome: "Record the outcome" comes only after the
# compensation ran or the promotion was done, and "Retire the superseded version" only once every
# account switched and the bake passed. An execution stopped after either keeps what it did.
CONCLUDED = frozenset({"Record the outcome", "Retire the superseded version"})
MAX_REASON = 1024


def compensate_ended(execution: str) -> dict[str, Any] | None:
    """Run the execution's own Compensate (the version its definition names) on the plan it took under
    the lock, with the error it ended with. None when there is nothing to undo: it never took the
    lock, or it had decided its outcome itself. A compensation that fails is recorded, not raised
    (the record then says so, as the workflow's "Compensation failed" does); a transient AWS error is
    raised, for Lambda's retries of the event's delivery."""
    events = stepfunctions.history(execution)
    plan = plan_taken(events)
    if plan is None or concluded(events):
        return None
    status, error, cause = stepfunctions.execution_ending(execution)
    ending = {"Error": error or f"States.{status}", "Cause": cause or f"the execution ended {status}"}
    resource = stepfunctions.definition_of(execution)["States"][COMPENSATE]["Resource"]
    try:
        # The state Compensate gets in the workflow: the plan, the error, the grant if it was made, and
        # the rollout's last wave taken up (only waves up to it can have moved).
        rollout = last_rollout(events)
        state = {"plan": plan, "error": ending, "grant": _output_of(events, GRANT_ACCESS, "grant")}
        if rollout is not None:
            state["rollout"] = rollout
        result, failed = lambdas.invoke(resource, {"execution": execution, "state": state})
    except AwsCallFailed as failure:
        result, failed = {"errorType": "AwsCallFailed", "errorMessage": str(failure)}, True
    if failed:
        if result.get("errorType") == "TransientAwsError":
            raise TransientAwsError(str(result.get("errorMessage")))
        done: dict[str, Any] = {
            "error": "CompensationFailed",
            "cause": f"{result.get('errorType')}: {result.get('errorMessage')}"[:2048],
        }
    else:
        done = {key: result[key] for key in ("restored", "revoked", "stopped", "leftRunningWhy") if key in result}
    # How each wave ended, for the record (as "Record the outcome" would have said it).
    count = len(plan.get("waves") or []) or 1
    done["waves"] = waves.statuses(count, {"compensation": done, "rollout": rollout}, already_served=False)
    return done


def last_rollout(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The rollout's last wave taken up, as the state carried it ($.rollout), or None before the first."""
    found = None
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        if event["type"].endswith("StateExited") and '"rollout"' in (details.get("output") or ""):
            rollout = json.loads(details["output"]).get("rollout")
            found = rollout if isinstance(rollout, dict) else found
    return found


def plan_taken(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The plan as "Take the environment" returned it (read under the lock), or None if it never did."""
    return _output_of(events, TAKE_THE_ENVIRONMENT, "plan")


def _output_of(events: list[dict[str, Any]], state: str, key: str) -> dict[str, Any] | None:
    """`key` of the state's output when the task last left it, or None if it never did."""
    found = None
    for event in events:
        details = event.get("stateExitedEventDetails") or {}
        if event["type"] == "TaskStateExited" and details.get("name") == state:
            found = json.loads(details.get("output") or "{}").get(key)
    return found if isinstance(found, dict) else None


def concluded(events: list[dict[str, Any]]) -> bool:
    return any(
        event["type"].endswith("StateEntered")
        and (event.get("stateEnteredEventDetails") or {}).get("name") in CONCLUDED
        for event in events
    )


def abort(execution: str, reason: object, by: str) -> dict[str, Any]:
    """Stop a running promotion on purpose. Its execution ends ABORTED with PromotionAborted (who,
    and why, in the cause); the status-change event then brings it to ReleaseAbandoned, which
    undoes what it changed and closes its record. Refused, changing nothing, when the reason is
    missing, the promotion does not exist or has already ended."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > MAX_REASON:
        raise InvalidPromotionRequest(
            f"reason: required, 1-{MAX_REASON} characters saying why the promotion is stopped (the history keeps it)"
        )
    status = stepfunctions.find_execution_status(execution)
    if status is None:
        raise PromotionNotFound(f"no promotion {execution}; copy its id from `mlpromote list` or the promote output")
    if status != "RUNNING":
        raise PromotionNotRunning(f"{execution.rsplit(':', 1)[-1]} already ended {status}; there is nothing to abort")
    cause = f"aborted by {by}: {reason.strip()}; what it changed is being undone"
    stepfunctions.stop(execution, PromotionAborted.__name__, cause)
    return {
        "promotionId": execution.rsplit(":", 1)[-1],
        "executionArn": execution,
        "status": "ABORTED",
        "error": PromotionAborted.__name__,
        "cause": cause,
    }
