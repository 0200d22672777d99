"""What the accounts serve: each account's pointer parameter, read through its parameter-reader role."""

from __future__ import annotations

from mlpromote import arns, environments
from mlpromote.aws import ssm
from mlpromote.config import Config
from mlpromote.errors import PromotionError
from mlpromote.fanout import for_each_account
from mlpromote.plan import Pointing, PromotionPlan, grouped
from mlpromote.services import ModelService, model_service


def read_pointers(
    accounts: list[str],
    reader_role: str,
    parameter_name: str,
    workers: int,
    partition: str,
    service: ModelService | None = None,
    project: str = "",
) -> dict[str, str | None]:
    """Which version each account's parameter serves, read side by side (hundreds of accounts, one call
    each), through the accounts' parameter-reader role. A parameter holds what the applications call
    (ModelService.serving_arn); with the project's `service`, each value is read back as the version it
    serves (a value the service cannot place is kept as it is)."""
    pointers = for_each_account(
        accounts,
        lambda account: ssm.read_pointer(arns.role(partition, account, reader_role), parameter_name),
        workers,
    )
    if service is None:
        return pointers
    served = service.versions_served_by(project, {value for value in pointers.values() if value})
    return {account: served.get(value, value) if value else value for account, value in pointers.items()}


def copy_pointing(pointers: dict[str, str | None], plan: PromotionPlan) -> list[Pointing]:
    """A copy environment's pointers as the plan keeps them: grouped by the ML account's version each
    account's copy is of, not by the copies' ARNs (one per account: each names its account and its own
    creation time), so the plan, the history record and the events grow by account ids only.

    A pointer to a version of the project in the pointer's own account is that account's copy; a copy keeps
    its source's project and version names, so its source is the ML account's version of that name, found
    with one listing of the ML account's project whatever the number of accounts. The copy itself is found
    again in its account by that name when a step needs its ARN (the compensation, the retirement). Any
    other value (nothing, the ML account's version itself, a version of another account or project, a name
    the ML account no longer has) is kept as it is."""
    service = model_service(plan.service)
    names: dict[str, str] = {}  # account -> the version name its pointer's copy has
    for account, value in pointers.items():
        try:
            version = service.parse_version(value) if value else None
        except PromotionError:
            continue  # not a version: kept as it is (drift reports it)
        if version and (version.account, version.region, version.project) == (account, plan.region, plan.project):
            names[account] = version.version
    current, copies = dict(pointers), set[str]()
    if names:
        sources = {service.parse_version(v.arn).version: v.arn for v in service.list_versions(plan.project_arn)}
        for account, name in names.items():
            if name in sources:
                current[account], copies = sources[name], copies | {account}
    return grouped({account: current.get(account) for account in plan.account_ids}, copies)


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
            model_service(plan.service),
            plan.project,
        )
        for account, value in pointers.items():
            if value:
                found.setdefault(value, []).append(f"{name}/{account}")
    return found
