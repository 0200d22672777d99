"""The project policy that lets a copy environment's accounts copy one version (Rekognition Custom Labels).

A project policy sits on the ML account's source project and may only allow rekognition:CopyProjectVersion
(Custom Labels guide, "Creating a project policy document":
https://docs.aws.amazon.com/rekognition/latest/customlabels-dg/md-create-project-policy-document.html);
the document is at most 2,000 characters and a project holds at most 5 of them (PutProjectPolicy, and the
guide's quotas). mlpromote writes one per environment, named after it, allowing exactly the promoted
version to be copied, and deletes it once the copies are done.

Who may copy: an environment that lists its accounts names them (by account id, the shortest principal
IAM syntax has, so the most accounts fit: about 98). An environment of organizational units names its
OUs instead, as its access role's trust does (mlpromote.iam_model.trust_organizational_units): any
principal (`"AWS": "*"`) whose aws:PrincipalOrgID is the organization, whose aws:PrincipalOrgPaths lie
under one of the OUs, and whose aws:PrincipalArn is the accounts' model-copier role. The guide requires
Effect, Principal, Action and Resource and forbids NotAction, NotResource and NotPrincipal, and says the
document "must follow the IAM syntax" (PutProjectPolicy); it forbids no Condition, and the global condition
keys "can be used in all policies" (IAM User Guide, "AWS global condition context keys"). So the
document's size depends on the number of OUs, not of accounts: the same for 5 accounts or 5,000.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlpromote import arns

if TYPE_CHECKING:
    from mlpromote.config import Config

MAX_CHARS = 2000
PER_PROJECT = 5
# Version names are at most 255 characters (CreateProjectVersion): the longest ARN a policy may have to name.
LONGEST_VERSION_NAME = 255


@dataclass(frozen=True)
class OrganizationalUnits:
    """Who may copy in an environment of organizational units: the copier role of any account whose
    organization path lies under one of `units` (or their child OUs) in `organization`."""

    organization: str
    units: tuple[str, ...]
    copier_role: str


def units_of(config: Config, environment: str) -> OrganizationalUnits | None:
    """Who may copy into a copy environment of organizational units; None for any other environment (a
    copy environment that lists its accounts names them)."""
    env = config.environment(environment)
    organization = config.organization_of(environment)
    if env.strategy != "copy" or not env.by_organization or organization is None:
        return None
    return OrganizationalUnits(organization, tuple(env.organizational_units), config.target_roles.model_copier)


def policy_name(environment: str) -> str:
    """One policy per environment: two environments copying at once never write the same document."""
    return f"mlpromote-copy-{environment}"


def document(version_arn: str, accounts: list[str], units: OrganizationalUnits | None = None) -> dict[str, Any]:
    if units is not None:
        return _by_organization(version_arn, units)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CopyThisVersionIntoTheEnvironmentsAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": sorted(accounts)},
                "Action": "rekognition:CopyProjectVersion",
                "Resource": version_arn,
            }
        ],
    }


def _by_organization(version_arn: str, units: OrganizationalUnits) -> dict[str, Any]:
    # The same organization path pattern as the access role's trust (mlpromote.iam_model).
    partition = version_arn.split(":")[1]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CopyThisVersionIntoTheEnvironmentsOrganizationalUnits",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "rekognition:CopyProjectVersion",
                "Resource": version_arn,
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": units.organization},
                    "ForAnyValue:StringLike": {
                        "aws:PrincipalOrgPaths": [
                            arns.organization_path(units.organization, unit) for unit in units.units
                        ]
                    },
                    "ArnLike": {"aws:PrincipalArn": arns.role(partition, "*", units.copier_role)},
                },
            }
        ],
    }


def text(version_arn: str, accounts: list[str], units: OrganizationalUnits | None = None) -> str:
    return json.dumps(document(version_arn, accounts, units), separators=(",", ":"))


def fits(version_arn: str, accounts: list[str], units: OrganizationalUnits | None = None) -> bool:
    return len(text(version_arn, accounts, units)) <= MAX_CHARS
