"""Retire what the promotion superseded: revoke its grant and stop it, unless something still uses it.

ASL Task: "Retire the superseded version" (retire_superseded).
"""

from __future__ import annotations

from mlpromote import leases
from mlpromote.aws import iam
from mlpromote.config import Config
from mlpromote.errors import AwsCallFailed
from mlpromote.grant_reads import read_grants_after
from mlpromote.grants import GrantPolicy
from mlpromote.plan import PromotionPlan
from mlpromote.results import Grant, LeftBehind, Retirement
from mlpromote.services import model_service
from mlpromote.serving import references


def retire_superseded(plan: PromotionPlan, config: Config, grant: Grant | None = None) -> Retirement:
    superseded = plan.superseded()
    retirement = Retirement()
    if not superseded:
        return retirement
    if not plan.retire_superseded:
        why = f"retireSuperseded is false for {plan.environment}"
        retirement.left = [LeftBehind(version=v, granted=True, running=True, why=why) for v in superseded]
        return retirement

    service = model_service(plan.service)

    def revoke(policy: GrantPolicy) -> bool:
        return any([policy.revoke(service.serving_arn(version)) for version in superseded])

    try:
        # Read-modify-write from a read that shows this promotion's own grant: a stale one would write
        # back the document without it.
        policy = read_grants_after(plan, grant)
        if revoke(policy):
            iam.write_grants(plan.access_role_name, policy)
        retirement.revoked = superseded
    except AwsCallFailed as error:
        why = f"could not revoke: {error}"
        retirement.left = [LeftBehind(version=v, granted=True, running=True, why=why) for v in superseded]
        return retirement

    def stop(version: str) -> str | None:
        try:
            service.stop(version)
        except AwsCallFailed as error:
            return f"could not stop: {error}"
        return None

    # Stopped only if no other running promotion leases it and nothing points at it (mlpromote.leases).
    retirement.stopped, left = leases.stop_unless_used(
        superseded,
        plan.execution,
        lambda: references(config, plan, after_promotion=True),
        stop,
        done_with_them=True,
    )
    retirement.left = [
        LeftBehind(version=version, granted=False, running=True, why=why) for version, why in sorted(left.items())
    ]
    return retirement
