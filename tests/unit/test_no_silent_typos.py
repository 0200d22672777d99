"""No silent typos (issue 10, item 3): duplicate YAML keys, fault names checked against botocore's
service models, and one line per typo that names the key and what is allowed there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from conftest import STANDARD_SCENARIO, merge, scenario_data
from mlpromote.config import parse_config, read_yaml
from mlpromote.errors import InvalidConfig
from mlpromote_emulator.scenario import (
    COMMON_ERROR_CODES,
    CONTROL_PLANE_SERVICES,
    InvalidScenario,
    error_codes,
    parse_scenario,
)

ADAPTERS = Path(__file__).parents[2] / "layers" / "mlpromote" / "aws"


# --- duplicate keys ----------------------------------------------------------------------------


def read(tmp_path: Path, text: str) -> Any:
    path = tmp_path / "file.yaml"
    path.write_text(text)
    return read_yaml(path, "config file")


@pytest.mark.parametrize(
    ("text", "key", "lines"),
    [
        ("region: us-east-1\nregion: eu-west-1\n", "'region'", (1, 2)),
        ("environments:\n  prod:\n    accounts: []\n  qa: {}\n  prod: {}\n", "'prod'", (2, 5)),
        ("a: {b: 1, b: 2}\n", "'b'", (1, 1)),
        ("- {x: 1}\n- {x: 1, y: 2, x: 3}\n", "'x'", (2, 2)),
        ("1: a\n1.0: b\n", "1.0", (1, 2)),  # equal keys, however written: YAML keeps one
    ],
)
def test_a_key_twice_in_one_mapping_is_refused_naming_it_and_both_lines(
    tmp_path: Path, text: str, key: str, lines: tuple[int, int]
) -> None:
    with pytest.raises(InvalidConfig) as refused:
        read(tmp_path, text)
    message = str(refused.value)
    assert f"key {key} appears twice in one mapping (line {lines[0]} and line {lines[1]})" in message
    assert "\n" not in message


def test_the_same_key_in_different_mappings_and_merge_keys_are_fine(tmp_path: Path) -> None:
    text = "base: &base {accounts: [a], bakeMinutes: 5}\nqa: {accounts: [b]}\nprod:\n  <<: *base\n  bakeMinutes: 9\n"
    assert read(tmp_path, text) == {
        "base": {"accounts": ["a"], "bakeMinutes": 5},
        "qa": {"accounts": ["b"]},
        "prod": {"accounts": ["a"], "bakeMinutes": 9},  # written next to the merge: overrides it
    }


def test_the_loader_is_still_safe_and_bounded(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="not valid YAML"):
        read(tmp_path, "region: !!python/name:os.system\n")
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"a: " + b"x" * (1024 * 1024 + 1))
    with pytest.raises(InvalidConfig, match="larger than 1024 KiB"):
        read_yaml(path, "config file")


def test_a_scenario_file_with_a_duplicate_key_is_an_invalid_scenario(tmp_path: Path) -> None:
    path = tmp_path / "scenario.yaml"
    path.write_text("world: {}\nfaults: []\nworld: {}\n")
    with pytest.raises(InvalidScenario, match="key 'world' appears twice in one mapping \\(line 1 and line 3\\)"):
        read_yaml(path, "scenario file", error=InvalidScenario)


# --- faults ------------------------------------------------------------------------------------------


def test_the_faultable_services_are_the_ones_the_adapters_call_and_botocore_knows() -> None:
    called = {
        service
        for source in ADAPTERS.glob("*.py")
        for service in re.findall(r"client\(\s*\"([a-z0-9-]+)\"", source.read_text())
    }
    assert set(CONTROL_PLANE_SERVICES) == called
    assert set(CONTROL_PLANE_SERVICES) <= set(botocore.session.get_session().get_available_services())


def test_error_codes_are_the_wire_codes_of_the_model_plus_the_common_ones() -> None:
    iam = error_codes("iam")
    assert "NoSuchEntity" in iam and "NoSuchEntityException" not in iam  # the code IAM sends, not the shape
    assert {"AccessDenied", "Throttling", "ThrottlingException", "InternalFailure"} <= iam
    assert "ParameterLimitExceeded" in error_codes("ssm") and "ParameterLimitExceeded" not in iam
    assert error_codes("rekognition") >= COMMON_ERROR_CODES


def fault_problem(**fault: Any) -> str:
    with pytest.raises(InvalidScenario) as refused:
        parse_scenario(scenario_data(faults=[fault]), base=Path("."))
    message = str(refused.value)
    assert "\n" not in message, message  # one typo, one line
    return message.removeprefix("scenario: ")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (
            {"service": "ssm", "operation": "PutParamter", "error": "InternalServerError"},
            "faults[0].operation: 'PutParamter' is not an operation of ssm; did you mean 'PutParameter'? "
            "154 operations in botocore's ssm model",
        ),
        (
            {"service": "smm", "operation": "PutParameter", "error": "InternalServerError"},
            "faults[0].service: 'smm' is not a service the control plane calls; did you mean 'ssm'? one of "
            "(botocore names): cloudwatch, comprehend, dynamodb, events, iam, lambda, organizations, rekognition, "
            "sns, ssm, stepfunctions, sts",
        ),
        (
            {"service": "iam", "operation": "PutRolePolicy", "error": "NoSuchEntityException"},
            "faults[0].error: 'NoSuchEntityException' is not an error code iam answers with; did you mean "
            "'NoSuchEntity'? PutRolePolicy's modelled errors: LimitExceeded, MalformedPolicyDocument, NoSuchEntity, "
            "ServiceFailure, UnmodifiableEntity; or any other of iam's or AWS's common errors",
        ),
        (
            {"service": "ssm", "operation": "PutParameter", "eror": "InternalServerError"},
            "faults[0].eror: unknown key 'eror'; did you mean 'error'? allowed keys here: account, count, error, "
            "operation, service (error is required)",
        ),
    ],
)
def test_a_fault_naming_what_aws_does_not_have_is_refused_in_one_line(fault: dict[str, Any], expected: str) -> None:
    assert fault_problem(**fault).startswith(expected)


def test_boom_is_no_error_code() -> None:
    message = fault_problem(service="ssm", operation="PutParameter", error="Boom")
    assert message.startswith("faults[0].error: 'Boom' is not an error code ssm answers with; PutParameter's")
    assert "did you mean" not in message


@pytest.mark.parametrize(
    "fault",
    [
        {"service": "ssm", "operation": "PutParameter", "error": "InternalServerError"},  # modelled
        {"service": "ssm", "operation": "PutParameter", "error": "ThrottlingException"},  # common
        {"service": "sts", "operation": "AssumeRole", "error": "AccessDenied"},  # what STS answers a denial with
        {"service": "iam", "operation": "GetRolePolicy", "error": "Throttling"},  # and IAM a throttle
        {"service": "cloudwatch", "operation": "DescribeAlarms", "error": "InvalidNextToken"},
        {"service": "dynamodb", "operation": "TransactWriteItems", "error": "TransactionCanceledException"},
    ],
)
def test_real_faults_are_accepted(fault: dict[str, Any]) -> None:
    scenario = parse_scenario(scenario_data(faults=[fault]), base=Path("."))
    assert scenario.faults[0].error == fault["error"]


# --- one typo, one line ------------------------------------------------------------------------------


def scenario_problem(**overrides: Any) -> str:
    with pytest.raises(InvalidScenario) as refused:
        parse_scenario(merge(scenario_data(), overrides), base=Path("."))
    return str(refused.value)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"promotions": [{"environment": "prod", "version": "tools/v2", "reasn": "x"}]},
            "scenario: promotions[0].reasn: unknown key 'reasn'; did you mean 'reason'? allowed keys here: "
            "approvalComment, approve, approver, environment, force, idempotencyKey, modelVersionArn, project, reason, "
            "requester, rollback, version, via",
        ),
        (
            {"promotions": [{"batch": [{"environment": "prod", "version": "tools/v2", "vai": "api"}]}]},
            "scenario: promotions[0].batch[0].vai: unknown key 'vai'; did you mean 'via'?",
        ),
        (
            {"promotions": [{"batch": [{"environment": "prod", "version": "tools/v2"}], "environment": "qa"}]},
            "scenario: promotions[0].environment: unknown key 'environment'; allowed keys here: batch",
        ),
        (
            {"world": {"versions": {"tools/v1": {"status": "RUNNING", "labels": 5}}}},
            "scenario: world.versions.tools/v1.labels: give a list of label names, or a mapping",
        ),
        (
            {"world": {"live": {"staging": ["tools/v1"]}}},
            "scenario: world.live.staging: no such environment in the config",
        ),
        ({"world": {"startSecnds": 5}}, "scenario: world.startSecnds: unknown key 'startSecnds'; did you mean"),
    ],
)
def test_one_typo_is_one_line_without_the_union_noise(overrides: dict[str, Any], expected: str) -> None:
    message = scenario_problem(**overrides)
    assert message.startswith(expected), message
    assert "\n" not in message
    for noise in ("(top level)", "function-after", "PromotionSpec", "Batch.", "list[str]", "dict[str"):
        assert noise not in message


def test_a_config_typo_inside_a_scenario_stays_invalid_config() -> None:
    data = scenario_data()
    data["config"] = merge(STANDARD_SCENARIO["config"], {"environments": {"prod": {"acounts": ["333333333333"]}}})
    with pytest.raises(InvalidConfig) as refused:
        parse_scenario(data, base=Path("."))
    assert "environments.prod.acounts: unknown key 'acounts'; did you mean 'accounts'?" in str(refused.value)


def test_a_config_problem_that_is_no_one_key_has_no_top_level_marker() -> None:
    config = merge(STANDARD_SCENARIO["config"], {"environments": {"qa": {"accounts": ["333333333333"]}}})
    with pytest.raises(InvalidConfig) as refused:
        parse_config(config)
    assert str(refused.value).startswith("config: account 333333333333 is in both environments.qa and")
