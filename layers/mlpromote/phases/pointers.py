"""Switch the environment: confirm the version serves, move each account's pointer, then bake.

ASL Tasks: "Check the version still serves" (confirm_serving), "Rotate the pointer"
(rotate_pointer, one per account), "Watch the rollback alarms" and "Keep watching the rollback alarms"
(watch_alarms).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlpromote.aws import cloudwatch, ssm
from mlpromote.clock import now
from mlpromote.errors import RolledBackOnAlarm, VersionNoLongerServing
from mlpromote.fanout import for_each_account
from mlpromote.grant_reads import read_grants_after
from mlpromote.plan import AccountPlan, PromotionPlan
from mlpromote.results import Grant, Rotation, Serving, Watch
from mlpromote.services import model_service
from mlpromote.versions import RUNNING, ModelVersionArn


def confirm_serving(plan: PromotionPlan, grant: Grant | None = None) -> Serving:
    """Right before the first pointer moves: the version is RUNNING and the access role grants it.

    Checked once for the environment rather than in each account's rotation: from the lock on, this
    promotion's lease keeps every other promotion from stopping the version (mlpromote.leases) and
    the lock keeps them from the environment's grants, so a check per account would only repeat this
    one, at two calls per account. Whatever acts outside mlpromote can act between any check and a
    write; drift detection reports that.
    """
    status = model_service(plan.service).status(plan.project_arn, plan.version_arn)
    # A read right after the grant may not show it yet (IAM is eventually consistent): read again.
    granted = read_grants_after(plan, grant).grants(plan.serving_arn)
    if status != RUNNING or not granted:
        why = f"is {status}" if status != RUNNING else f"is no longer granted by {plan.access_role_name}"
        raise VersionNoLongerServing(
            f"{plan.version_label} {why} after its smoke test, before any pointer of {plan.environment} moved; "
            "something outside this promotion changed it. Nothing was switched; promote again"
        )
    return Serving(status=status)


def rotate_pointer(plan: AccountPlan, account: str) -> Rotation:
    parameter_version = ssm.write_pointer(
        plan.parameter_writer_role_arn(account), plan.parameter_name, plan.serving_arn
    )
    return Rotation(account=account, parameter_version=parameter_version)


def watch_alarms(plan: PromotionPlan, watch: Watch | None) -> Watch:
    """Look at the environment's rollback alarms in every account; RolledBackOnAlarm if one is in ALARM.

    The first look starts the bake; the state machine waits `waitSeconds` between looks until `until`.
    """
    started = now()
    until = datetime.fromisoformat(watch.until) if watch else started + timedelta(seconds=plan.bake_seconds)

    def alarming(account: str) -> list[str]:
        if not plan.rollback_alarms:  # DescribeAlarms without names would list every alarm
            return []
        return cloudwatch.alarms_in_alarm(plan.alarm_reader_role_arn(account), plan.rollback_alarms)

    found = for_each_account([t.account for t in plan.accounts], alarming, plan.max_concurrency)
    firing = [f"{name} in {account}" for account, names in found.items() for name in names]
    if firing:
        back_to = ", ".join(
            sorted({ModelVersionArn.parse(t.current).label if t.current else "none" for t in plan.accounts})
        )
        raise RolledBackOnAlarm(
            f"{', '.join(firing)} went to ALARM during the bake after {plan.version_label} took over "
            f"{plan.environment}; putting it back on {back_to}"
        )
    remaining = (until - now()).total_seconds()
    return Watch(
        until=until.isoformat(),
        done=remaining <= 0,
        wait_seconds=int(max(1, min(plan.alarm_poll_seconds, remaining))),
    )
