"""Which accounts an environment spans: the ones it lists, or the ones of its organizational units.

The one resolver every reader of an environment's accounts goes through (the plan, a rollback's
pointers, `requires`, the retirement's and the compensation's look at other environments, drift
detection, the dry run). An OU environment is resolved when it is needed, through the organization
reader role (mlpromote.aws.organizations), to a sorted list of account ids: what comes after (the
plan, the history, the fan-out) sees a list of accounts, as for an environment that lists them.
"""

from __future__ import annotations

from mlpromote import quotas
from mlpromote.aws import organizations
from mlpromote.config import MAX_ACCOUNTS_PER_ENVIRONMENT, Config
from mlpromote.errors import (
    EnvironmentHasNoAccounts,
    EnvironmentsOverlap,
    EnvironmentTooLarge,
    OrganizationalUnitNotFound,
)


def max_accounts() -> int:
    """The most accounts one environment may have: the config's cap on a listed environment, which an
    OU environment's resolved accounts are held to as well."""
    return MAX_ACCOUNTS_PER_ENVIRONMENT


def accounts_of(config: Config, name: str, empty_ok: bool = False) -> list[str]:
    """The environment's accounts: as listed (in the config's order), or the ACTIVE accounts of its
    OUs and their child OUs, sorted. Named errors for an OU that does not exist
    (OrganizationalUnitNotFound), none left (EnvironmentHasNoAccounts, unless `empty_ok`: a reader that
    only looks at what the accounts serve, such as drift detection, finds nothing there), too many
    (EnvironmentTooLarge) and an account that is the ML account or another environment's
    (EnvironmentsOverlap)."""
    env = config.environment(name)
    if not env.by_organization:
        return list(env.accounts)
    accounts = _unit_accounts(config, name)
    units = ", ".join(env.organizational_units)
    if not accounts and empty_ok:
        return []
    if not accounts:
        raise EnvironmentHasNoAccounts(
            f"environment {name}'s organizational units ({units}) hold no ACTIVE account: move the accounts "
            f"into them, or name the OUs that hold them in environments.{name}.organizationalUnits"
        )
    cap = max_accounts()
    if len(accounts) > cap:
        raise EnvironmentTooLarge(
            f"environment {name}'s organizational units ({units}) hold {len(accounts)} ACTIVE accounts; a "
            f"promotion serves at most {cap}: split the OUs into environments"
        )
    problem = quotas.environment_history_problem(len(accounts), env.bakes, config.workflow)
    if problem:
        raise EnvironmentTooLarge(f"environment {name} ({len(accounts)} accounts in {units}): {problem}")
    _refuse_overlap(config, name, accounts, other_units=not empty_ok)
    return accounts


def _unit_accounts(config: Config, name: str) -> list[str]:
    reader = config.organization_reader_role_arn
    assert reader is not None  # the config requires it with organizationalUnits
    found: set[str] = set()
    for unit in config.environment(name).organizational_units:
        found.update(organizations.accounts_in_unit(reader, unit).accounts)
    return sorted(found)


def _refuse_overlap(config: Config, name: str, accounts: list[str], other_units: bool) -> None:
    """A project's parameter has one name in every environment, so an account belongs to one. With
    `other_units` (the plan), the other OU environments are resolved too: one may name a child OU of
    this one's."""
    if config.ml_account in accounts:
        raise EnvironmentsOverlap(
            f"the ML account {config.ml_account} is in environment {name}'s organizational units: target "
            "accounts are where the applications run; move it out of the OU"
        )
    listed = {account: other for other, env in config.environments.items() if other != name for account in env.accounts}
    for account in accounts:
        if account in listed:
            raise EnvironmentsOverlap(
                f"account {account} is in environment {name}'s organizational units and listed in "
                f"environments.{listed[account]}.accounts; an account belongs to one environment: take it out of one"
            )
    if not other_units:
        return
    mine = set(accounts)
    for other, env in sorted(config.environments.items()):
        if other == name or not env.by_organization:
            continue
        try:
            theirs = _unit_accounts(config, other)
        except OrganizationalUnitNotFound:
            continue  # that environment's promotions are refused by name; this one's accounts are not its
        shared = sorted(mine.intersection(theirs))
        if shared:
            raise EnvironmentsOverlap(
                f"account {shared[0]} is in the organizational units of both {name} and {other}"
                + (f" ({len(shared) - 1} more)" if len(shared) > 1 else "")
                + "; an account belongs to one environment: name OUs that do not contain each other"
            )
