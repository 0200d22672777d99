"""Switch the environment: confirm the version serves, move each account's pointer, then bake.

ASL Tasks: "Check the version still serves" (confirm_serving), "Rotate a batch of pointers"
(rotate_batch, one per batch of accounts), "Watch the rollback alarms" and "Keep watching the rollback alarms"
(watch_alarms).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from mlpromote.aws import cloudwatch, ssm
from mlpromote.clock import now
from mlpromote.errors import AwsError, RolledBackOnAlarm, TransientAwsError, VersionNoLongerServing
from mlpromote.fanout import for_each_account, settle_each_account
from mlpromote.grant_reads import read_grants_after
from mlpromote.observability import logger
from mlpromote.plan import AccountPlan, PromotionPlan
from mlpromote.results import FailedAccounts, Grant, Rotation, Serving, Watch, reported
from mlpromote.services import copying_service, model_service
from mlpromote.versions import RUNNING, ModelVersionArn


def confirm_serving(plan: PromotionPlan, grant: Grant | None = None) -> Serving:
    """Right before the first pointer moves: the version is RUNNING and the access role grants it.

    Checked once for the environment rather than in each account's rotation: from the lock on, this
    promotion's lease keeps every other promotion from stopping the version (mlpromote.leases) and
    the lock keeps them from the environment's grants, so a check per account would only repeat this
    one, at two calls per account. Whatever acts outside mlpromote can act between any check and a
    write; drift detection reports that.
    """
    if plan.strategy == "copy":
        return _confirm_copies_serve(plan)
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


def _confirm_copies_serve(plan: PromotionPlan) -> Serving:
    """A copy environment: every account's copy is RUNNING (there is no grant to check)."""
    service = copying_service(plan.service)

    def status(account: str) -> str:
        _, copy = service.find_copy(plan.model_reader_role_arn(account), plan.version_arn)
        return copy.status if copy else "missing"

    statuses = for_each_account(plan.account_ids, status, plan.max_concurrency)
    down = {account: state for account, state in statuses.items() if state != RUNNING}
    if down:
        account, state = sorted(down.items())[0]
        raise VersionNoLongerServing(
            f"the copy of {plan.version_label} in {account} is {state} after its smoke test ({len(down)} account(s) "
            f"in all), before any pointer of {plan.environment} moved; something outside this promotion changed "
            "it. Nothing was switched; promote again"
        )
    return Serving(status=RUNNING)


def rotate_pointer(plan: AccountPlan, account: str) -> int | None:
    """Point one account's parameter at what it calls: the ML account's version or its endpoint (share), or
    the account's own copy of the version (copy), found by its name (the plan carries no per-account ARN)."""
    value = plan.serving_arn
    if plan.strategy == "copy":
        _, copy = copying_service(plan.service).find_copy(plan.model_reader_role_arn(account), plan.version_arn)
        if copy is None:
            raise VersionNoLongerServing(f"account {account} has no copy of {plan.version_label} to point at")
        # What the applications there call: the copy itself (Rekognition), or its endpoint (Comprehend).
        value = model_service(plan.service).serving_arn(copy.arn)
    return ssm.write_pointer(plan.parameter_writer_role_arn(account), plan.parameter_name, value)


def rotate_batch(plan: AccountPlan, accounts: list[str]) -> Rotation:
    """Point each account of a batch at the version, side by side; every one is tried.

    An account that fails is reported, not raised: the batch ends with how many switched and the
    failures grouped by error (so every account failing stays small in the execution's state), and
    the state machine compensates once every batch is done. A transient error is raised once all are
    done: the state machine retries the batch, whose accounts already switched are written again
    (the same value; a new parameter version with the label on it)."""
    switched, failed = settle_each_account(
        accounts, lambda account: rotate_pointer(plan, account), plan.account_workers
    )
    transient = [error for error in failed.values() if isinstance(error, TransientAwsError)]
    if transient:
        raise transient[0]
    groups: dict[str, FailedAccounts] = {}
    for account, error in failed.items():  # sorted by account: each group's cause is its first account's
        code = {"code": error.code} if isinstance(error, AwsError) else {}
        # As the handler logs a step's failure: each account's, with its whole cause, is in the logs.
        logger.warning(
            "step failed", extra={"error": type(error).__name__, "cause": str(error), "account": account, **code}
        )
        said = reported(error)
        group = groups.setdefault(said["Error"], FailedAccounts(error=said["Error"], cause=said["Cause"], accounts=[]))
        group.accounts.append(account)
    return Rotation(switched=len(switched), failed=bool(failed), failures=list(groups.values()))


def watch_alarms(plan: PromotionPlan, watch: Watch | None, wave: int | None = None) -> Watch:
    """Look at the environment's rollback alarms in the accounts switched so far (waves 0..`wave`, 0-based;
    None: every account); RolledBackOnAlarm if one is in ALARM.

    The first look starts the wave's bake; the state machine waits `waitSeconds` between looks until `until`.
    """
    started = now()
    bake = plan.rollout[wave].bake_seconds if wave is not None else plan.bake_seconds
    until = datetime.fromisoformat(watch.until) if watch else started + timedelta(seconds=bake)
    switched = plan.switched_by(wave) if wave is not None else plan.account_ids

    def alarming(account: str) -> list[str]:
        if not plan.rollback_alarms:  # DescribeAlarms without names would list every alarm
            return []
        return cloudwatch.alarms_in_alarm(plan.alarm_reader_role_arn(account), plan.rollback_alarms)

    found = for_each_account(switched, alarming, plan.max_concurrency)
    firing = [f"{name} in {account}" for account, names in found.items() for name in names]
    if firing:
        back, current = set(switched), plan.current
        back_to = ", ".join(
            sorted({ModelVersionArn.parse(was).label if was else "none" for a, was in current.items() if a in back})
        )
        took = plan.environment if len(plan.rollout) == 1 or wave is None else f"wave {wave + 1} of {plan.environment}"
        raise RolledBackOnAlarm(
            f"{', '.join(firing)} went to ALARM during the bake after {plan.version_label} took over "
            f"{took}; putting it back on {back_to}"
        )
    remaining = (until - now()).total_seconds()
    return Watch(
        until=until.isoformat(),
        done=remaining <= 0,
        wait_seconds=int(max(1, min(plan.alarm_poll_seconds, remaining))),
    )
