"""The command line: exit codes, one JSON object with --json, and a report people can read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from mlpromote_cli.main import main

SCENARIO = {
    "config": "../config.yaml",
    "world": {
        "versions": {
            "tools/v1": {"status": "RUNNING", "labels": ["hammer"]},
            "tools/v2": {"status": "TRAINING_COMPLETED", "labels": ["hammer", "wrench"]},
        },
        "live": {"prod": ["tools/v1"]},
        "startSeconds": 600,
    },
    "promotions": [{"environment": "prod", "version": "tools/v2"}],
}
CONFIG = {
    "region": "us-east-1",
    "mlAccount": "111111111111",
    "environments": {"prod": {"accounts": ["333333333333", "444444444444"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://smoke-images/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / "scenarios").mkdir()
    path = tmp_path / "scenarios" / "promote.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


def test_local_promote_json_is_one_object_with_the_resulting_world(scenario_file: Path, capsys) -> None:
    assert main(["local", "promote", "--scenario", str(scenario_file), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    [promotion] = document["promotions"]
    assert (promotion["environment"], promotion["version"], promotion["status"]) == ("prod", "tools/v2", "SUCCEEDED")
    assert (promotion["error"], promotion["cause"]) == (None, None)
    assert [s["name"] for s in promotion["steps"]][:4] == [
        "Validate and plan",
        "Take the environment",
        "Start the model version",
        "Check the model status",
    ]
    assert document["world"] == {
        "parameters": {"prod": {"tools": {"333333333333": "tools/v2", "444444444444": "tools/v2"}}},
        "grants": {"prod": ["tools/v2"]},
        "versions": {"tools/v1": "STOPPED", "tools/v2": "RUNNING"},
    }


def test_a_failed_promotion_exits_1_and_says_why(scenario_file: Path, capsys) -> None:
    data = yaml.safe_load(scenario_file.read_text())
    data["world"]["versions"]["tools/v2"]["labels"] = ["wrench"]
    scenario_file.write_text(yaml.safe_dump(data))
    assert main(["local", "promote", "--scenario", str(scenario_file), "--json"]) == 1
    [promotion] = json.loads(capsys.readouterr().out)["promotions"]
    assert promotion["error"] == "SmokeTestFailed"
    assert "did not find hammer" in promotion["cause"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        ("config: [", "not valid YAML"),
        ("promotions: []", "config: required key is missing"),
        ("config: ../config.yaml\nworld: {versions: {tools/v1: {status: RUNING}}}", "world.versions.tools/v1.status"),
        ("config: ../config.yaml\nworld: {versions: {tools/v1: {status: RUNNING}}, live: {qa: [tools/v1]}}", "qa"),
        ("config: ../missing.yaml\nworld: {}", "does not exist"),
    ],
)
def test_an_invalid_scenario_exits_2_names_the_problem_and_runs_nothing(
    scenario_file: Path, capsys, content: str, problem: str
) -> None:
    scenario_file.write_text(content)
    assert main(["local", "promote", "--scenario", str(scenario_file), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert problem in captured.err
    assert "Traceback" not in captured.err


def test_readable_report_shows_steps_and_the_world(scenario_file: Path, capsys) -> None:
    assert main(["local", "promote", "--scenario", str(scenario_file)]) == 0
    out = capsys.readouterr().out
    assert "Promoting tools/v2 to prod" in out
    assert "✓ Smoke-test from each account" in out
    assert "Parameters (what applications read)" in out


def test_demo_promotes_v2_to_prod(capsys) -> None:
    assert main(["demo", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [promotion] = report["promotions"]
    assert promotion["approval"] == "approved"
    assert promotion["output"]["approval"]["comment"] == "QA signed off"
    world = report["world"]
    assert set(world["parameters"]["prod"]["tools"].values()) == {"tools/v2"}
    assert world["grants"]["prod"] == ["tools/v2"]
    assert world["versions"]["tools/v1"] == "STOPPED"


def test_check_config(tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(CONFIG))
    assert main(["check-config", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**CONFIG, "mlAccount": "12"}))
    assert main(["check-config", str(bad)]) == 2
    assert "mlAccount:" in capsys.readouterr().err
