"""mlpromote.arns: the partition of every region botocore knows, and every ARN built from it."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest

from mlpromote import arns, iam_model
from mlpromote.aws import sessions
from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig, VersionOutsideMlAccount
from mlpromote.promotions import require_ml_account
from mlpromote.versions import ModelVersionArn

CONFIG: dict[str, Any] = {
    "region": "cn-north-1",
    "mlAccount": "111111111111",
    "environments": {"prod": {"accounts": ["333333333333", "444444444444"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://smoke-images/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def config_in(region: str, **prod: Any) -> Any:
    data = copy.deepcopy(CONFIG)
    data["region"] = region
    data["environments"]["prod"].update(prod)
    return parse_config(data)


def test_every_region_botocore_knows_in_the_three_partitions_has_its_partition() -> None:
    known = arns.known_regions()
    assert {"us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"} <= set(known)
    session = boto3.session.Session()
    for partition in arns.PARTITIONS:
        # Another botocore file (the endpoint data): every region with an STS endpoint is a region here.
        for region in session.get_available_regions("sts", partition_name=partition):
            assert known.get(region) == partition, region
    for region, partition in known.items():
        assert arns.partition_of(region) == partition
        prefix = {"aws-cn": "cn-", "aws-us-gov": "us-gov-"}.get(partition)
        assert region.startswith(prefix) if prefix else not region.startswith(("cn-", "us-gov-")), region


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [("eu-centrl-1", "'eu-central-1'"), ("us-gov-wst-1", "'us-gov-west-1'"), ("cn-nrth-1", "'cn-north-1'")],
)
def test_an_unknown_region_is_refused_with_the_closest_known_name(typo: str, suggestion: str) -> None:
    with pytest.raises(arns.UnknownRegion) as refused:
        arns.partition_of(typo)
    assert str(refused.value).startswith(f"{typo!r} is not a region of the aws, aws-cn, aws-us-gov partitions")
    assert f"did you mean {suggestion}" in str(refused.value)


@pytest.mark.parametrize("region", ["aws-global", "aws-cn-global", "us-iso-east-1", "Narnia", ""])
def test_pseudo_regions_and_other_partitions_are_not_regions_of_mlpromote(region: str) -> None:
    with pytest.raises(arns.UnknownRegion):
        arns.partition_of(region)


def test_the_config_names_the_region_key_and_the_closest_name() -> None:
    with pytest.raises(InvalidConfig) as refused:
        config_in("eu-centrl-1")
    assert "region: 'eu-centrl-1' is not a region" in str(refused.value)
    assert "did you mean 'eu-central-1'" in str(refused.value)


def test_arns_take_the_partition_and_a_version_arn_parses_back() -> None:
    assert (
        arns.role("aws-cn", "111111111111", "service-role/app") == "arn:aws-cn:iam::111111111111:role/service-role/app"
    )
    assert arns.account_root("aws-us-gov", "111111111111") == "arn:aws-us-gov:iam::111111111111:root"
    assert arns.user("aws", "111111111111", "me") == "arn:aws:iam::111111111111:user/me"
    assert (
        arns.ssm_parameter("aws-cn", "cn-north-1", "333333333333", "/mlpromote/tools/model-arn")
        == "arn:aws-cn:ssm:cn-north-1:333333333333:parameter/mlpromote/tools/model-arn"
    )
    assert arns.s3_object("aws-us-gov", "bucket", "a/b.jpg") == "arn:aws-us-gov:s3:::bucket/a/b.jpg"
    assert (
        arns.lambda_function("aws-cn", "cn-north-1", "111111111111", "f")
        == "arn:aws-cn:lambda:cn-north-1:111111111111:function:f"
    )
    version = arns.rekognition_version("aws-us-gov", "us-gov-west-1", "111111111111", "tools", "v2", 1700000002000)
    parsed = ModelVersionArn.parse(version)
    assert (parsed.partition, parsed.region, parsed.account, parsed.label) == (
        "aws-us-gov",
        "us-gov-west-1",
        "111111111111",
        "tools/v2",
    )
    assert arns.region_of_arn("arn:aws-cn:states:cn-north-1:111111111111:stateMachine:m") == "cn-north-1"


def test_roles_trust_and_policies_of_a_china_config_are_all_aws_cn() -> None:
    config = config_in("cn-north-1", consumerRoleArns=["arn:aws-cn:iam::333333333333:role/app"])
    assert config.partition == "aws-cn"
    assert config.access_role_arn("prod") == "arn:aws-cn:iam::111111111111:role/mlpromote-access-prod"
    trust = iam_model.access_role_trust(config, "prod")
    statement = trust["Statement"][0]
    assert statement["Principal"]["AWS"] == ["arn:aws-cn:iam::333333333333:root", "arn:aws-cn:iam::444444444444:root"]
    assert statement["Condition"]["ArnLike"]["aws:PrincipalArn"] == [
        "arn:aws-cn:iam::333333333333:role/app",
        "arn:aws-cn:iam::333333333333:role/mlpromote-smoke-test",
        "arn:aws-cn:iam::444444444444:role/mlpromote-smoke-test",
    ]
    assert iam_model.parameter_writer_policy(config, "333333333333")["Statement"][0]["Resource"] == [
        "arn:aws-cn:ssm:cn-north-1:333333333333:parameter/mlpromote/*"
    ]
    assert iam_model.smoke_test_images_policy(config)["Statement"][0]["Resource"] == [
        "arn:aws-cn:s3:::smoke-images/tools/hammer.jpg"
    ]
    assert iam_model.smoke_test_role_policy(config)["Statement"][0]["Resource"] == (
        "arn:aws-cn:iam::111111111111:role/mlpromote-access-*"
    )
    assert (
        iam_model.control_plane_role_arn("aws-us-gov", "111111111111", "plan")
        == "arn:aws-us-gov:iam::111111111111:role/mlpromote-control-plan"
    )


def test_a_consumer_role_of_another_partition_is_refused_naming_both() -> None:
    with pytest.raises(InvalidConfig) as refused:
        config_in("us-gov-west-1", consumerRoleArns=["arn:aws:iam::333333333333:role/app"])
    assert (
        "environments.prod.consumerRoleArns[0] is a role of the aws partition, but region us-gov-west-1 is in "
        "aws-us-gov: write arn:aws-us-gov:iam::<account>:role/<name>"
    ) in str(refused.value)
    assert config_in("us-gov-west-1", consumerRoleArns=["arn:aws-us-gov:iam::333333333333:role/app"])


def test_a_version_arn_of_another_partition_is_outside_the_ml_account() -> None:
    config = config_in("cn-north-1")
    good = "arn:aws-cn:rekognition:cn-north-1:111111111111:project/tools/version/v2/1700000002000"
    require_ml_account(ModelVersionArn.parse(good), config)
    with pytest.raises(VersionOutsideMlAccount) as refused:
        require_ml_account(ModelVersionArn.parse(good.replace("arn:aws-cn:", "arn:aws:")), config)
    assert "region cn-north-1 (aws)" in str(refused.value)


def test_clients_use_the_region_the_handler_names_not_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sessions.reset()
    try:
        assert sessions.client("rekognition").meta.region_name == "us-east-1"  # nothing named: botocore's default
        sessions.use_region("eu-central-1")
        assert sessions.client("rekognition").meta.region_name == "eu-central-1"
        assert sessions.client("ssm").meta.region_name == "eu-central-1"
    finally:
        sessions.reset()
    assert sessions.current_region() == "us-east-1"
