"""A copy environment of organizational units names its OUs in the source project's policy, not its accounts:
the same size for 1 account or 5,000, evaluated by the rehearsal's IAM (principalmapper, with the caller's
aws:PrincipalArn, aws:PrincipalOrgID and aws:PrincipalOrgPaths), and enforced by the emulator's
CopyProjectVersion. A copy environment that lists its accounts is held to what one policy names."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlpromote import arns, project_policy
from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig
from mlpromote_emulator import iam_policy
from mlpromote_emulator.iam_policy import Role
from mlpromote_emulator.moto_adaptations import Organization

ML, MANAGEMENT, ORG = "111111111111", "999999999999", "o-a1b2c3d4e5"
PROD_OU, PROD_EU_OU, OTHER_OU = "ou-ab12-prod0001", "ou-ab12-prodeu01", "ou-ab12-other001"
EU_ACCOUNT, OUTSIDER = "555555555555", "777777777777"
VERSION = f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/v2/1700000002000"
OTHER_VERSION = f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/v3/1700000003000"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
UNITS = project_policy.OrganizationalUnits(ORG, (PROD_OU,), "mlpromote-model-copier")


def organization(accounts: int) -> Organization:
    """The OU with `accounts` accounts, a child OU with one more, and another OU beside them."""
    return Organization(
        id=ORG,
        management_account=MANAGEMENT,
        units={
            PROD_OU: [f"{200000000000 + n:012d}" for n in range(accounts)],
            PROD_EU_OU: [EU_ACCOUNT],
            OTHER_OU: [OUTSIDER],
        },
        children={PROD_OU: [PROD_EU_OU]},
    )


def may_copy(
    document: dict[str, Any],
    org: Organization,
    account: str,
    role: str = "mlpromote-model-copier",
    version: str = VERSION,
    org_id: str = ORG,
) -> bool:
    """May a role of `account` (which its own IAM allows everything) copy `version` under this project policy?"""
    caller = Role(
        arn=arns.role("aws", account, role),
        trust={},
        policies=[("admin", ADMIN)],
        org=org_id,
        org_paths=tuple(org.paths(account)),
    )
    return iam_policy.allowed(caller, "rekognition:CopyProjectVersion", version, {}, document, ML)


@pytest.mark.parametrize("accounts", [1, 5, 500, 5_000])
def test_the_ou_project_policy_has_one_size_from_1_to_5000_accounts_and_admits_only_the_ous_copier(
    accounts: int,
) -> None:
    org = organization(accounts)
    members = org.units[PROD_OU]
    document = project_policy.document(VERSION, members, UNITS)

    # Nothing in it depends on the accounts: the text is the same whatever the OU holds, well under 2,000.
    assert project_policy.text(VERSION, members, UNITS) == project_policy.text(VERSION, [], UNITS)
    assert len(project_policy.text(VERSION, members, UNITS)) < 800 < project_policy.MAX_CHARS
    assert members[0] not in json.dumps(document)
    assert may_copy(document, org, members[0])
    assert may_copy(document, org, members[-1])
    assert may_copy(document, org, EU_ACCOUNT)  # a child OU's account: the path's /* covers it
    assert not may_copy(document, org, OUTSIDER)  # the organization's, but outside the OU
    assert not may_copy(document, org, members[0], org_id="o-zzzzzzzzzz99")  # another organization
    assert not may_copy(document, org, members[0], role="inventory-app")  # in the OU, not the copier role
    assert not may_copy(document, org, members[0], version=OTHER_VERSION)  # only the promoted version
    stranger = Role(arn="arn:aws:iam::888888888888:role/mlpromote-model-copier", trust={}, policies=[("a", ADMIN)])
    assert not iam_policy.allowed(stranger, "rekognition:CopyProjectVersion", VERSION, {}, document, ML)


def test_a_listed_copy_environment_names_its_accounts_and_is_held_to_one_policy() -> None:
    """What the OU policy replaces: a listed environment's policy grows by its accounts (about 98 fit)."""
    few = project_policy.text(VERSION, [f"{200000000000 + n:012d}" for n in range(10)])
    many = [f"{200000000000 + n:012d}" for n in range(200)]
    assert len(few) < project_policy.MAX_CHARS and not project_policy.fits(VERSION, many)
    assert project_policy.fits(VERSION, many, UNITS)


def ou_copy_config(units: list[str], copier: str | None = None) -> Any:
    return parse_config(
        {
            "region": "us-east-1",
            "mlAccount": ML,
            "organizationId": ORG,
            "organizationReaderRoleArn": f"arn:aws:iam::{MANAGEMENT}:role/mlpromote-organization-reader",
            "environments": {"prod": {"organizationalUnits": units, "strategy": "copy"}},
            "projects": {
                "tools": {
                    "parameterName": "/mlpromote/tools/model-arn",
                    "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/h.jpg"], "expectLabels": ["hammer"]},
                }
            },
            **({"targetRoles": {"modelCopier": copier}} if copier else {}),
        }
    )


def test_check_config_counts_an_ou_copy_environments_ous_not_its_accounts() -> None:
    config = ou_copy_config([PROD_OU, OTHER_OU])
    units = project_policy.units_of(config, "prod")
    assert units == project_policy.OrganizationalUnits(ORG, (PROD_OU, OTHER_OU), "mlpromote-model-copier")
    # Too many OUs for one policy with the longest version ARN a project may have: refused by name.
    many = [f"ou-ab12-{n:08d}{'x' * 24}" for n in range(40)]
    with pytest.raises(InvalidConfig, match=r"40 OUs do not fit .* name fewer OUs \(a parent OU covers its children\)"):
        ou_copy_config(many)


def test_the_emulators_copy_project_version_enforces_the_policys_conditions(worlds: Any) -> None:
    """On the emulator, as on AWS: the project policy names the OU, and CopyProjectVersion from a role of an
    account in the OU (or a child OU) is allowed, from an account outside it refused, and from the OU's
    accounts by another role than the one it names, refused."""
    import boto3
    from botocore.exceptions import ClientError

    from mlpromote_emulator.world import _in_account, project_arn

    # The standard world's qa account (a share environment's) is in the organization, in another OU.
    inside, outside = "333333333333", "222222222222"
    ou = {
        "organizationId": ORG,
        "organizationReaderRoleArn": f"arn:aws:iam::{MANAGEMENT}:role/mlpromote-organization-reader",
        "environments": {"prod": {"accounts": None, "organizationalUnits": [PROD_OU], "strategy": "copy"}},
    }
    world = {
        "organization": {
            PROD_OU: {"accounts": [inside, "444444444444"], "children": [PROD_EU_OU]},
            PROD_EU_OU: {"accounts": [EU_ACCOUNT]},
            OTHER_OU: {"accounts": [outside]},
        }
    }
    with worlds.emulator(config=worlds.merge({}, ou), world=world) as emu:
        region, source_project = emu.config.region, project_arn(emu.config, "tools")
        v2 = emu.names.arn("tools/v2", emu.config)
        ml = boto3.client("rekognition", region_name=region)

        def put(copier: str) -> None:
            units = project_policy.OrganizationalUnits(ORG, (PROD_OU,), copier)
            for name in [
                p["PolicyName"] for p in ml.list_project_policies(ProjectArn=source_project)["ProjectPolicies"]
            ]:
                ml.delete_project_policy(ProjectArn=source_project, PolicyName=name)
            ml.put_project_policy(
                ProjectArn=source_project,
                PolicyName="mlpromote-copy-prod",
                PolicyDocument=project_policy.text(v2, [], units),
            )

        def copy(account: str, name: str) -> str:
            """CopyProjectVersion from `account`, as its administrator role (OrganizationAccountAccessRole)."""
            target = _in_account(account, region, "rekognition")
            found = target.describe_projects(ProjectNames=["tools"])["ProjectDescriptions"]
            destination = found[0]["ProjectArn"] if found else target.create_project(ProjectName="tools")["ProjectArn"]
            try:
                target.copy_project_version(
                    SourceProjectArn=source_project,
                    SourceProjectVersionArn=v2,
                    DestinationProjectArn=destination,
                    VersionName=name,
                    OutputConfig={"S3Bucket": f"mlpromote-copies-{account}-{region}"},
                )
            except ClientError as error:
                return str(error.response["Error"]["Code"])
            return "copied"

        # The policy names the copier role: the accounts' administrator role is refused, even in the OU.
        put("mlpromote-model-copier")
        assert copy(inside, "v2-admin") == "AccessDeniedException"
        # Naming the administrator role instead: the OU's accounts (a child OU's too) may copy, others not.
        put("OrganizationAccountAccessRole")
        assert copy(inside, "v2-copy") == "copied"
        assert copy(EU_ACCOUNT, "v2-copy") == "copied"
        assert copy(outside, "v2-copy") == "AccessDeniedException"
        target = _in_account(inside, region, "rekognition")
        destination = target.describe_projects(ProjectNames=["tools"])["ProjectDescriptions"][0]["ProjectArn"]
        made = target.describe_project_versions(ProjectArn=destination, VersionNames=["v2-copy", "v2-admin"])
    assert [(d["SourceProjectVersionArn"], d["Status"]) for d in made["ProjectVersionDescriptions"]] == [
        (v2, "COPYING_IN_PROGRESS")
    ]
