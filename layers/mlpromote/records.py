"""A promotion as the history and its events tell it: the record the lock opens and the outcome
closes, and the detail of its EventBridge events. The record names each account's change
`{account, from, to}` (history.AccountChange; stored grouped by `from`, history.PromotionRecord.item);
the events, like the execution's output, give `from` grouped by version, `[{version, accounts}]`: an
entry per account, with two ARNs each, would pass EventBridge's 256 KB at a thousand accounts."""

from __future__ import annotations

from typing import Any

from mlpromote import waves
from mlpromote.history import AccountChange, PromotionRecord, WaveRecord
from mlpromote.plan import PromotionPlan


def account_changes(plan: PromotionPlan) -> list[AccountChange]:
    """What the promotion changes in each account: from what the account served (read under the
    lock) to the promoted version."""
    return [
        AccountChange(account=target.account, from_version=target.current, to_version=plan.version_arn)
        for target in plan.targets
    ]


def from_document(plan: PromotionPlan) -> list[dict[str, Any]]:
    """What the accounts pointed at before the promotion, grouped by version: `[{"version", "accounts"}]`."""
    return [group.dump() for group in plan.pointing]


def record(plan: PromotionPlan) -> PromotionRecord:
    return PromotionRecord(
        promotion_id=plan.execution,
        environment=plan.environment,
        project=plan.project,
        version=plan.version_arn,
        kind=plan.kind,
        accounts=account_changes(plan),
        waves=wave_records(plan, [waves.NOT_STARTED] * len(plan.rollout)),
        reason=plan.reason,
        forced=plan.forced,
        entry_point=plan.entry_point,
        requested_by=plan.requested_by or plan.entry_point,
        started_at=plan.requested_at,
    )


def wave_records(
    plan: PromotionPlan, statuses: list[str], decisions: dict[int, dict[str, Any]] | None = None
) -> list[WaveRecord]:
    """The waves as the history keeps them; `decisions`: the decision at a wave's gate, by its number."""
    return [
        WaveRecord.model_validate({**wave, "approval": (decisions or {}).get(number)})
        for number, wave in enumerate(waves.report(plan.wave_accounts(), statuses), 1)
    ]


def event_detail(plan: PromotionPlan, **extra: Any) -> dict[str, Any]:
    return {
        "promotionId": plan.execution,
        "environment": plan.environment,
        "project": plan.project,
        "version": plan.version_arn,
        "kind": plan.kind,
        "from": from_document(plan),
        **extra,
    }
