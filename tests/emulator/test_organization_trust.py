"""An OU environment's access role trusts by organization path: the same trust policy for 1 account
or 5,000, evaluated by the rehearsal's IAM (principalmapper, with every principal's aws:PrincipalOrgID
and aws:PrincipalOrgPaths from the world's organization)."""

from __future__ import annotations

from typing import Any

import pytest

from mlpromote import iam_model
from mlpromote.config import parse_config
from mlpromote_emulator import iam_policy
from mlpromote_emulator.iam_policy import Role
from mlpromote_emulator.moto_adaptations import Organization

ML, MANAGEMENT, ORG = "111111111111", "999999999999", "o-a1b2c3d4e5"
PROD_OU, PROD_EU_OU, OTHER_OU = "ou-ab12-prod0001", "ou-ab12-prodeu01", "ou-ab12-other001"
EU_ACCOUNT, OUTSIDER = "555555555555", "777777777777"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def ou_config(**prod: Any) -> Any:
    return parse_config(
        {
            "region": "us-east-1",
            "mlAccount": ML,
            "organizationId": ORG,
            "organizationReaderRoleArn": f"arn:aws:iam::{MANAGEMENT}:role/mlpromote-organization-reader",
            "environments": {"prod": {"organizationalUnits": [PROD_OU], **prod}},
            "projects": {
                "tools": {
                    "parameterName": "/mlpromote/tools/model-arn",
                    "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/h.jpg"], "expectLabels": ["hammer"]},
                }
            },
        }
    )


def organization(accounts: int) -> Organization:
    """The OU with `accounts` accounts, a child OU with one more, and another OU beside them."""
    in_ou = [f"{200000000000 + n:012d}" for n in range(accounts)]
    return Organization(
        id=ORG,
        management_account=MANAGEMENT,
        units={PROD_OU: in_ou, PROD_EU_OU: [EU_ACCOUNT], OTHER_OU: [OUTSIDER]},
        children={PROD_OU: [PROD_EU_OU]},
    )


def may_assume(trust: dict[str, Any], org: Organization, account: str, org_id: str = ORG) -> bool:
    """May a role of `account` (which its own IAM allows everything) assume the access role?"""
    principal = Role(
        arn=f"arn:aws:iam::{account}:role/inventory-app",
        trust={},
        policies=[("admin", ADMIN)],
        org=org_id,
        org_paths=tuple(org.paths(account)),
    )
    role = f"arn:aws:iam::{ML}:role/mlpromote-access-prod"
    return iam_policy.allowed(principal, "sts:AssumeRole", role, {}, trust, ML)


@pytest.mark.parametrize("accounts", [1, 5, 500, 5_000])
def test_the_trust_policy_has_one_size_from_1_to_5000_accounts_and_admits_only_the_ou(accounts: int) -> None:
    config = ou_config()
    trust = iam_model.access_role_trust(config, "prod")
    org = organization(accounts)
    first, last = org.units[PROD_OU][0], org.units[PROD_OU][-1]

    # Nothing in the trust depends on the accounts: the size is the OU environment's, whatever it holds.
    assert iam_model.policy_size(trust) == iam_model.policy_size(iam_model.access_role_trust(ou_config(), "prod"))
    assert iam_model.policy_size(trust) < 400 < iam_model.TRUST_POLICY_DEFAULT_LIMIT
    assert iam_model.trust_policy_findings(config, "prod") == (None, None)
    assert org.paths(last) == [f"{ORG}/r-ab12/{PROD_OU}/"]
    assert org.paths(EU_ACCOUNT) == [f"{ORG}/r-ab12/{PROD_OU}/{PROD_EU_OU}/"]
    assert may_assume(trust, org, first)
    assert may_assume(trust, org, last)
    assert may_assume(trust, org, EU_ACCOUNT)  # a child OU's account: the path's /* covers it
    assert not may_assume(trust, org, OUTSIDER)  # the organization's, but outside the OU
    # An account of another organization whose path happens to name the same OU id is refused by the org ID.
    assert not may_assume(trust, org, first, org_id="o-zzzzzzzzzz99")
    # A principal in no organization carries neither key.
    stranger = Role(arn="arn:aws:iam::888888888888:role/x", trust={}, policies=[("admin", ADMIN)])
    assert not iam_policy.allowed(
        stranger, "sts:AssumeRole", f"arn:aws:iam::{ML}:role/mlpromote-access-prod", {}, trust, ML
    )


def test_a_listed_environment_of_the_same_size_would_not_fit() -> None:
    """What the OU trust replaces: 500 listed accounts are far past IAM's 4,096 characters."""
    listed = parse_config(
        {
            **ou_config().model_dump(by_alias=True, exclude_none=True, mode="json"),
            "organizationReaderRoleArn": None,
            "environments": {"prod": {"accounts": [f"{200000000000 + n:012d}" for n in range(500)]}},
        }
        | {"organizationReaderRoleArn": f"arn:aws:iam::{MANAGEMENT}:role/mlpromote-organization-reader"}
    )
    error, _ = iam_model.trust_policy_findings(listed, "prod")
    assert error is not None and "4096" in error


def test_consumer_roles_narrow_an_ou_environment_without_naming_its_accounts() -> None:
    org = organization(3)
    consumer = f"arn:aws:iam::{org.units[PROD_OU][0]}:role/inventory-app"
    config = ou_config(consumerRoleArns=[consumer])
    trust = iam_model.access_role_trust(config, "prod")
    [statement] = trust["Statement"]
    assert statement["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        consumer,
        "arn:aws:iam::*:role/mlpromote-smoke-test",
    ]
    assert may_assume(trust, org, org.units[PROD_OU][0])
    assert not may_assume(trust, org, org.units[PROD_OU][1])  # in the OU, but not a listed consumer role
    assert not may_assume(trust, org, OUTSIDER)
