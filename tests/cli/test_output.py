"""What people and CI logs read: the offline report (not a terminal: no wrapping), compensation in
words, the bake as its own step, batch members told apart, rollbacks as ROLLED BACK, the approval
timeout in hours, the handlers' log lines with --verbose, and check-config's messages and --json."""

from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import STANDARD_SCENARIO, merge
from mlpromote_cli.main import main

PROD_A, PROD_B, QA = "333333333333", "444444444444", "222222222222"
SCENARIO = merge(
    STANDARD_SCENARIO,
    {
        "config": {"environments": {"prod": {"bakeMinutes": 15, "rollbackAlarms": ["HighErrorRate"]}}},
        "world": {
            "alarms": [{"account": PROD_A, "name": "HighErrorRate"}, {"account": PROD_B, "name": "HighErrorRate"}]
        },
    },
)
SCENARIO["faults"] = [{"service": "ssm", "operation": "PutParameter", "account": QA, "error": "AccessDenied"}]
SCENARIO["promotions"] = [
    {"environment": "prod", "version": "tools/v2"},
    {"environment": "qa", "version": "tools/v3"},
    {"environment": "prod", "rollback": True},
    {"batch": [{"environment": "prod", "version": "tools/v2"}, {"environment": "prod", "version": "tools/v2"}]},
]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("output") / "scenario.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.fixture(scope="module")
def report(scenario_file: Path) -> tuple[int, str, str]:
    return run("local", "promote", "--scenario", str(scenario_file), "--verbose")


@pytest.fixture(scope="module")
def document(scenario_file: Path) -> dict[str, Any]:
    code, out, _ = run("local", "promote", "--scenario", str(scenario_file), "--json")
    assert code == 1  # the qa promotion fails
    return dict(json.loads(out))


def test_not_a_terminal_nothing_wraps(report: tuple[int, str, str]) -> None:
    _, out, _ = report
    execution_arns = re.findall(r"arn:aws:states:\S+:execution:mlpromote-promote-model:promotion-\d+", out)
    assert execution_arns  # the refused batch member names the one that holds prod, on one line
    assert any(len(line) > 120 for line in out.splitlines())
    assert "injected by the mlpromote emulator (ssm PutParameter in 222222222222)" in out


def test_compensation_reads_as_words(report: tuple[int, str, str]) -> None:
    _, out, _ = report
    assert "  compensated: no pointer had moved; revoked the grant of tools/v3; stopped tools/v3" in out
    assert "{'" not in out and '\\"' not in out


def test_the_bake_is_its_own_step_with_its_own_time(document: dict[str, Any]) -> None:
    steps = {s["name"]: s["seconds"] for s in document["promotions"][0]["output"]["steps"]}
    assert 900 <= steps["Bake: watch the rollback alarms"] < 960  # bakeMinutes: 15
    assert steps["Retire the superseded version"] < 60


def test_batch_members_are_told_apart_each_with_its_steps(report: tuple[int, str, str]) -> None:
    _, out, _ = report
    assert "Started together: [1/2] prod <- tools/v2, [2/2] prod <- tools/v2" in out
    first, second = out.split("\n[1/2] Promoting tools/v2 to prod\n")[1].split("\n[2/2] Promoting tools/v2 to prod\n")
    assert "  [1/2] prod <- tools/v2:" in first and "  [2/2] prod <- tools/v2:" in second
    # One of the two takes the environment, the other is refused: which one is the scheduler's turn.
    took = ["  ✓ Take the environment" in member for member in (first, second)]
    refused = ["  ✗ Take the environment" in member for member in (first, second)]
    assert sorted(took) == sorted(refused) == [False, True] and took != refused
    assert "started together with the next" not in out


def test_a_rollback_reports_rolled_back(report: tuple[int, str, str], document: dict[str, Any]) -> None:
    assert document["promotions"][2]["output"]["outcome"] == "ROLLED BACK"
    assert document["promotions"][0]["output"]["outcome"] == "PROMOTED"
    assert "SUCCEEDED ROLLED BACK" in report[1]


def test_verbose_shows_the_handlers_log_lines_not_metrics(report: tuple[int, str, str]) -> None:
    _, _, err = report
    assert '{"_aws"' not in err
    assert re.search(
        r"WARNING RotatePointerFunction promotion-2: step failed \(error: AwsCallFailed; .*; code: AccessDenied\)", err
    )


def test_the_approval_timeout_is_told_in_hours(tmp_path: Path) -> None:
    scenario = merge(STANDARD_SCENARIO, {"config": {"environments": {"prod": {"requiresApproval": True}}}})
    scenario["promotions"] = [{"environment": "prod", "version": "tools/v2"}]
    path = tmp_path / "gated.yaml"
    path.write_text(yaml.safe_dump(scenario))
    code, out, _ = run("local", "promote", "--scenario", str(path), "--json")
    promotion = json.loads(out)["promotions"][0]
    assert code == 1 and promotion["error"] == "ApprovalTimedOut"
    assert "within 24 hours (approvalTimeoutHours)" in promotion["cause"]


def test_check_config_says_quote_it_and_counts_in_words(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    config = dict(STANDARD_SCENARIO["config"])
    good.write_text(yaml.safe_dump(config))
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("'111111111111'", "111111111111").replace("'222222222222'", "222222222222"))
    assert "111111111111" in bad.read_text() and "'111111111111'" not in bad.read_text()

    assert run("check-config", str(good)) == (0, f"{good}: valid (2 environments, 3 accounts, 1 project)\n", "")
    code, out, err = run("check-config", str(bad))
    assert code == 2 and out == ""
    assert 'mlAccount: 111111111111 is read as a number; quote it: "111111111111"' in err
    assert 'environments.qa.accounts[0]: 222222222222 is read as a number; quote it: "222222222222"' in err
    assert "Input should be" not in err and "pydantic" not in err


def test_check_config_json(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(dict(STANDARD_SCENARIO["config"])))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "region: us-east-1\nmlAccount: '11'\nenvironments: {qa: {accounts: ['222222222222'], bakeMinutes: x}}\n"
    )
    code, out, _ = run("check-config", "--json", str(good))
    assert code == 0
    assert json.loads(out) == {
        "config": str(good),
        "valid": True,
        "environments": 2,
        "accounts": 3,
        "projects": 1,
        "warnings": [],
    }
    code, out, err = run("check-config", "--json", str(bad))
    assert code == 2 and err == ""
    assert json.loads(out) == {
        "config": str(bad),
        "valid": False,
        "error": "InvalidConfig",
        "problems": [
            "mlAccount: '11' is not an account id: 12 digits, in quotes",
            "environments.qa.bakeMinutes: 'x' is not a whole number",
            "projects: required key is missing",
        ],
    }
