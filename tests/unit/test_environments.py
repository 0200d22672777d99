"""mlpromote.environments: the one resolver of an environment's accounts, with the Organizations
adapter faked (its wiring runs on the emulator: tests/workflow/test_organizational_units.py)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlpromote import environments
from mlpromote.aws import organizations
from mlpromote.config import parse_config
from mlpromote.errors import EnvironmentHasNoAccounts, EnvironmentsOverlap, EnvironmentTooLarge, InvalidConfig

ML, QA = "111111111111", "222222222222"
READER = "arn:aws:iam::999999999999:role/mlpromote-organization-reader"
OU, CHILD = "ou-ab12-prod0001", "ou-ab12-prodeu01"
BASE: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "organizationId": "o-a1b2c3d4e5",
    "organizationReaderRoleArn": READER,
    "environments": {"qa": {"accounts": [QA]}, "prod": {"organizationalUnits": [OU, CHILD]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/h.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def config(**changes: Any) -> Any:
    data = copy.deepcopy(BASE)
    data.update(changes)
    return parse_config(data)


@pytest.fixture
def units(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """OU -> the ACTIVE accounts the fake Organizations answers for it (children included)."""
    answers: dict[str, list[str]] = {}
    asked: list[tuple[str, str]] = []

    def accounts_in_unit(reader: str, unit: str) -> organizations.UnitAccounts:
        asked.append((reader, unit))
        return organizations.UnitAccounts(accounts=sorted(answers.get(unit, [])), units=[unit])

    monkeypatch.setattr(organizations, "accounts_in_unit", accounts_in_unit)
    answers["asked"] = asked  # type: ignore[assignment]
    return answers


def test_an_ou_environment_is_its_ous_accounts_sorted_once_each(units: dict[str, Any]) -> None:
    units[OU] = ["555555555555", "333333333333"]
    units[CHILD] = ["444444444444", "555555555555"]

    assert environments.accounts_of(config(), "prod") == ["333333333333", "444444444444", "555555555555"]
    assert units["asked"] == [(READER, OU), (READER, CHILD)]


def test_a_listed_environment_is_its_list_in_the_configs_order_without_asking_organizations(
    units: dict[str, Any],
) -> None:
    listed = config(environments={"qa": {"accounts": ["444444444444", QA]}, "prod": {"organizationalUnits": [OU]}})
    assert environments.accounts_of(listed, "qa") == ["444444444444", QA]
    assert units["asked"] == []


def test_no_accounts_is_refused_by_name(units: dict[str, Any]) -> None:
    with pytest.raises(EnvironmentHasNoAccounts, match=f"{OU}, {CHILD}"):
        environments.accounts_of(config(), "prod")


def test_more_accounts_than_the_cap_is_refused_by_name(units: dict[str, Any]) -> None:
    cap = environments.max_accounts()
    units[OU] = [f"{300000000000 + n:012d}" for n in range(cap + 1)]
    with pytest.raises(EnvironmentTooLarge, match=f"{cap + 1} ACTIVE accounts; a promotion serves at most {cap}"):
        environments.accounts_of(config(), "prod")


def test_the_history_quota_is_checked_with_the_resolved_count(units: dict[str, Any]) -> None:
    """A day's bake polled every 35 s fits one account (README), not 300: the config cannot know, the plan can."""
    units[OU] = [f"{300000000000 + n:012d}" for n in range(300)]
    baking = config(
        environments={
            "qa": {"accounts": [QA]},
            "prod": {"organizationalUnits": [OU], "bakeMinutes": 1440, "rollbackAlarms": ["HighErrorRate"]},
        },
        workflow={"alarmPollSeconds": 35},
    )
    with pytest.raises(EnvironmentTooLarge, match="300 accounts"):
        environments.accounts_of(baking, "prod")


def test_an_ou_environment_is_refused_with_the_same_fix_as_the_same_accounts_listed(units: dict[str, Any]) -> None:
    """One check (mlpromote.quotas.environment_history_problem) behind the config's and the plan's."""
    accounts = [f"{300000000000 + n:012d}" for n in range(300)]
    units[OU] = accounts
    baking = {"bakeMinutes": 1440, "rollbackAlarms": ["HighErrorRate"]}
    workflow = {"alarmPollSeconds": 35}
    with pytest.raises(EnvironmentTooLarge) as at_the_plan:
        environments.accounts_of(
            config(
                environments={"qa": {"accounts": [QA]}, "prod": {"organizationalUnits": [OU], **baking}},
                workflow=workflow,
            ),
            "prod",
        )
    with pytest.raises(InvalidConfig) as at_check_config:
        config(environments={"qa": {"accounts": [QA]}, "prod": {"accounts": accounts, **baking}}, workflow=workflow)

    problem = str(at_the_plan.value).split(f"(300 accounts in {OU}): ", 1)[1]
    assert problem.startswith("set workflow.alarmPollSeconds >= ")
    assert f"environments.prod: {problem}" in str(at_check_config.value)


@pytest.mark.parametrize(
    ("account", "named"),
    [(ML, "the ML account 111111111111"), (QA, "environments.qa.accounts")],
)
def test_an_account_of_another_environment_or_the_ml_account_is_refused(
    units: dict[str, Any], account: str, named: str
) -> None:
    units[OU] = ["333333333333", account]
    with pytest.raises(EnvironmentsOverlap, match=named):
        environments.accounts_of(config(), "prod")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"organizationReaderRoleArn": None}, "set organizationReaderRoleArn"),
        ({"organizationId": None}, "set organizationId"),
        ({"organizationReaderRoleArn": "arn:aws:iam::999999999999:role/reader"}, "may assume only"),
        ({"organizationReaderRoleArn": "arn:aws:iam::9999:role/mlpromote-organization-reader"}, "not an IAM role ARN"),
        (
            {"organizationReaderRoleArn": "arn:aws-us-gov:iam::999999999999:role/mlpromote-organization-reader"},
            "partition",
        ),
        ({"environments": {"prod": {"organizationalUnits": ["ou-AB12-prod0001"]}}}, "not an organizational unit id"),
        ({"environments": {"prod": {"organizationalUnits": ["r-ab12"]}}}, "not an organizational unit id"),
        ({"environments": {"prod": {"organizationalUnits": [OU, OU]}}}, "lists an OU twice"),
        ({"environments": {"prod": {"organizationalUnits": [OU], "accounts": [QA]}}}, "not both"),
        ({"environments": {"prod": {"organizationalUnits": []}}}, "no accounts"),
    ],
)
def test_a_bad_ou_config_is_refused_with_what_to_fix(changes: dict[str, Any], problem: str) -> None:
    data = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    with pytest.raises(InvalidConfig, match=problem):
        parse_config(data)


def test_a_reader_that_only_looks_finds_no_accounts_in_an_empty_ou(units: dict[str, Any]) -> None:
    """Drift detection and the retirement's look at other environments: an empty OU serves nothing."""
    assert environments.accounts_of(config(), "prod", empty_ok=True) == []


def test_two_ou_environments_sharing_an_account_are_refused_at_the_plan_not_by_drift(units: dict[str, Any]) -> None:
    """One environment names an OU, another its child OU: the child's accounts would be in both."""
    fleet = "ou-ab12-fleet001"
    both = config(
        environments={
            "qa": {"accounts": [QA]},
            "prod": {"organizationalUnits": [OU]},
            "fleet": {"organizationalUnits": [fleet]},
        }
    )
    units[OU] = ["333333333333", "555555555555"]
    units[fleet] = ["555555555555"]
    with pytest.raises(EnvironmentsOverlap, match="555555555555 is in the organizational units of both prod and fleet"):
        environments.accounts_of(both, "prod")
    assert environments.accounts_of(both, "prod", empty_ok=True) == ["333333333333", "555555555555"]
