"""The history reads back, whatever happened (issue 15, items 4, 5, 7, 8 and 9).

Each test runs the real state machine and handlers on the emulator (or the real table code on
moto's DynamoDB) and asserts the history and the world afterwards.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"
APPROVER = "arn:aws:iam::111111111111:user/local-approver"
GATED = {"environments": {"prod": {"requiresApproval": True, "approvalTimeoutHours": 2}}}
TABLE = "mlpromote-promotions"
V1 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v1/1"
V2 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/2"


def _spec(**fields: Any) -> Any:
    from mlpromote_emulator.scenario import PromotionSpec

    return PromotionSpec.model_validate(fields)


def _status_event(execution: str, status: str, execution_input: str) -> bytes:
    """Step Functions' status-change event, as the template's rule hands it to ReleaseAbandoned."""
    return json.dumps(
        {
            "version": "0", "id": "e1", "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states", "account": "111111111111", "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1", "resources": [execution],
            "detail": {"executionArn": execution, "status": status, "input": execution_input},
        }
    ).encode()  # fmt: skip


def _inject_at(emu: Any, function: str, fault: Any) -> None:
    """Inject `fault` as `function` is first invoked, so the calls of the steps before it pass."""
    from mlpromote_emulator import moto_adaptations as adapt

    invoke = adapt.hooks.invoke
    assert invoke is not None
    injected = False

    def injecting(name: str, body: bytes, qualifier: str | None = None) -> tuple[bytes, bool]:
        nonlocal injected
        if name == function and not injected:
            injected = True
            adapt.hooks.faults.append(fault)
        return invoke(name, body, qualifier)

    adapt.hooks.invoke = injecting


def _fail_recording_the_outcome(emu: Any) -> None:
    """Fail the first UpdateItem "Record the outcome" makes (closing the approval), for good; the
    compensation's own UpdateItems (version leases) pass."""
    from mlpromote_emulator import moto_adaptations as adapt

    _inject_at(emu, "RecordOutcomeFunction", adapt.Fault("dynamodb", "UpdateItem", "AccessDeniedException"))


def _locks() -> set[str]:
    import boto3

    table = boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)
    return {item["pk"] for item in table.scan()["Items"] if item["sk"] == "LOCK"}


# --- item 4: every record shape round-trips through DynamoDB -------------------------------------


@pytest.fixture
def table() -> Any:
    import boto3
    from moto import mock_aws

    from mlpromote.aws import sessions

    with mock_aws():
        sessions.reset()
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=TABLE,
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"} for key in ("pk", "sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )  # fmt: skip
        yield boto3.resource("dynamodb", region_name="us-east-1").Table(TABLE)
    sessions.reset()


def _record(name: str, **fields: Any) -> Any:
    from mlpromote.history import AccountChange, PromotionRecord

    defaults: dict[str, Any] = {
        "promotion_id": f"arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:{name}",
        "environment": "qa",
        "project": "tools",
        "version": V2,
        "accounts": [AccountChange(account=QA, from_version=V1, to_version=V2)],
        "started_at": f"2026-01-01T00:00:0{len(name) % 10}+00:00",
    }
    return PromotionRecord(**(defaults | fields))


SHAPES: dict[str, dict[str, Any]] = {
    "no parameter before": {"accounts": [{"account": QA, "from": None, "to": V2}]},
    "no parameter in one of two accounts": {
        "environment": "prod",
        "accounts": [{"account": PROD_A, "from": None, "to": V2}, {"account": PROD_B, "from": V1, "to": V2}],
    },
    "no approval": {"status": "SUCCEEDED", "ended_at": "2026-01-01T01:00:00+00:00"},
    "failed before the rotation": {
        "status": "FAILED", "error": "SmokeTestFailed", "cause": "did not find hammer",
        "ended_at": "2026-01-01T01:00:00+00:00",
    },
    "rollback": {"kind": "rollback", "version": V1, "accounts": [{"account": QA, "from": V2, "to": V1}]},
    "forced": {"forced": True, "reason": "hotfix", "requested_by": "arn:aws:iam::111111111111:user/x"},
    "approved": {"approval": "approved", "approver": APPROVER, "approval_comment": "ship it"},
    "timed out at the gate": {"approval": "timed-out", "status": "FAILED", "error": "ApprovalTimedOut"},
}  # fmt: skip


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_record_shape_reads_back_from_the_table(table: Any, shape: str) -> None:
    from mlpromote.aws import dynamodb
    from mlpromote.history import PromotionRecord

    record = PromotionRecord.model_validate(_record(shape.replace(" ", "-")).model_dump() | SHAPES[shape])
    assert dynamodb.start(record)
    dynamodb.finish(record.model_copy(update={"ended_at": record.ended_at or "2026-01-01T02:00:00+00:00"}), [])

    [read] = dynamodb.records(record.environment)
    assert read.model_dump() == record.model_dump() | {"ended_at": read.ended_at}
    assert _locks() == set()


def test_a_record_closed_by_the_status_event_reads_back(table: Any) -> None:
    from mlpromote.aws import dynamodb
    from mlpromote.history import record_key

    record = _record("aborted", accounts=[{"account": QA, "from": None, "to": V2}])
    dynamodb.start(record)
    sk = record_key(record.environment, record.started_at, record.promotion_id)["sk"]
    approval = {"approval": "abandoned", "approver": None, "approvalComment": None}
    assert dynamodb.mark_ended("qa", sk, "ABORTED", "2026-01-01T03:00:00+00:00", "wrong release", "Operator", approval)

    [read] = dynamodb.records("qa")
    assert (read.status, read.error, read.cause, read.approval) == ("ABORTED", "Operator", "wrong release", "abandoned")
    assert read.accounts[0].from_version is None


def test_a_legacy_record_without_from_reads_as_no_parameter_before(table: Any) -> None:
    """Records written before this fix dropped `from: null`; they meant "no parameter before"."""
    from mlpromote.aws import dynamodb

    item = _record("legacy").item()
    del item["accountsFrom"]  # written per account then
    item["accounts"] = [{"account": QA, "to": V2}]
    table.put_item(Item=item)

    [read] = dynamodb.records("qa")
    assert read.accounts[0].from_version is None


def test_a_corrupt_record_is_a_named_error_that_names_the_item(table: Any) -> None:
    from mlpromote.aws import dynamodb
    from mlpromote.errors import HistoryRecordUnreadable

    table.put_item(Item={"pk": "ENV#qa", "sk": "by-hand", "status": "SUCCEEDED", "accounts": "everything"})

    with pytest.raises(HistoryRecordUnreadable) as unreadable:
        dynamodb.records("qa")
    assert "sk='by-hand'" in str(unreadable.value) and "fix or delete that item" in str(unreadable.value)


@pytest.mark.parametrize("reason", ["TransactionConflict", "ThrottlingError"])
def test_an_outcome_whose_transaction_was_cancelled_for_a_moment_is_retried_and_releases_the_lock(
    table: Any, reason: str
) -> None:
    """A conflict or a throttle inside the transaction is not "someone took the lock over": taken
    for that, the record was written and the lock left held until the next promotion."""
    from botocore.stub import Stubber

    from mlpromote.aws import dynamodb, sessions
    from mlpromote.errors import TransientAwsError

    record = _record("cancelled")
    dynamodb.start(record)
    ended = record.model_copy(update={"status": "SUCCEEDED", "ended_at": "2026-01-01T04:00:00+00:00"})
    with Stubber(sessions.client("dynamodb")) as stub:
        stub.add_client_error(
            "transact_write_items",
            service_error_code="TransactionCanceledException",
            modeled_fields={"CancellationReasons": [{"Code": "None"}, {"Code": reason}]},
        )
        with pytest.raises(TransientAwsError):
            dynamodb.finish(ended, [])
    assert _locks() == {"LOCK#qa"}
    dynamodb.finish(ended, [])  # the state machine's retry

    assert _locks() == set()
    assert [r.status for r in dynamodb.records("qa")] == ["SUCCEEDED"]


def test_a_first_promotion_into_an_account_without_a_parameter_leaves_a_readable_history(worlds: Any) -> None:
    """qa had no parameter; its first promotion's record has `from: null`, and the next promotion
    that reads the history (prod `requires` qa) gets NotVerifiedUpstream, not a ValidationError."""
    config = {"environments": {"prod": {"requires": "qa"}}}
    world = {"parameters": {"qa": {"tools": {QA: None}}}}
    with worlds.emulator(config=config, world=world) as emu:
        first = emu.promote(_spec(environment="qa", version="tools/v1"))
        refused = emu.promote(_spec(environment="prod", version="tools/v3"))
        rolled_back = emu.promote(_spec(environment="qa", rollback=True))
        history = emu.history_records()
        after = emu.world()

    assert first.status == "SUCCEEDED", first.as_json()
    assert (refused.status, refused.error) == ("FAILED", "NotVerifiedUpstream"), refused.as_json()
    assert (rolled_back.status, rolled_back.error) == ("FAILED", "NothingToRollBackTo"), rolled_back.as_json()
    [record] = history["qa"]
    assert record["accounts"] == [{"account": QA, "from": None, "to": "tools/v1"}]
    assert after["parameters"]["qa"] == {"tools": {QA: "tools/v1"}}


# --- item 5: a retried approval request keeps the decision -----------------------------------------


def test_a_retried_approval_request_keeps_the_decision(worlds: Any) -> None:
    """One throttled Publish makes Step Functions run the request again (a new token): the
    decision made meanwhile stands, and reaches the retried task."""
    faults = [{"service": "sns", "operation": "Publish", "error": "Throttled", "count": 1}]
    with worlds.emulator(config=GATED, faults=faults) as emu:
        emu.inject(emu.scenario.faults)
        result = emu.promote(_spec(environment="prod", version="tools/v2", approve=True, approvalComment="ok"))
        history = emu.history_records()
        world = emu.world()
        requests = [name for name, _ in emu.invocations].count("RequestApprovalFunction")

    assert (result.status, result.approval) == ("SUCCEEDED", "approved"), result.as_json()
    assert requests == 2  # the throttled one, and Step Functions' retry
    [record] = history["prod"]
    assert (record["status"], record["approval"], record["approver"], record["approvalComment"]) == (
        "SUCCEEDED", "approved", APPROVER, "ok",
    )  # fmt: skip
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


# --- item 7: the same body after another promotion is a new intent ----------------------------------


def _within_one_window(worlds: Any, **overrides: Any) -> Any:
    """An emulator whose simulated clock starts at the beginning of a 5-minute deduplication
    window, so promotions that take seconds all fall in it (the real clock could cross a boundary)."""
    from datetime import UTC, datetime

    from mlpromote_emulator.clock import SimulatedClock

    emulator = worlds.emulator(**overrides)
    emulator.clock = SimulatedClock(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))
    return emulator


# v1 stays running and granted after v2 takes over, so the rollback starts nothing: the three
# requests take seconds of simulated time, within one window.
KEEP_SUPERSEDED = {"environments": {"prod": {"retireSuperseded": False}}}


def test_the_same_request_after_a_rollback_is_a_new_promotion(worlds: Any) -> None:
    with _within_one_window(worlds, config=KEEP_SUPERSEDED) as emu:
        results = [
            emu.promote(_spec(environment="prod", version="tools/v2", reason="r", via="api")),
            emu.promote(_spec(environment="prod", rollback=True, reason="r", via="api")),
            emu.promote(_spec(environment="prod", version="tools/v2", reason="r", via="api")),
        ]
        history = emu.history_records()
        world = emu.world()
        elapsed = (emu.clock.now() - datetime(2026, 1, 1, tzinfo=UTC)).total_seconds()

    assert elapsed < 300, "the test needs the three requests within one deduplication window"
    assert [r.status for r in results] == ["SUCCEEDED"] * 3, [r.as_json() for r in results]
    assert len({r.execution_arn for r in results}) == 3
    assert [(r["kind"], r["version"]) for r in history["prod"]] == [
        ("promotion", "tools/v2"), ("rollback", "tools/v1"), ("promotion", "tools/v2"),
    ]  # fmt: skip
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


def test_a_retried_request_with_nothing_in_between_is_the_same_promotion(worlds: Any) -> None:
    with _within_one_window(worlds) as emu:
        first = emu.promote(_spec(environment="prod", version="tools/v2", reason="r", via="api"))
        again = emu.promote(_spec(environment="prod", version="tools/v2", reason="r", via="api"))
        history = emu.history_records()

    assert first.execution_arn == again.execution_arn
    assert len(history["prod"]) == 1


# --- item 8: an outcome that could not be recorded is closed with its real error -------------------


def test_an_unrecorded_outcome_is_closed_by_the_status_event_with_its_real_error(worlds: Any) -> None:
    """Nobody approves; the approval times out; recording the outcome fails for good (its closing of
    the approval, an UpdateItem, is denied). The execution's status-change event, which the emulator
    delivers as EventBridge does, brings it to ReleaseAbandoned: it closes the record with the
    execution's error and the approval timed out, and releases the lock. The workflow had compensated
    already ("Record the outcome" was entered), so nothing is compensated twice."""
    with worlds.emulator(config=GATED) as emu:
        _fail_recording_the_outcome(emu)
        result = emu.promote(_spec(environment="prod", version="tools/v3"))
        delivered = [(name, json.loads(event)["detail"]["status"]) for name, event in emu.event_deliveries]
        history = emu.history_records()
        world = emu.world()
        approval = emu.approval_status(result.execution_arn)
        released = _locks()

    assert (result.status, result.error) == ("FAILED", "ApprovalTimedOut"), result.as_json()
    assert [step.name for step in result.steps][-1] == "Record the outcome"
    assert delivered == [("ReleaseAbandonedFunction", "FAILED")]
    [record] = history["prod"]
    assert (record["status"], record["error"], record["approval"]) == ("FAILED", "ApprovalTimedOut", "timed-out")
    assert "within 2 hours" in record["cause"]
    assert record["compensation"] is None
    assert approval == "timed-out" and released == set()
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})  # compensated: started, then stopped; no grant


def test_a_recovered_lock_records_the_real_error_of_its_execution(worlds: Any) -> None:
    """As above, but no status event arrives (its delivery failed): the next promotion recovers the
    lock, and closes the record with the execution's real error and its approval timed out."""
    from mlpromote_emulator import moto_adaptations as adapt

    with worlds.emulator(config=GATED) as emu:
        _fail_recording_the_outcome(emu)
        # ReleaseAbandoned cannot read the lock, on each of Lambda's three tries of the event.
        _inject_at(
            emu, "ReleaseAbandonedFunction", adapt.Fault("dynamodb", "GetItem", "AccessDeniedException", count=3)
        )
        unrecorded = emu.promote(_spec(environment="prod", version="tools/v3"))
        held = _locks()
        after = emu.promote(_spec(environment="prod", version="tools/v2", approve=True))
        history = emu.history_records()

    assert (unrecorded.status, unrecorded.error) == ("FAILED", "ApprovalTimedOut"), unrecorded.as_json()
    assert held == {"LOCK#prod"}
    assert after.status == "SUCCEEDED", after.as_json()
    first, second = history["prod"]
    assert (first["status"], first["error"], first["approval"]) == ("FAILED", "ApprovalTimedOut", "timed-out")
    assert "within 2 hours" in first["cause"]
    assert (second["status"], second["approval"]) == ("SUCCEEDED", "approved")


# --- item 9: the emulator's faults are transient where AWS's would be --------------------------------


def test_a_throttled_alarm_read_during_the_bake_is_retried(worlds: Any) -> None:
    config = {"environments": {"prod": {"bakeMinutes": 10, "rollbackAlarms": ["HighErrorRate"]}}}
    alarms = [{"account": account, "name": "HighErrorRate"} for account in (PROD_A, PROD_B)]
    with worlds.emulator(config=config, world={"alarms": alarms}) as emu:
        from mlpromote_emulator import moto_adaptations as adapt

        # Throttled as the bake starts (the plan's look at the alarms passes).
        _inject_at(emu, "WatchAlarmsFunction", adapt.Fault("cloudwatch", "DescribeAlarms", "Throttling", count=2))
        result = emu.promote(_spec(environment="prod", version="tools/v2"))
        world = emu.world()
        throttled = [c for c in emu_calls() if c.operation == "DescribeAlarms" and c.error]

    assert result.status == "SUCCEEDED", result.as_json()
    assert len(throttled) == 2
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


def emu_calls() -> list[Any]:
    from mlpromote_emulator import moto_adaptations

    return list(moto_adaptations.hooks.calls)


@pytest.mark.parametrize(
    ("service", "operation", "error"),
    [("stepfunctions", "SendTaskSuccess", "ThrottlingException"), ("dynamodb", "UpdateItem", "ThrottlingException")],
)
def test_a_transient_fault_on_the_approval_route_is_retried_and_never_stalls(
    worlds: Any, service: str, operation: str, error: str
) -> None:
    """The route answers 503 (retry), not 400; the scenario sends the decision again, as a client would."""
    faults = [{"service": service, "operation": operation, "error": error, "count": 1}]
    with worlds.emulator(config=GATED, faults=faults) as emu:
        emu.inject(emu.scenario.faults)
        result = emu.promote(_spec(environment="prod", version="tools/v2", approve=True))
        history = emu.history_records()
        failures = emu.decision_failures.get(result.execution_arn, [])

    assert (result.status, result.approval) == ("SUCCEEDED", "approved"), result.as_json()
    assert history["prod"][0]["approver"] == APPROVER
    assert [failure.split()[0] for failure in failures] == ["503"]
    assert _no_locks_left(history)


def _no_locks_left(history: dict[str, list[dict[str, Any]]]) -> bool:
    return all(record["status"] != "RUNNING" for records in history.values() for record in records)
