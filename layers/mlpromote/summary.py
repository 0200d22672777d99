"""The execution's output: what changed, where, and how long each step took."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ConfigDict, field_validator

from mlpromote.models import CamelModel
from mlpromote.plan import PromotionPlan
from mlpromote.records import from_document
from mlpromote.results import Grant, ModelStart, Retirement, Rotation, SmokeTestResult, Watch


class PromotionState(CamelModel):
    """The state machine's data after the last change: what each step returned."""

    model_config = ConfigDict(extra="ignore")
    plan: PromotionPlan
    model_start: ModelStart | None = None
    grant: Grant
    smoke_tests: list[SmokeTestResult]
    rotations: list[Rotation]
    # The approver's decision, in environments that require one.
    approval: dict[str, Any] | None = None
    # The bake's last look at the rollback alarms, in environments with bakeMinutes.
    watch: Watch | None = None

    @field_validator("rotations", mode="before")
    @classmethod
    def _all_rotations(cls, rotations: Any) -> Any:
        # The rotation Map reports {"all": [one per batch], "anyFailed"}; past the check, none failed.
        return rotations["all"] if isinstance(rotations, dict) else rotations


def _at(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp)


def summarize(state: PromotionState, retirement: Retirement) -> dict[str, Any]:
    plan = state.plan
    ends = [("Validate and plan", plan.planned_at)]
    if state.model_start:
        ends.append(("Start the model version", state.model_start.ended_at))
    ends += [
        ("Grant access", state.grant.ended_at),
        ("Smoke-test from each account", max(r.ended_at for r in state.smoke_tests)),
    ]
    if state.approval and state.approval.get("decidedAt"):
        ends.append(("Wait for approval", state.approval["decidedAt"]))
    switched = max(r.ended_at for r in state.rotations)  # the last wave's
    if len(plan.rollout) > 1:
        # The waves' switches and bakes alternate: one step, from the first switch to the last bake.
        ends.append(
            ("Roll out wave by wave: switch, then bake", max(switched, state.watch.ended_at if state.watch else ""))
        )
    else:
        ends.append(("Point each account at the new version", switched))
        if state.watch:
            # Its own step: the bake's minutes are not the retirement's.
            ends.append(("Bake: watch the rollback alarms", state.watch.ended_at))
    ends.append(("Retire the superseded version", retirement.ended_at))
    steps, previous = [], _at(plan.requested_at)
    for name, ended in ends:
        steps.append({"name": name, "seconds": round((_at(ended) - previous).total_seconds(), 3)})
        previous = _at(ended)
    return {
        "outcome": "ROLLED BACK" if plan.kind == "rollback" else "PROMOTED",
        "environment": plan.environment,
        "project": plan.project,
        "version": plan.version_arn,
        "reason": plan.reason,
        # What the accounts pointed at before, grouped by version ({version, accounts}): one entry per
        # account, each with two ARNs, would pass the state's quota at a thousand accounts.
        "from": from_document(plan),
        "started": [plan.version_arn] if state.model_start and state.model_start.started_by_this_execution else [],
        "granted": [plan.version_arn] if state.grant.added_by_this_execution else [],
        "revoked": retirement.revoked,
        "stopped": retirement.stopped,
        "left": [left.model_dump() for left in retirement.left],
        "approval": state.approval,
        "steps": steps,
        "finishedAt": datetime.now(UTC).isoformat(),
    }
