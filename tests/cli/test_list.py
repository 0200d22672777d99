"""`mlpromote list`: an environment's recent promotions on a deployed stack, newest first.

The control plane runs on the emulator; the stack's outputs (a CloudFormation lookup, which moto
cannot answer without its apigateway extra) are the emulator's state machine and table.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpromote.plan import PromotionRequest
from mlpromote_cli import deployed
from mlpromote_cli.main import main

STACK = "mlpromote-test"


class Stacks:
    """The deployed stacks by name, and every lookup the command made."""

    def __init__(self) -> None:
        self.known: dict[str, deployed.Stack] = {}
        self.looked_up: list[str] = []

    def deploy(self, emu: Any) -> deployed.Stack:
        stack = self.known[STACK] = deployed.Stack(emu.state_machine_arn, "mlpromote-promotions", emu.config.region)
        return stack

    def resolve(self, name: str | None, region: str | None) -> deployed.Stack:
        self.looked_up.append(str(name))
        return self.known[str(name)]


@pytest.fixture
def stacks(monkeypatch: pytest.MonkeyPatch) -> Stacks:
    found = Stacks()
    monkeypatch.setattr(deployed, "resolve_stack", found.resolve)
    return found


def run(*argv: str) -> tuple[int, str]:
    """main() with its stdout (the emulator keeps sys.stdout for the handlers' logs meanwhile)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--stack", STACK, "--region", "us-east-1"])
    return code, out.getvalue()


def promote(stack: deployed.Stack, data: dict[str, Any]) -> dict[str, Any]:
    execution = deployed.start(stack, PromotionRequest.parse({**data, "entryPoint": "cli"}))
    return deployed.wait(stack, execution, lambda step: None, poll_seconds=0.01)


def test_list_shows_the_promotions_newest_first_a_page_at_a_time(worlds: Any, stacks: Stacks) -> None:
    with worlds.emulator() as emu:
        stack = stacks.deploy(emu)
        v2 = emu.names.arn("tools/v2", emu.config)
        promoted = promote(stack, {"environment": "prod", "modelVersionArn": v2})
        rolled_back = promote(stack, {"environment": "prod", "rollback": True, "reason": "error rate up"})
        json_code, json_out = run("list", "--environment", "prod", "--json")
        text_code, text_out = run("list", "--environment", "prod")
        first_code, first_out = run("list", "--environment", "prod", "--limit", "1", "--json")
        token = json.loads(first_out)["nextToken"]
        second_code, second_out = run("list", "--environment", "prod", "--limit", "1", "--next-token", token, "--json")
        empty_code, empty_out = run("list", "--environment", "qa")
        world = emu.world()

    assert (promoted["status"], rolled_back["status"]) == ("SUCCEEDED", "SUCCEEDED")
    assert world == worlds.standard  # promoted, then rolled back
    assert (json_code, text_code, first_code, second_code, empty_code) == (0, 0, 0, 0, 0)
    page = json.loads(json_out)
    assert page["environment"] == "prod" and page["nextToken"] is None
    assert [(p["kind"], p["status"], p["entryPoint"]) for p in page["promotions"]] == [
        ("rollback", "SUCCEEDED", "cli"),
        ("promotion", "SUCCEEDED", "cli"),
    ]
    assert [p["promotionId"] for p in page["promotions"]] == [rolled_back["executionArn"], promoted["executionArn"]]
    assert [p["kind"] for p in json.loads(first_out)["promotions"]] == ["rollback"]
    assert [p["kind"] for p in json.loads(second_out)["promotions"]] == ["promotion"]
    lines = text_out.splitlines()
    assert lines[0] == "prod: 2 promotion(s), newest first"
    assert lines[1].split() == ["started", "status", "kind", "version", "via", "requested", "by", "error"]
    assert lines[2].split()[1:5] == ["SUCCEEDED", "rollback", "tools/v1", "cli"]
    assert lines[3].split()[1:5] == ["SUCCEEDED", "promotion", "tools/v2", "cli"]
    assert empty_out.strip() == "qa: no promotions recorded"


def test_an_unknown_environment_exits_2_before_touching_aws(worlds: Any, stacks: Stacks, capsys: Any) -> None:
    with worlds.emulator() as emu:  # its config is the deployed one ($MLPROMOTE_CONFIG_FILE)
        stacks.deploy(emu)
        code, out = run("list", "--environment", "staging")
    assert (code, out) == (2, "")
    assert "UnknownEnvironment" in capsys.readouterr().err
    assert stacks.looked_up == []


def test_the_config_to_check_against_can_be_named(tmp_path: Path, capsys: Any) -> None:
    config = tmp_path / "mlpromote.yaml"
    config.write_text(yaml.safe_dump({**_config(), "environments": {"dev": {"accounts": ["222222222222"]}}}))
    assert main(["list", "--environment", "prod", "--config", str(config), "--stack", "none"]) == 2
    assert "known environments: dev" in capsys.readouterr().err
    assert main(["list", "--environment", "prod!", "--stack", "none"]) == 2
    assert "not an environment name" in capsys.readouterr().err


def test_limit_is_1_to_100(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["list", "--environment", "prod", "--limit", "0"])
    assert exited.value.code == 2
    assert "from 1 to 100" in capsys.readouterr().err


def _config() -> dict[str, Any]:
    from conftest import STANDARD_SCENARIO

    return dict(STANDARD_SCENARIO["config"])
