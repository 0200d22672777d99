"""The commands for a deployed stack, run against the emulated accounts (moto answers the AWS calls)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mlpromote import promotions
from mlpromote.plan import PromotionRequest
from mlpromote_cli import deployed
from mlpromote_cli.main import main


def stack_of(emu: Any) -> deployed.Stack:
    return deployed.Stack(emu.state_machine_arn, "mlpromote-promotions", emu.config.region)


def test_promote_then_rollback_then_history_at_a_time(worlds: Any) -> None:
    with worlds.emulator() as emu:
        stack = stack_of(emu)
        v2 = emu.names.arn("tools/v2", emu.config)
        seen: list[str] = []
        promoted = deployed.wait(
            stack,
            deployed.start(stack, PromotionRequest.parse({"environment": "prod", "modelVersionArn": v2})),
            lambda step: seen.append(step["name"]),
            poll_seconds=0.01,
        )
        between = datetime.now(UTC)
        rolled_back = deployed.wait(
            stack,
            deployed.start(
                stack, PromotionRequest.parse({"environment": "prod", "rollback": True, "reason": "errors"})
            ),
            lambda step: None,
            poll_seconds=0.01,
        )
        now = deployed.history(stack, "prod", None)
        then = deployed.history(stack, "prod", between)
        world = emu.world()

    assert promoted["status"] == "SUCCEEDED" and seen[:2] == ["Validate and plan", "Take the environment"]
    assert [s["status"] for s in promoted["steps"]] == ["SUCCEEDED"] * len(promoted["steps"])
    assert rolled_back["status"] == "SUCCEEDED", rolled_back
    assert rolled_back["request"] == {"environment": "prod", "rollback": True, "reason": "errors"}
    assert world == worlds.standard
    assert then["live"]["version"] == v2
    assert now["live"]["kind"] == "rollback" and now["live"]["reason"] == "errors"
    assert [r["kind"] for r in now["promotions"]] == ["rollback", "promotion"]  # newest first


def test_a_retried_request_starts_one_execution(worlds: Any) -> None:
    import boto3

    with worlds.emulator() as emu:
        stack = stack_of(emu)
        request = PromotionRequest.parse(
            {"environment": "qa", "modelVersionArn": emu.names.arn("tools/v3", emu.config)}
        )
        moment = datetime.now(UTC)
        first = deployed.start(stack, request, moment)
        again = deployed.start(stack, request, moment + timedelta(seconds=1))
        executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack.state_machine_arn)
        deployed.wait(stack, first, lambda step: None, poll_seconds=0.01)
    assert first == again
    assert len(executions["executions"]) == 1


def test_execution_names_change_with_the_request_and_the_window() -> None:
    request = PromotionRequest.parse({"environment": "prod", "rollback": True})
    other = PromotionRequest.parse({"environment": "prod", "rollback": True, "reason": "x"})
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert promotions.execution_name(request, moment) == promotions.execution_name(
        request, moment + timedelta(seconds=1)
    )
    assert promotions.execution_name(request, moment) != promotions.execution_name(other, moment)
    assert promotions.execution_name(request, moment) != promotions.execution_name(request, moment + timedelta(hours=1))


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["promote", "--environment", "prod", "--model-version-arn", "tools/v2"], "InvalidModelVersionArn"),
        (
            [
                "promote",
                "--environment",
                "prod!",
                "--model-version-arn",
                "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000",
            ],
            "InvalidPromotionRequest",
        ),
        (
            [
                "promote",
                "--environment",
                "prod",
                "--force",
                "--model-version-arn",
                "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000",
            ],
            "needs a reason",
        ),
    ],
)
def test_bad_input_exits_2_before_touching_aws(argv: list[str], problem: str, capsys: Any) -> None:
    assert main([*argv, "--stack", "no-such-stack"]) == 2
    captured = capsys.readouterr()
    assert problem in captured.err and captured.out == ""


def test_history_at_needs_a_time(capsys: Any) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["history", "--environment", "prod", "--at", "yesterday"])
    assert exited.value.code == 2
    assert "not an ISO 8601 time" in capsys.readouterr().err


def test_stack_name_comes_from_samconfig(tmp_path: Any) -> None:
    (tmp_path / "samconfig.toml").write_text('version = 0.1\n[default.deploy.parameters]\nstack_name = "mine"\n')
    assert deployed.stack_name_from_samconfig(tmp_path / "samconfig.toml") == "mine"
    assert deployed.stack_name_from_samconfig(tmp_path / "missing.toml") is None
