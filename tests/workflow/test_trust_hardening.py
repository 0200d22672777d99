"""Trust hardening and private connectivity, end to end on the emulator: the smoke test still gets
through a hardened access role (it passes the external id; its own role is admitted), and grants
follow the environment's VPC endpoints."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from mlpromote_emulator.scenario import PromotionSpec

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"
HARDENED = {
    "organizationId": "o-a1b2c3d4e5",
    "environments": {
        "prod": {
            "consumerRoleArns": [f"arn:aws:iam::{PROD_A}:role/inventory"],
            "externalId": "mlpromote-prod-7f3a",
            "vpcEndpointIds": ["vpce-0123456789abcdef0"],
        }
    },
}


def _access_role(name: str = "mlpromote-access-prod") -> tuple[dict[str, Any], dict[str, Any]]:
    """(trust policy, grants policy) of an access role, read from the ML account."""
    iam = boto3.client("iam", region_name="us-east-1")
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    grants = iam.get_role_policy(RoleName=name, PolicyName="mlpromote-grants")["PolicyDocument"]
    return trust, grants


def test_a_promotion_gets_through_a_hardened_access_role_and_grants_only_through_the_endpoint(worlds: Any) -> None:
    with worlds.emulator(config=HARDENED) as emu:
        trust_before, grants_before = _access_role()
        result = emu.promote(PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2"}))
        world = emu.world()
        trust_after, grants_after = _access_role()

    assert result.status == "SUCCEEDED", result.as_json()
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert world["grants"]["prod"] == ["tools/v2"]
    condition = trust_before["Statement"][0]["Condition"]
    assert condition["StringEquals"]["sts:ExternalId"] == "mlpromote-prod-7f3a"
    assert f"arn:aws:iam::{PROD_B}:role/mlpromote-smoke-test" in condition["ArnLike"]["aws:PrincipalArn"]
    assert trust_after == trust_before
    # The live v1 grant was seeded without a condition; the promotion's write put both behind the endpoint
    # and the retirement then revoked v1.
    assert [s.get("Condition") for s in grants_before["Statement"]] == [None]
    assert [s["Condition"] for s in grants_after["Statement"]] == [
        {"StringEquals": {"aws:SourceVpce": ["vpce-0123456789abcdef0"]}}
    ]


def test_the_smoke_test_is_refused_when_the_access_role_wants_another_external_id(worlds: Any) -> None:
    with worlds.emulator(config=HARDENED) as emu:
        iam = boto3.client("iam", region_name="us-east-1")
        trust, _ = _access_role()
        trust["Statement"][0]["Condition"]["StringEquals"]["sts:ExternalId"] = "rotated-by-someone-else"
        iam.update_assume_role_policy(RoleName="mlpromote-access-prod", PolicyDocument=json.dumps(trust))

        result = emu.promote(PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2"}))
        world = emu.world()

    assert result.status == "FAILED"
    assert result.error == "SmokeTestAccessDenied"
    assert "externalId" in result.cause and "AssumeRole" in result.cause
    assert world == worlds.expect()  # compensated: as it was


def test_an_environment_without_hardening_is_unaffected_by_anothers(worlds: Any) -> None:
    with worlds.emulator(config=HARDENED) as emu:
        result = emu.promote(PromotionSpec.model_validate({"environment": "qa", "version": "tools/v3"}))
        trust, grants = _access_role("mlpromote-access-qa")

    assert result.status == "SUCCEEDED", result.as_json()
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    assert [s.get("Condition") for s in grants["Statement"]] == [None]


@pytest.mark.parametrize("external_id", [None, "wrong"])
def test_the_emulator_refuses_assume_role_without_the_external_id_the_trust_requires(
    worlds: Any, external_id: str | None
) -> None:
    with worlds.emulator(config=HARDENED):
        ml = boto3.client("sts", region_name="us-east-1")
        # The ML account's admin role stands in for a principal of a trusted account here.
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "right"}},
                }
            ],
        }
        role = boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="wants-an-external-id", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        arguments = {"RoleArn": role, "RoleSessionName": "test"} | ({"ExternalId": external_id} if external_id else {})
        with pytest.raises(ClientError) as denied:
            ml.assume_role(**arguments)
        granted = ml.assume_role(RoleArn=role, RoleSessionName="test", ExternalId="right")

    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    assert granted["Credentials"]["AccessKeyId"]
