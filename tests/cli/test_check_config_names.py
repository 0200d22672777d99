"""The names the config shares with the templates (parameterPathPrefix, accessRolePrefix), SSM's naming
rules and the bake's alarms, refused by `mlpromote check-config` with exit 2 and a message naming the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig
from mlpromote_cli.main import main

GOOD: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": "111111111111",
    "environments": {"qa": {"accounts": ["222222222222"]}, "prod": {"accounts": ["333333333333"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://bucket-1/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}
# arn:aws:ssm:us-east-1:111111111111:parameter is 44 characters: a name may have 1011 - 44 of them.
LONGEST_IN_US_EAST_1 = "/mlpromote/" + "x" * (1011 - 44 - len("/mlpromote/"))


def config(**changes: Any) -> dict[str, Any]:
    """GOOD with changes: top-level keys, or "projects.tools.parameterName"-style paths."""
    data = copy.deepcopy(GOOD)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value
    return data


REFUSED = [
    pytest.param(
        config(projects__tools__parameterName="/apps/inspection/model"),
        ["projects.tools.parameterName", "'/apps/inspection/model' is outside parameterPathPrefix '/mlpromote'"],
        id="parameter-outside-the-prefix",
    ),
    pytest.param(
        config(parameterPathPrefix="/apps/inspection"),
        ["projects.tools.parameterName", "is outside parameterPathPrefix '/apps/inspection'"],
        id="prefix-moved-without-the-parameter",
    ),
    pytest.param(
        config(projects__tools__parameterName="mlpromote/tools/model-arn"),
        ["projects.tools.parameterName:", "has no leading /", "write '/mlpromote/tools/model-arn'"],
        id="parameter-without-leading-slash",
    ),
    pytest.param(
        config(projects__tools__parameterName="/mlpromote" + "/l" * 15),
        ["projects.tools.parameterName:", "has 16 levels; SSM allows at most 15"],
        id="parameter-16-levels",
    ),
    pytest.param(
        config(projects__tools__parameterName="/SSM/tools/model-arn"),
        ["projects.tools.parameterName:", "SSM reserves names that begin with 'aws' or 'ssm'"],
        id="parameter-reserved-prefix",
    ),
    pytest.param(
        config(projects__tools__parameterName="/mlpromote/tools/model arn"),
        ["projects.tools.parameterName:", "is not a valid SSM name"],
        id="parameter-with-a-space",
    ),
    pytest.param(
        config(projects__tools__parameterName=LONGEST_IN_US_EAST_1 + "x"),
        ["projects.tools.parameterName is 968 characters; SSM allows 967 in us-east-1 (1011 with the parameter's ARN)"],
        id="parameter-too-long-with-its-arn",
    ),
    pytest.param(
        config(parameterPathPrefix="mlpromote"),
        ["parameterPathPrefix:", "has no leading /", "write '/mlpromote'"],
        id="prefix-without-leading-slash",
    ),
    pytest.param(
        config(parameterPathPrefix="/mlpromote/"),
        ["parameterPathPrefix:", "is not a valid SSM name"],
        id="prefix-with-trailing-slash",
    ),
    pytest.param(
        config(parameterPathPrefix="/aws/mlpromote"),
        ["parameterPathPrefix:", "SSM reserves"],
        id="prefix-reserved",
    ),
    pytest.param(
        config(parameterPathPrefix="/l" * 15),
        ["parameterPathPrefix:", "has 15 levels", "at most 14"],
        id="prefix-15-levels",
    ),
    pytest.param(
        config(accessRolePrefix="mlpromote access "),
        ["accessRolePrefix:", "does not match"],
        id="role-prefix-with-spaces",
    ),
    pytest.param(
        config(accessRolePrefix="a" * 64),
        ["accessRolePrefix:"],
        id="role-prefix-64-characters",
    ),
    pytest.param(
        config(accessRolePrefix="a" * 61),
        ["environments.prod: accessRolePrefix + 'prod' makes a 65-character role name; IAM allows 64"],
        id="role-prefix-plus-environment-over-64",
    ),
    pytest.param(
        config(environments__prod__accessRoleName="inspection-prod"),
        [
            "environments.prod.accessRoleName 'inspection-prod' does not start with accessRolePrefix "
            "'mlpromote-access-': template.yaml's roles may write grants only on those",
        ],
        id="access-role-name-outside-the-prefix",
    ),
    pytest.param(
        config(environments__prod__bakeMinutes=30),
        ["environments.prod:", "bakeMinutes (30) watches rollbackAlarms", "and none are listed"],
        id="bake-without-alarms",
    ),
]


@pytest.mark.parametrize(("data", "expected"), REFUSED)
def test_check_config_refuses_naming_the_key(
    data: dict[str, Any], expected: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mlpromote.yaml"
    path.write_text(yaml.safe_dump(data))

    code = main(["check-config", str(path)])

    captured = capsys.readouterr()
    assert (code, captured.out) == (2, "")
    assert captured.err.startswith("InvalidConfig: ") and "Traceback" not in captured.err
    assert "..." not in captured.err, "the message was cut short: keep it under 200 characters"
    for text in expected:
        assert text in captured.err, captured.err


def test_the_defaults_and_a_consistent_custom_naming_are_accepted() -> None:
    default = parse_config(GOOD)
    assert (default.parameter_path_prefix, default.access_role_prefix) == ("/mlpromote", "mlpromote-access-")
    assert default.access_role_name("prod") == "mlpromote-access-prod"

    custom = parse_config(
        config(
            parameterPathPrefix="/apps/inspection",
            accessRolePrefix="inspection-model-",
            projects__tools__parameterName="/apps/inspection/tools/model-arn",
            environments__qa__accessRoleName="inspection-model-quality",
        )
    )
    assert custom.access_role_name("prod") == "inspection-model-prod"
    assert custom.access_role_name("qa") == "inspection-model-quality"
    assert custom.access_role_arn("prod") == "arn:aws:iam::111111111111:role/inspection-model-prod"


@pytest.mark.parametrize(
    ("region", "arn_before_name"),
    [
        ("us-east-1", "arn:aws:ssm:us-east-1:111111111111:parameter"),
        ("cn-north-1", "arn:aws-cn:ssm:cn-north-1:111111111111:parameter"),
        ("us-gov-west-1", "arn:aws-us-gov:ssm:us-gov-west-1:111111111111:parameter"),
    ],
)
def test_the_length_limit_counts_the_arn_of_the_region_and_partition(region: str, arn_before_name: str) -> None:
    longest = "/mlpromote/" + "x" * (1011 - len(arn_before_name) - len("/mlpromote/"))

    assert parse_config(config(region=region, projects__tools__parameterName=longest))
    with pytest.raises(InvalidConfig, match=f"SSM allows {len(longest)} in {region}"):
        parse_config(config(region=region, projects__tools__parameterName=longest + "x"))


def test_a_15_level_parameter_is_accepted_and_alarms_with_a_bake_are_fine() -> None:
    fifteen = "/mlpromote" + "/l" * 14
    data = config(projects__tools__parameterName=fifteen)
    data["environments"]["prod"].update(bakeMinutes=30, rollbackAlarms=["HighErrorRate"])

    parsed = parse_config(data)

    assert parsed.project("tools").parameter_name == fifteen
    assert parsed.environment("prod").rollback_alarms == ["HighErrorRate"]
