"""Record how the promotion ended, release the environment and its leases, and announce it.

ASL Task: "Record the outcome" (record_outcome).
"""

from __future__ import annotations

from typing import Any

from mlpromote import approvals, records, waves
from mlpromote.aws import dynamodb, events
from mlpromote.clock import stamp
from mlpromote.plan import PromotionPlan
from mlpromote.results import Outcome


def _leased(plan: PromotionPlan) -> list[str]:
    """The versions a promotion leased: the promoted one, and what its environment served under the lock."""
    return sorted({plan.version_arn, *plan.leased_versions})


def _wave_decisions(approval: approvals.Approval | None) -> dict[int, dict[str, Any]]:
    """The decision at each wave's gate, by the wave's number (the environment's gate is the record's own)."""
    if approval is None:
        return {}
    decisions = [*approval.earlier, approvals.outcome(approval)]
    return {int(d["wave"]): {k: v for k, v in d.items() if k != "wave"} for d in decisions if d.get("wave")}


def record_outcome(plan: PromotionPlan, state: dict[str, Any]) -> Outcome:
    """Write how the promotion ended into its history record, and release the environment."""
    if state.get("summary") is not None:
        status, error = "SUCCEEDED", None
    else:
        status = "FAILED"
        error = (state.get("compensation") or {}).get("error") or {"Error": "PromotionFailed", "Cause": ""}
    approval = approvals.close(plan.execution) if plan.gated else None
    record = records.record(plan).model_copy(
        update={
            "status": status,
            "ended_at": stamp(),
            "error": error["Error"] if error else None,
            "cause": error["Cause"] if error else None,
            "approval": approval.status if approval else None,
            "approver": approval.approver if approval else None,
            "approval_comment": approval.comment if approval else None,
            "approval_refusals": (approval.refusals or None) if approval else None,
            "waves": records.wave_records(
                plan, waves.statuses(len(plan.rollout), state, plan.already_served), _wave_decisions(approval)
            ),
        }
    )
    dynamodb.finish(record, _leased(plan))
    events.publish(
        f"Model Promotion {'Succeeded' if status == 'SUCCEEDED' else 'Failed'}",
        records.event_detail(
            plan,
            status=status,
            error=record.error,
            cause=record.cause,
            approval=approvals.outcome(approval) if approval else None,
        ),
    )
    return Outcome(status=status, error=error)
