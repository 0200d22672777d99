"""Stopped executions are compensated: StopExecution (the console), `POST /promotions/{id}/abort`.

Stopping an execution runs no Catch. The emulator ends it ABORTED at once, as Step Functions does,
and delivers its "Step Functions Execution Status Change" event to the template's rule, whose target
(ReleaseAbandoned) compensates from the execution's history and closes its record. Nothing here
invokes ReleaseAbandoned by hand: each test asserts the world the rehearsal leaves.
"""

from __future__ import annotations

import json
from typing import Any

GATED = {"environments": {"prod": {"requiresApproval": True, "approvalTimeoutHours": 2}}}
CALLER = "arn:aws:iam::111111111111:user/operator"


def _at_the_gate(emu: Any, version: str = "tools/v3") -> str:

    from mlpromote_emulator.scenario import PromotionSpec

    emu.approvals_by_hand = True  # nobody decides: the execution waits at the gate until stopped
    execution = str(emu.start(emu.request_for(PromotionSpec(environment="prod", version=version))))
    emu.wait_at_the_gate(execution)
    return execution


def _locks() -> set[str]:
    import boto3

    table = boto3.resource("dynamodb").Table("mlpromote-promotions")
    return {item["pk"] for item in table.scan()["Items"] if item["sk"] == "LOCK"}


def test_a_promotion_stopped_at_the_gate_is_undone_and_its_record_says_how(worlds: Any) -> None:
    import boto3

    with worlds.emulator(config=GATED) as emu:
        execution = _at_the_gate(emu)
        granted = emu.world()["grants"]["prod"]
        sfn = boto3.client("stepfunctions")
        sfn.stop_execution(executionArn=execution, error="Operator", cause="wrong release")
        # ABORTED at once, as on AWS (moto left an execution waiting for a task token RUNNING).
        stopped = sfn.describe_execution(executionArn=execution)
        ended = emu.wait(execution)
        events = emu.history(execution)
        world, history, locks = emu.world(), emu.history_records(), _locks()

    assert (stopped["status"], stopped["error"], stopped["cause"]) == ("ABORTED", "Operator", "wrong release")
    assert ended["status"] == "ABORTED"
    assert events[-1]["type"] == "ExecutionAborted"  # nothing after the stop
    assert "tools/v3" in granted  # the smoke test's grant was there when it stopped...
    # ...and the compensation took it back and stopped v3, which this promotion had started.
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    assert locks == set()
    [record] = history["prod"]
    assert (record["status"], record["error"], record["cause"]) == ("ABORTED", "Operator", "wrong release")
    assert record["approval"] == "abandoned"
    assert record["compensation"] == {"restored": [], "revoked": True, "stopped": True, "leftRunningWhy": None}


def test_abort_through_the_api_undoes_the_promotion_and_refuses_what_it_cannot_do(worlds: Any) -> None:
    from mlpromote_emulator.apigateway import LocalGateway

    with worlds.emulator(config=GATED) as emu:
        execution = _at_the_gate(emu)
        name = execution.rsplit(":", 1)[-1]
        gateway = LocalGateway(emu._template, emu.invoke, CALLER)

        def abort(promotion: str, body: Any) -> Any:
            return gateway.call("POST", f"/promotions/{promotion}/abort", json.dumps(body))

        without_reason = abort(name, {})
        unknown_field = abort(name, {"reason": "x", "force": True})
        unknown = abort("no-such-promotion", {"reason": "x"})
        still = emu.approval_status(execution), _locks()
        aborted = abort(name, {"reason": "v4 was meant"})
        ended = emu.wait(execution)
        again = abort(name, {"reason": "twice"})
        world, history = emu.world(), emu.history_records()

    assert (without_reason.status, without_reason.json()["error"]) == (400, "InvalidPromotionRequest")
    assert "reason: required" in without_reason.json()["message"]
    assert (unknown_field.status, unknown_field.json()["error"]) == (400, "InvalidPromotionRequest")
    assert unknown.status == 404
    assert still == ("awaiting", {"LOCK#prod"})  # the refusals changed nothing
    cause = f"aborted by {CALLER}: v4 was meant; what it changed is being undone"
    assert (aborted.status, aborted.json()) == (
        202,
        {
            "promotionId": name,
            "executionArn": execution,
            "status": "ABORTED",
            "error": "PromotionAborted",
            "cause": cause,
        },
    )
    assert (ended["status"], ended["error"], ended["cause"]) == ("ABORTED", "PromotionAborted", cause)
    assert (again.status, again.json()["error"]) == (409, "PromotionNotRunning")
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    [record] = history["prod"]
    assert (record["status"], record["error"], record["cause"]) == ("ABORTED", "PromotionAborted", cause)
    assert record["compensation"]["revoked"] is True


def test_every_ending_reaches_release_abandoned_and_a_recorded_one_is_left_as_it_is(worlds: Any) -> None:
    """The template's rule takes SUCCEEDED and FAILED endings too: ReleaseAbandoned runs after each and
    finds nothing to do for a promotion that recorded its outcome (no second compensation)."""
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator() as emu:
        done = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        failed = emu.promote(PromotionSpec(environment="prod", version="tools/v9"))
        released = [(name, json.loads(body)) for name, body in emu.event_deliveries]
        world, history = emu.world(), emu.history_records()

    assert (done.status, failed.status) == ("SUCCEEDED", "FAILED")
    assert [name for name, _ in released] == ["ReleaseAbandonedFunction", "ReleaseAbandonedFunction"]
    assert [body["detail"]["status"] for _, body in released] == ["SUCCEEDED", "FAILED"]
    # The refused one (no such version) never took the lock: nothing to record or undo.
    [record] = history["prod"]
    assert (record["status"], record["compensation"]) == ("SUCCEEDED", None)
    assert world["parameters"]["prod"]["tools"] == {worlds.PROD_A: "tools/v2", worlds.PROD_B: "tools/v2"}
