"""AWS Organizations: the accounts of organizational units, listed through the organization reader role.

ListAccountsForParent answers the accounts directly in one OU, not in its children
(Organizations API Reference), so an OU's accounts are its own plus, recursively, its child OUs'
(ListOrganizationalUnitsForParent). Both are paginated, and both can be called only from the
management account or a delegated administrator: hence the role (templates/organization-reader.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.errors import OrganizationalUnitNotFound

# Accounts being created, suspended or closed cannot be served: only ACTIVE ones are (Account.Status:
# ACTIVE | SUSPENDED | PENDING_CLOSURE; older answers say it in Status, newer ones in State too).
ACTIVE = "ACTIVE"


@dataclass(frozen=True)
class UnitAccounts:
    """The ACTIVE accounts of one OU and its children, and the OUs walked (the OU first)."""

    accounts: list[str]
    units: list[str]


def _organizations(reader_role_arn: str) -> object:
    return sessions.assumed_client("organizations", (reader_role_arn,))


def accounts_in_unit(reader_role_arn: str, unit: str) -> UnitAccounts:
    """Every ACTIVE account in `unit` and its child OUs, recursively (sorted); OrganizationalUnitNotFound
    when the organization has no such OU."""
    client = _organizations(reader_role_arn)
    accounts: set[str] = set()
    walked: list[str] = []
    pending = [unit]
    try:
        while pending:
            parent = pending.pop()
            walked.append(parent)
            for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):  # type: ignore[attr-defined]
                for account in page["Accounts"]:
                    if account.get("Status", ACTIVE) == ACTIVE:
                        accounts.add(str(account["Id"]))
            children = client.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)  # type: ignore[attr-defined]
            for page in children:
                pending.extend(str(child["Id"]) for child in page["OrganizationalUnits"])
    except ClientError as error:
        if sessions.error_code(error) in ("ParentNotFoundException", "OrganizationalUnitNotFoundException"):
            raise OrganizationalUnitNotFound(
                f"organizational unit {unit} does not exist in the organization {reader_role_arn} reads "
                f"({sessions.error_code(error)}): check the environment's organizationalUnits against "
                "aws organizations list-organizational-units-for-parent"
            ) from error
        raise sessions.translated(error, f"organizations ListAccountsForParent {unit}") from error
    return UnitAccounts(accounts=sorted(accounts), units=walked)
