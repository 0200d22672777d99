"""Retire what the promotion superseded: revoke its grant and stop it, unless something still uses it.

ASL Task: "Retire the superseded version" (retire_superseded).
"""

from __future__ import annotations

from mlpromote import arns, leases
from mlpromote.aws import iam
from mlpromote.config import Config
from mlpromote.errors import AwsCallFailed, CopiesBusy
from mlpromote.fanout import for_each_account
from mlpromote.grant_reads import read_grants_after
from mlpromote.grants import GrantPolicy
from mlpromote.plan import PromotionPlan
from mlpromote.results import Grant, LeftBehind, Retirement
from mlpromote.services import copying_service, model_service
from mlpromote.serving import references
from mlpromote.versions import RUNNING, STARTING, STOPPING, ModelVersionArn


def retire_superseded(plan: PromotionPlan, config: Config, grant: Grant | None = None) -> Retirement:
    if plan.strategy == "copy":
        return _retire_copies(plan)
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


def _retire_copies(plan: PromotionPlan) -> Retirement:
    """A copy environment: stop each account's superseded copy (and delete it, with deleteSupersededCopies).
    No lease or other environment is in the way: a copy lives in one account, of this environment, whose
    pointer has just moved off it. A copy still STOPPING cannot be deleted yet: CopiesBusy, and the state
    machine runs this again (everything before the deletion is idempotent)."""
    service = copying_service(plan.service)
    superseded = {account: current for account, current in plan.current.items() if current}
    on_copies = plan.on_copies
    retirement = Retirement()
    if not superseded:
        return retirement
    if not plan.retire_superseded:
        why = f"retireSuperseded is false for {plan.environment}"
        labels = sorted({ModelVersionArn.parse(arn).label for arn in superseded.values()})
        retirement.left = [LeftBehind(version=label, granted=False, running=True, why=why) for label in labels]
        return retirement

    def retire(account: str) -> tuple[str, str] | None:
        """(the superseded version's label, what was done to its copy here), or None: nothing to do."""
        arn = superseded[account]
        if account not in on_copies and arns.account_of(arn) != account:
            return None  # not a copy: the environment shared the ML account's version before
        role, label = plan.model_retirer_role_arn(account), ModelVersionArn.parse(arn).label
        try:
            # The plan keeps a copy by its source (mlpromote.plan.Pointing): found here by its name.
            copy = service.version_named(role, arn) if account in on_copies else service.describe_copy(role, arn)
            if (
                copy is None
                or copy.source_arn == plan.version_arn
                or (account in on_copies and arn == plan.version_arn)
            ):
                return None  # gone already, or a copy of the promoted version itself
            status = copy.status
            if status == RUNNING:
                service.stop_copy(role, copy.arn)
                status = STOPPING
        except AwsCallFailed as error:
            # Never undoes the promotion: the copy is left, and the output says why (drift reports it idle).
            return label, f"left running: could not stop it ({error.operation}: {error.code})"
        if not plan.delete_superseded_copies:
            return label, "stopped"
        if status in (STOPPING, "COPYING_IN_PROGRESS"):
            raise CopiesBusy(f"account {account}: the copy of {label} is {status}; it is deleted once stopped")
        if status == STARTING:
            return label, "left STARTING (a start under way cannot be stopped)"
        try:
            service.delete_copy(role, copy.arn)
        except AwsCallFailed as error:
            return label, f"stopped, not deleted ({error.operation}: {error.code})"
        return label, "deleted"

    done = for_each_account(sorted(superseded), retire, plan.max_concurrency)
    counts: dict[tuple[str, str], int] = {}
    for outcome in done.values():
        if outcome is not None:
            counts[outcome] = counts.get(outcome, 0) + 1
    retirement.stopped = [
        f"{label}: copy {what} in {n} account{'s' if n != 1 else ''}"
        for (label, what), n in sorted(counts.items())
        if what in ("stopped", "deleted")
    ]
    retirement.left = [
        LeftBehind(version=label, granted=False, running=what.startswith("left"), why=f"copy {what} in {n} account(s)")
        for (label, what), n in sorted(counts.items())
        if what.startswith(("left", "stopped, not deleted"))
    ]
    return retirement
