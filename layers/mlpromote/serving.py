"""What the accounts serve: each account's pointer parameter, read through its parameter-reader role."""

from __future__ import annotations

from mlpromote import arns, environments
from mlpromote.aws import ssm
from mlpromote.config import Config
from mlpromote.fanout import for_each_account
from mlpromote.plan import PromotionPlan


def read_pointers(
    accounts: list[str], reader_role: str, parameter_name: str, workers: int, partition: str
) -> dict[str, str | None]:
    """What each account's parameter holds, read side by side (hundreds of accounts, one call each), through
    the accounts' parameter-reader role."""
    return for_each_account(
        accounts,
        lambda account: ssm.read_pointer(arns.role(partition, account, reader_role), parameter_name),
        workers,
    )


def references(config: Config, plan: PromotionPlan, after_promotion: bool) -> dict[str, list[str]]:
    """Which environment/account parameters point at each version, read now from every account
    (through the accounts' parameter-reader role).

    The promoting environment's own accounts are taken from the plan: after a promotion they all
    point at the new version (`after_promotion`), after a compensation at what they held before.
    """
    found: dict[str, list[str]] = {}
    for target in plan.targets:
        value = plan.version_arn if after_promotion else target.current
        if value:
            found.setdefault(value, []).append(f"{plan.environment}/{target.account}")
    for name in sorted(config.environments):
        if name == plan.environment:
            continue
        pointers = read_pointers(
            environments.accounts_of(config, name, empty_ok=True),
            plan.parameter_reader_role_name,
            plan.parameter_name,
            plan.max_concurrency,
            plan.partition,
        )
        for account, value in pointers.items():
            if value:
                found.setdefault(value, []).append(f"{name}/{account}")
    return found
