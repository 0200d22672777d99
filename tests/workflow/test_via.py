"""A scenario promotion's `via:`: through the REST API's handler, or an event on the default bus
through the template's rule and input transformer. Each starts one execution of the same workflow
and ends with the same world as the console would."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from conftest import scenario_data
from mlpromote_cli.main import main
from mlpromote_emulator.scenario import PromotionSpec

PROD_A, PROD_B = "333333333333", "444444444444"


def inputs(emu: Any) -> list[dict[str, Any]]:
    """The input of every execution the state machine ran."""
    sfn = boto3.client("stepfunctions")
    return [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        for e in sfn.list_executions(stateMachineArn=emu.state_machine_arn)["executions"]
    ]


@pytest.mark.parametrize(
    ("via", "requested_by"),
    [("api", "arn:aws:iam::111111111111:user/local-scenario"), ("event", "mlpromote.requests")],
)
def test_each_entry_point_starts_one_execution_that_moves_every_account(
    via: str, requested_by: str, worlds: Any
) -> None:
    with worlds.emulator() as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2", reason="passed QA", via=via))
        started, world, history = inputs(emu), emu.world(), emu.history_records()

    assert (result.status, result.via, result.as_json()["via"]) == ("SUCCEEDED", via, via), result.as_json()
    [request] = started
    assert (request["entryPoint"], request["requestedBy"], request["reason"]) == (via, requested_by, "passed QA")
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert world["grants"]["prod"] == ["tools/v2"]
    [record] = history["prod"]
    assert (record["entryPoint"], record["status"]) == (via, "SUCCEEDED")


def test_a_request_the_api_refuses_is_a_failed_result_and_starts_nothing(worlds: Any) -> None:
    with worlds.emulator() as emu:
        result = emu.promote(PromotionSpec(environment="prod", model_version_arn="tools/v2", via="api"))
        started, world = inputs(emu), emu.world()

    assert (result.status, result.error, result.via) == ("FAILED", "InvalidModelVersionArn", "api")
    assert "arn:aws:rekognition" in str(result.cause) and result.steps == []
    assert started == []
    assert world == worlds.standard


def test_a_rollback_through_the_api_puts_the_environment_back(worlds: Any) -> None:
    with worlds.emulator() as emu:
        promoted = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        rolled_back = emu.promote(PromotionSpec(environment="prod", rollback=True, reason="error rate up", via="api"))
        started, world = inputs(emu), emu.world()

    assert promoted.status == "SUCCEEDED" and rolled_back.status == "SUCCEEDED", rolled_back.as_json()
    assert rolled_back.version == "tools/v1"
    rollback = next(r for r in started if r.get("rollback"))
    assert (rollback["entryPoint"], rollback["reason"]) == ("api", "error rate up")
    assert world["parameters"] == worlds.standard["parameters"]


def test_an_event_cannot_carry_a_rollback_or_force() -> None:
    from mlpromote_emulator.scenario import InvalidScenario, parse_scenario

    rollback = {"environment": "prod", "rollback": True, "via": "event"}
    forced = {"environment": "prod", "version": "tools/v2", "force": True, "reason": "x", "via": "event"}
    for spec in (rollback, forced):
        with pytest.raises(InvalidScenario, match="via: event"):
            parse_scenario(scenario_data(promotions=[spec]), base=Path("."))
    with pytest.raises(InvalidScenario, match="via"):
        parse_scenario(scenario_data(promotions=[{**forced, "force": False, "via": "sms"}]), base=Path("."))


def test_the_json_report_says_how_each_promotion_arrived(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "scenario.yaml"
    promotions = [
        {"environment": "prod", "version": "tools/v2", "via": "event"},
        {
            "batch": [
                {"environment": "qa", "version": "tools/v3", "via": "api"},
                {"environment": "prod", "modelVersionArn": "not-an-arn", "via": "api"},
                {"environment": "prod", "version": "tools/v3"},
            ]
        },
    ]
    path.write_text(yaml.safe_dump({**scenario_data(), "promotions": promotions}))

    assert main(["local", "promote", "--scenario", str(path), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)

    assert [(p["via"], p["status"], p["error"]) for p in document["promotions"]] == [
        ("event", "SUCCEEDED", None),
        ("api", "SUCCEEDED", None),
        ("api", "FAILED", "InvalidModelVersionArn"),
        ("console", "SUCCEEDED", None),
    ]
    assert document["world"]["parameters"] == {
        "qa": {"tools": {"222222222222": "tools/v3"}},
        "prod": {"tools": {PROD_A: "tools/v3", PROD_B: "tools/v3"}},
    }


def test_an_event_without_a_reason_starts_the_promotion(worlds: Any) -> None:
    """`via: event` may omit `reason`: the template's second rule has a transformer without it."""
    with worlds.emulator() as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2", via="event"))
        started, world = inputs(emu), emu.world()

    assert result.status == "SUCCEEDED", result.as_json()
    [request] = started
    assert "reason" not in request and request["entryPoint"] == "event"
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


def _one_transformer_with_reason(directory: Path) -> Path:
    """The stack as it was before the fix: one rule whose transformer always names `<reason>`."""
    from mlpromote_emulator.cfn import load_template
    from mlpromote_emulator.project import copy_project

    copy_project(directory)
    template = load_template(directory / "template.yaml")
    events = template["Resources"]["PromoteModelStateMachine"]["Properties"]["Events"]
    events.pop("PromotionRequestedWithoutReason")
    events["PromotionRequested"]["Properties"]["Pattern"].pop("detail")
    (directory / "template.yaml").write_text(json.dumps(template), encoding="utf-8")
    return directory


def test_a_transformer_naming_a_missing_path_sends_the_event_to_its_dead_letter_queue(
    worlds: Any, tmp_path: Path
) -> None:
    """Issue 11 item 4, as AWS does it: `"reason": <reason>` without a reason is not JSON, so StartExecution
    fails (InvalidExecutionInput) on every try, and after MaximumRetryAttempts the event is dead-lettered."""
    from mlpromote_emulator.runtime import Emulator

    with Emulator(worlds.scenario(), repo_root=_one_transformer_with_reason(tmp_path / "stack")) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2", via="event"))
        started, world = inputs(emu), emu.world()

    assert (result.status, result.error) == ("FAILED", "EventNotDelivered"), result.as_json()
    assert "after 11 tries: InvalidExecutionInput" in str(result.cause)
    assert started == []
    assert world == worlds.standard


def test_two_api_requests_with_one_idempotency_key_in_a_batch_are_one_promotion(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "scenario.yaml"
    request = {"environment": "prod", "version": "tools/v2", "via": "api", "idempotencyKey": "release-9"}
    promotions = [{"batch": [request, request]}]
    path.write_text(yaml.safe_dump({**scenario_data(), "promotions": promotions}))

    assert main(["local", "promote", "--scenario", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    first, second = document["promotions"]
    assert first["promotionId"] == second["promotionId"] == "key-" + first["promotionId"][4:]
    assert (first["status"], second["status"]) == ("SUCCEEDED", "SUCCEEDED")
    assert [p["error"] for p in document["promotions"]] == [None, None]
    assert document["world"]["parameters"]["prod"] == {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}
    assert len(document["history"]["prod"]) == 1


def test_an_idempotency_key_goes_with_via_api_only() -> None:
    with pytest.raises(ValueError, match="idempotencyKey is a header of the REST API"):
        PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2", "idempotencyKey": "k"})
