"""The trust-hardening and private-connectivity keys of the config: what they accept, and errors that
say where the problem is and what to fix."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig

ML, QA, PROD_A, PROD_B, OTHER = "111111111111", "222222222222", "333333333333", "444444444444", "999999999999"

BASE: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {"qa": {"accounts": [QA]}, "prod": {"accounts": [PROD_A, PROD_B]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def config_with(top: dict[str, Any] | None = None, **prod: Any) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data.update(top or {})
    data["environments"]["prod"].update(prod)
    return data


def problem(data: dict[str, Any]) -> str:
    with pytest.raises(InvalidConfig) as caught:
        parse_config(data)
    return str(caught.value)


def test_every_key_set_right_is_accepted() -> None:
    config = parse_config(
        config_with(
            {"organizationId": "o-a1b2c3d4e5"},
            consumerRoleArns=[f"arn:aws:iam::{PROD_A}:role/inventory", f"arn:aws:iam::{PROD_B}:role/apps/inventory-*"],
            externalId="mlpromote-prod:7f3a/x=1",
            vpcEndpointIds=["vpce-0123456789abcdef0", "vpce-01234567"],
        )
    )

    prod = config.environments["prod"]
    assert prod.consumer_role_arns == [
        f"arn:aws:iam::{PROD_A}:role/inventory",
        f"arn:aws:iam::{PROD_B}:role/apps/inventory-*",
    ]
    assert prod.external_id == "mlpromote-prod:7f3a/x=1"
    assert prod.vpc_endpoint_ids == ["vpce-0123456789abcdef0", "vpce-01234567"]
    assert config.organization_of("prod") == config.organization_of("qa") == "o-a1b2c3d4e5"


def test_none_of_them_is_required() -> None:
    config = parse_config(BASE)

    prod = config.environments["prod"]
    assert (prod.consumer_role_arns, prod.external_id, prod.vpc_endpoint_ids) == ([], None, [])
    assert config.organization_of("prod") is None


def test_an_environments_organization_overrides_the_top_level_one() -> None:
    config = parse_config(config_with({"organizationId": "o-a1b2c3d4e5"}, organizationId="o-zzzzzzzzzz99"))

    assert config.organization_of("prod") == "o-zzzzzzzzzz99"
    assert config.organization_of("qa") == "o-a1b2c3d4e5"


def test_a_consumer_role_of_another_account_is_refused_naming_the_role_and_the_accounts() -> None:
    message = problem(
        config_with(consumerRoleArns=[f"arn:aws:iam::{PROD_A}:role/app", f"arn:aws:iam::{OTHER}:role/app"])
    )

    assert "environments.prod: consumerRoleArns[1] is a role of account 999999999999" in message
    assert f"not of this environment's accounts ({PROD_A}, {PROD_B})" in message
    assert "name a role of one of them, or add its account" in message


def test_a_consumer_role_of_the_ml_account_or_another_environment_is_refused_too() -> None:
    assert "consumerRoleArns[0] is a role of account 111111111111" in problem(
        config_with(consumerRoleArns=[f"arn:aws:iam::{ML}:role/app"])
    )
    assert "consumerRoleArns[0] is a role of account 222222222222" in problem(
        config_with(consumerRoleArns=[f"arn:aws:iam::{QA}:role/app"])
    )


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{PROD_A}:user/app",  # a user, not a role
        f"arn:aws:sts::{PROD_A}:assumed-role/app/session",  # a session
        "arn:aws:iam::*:role/app",  # a wildcard account would admit every account
        f"arn:aws:iam::{PROD_A}:role/",  # no name
        "app",
    ],
)
def test_a_consumer_that_is_not_a_role_arn_is_refused_with_its_index_and_the_form_to_use(arn: str) -> None:
    message = problem(config_with(consumerRoleArns=[arn]))

    assert "environments.prod.consumerRoleArns[0]:" in message
    assert "is not an IAM role ARN; write arn:aws:iam::<account>:role/<name>" in message


def test_a_consumer_listed_twice_is_refused() -> None:
    arn = f"arn:aws:iam::{PROD_A}:role/app"
    assert "consumerRoleArns lists a role twice" in problem(config_with(consumerRoleArns=[arn, arn]))


@pytest.mark.parametrize("value", ["o-123", "O-A1B2C3D4E5", "a1b2c3d4e5", "o-a1b2c3d4e5!", "r-a1b2c3d4e5"])
def test_a_malformed_organization_id_is_refused_where_it_is(value: str) -> None:
    top = problem(config_with({"organizationId": value}))
    environment = problem(config_with(organizationId=value))

    assert (
        top.splitlines()[-1]
        .removeprefix("config: ")
        .startswith(f"organizationId: {value!r} is not an AWS Organizations id")
    )
    assert (
        environment.splitlines()[-1]
        .removeprefix("config: ")
        .startswith(f"environments.prod.organizationId: {value!r} is not")
    )
    assert "o- and 10 to 32 lowercase letters or digits" in top


@pytest.mark.parametrize("value", ["x", "has space", "semi;colon", "a" * 1225, "naïve"])
def test_a_malformed_external_id_is_refused_with_the_rules(value: str) -> None:
    message = problem(config_with(externalId=value))

    assert "environments.prod.externalId: an external id is 2 to 1224 characters" in message
    assert f"this one has {len(value)} characters" in message
    assert value not in message or len(value) < 3  # the id itself is not echoed back


@pytest.mark.parametrize("value", ["ab", "a" * 1224, "arn:aws:iam::1:x/y=z,w.v@u-t_s+r"])
def test_external_ids_at_the_limits_are_accepted(value: str) -> None:
    assert parse_config(config_with(externalId=value)).environments["prod"].external_id == value


def test_a_malformed_vpc_endpoint_id_is_refused_with_its_index() -> None:
    message = problem(config_with(vpcEndpointIds=["vpce-0123456789abcdef0", "vpc-0123456789abcdef0"]))

    assert "environments.prod.vpcEndpointIds[1]: 'vpc-0123456789abcdef0' is not a VPC endpoint id" in message


def test_a_vpc_endpoint_listed_twice_is_refused() -> None:
    message = problem(config_with(vpcEndpointIds=["vpce-0123456789abcdef0", "vpce-0123456789abcdef0"]))

    assert "environments.prod.vpcEndpointIds: a VPC endpoint is listed twice" in message


def test_a_misspelt_key_is_still_an_error() -> None:
    assert "environments.prod.consumerRoleArn: unknown key" in problem(config_with(consumerRoleArn=[]))
