"""The dry run's plan: what a promotion would change, read from the world as it is now.

`mlpromote.phases.plan.dry_run` runs the workflow's own checks, then asks `changes` what the later
steps would do, given what drift detection observes: the pointers, the grants, the versions' states,
and the cost of what runs (drift detection's price list). What it cannot know ahead: another
promotion that starts or ends meanwhile, and the version leases of promotions in flight, which
may keep a version running.
"""

from __future__ import annotations

from typing import Any

from mlpromote import drift
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.config import Config
from mlpromote.errors import InvalidModelVersionArn, PromotionError
from mlpromote.plan import PromotionPlan, PromotionRequest
from mlpromote.serving import references
from mlpromote.versions import RUNNING, ModelVersionArn


def refused(
    request: PromotionRequest, config: Config, observed: drift.Observed, refusal: PromotionError
) -> dict[str, Any]:
    """The plan of a request a check refuses: nothing would change."""
    before = cost_per_hour(config, observed, [])
    return {
        "environment": request.environment,
        "version": _label(request.model_version_arn) if request.model_version_arn else None,
        "kind": "rollback" if request.rollback else "promotion",
        "accounts": [],
        "grant": [],
        "revoke": [],
        "start": [],
        "stop": [],
        "costPerHourUsd": {"before": before, "after": before},
        "waves": [],
        "refusal": type(refusal).__name__,
        "refusalMessage": str(refusal),
    }


def changes(config: Config, plan: PromotionPlan, observed: drift.Observed) -> dict[str, Any]:
    """What the workflow would change for `plan` (checked by "Validate and plan"), in the world as observed:
    per account the pointer's from and to, the grants added and revoked, the versions started and
    stopped, the cost per hour before and after."""
    serving = observed.pointers[plan.environment][plan.project]
    plan = plan.with_pointers(serving)
    if plan.strategy == "copy":
        return _copy_changes(config, plan, observed)
    state = observed.versions.get(plan.version_arn)
    started = [] if state is not None and state.status == RUNNING else [plan.version_arn]
    granted = observed.grants.get(plan.environment, [])
    superseded = plan.superseded() if plan.retire_superseded else []
    stopped = _stopped(config, plan, observed, superseded)
    return {
        "environment": plan.environment,
        "version": plan.version_label,
        "kind": plan.kind,
        "accounts": [{"account": a.account, "from": _label(a.current), "to": plan.version_label} for a in plan.targets],
        "grant": [] if plan.version_arn in granted else [plan.version_label],
        "revoke": [_label(v) for v in superseded if v in granted],
        "start": [_label(v) for v in started],
        "stop": [_label(v) for v in stopped],
        "costPerHourUsd": {
            "before": cost_per_hour(config, observed, []),
            "after": cost_per_hour(config, observed, stopped, started),
        },
        "waves": waves_document(plan),
        "refusal": None,
        "refusalMessage": None,
    }


def _copy_changes(config: Config, plan: PromotionPlan, observed: drift.Observed) -> dict[str, Any]:
    """A copy environment (strategy: copy), per account: copy the version there (unless the account has a
    copy of it), start the copy (unless it runs), stop the superseded copy (retireSuperseded); nothing is
    granted or revoked. Each entry names the account: "tools/v2 in 333333333333"."""
    by_account: dict[str, dict[str, str]] = {}  # account -> label -> a copy's ARN there
    for arn in observed.versions:
        label = _label(arn)
        if label and arn.split(":")[4] != config.ml_account:
            by_account.setdefault(arn.split(":")[4], {})[label] = arn
    copied, started, stopped = [], [], []
    for target in plan.targets:
        account, have = target.account, by_account.get(target.account, {})
        copy = have.get(plan.version_label)
        if copy is None:
            copied.append(account)
        if copy is None or observed.versions[copy].status != RUNNING:
            # Priced as the project's minimum inference units in that account.
            # The copy keeps the source's names in its account (either service).
            head = plan.version_arn.split(":", 5)
            started.append(":".join([*head[:4], account, head[5]]))
        current = target.current
        if (
            plan.retire_superseded
            and current
            and _label(current) != plan.version_label
            and (state := observed.versions.get(current)) is not None
            and state.status == RUNNING
        ):
            stopped.append(current)
    return {
        "environment": plan.environment,
        "version": plan.version_label,
        "kind": plan.kind,
        "accounts": [{"account": a.account, "from": _label(a.current), "to": plan.version_label} for a in plan.targets],
        "grant": [],
        "revoke": [],
        "copy": [f"{plan.version_label} into {account}" for account in copied],
        "start": [f"{_label(v)} in {v.split(':')[4]}" for v in started],
        "stop": [f"{_label(v)} in {v.split(':')[4]}" for v in stopped],
        "costPerHourUsd": {
            "before": cost_per_hour(config, observed, []),
            "after": cost_per_hour(config, observed, stopped, started),
        },
        "waves": waves_document(plan),
        "refusal": None,
        "refusalMessage": None,
    }


def waves_document(plan: PromotionPlan) -> list[dict[str, Any]]:
    """The rollout as the dry run shows it: each wave's accounts (sorted by id), bake and approval."""
    return [
        {"accounts": accounts, "bakeMinutes": wave.bake_seconds // 60, "approve": wave.approve}
        for wave, accounts in zip(plan.rollout, plan.wave_accounts(), strict=True)
    ]


def _stopped(config: Config, plan: PromotionPlan, observed: drift.Observed, superseded: list[str]) -> list[str]:
    """What "Retire the superseded version" would stop: running, and nothing points at it after."""
    if not superseded:
        return []
    used = references(config, plan, after_promotion=True)
    return [
        version
        for version in superseded
        if version not in used and (state := observed.versions.get(version)) is not None and state.status == RUNNING
    ]


def cost_per_hour(
    config: Config, observed: drift.Observed, stopped: list[str], started: list[str] | None = None
) -> float | None:
    """USD per hour of the configured projects' running versions, at their minimum inference units
    (drift detection's price); None where mlpromote has no price for the region."""
    running = {arn for arn, d in observed.versions.items() if d.status == RUNNING} - set(stopped)
    running |= set(started or [])
    total = 0.0
    for arn in sorted(running):
        description = observed.versions.get(arn) or VersionDescription(arn, RUNNING, "")
        cost = drift.idle_cost_per_hour(config, description)
        if cost is None:
            return None
        total += cost
    return round(total, 4)


def _label(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return ModelVersionArn.parse(value).label
    except InvalidModelVersionArn:
        return value  # a parameter may hold anything; show it as it is
