"""Drift detection: the real DetectDrift handler against emulated accounts, one drifted world per kind."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from mlpromote.grants import POLICY_NAME

ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"
PARAMETER = "/mlpromote/tools/model-arn"
HOLDER = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:prod-promote-1"


def detect(emu: Any) -> dict[str, Any]:
    payload, failed = emu.invoke("DetectDriftFunction", json.dumps({"source": "test"}).encode())
    assert not failed, payload
    return dict(json.loads(payload))


def arn(emu: Any, label: str) -> str:
    return str(emu.names.arn(label, emu.config))


def drift_metrics(emu: Any) -> dict[str, float]:
    """DriftFindings per kind, from the EMF lines the handler printed."""
    out: dict[str, float] = {}
    for line in emu.logs.getvalue().splitlines():
        if line.startswith('{"_aws"') and '"DriftFindings"' in line:
            document = json.loads(line)
            out[document["kind"]] = out.get(document["kind"], 0) + sum(document["DriftFindings"])
    return out


def listen() -> str:
    """An SQS queue that hears every event the control plane publishes."""
    sqs, events = boto3.client("sqs"), boto3.client("events")
    url = sqs.create_queue(QueueName="drift-events")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="listen", EventPattern=json.dumps({"source": ["mlpromote"]}))
    events.put_targets(Rule="listen", Targets=[{"Id": "queue", "Arn": queue}])
    return str(url)


def heard(url: str) -> list[dict[str, Any]]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


# One drifted world per kind, from the standard one (qa: 222222222222 on tools/v2; prod: 333333333333
# and 444444444444 on tools/v1; v1 and v2 RUNNING, v3 TRAINING_COMPLETED), and the one finding it gives.
KINDS: dict[str, tuple[dict[str, Any], dict[str, Any], Any]] = {
    "PointerToNotRunning": (
        {},
        {"versions": {"tools/v2": {"status": "STOPPED"}}},
        lambda emu: {
            "kind": "PointerToNotRunning",
            "environment": "qa",
            "project": "tools",
            "account": QA,
            "version": arn(emu, "tools/v2"),
            "detail": f"{PARAMETER} in {QA} points at tools/v2, which is STOPPED; applications there cannot call it",
        },
    ),
    "PointerWithoutGrant": (
        {},
        {"grants": {"qa": []}},
        lambda emu: {
            "kind": "PointerWithoutGrant",
            "environment": "qa",
            "project": "tools",
            "account": QA,
            "version": arn(emu, "tools/v2"),
            "detail": f"{PARAMETER} in {QA} points at tools/v2, which mlpromote-access-qa does not grant; "
            "applications there get AccessDenied",
        },
    ),
    "StaleGrant": (
        {},
        {"grants": {"prod": ["tools/v1", "tools/v3"]}},
        lambda emu: {
            "kind": "StaleGrant",
            "environment": "prod",
            "project": "tools",
            "account": None,
            "version": arn(emu, "tools/v3"),
            "detail": "mlpromote-access-prod grants tools/v3, which no account of prod points at",
        },
    ),
    "IdleVersion": (
        {"projects": {"tools": {"minInferenceUnits": 2}}},
        {"versions": {"tools/v4": {"status": "RUNNING"}}},
        lambda emu: {
            "kind": "IdleVersion",
            "environment": None,
            "project": "tools",
            "account": None,
            "version": arn(emu, "tools/v4"),
            "detail": "tools/v4 is RUNNING but no environment's parameter points at it: "
            "2 inference units x USD 4.00 = USD 8.00 per hour",
        },
    ),
    "SplitEnvironment": (
        {},
        {"parameters": {"prod": {"tools": {PROD_B: None}}}},
        lambda emu: {
            "kind": "SplitEnvironment",
            "environment": "prod",
            "project": "tools",
            "account": None,
            "version": None,
            "detail": f"the accounts of prod disagree on {PARAMETER}: tools/v1 in {PROD_A}; no parameter in {PROD_B}",
        },
    ),
    # prod as an organizational unit: an account of the OU without the parameter joined after the promotion.
    "AccountNotServed": (
        {
            "organizationId": "o-a1b2c3d4e5",
            "organizationReaderRoleArn": "arn:aws:iam::999999999999:role/mlpromote-organization-reader",
            "environments": {"prod": {"accounts": None, "organizationalUnits": ["ou-ab12-prod0001"]}},
        },
        {
            "organization": {"ou-ab12-prod0001": {"accounts": [PROD_A, PROD_B]}},
            "parameters": {"prod": {"tools": {PROD_B: None}}},
        },
        lambda emu: {
            "kind": "AccountNotServed",
            "environment": "prod",
            "project": "tools",
            "account": PROD_B,
            "version": None,
            "detail": f"{PROD_B} is in the organizational units of prod but has no {PARAMETER}: it joined after "
            "the last promotion; promote again to serve it",
        },
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_of_drift_is_found_reported_and_left_alone(worlds: Any, kind: str) -> None:
    config, world, expected = KINDS[kind]
    with worlds.emulator(config=config, world=world) as emu:
        url = listen()
        before = emu.world()
        run = detect(emu)
        after, metrics, events = emu.world(), drift_metrics(emu), heard(url)
        finding = expected(emu)

    assert run["findings"] == [finding]
    assert run["counts"] == {k: int(k == kind) for k in KINDS}
    assert after == before  # repairDrift is off: detection changes nothing
    assert metrics == {k: float(k == kind) for k in KINDS}
    [event] = events
    assert (event["source"], event["detail-type"]) == ("mlpromote", "Model Promotion Drift Detected")
    assert event["detail"]["findings"] == [finding]
    assert (event["detail"]["total"], event["detail"]["truncated"]) == (1, False)
    assert run["published"] is True


def test_the_standard_world_and_a_never_promoted_environment_are_not_drift(worlds: Any) -> None:
    # qa was never promoted: no parameter in its account, nothing granted, its version stopped.
    world = {"live": {"qa": None}, "versions": {"tools/v2": {"status": "STOPPED"}}}
    with worlds.emulator(world=world) as emu:
        url = listen()
        run = detect(emu)
        metrics, events = drift_metrics(emu), heard(url)
        state = emu.world()
    assert state["parameters"]["qa"] == {"tools": {QA: None}} and state["grants"]["qa"] == []
    assert run["findings"] == []
    assert metrics == dict.fromkeys(KINDS, 0.0)  # every kind, every run: an alarm sees zeros too
    assert events == [] and run["published"] is False


def test_after_a_promotion_the_world_has_no_drift(worlds: Any) -> None:
    with worlds.emulator() as emu:
        [result] = [emu.promote(spec) for spec in worlds.scenario(("prod", "tools/v2")).promotions]
        run = detect(emu)
    assert result.status == "SUCCEEDED"
    assert run["findings"] == []


def test_repair_revokes_the_stale_grant(worlds: Any) -> None:
    config = {"environments": {"prod": {"repairDrift": True}}}
    world = {"grants": {"prod": ["tools/v1", "tools/v3"]}}
    with worlds.emulator(config=config, world=world) as emu:
        before = emu.world()
        run = detect(emu)
        after = emu.world()
        v3 = arn(emu, "tools/v3")
        document = boto3.client("iam").get_role_policy(RoleName="mlpromote-access-prod", PolicyName=POLICY_NAME)
        again = detect(emu)

    assert before["grants"]["prod"] == ["tools/v1", "tools/v3"]
    assert after == {**before, "grants": {**before["grants"], "prod": ["tools/v1"]}}
    assert v3 not in json.dumps(document["PolicyDocument"])
    [finding] = run["findings"]
    assert finding["kind"] == "StaleGrant" and finding["version"] == v3
    assert finding["detail"].endswith("; repaired: revoked from mlpromote-access-prod")
    assert run["repaired"] == 1
    assert again["findings"] == []  # repaired drift stays repaired


def test_no_repair_while_a_promotion_holds_the_environment(worlds: Any) -> None:
    from mlpromote.aws import dynamodb
    from mlpromote.history import PromotionRecord

    config = {"environments": {"prod": {"repairDrift": True}}}
    world = {"grants": {"prod": ["tools/v1", "tools/v3"]}}
    with worlds.emulator(config=config, world=world) as emu:
        record = PromotionRecord(
            promotion_id=HOLDER,
            environment="prod",
            project="tools",
            version=arn(emu, "tools/v3"),
            started_at="2026-11-20T09:30:00+00:00",
        )
        assert dynamodb.start(record)  # the lock a running promotion takes
        run = detect(emu)
        after = emu.world()
    [finding] = run["findings"]
    assert finding["kind"] == "StaleGrant"
    assert finding["detail"] == (
        "mlpromote-access-prod grants tools/v3, which no account of prod points at; "
        f"a promotion holds prod ({HOLDER}): this may be it, in flight; "
        "not repaired: a promotion holds prod; the next run looks again"
    )
    assert run["repaired"] == 0
    assert after["grants"]["prod"] == ["tools/v1", "tools/v3"]


def test_a_failed_repair_is_reported_and_detection_still_reports(worlds: Any) -> None:
    config = {"environments": {"prod": {"repairDrift": True}}}
    world = {"grants": {"prod": ["tools/v1", "tools/v3"]}}
    faults = [{"service": "iam", "operation": "PutRolePolicy", "error": "AccessDenied"}]
    with worlds.emulator(config=config, world=world, faults=faults) as emu:
        emu.inject(emu.scenario.faults)
        run = detect(emu)
        after = emu.world()
    [finding] = run["findings"]
    assert finding["detail"].endswith(
        "; not repaired: revoking from mlpromote-access-prod failed (AccessDenied); the next run tries again"
    )
    assert after["grants"]["prod"] == ["tools/v1", "tools/v3"]
