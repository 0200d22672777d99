"""Lambda's own failures are retried where that is safe (issue 11, item 8)."""

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# A Lambda timeout (Sandbox.Timedout) is retried only where running the step again is harmless: it reads,
# or compares before it writes. Taking the environment, starting the model, granting, the approval
# request, retiring and recording the outcome are not: a first attempt that timed out may have done its
# write, and the second would answer from a changed world (a grant "already there" is then not this
# promotion's to revoke). Their timeouts are caught and compensated instead. States.Timeout is not
# listed: these tasks set no TimeoutSeconds, and on the approval task it means nobody decided.
RERUNNABLE = {
    "Validate and plan",
    "Check the model status",
    "Smoke-test a batch of accounts",
    "Check the version still serves",
    "Point a batch of accounts at the version",
    "Watch the rollback alarms",
    "Keep watching the rollback alarms",
    "Compensate",
}


def _tasks(states: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, state in states.items():
        if state["Type"] == "Task":
            out[name] = state
        if state["Type"] == "Map":
            out.update(_tasks(state["ItemProcessor"]["States"]))
    return out


def test_lambda_s_service_errors_are_retried_by_every_task_and_its_timeouts_where_rerunning_is_safe() -> None:
    asl = json.loads((REPO / "statemachines" / "promote_model.asl.json").read_text())
    tasks = _tasks(asl["States"])
    for name, state in tasks.items():
        retried = {error for retrier in state["Retry"] for error in retrier["ErrorEquals"]}
        # Step Functions best practices, "Handle Lambda service exceptions".
        assert "Lambda.ClientExecutionTimeoutException" in retried, name
        assert ("Sandbox.Timedout" in retried) == (name in RERUNNABLE), name
    assert set(tasks) >= RERUNNABLE
