"""`mlpromote local drift` and `mlpromote drift`: exit codes, one JSON object, and the scenario's drift keys."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpromote_cli import drift as drift_cli
from mlpromote_cli.main import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "drifted.yaml"
QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"


def write(tmp_path: Path, world: dict[str, Any]) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["world"] = world
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


CLEAN = {
    "versions": {"tools/v1": {"status": "RUNNING"}, "tools/v2": {"status": "RUNNING"}},
    "live": {"qa": ["tools/v2"], "prod": ["tools/v1"], "fleet": ["tools/v1"]},
    "organization": {"ou-ab12-fleet001": {"accounts": ["555555555555", "666666666666"]}},
}


def test_local_drift_json_finds_every_kind_in_the_drifted_example(capsys: Any) -> None:
    assert main(["local", "drift", "--scenario", str(EXAMPLE), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert list(document) == ["findings"]
    assert [(f["kind"], f["environment"], f["account"], f["version"]) for f in document["findings"]] == [
        ("PointerToNotRunning", "qa", QA, "tools/v3"),
        ("PointerWithoutGrant", "prod", PROD_B, "tools/v2"),
        ("StaleGrant", "prod", None, "tools/v0"),
        ("IdleVersion", None, None, "tools/v4"),
        ("SplitEnvironment", "prod", None, None),
        ("AccountNotServed", "fleet", "666666666666", None),
    ]
    for finding in document["findings"]:
        assert set(finding) == {"kind", "environment", "project", "account", "version", "detail"}
        assert finding["project"] == "tools"
    stale = document["findings"][2]
    assert stale["detail"].endswith("repaired: revoked from mlpromote-access-prod")  # prod sets repairDrift


def test_local_drift_on_a_clean_world_exits_0(tmp_path: Path, capsys: Any) -> None:
    path = write(tmp_path, CLEAN)
    assert main(["local", "drift", "--scenario", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"findings": []}
    assert main(["local", "drift", "--scenario", str(path)]) == 0
    assert capsys.readouterr().out.startswith("No drift")


def test_local_drift_report_names_each_finding(capsys: Any) -> None:
    assert main(["local", "drift", "--scenario", str(EXAMPLE)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("6 findings:")
    assert f"PointerWithoutGrant  prod/tools/{PROD_B}  tools/v2" in out
    assert "USD 4.00 per hour" in out


@pytest.mark.parametrize(
    ("world", "problem"),
    [
        ({"grants": {"staging": []}}, "world.grants.staging: no such environment in the config"),
        ({"grants": {"prod": ["tools/v9"]}}, "world.grants.prod: tools/v9 is not in world.versions"),
        ({"parameters": {"staging": {}}}, "world.parameters.staging: no such environment in the config"),
        ({"parameters": {"prod": {"hammers": {}}}}, "world.parameters.prod.hammers: no such project in the config"),
        (
            {"parameters": {"prod": {"tools": {QA: "tools/v1"}}}},
            f"world.parameters.prod.tools.{QA}: not an account of prod",
        ),
        (
            {"parameters": {"prod": {"tools": {PROD_A: "tools/v9"}}}},
            f"world.parameters.prod.tools.{PROD_A}: tools/v9 is not in world.versions",
        ),
        ({"parameters": {"prod": {"tools": {PROD_A: "v1"}}}}, "world.parameters.prod.tools.333333333333: 'v1'"),
        ({"grants": {"prod": "tools/v1"}}, "world.grants.prod: expected a list"),
    ],
)
def test_bad_drift_keys_exit_2_and_name_the_path(tmp_path: Path, capsys: Any, world: dict, problem: str) -> None:
    path = write(tmp_path, {**CLEAN, **world})
    assert main(["local", "drift", "--scenario", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert problem in captured.err


def test_drift_on_a_deployed_stack_invokes_its_function(worlds: Any, monkeypatch: Any) -> None:
    # CloudFormation is the only thing not emulated here: the stack's outputs name the function.
    monkeypatch.setattr(
        drift_cli, "stack_outputs", lambda name, region: {"DetectDriftFunctionName": "DetectDriftFunction"}
    )
    out = io.StringIO()
    with worlds.emulator(world={"grants": {"prod": ["tools/v1", "tools/v3"]}}) as emu, redirect_stdout(out):
        code = main(["drift", "--stack", "mlpromote", "--json"])
        v3 = emu.names.arn("tools/v3", emu.config)
    assert code == 1
    # The emulator keeps the handler's EMF lines off the real stdout; here they share `out`.
    printed = out.getvalue()
    [finding] = json.loads(printed[printed.index('{\n  "findings"') :])["findings"]
    assert (finding["kind"], finding["environment"], finding["version"]) == ("StaleGrant", "prod", v3)


def test_drift_on_a_stack_without_the_function_exits_2(monkeypatch: Any, tmp_path: Path, capsys: Any) -> None:
    monkeypatch.setattr(drift_cli, "stack_outputs", lambda name, region: {"PromotionsTableName": "t"})
    assert main(["drift", "--stack", "old-stack"]) == 2
    assert "stack old-stack has no output DetectDriftFunctionName" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # no samconfig.toml here
    assert main(["drift"]) == 2
    assert "name the stack with --stack" in capsys.readouterr().err
