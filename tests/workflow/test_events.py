"""EventBridge: a pipeline's event starts the workflow (the template's rule and input transformer),
and the control plane announces what happened."""

from __future__ import annotations

import json
from typing import Any

import boto3

PROD_A, PROD_B = "333333333333", "444444444444"


def request_event(detail: dict[str, Any], source: str = "mlpromote.requests", kind: str = "Model Promotion Requested"):
    return {"Source": source, "DetailType": kind, "Detail": json.dumps(detail)}


def listen(queue_name: str) -> str:
    """An SQS queue that receives every event the control plane publishes (source mlpromote)."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="listen", EventPattern=json.dumps({"source": ["mlpromote"]}))
    events.put_targets(Rule="listen", Targets=[{"Id": "queue", "Arn": arn}])
    return url


def heard(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    return [json.loads(m["Body"]) for m in messages]


def test_an_event_starts_a_promotion_and_the_control_plane_announces_its_outcome(worlds: Any) -> None:
    with worlds.emulator() as emu:
        url = listen("heard")
        v1, v2 = emu.names.arn("tools/v1", emu.config), emu.names.arn("tools/v2", emu.config)
        boto3.client("events").put_events(
            Entries=[
                request_event({"environment": "prod", "modelVersionArn": v2, "reason": "pipeline 812 passed"}),
                request_event({"environment": "prod", "modelVersionArn": v2}, source="someone.else"),
                request_event({"environment": "prod", "modelVersionArn": v2}, kind="Something Else"),
            ]
        )
        sfn = boto3.client("stepfunctions")
        [execution] = sfn.list_executions(stateMachineArn=emu.state_machine_arn)["executions"]
        description = emu.wait(execution["executionArn"])
        world, history, announcements = emu.world(), emu.history_records(), heard(url)

    assert description["status"] == "SUCCEEDED", description
    assert json.loads(description["input"]) == {
        "environment": "prod",
        "modelVersionArn": v2,
        "reason": "pipeline 812 passed",
        "entryPoint": "event",
        "requestedBy": "mlpromote.requests",
    }
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    [record] = history["prod"]
    assert (record["entryPoint"], record["requestedBy"], record["reason"]) == (
        "event",
        "mlpromote.requests",
        "pipeline 812 passed",
    )
    assert [a["detail-type"] for a in announcements] == ["Model Promotion Started", "Model Promotion Succeeded"]
    succeeded = announcements[1]["detail"]
    assert succeeded["environment"] == "prod" and succeeded["version"] == v2 and succeeded["error"] is None
    assert succeeded["from"] == [{"version": v1, "accounts": [PROD_A, PROD_B]}]


def test_a_failed_promotion_is_announced_with_its_error(promote: Any, worlds: Any) -> None:
    with worlds.emulator(world={"versions": {"tools/v3": {"labels": ["screwdriver"]}}}) as emu:
        url = listen("failures")
        from mlpromote_emulator.scenario import PromotionSpec

        result = emu.promote(PromotionSpec(environment="prod", version="tools/v3"))
        announcements = heard(url)
    assert result.error == "SmokeTestFailed"
    failed = announcements[-1]
    assert failed["detail-type"] == "Model Promotion Failed"
    assert failed["detail"]["error"] == "SmokeTestFailed" and "hammer" in failed["detail"]["cause"]


def test_a_refused_event_request_fails_at_the_first_state(worlds: Any) -> None:
    with worlds.emulator() as emu:
        boto3.client("events").put_events(Entries=[request_event({"environment": "staging", "modelVersionArn": "x"})])
        [execution] = boto3.client("stepfunctions").list_executions(stateMachineArn=emu.state_machine_arn)["executions"]
        description = emu.wait(execution["executionArn"])
        world = emu.world()
    assert (description["status"], description["error"]) == ("FAILED", "UnknownEnvironment")
    assert world == worlds.standard
