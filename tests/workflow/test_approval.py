"""The approval gate on the emulator: approve, reject, time out, and the API's approval route.

Every test runs the real state machine (`.waitForTaskToken` included) and the real handlers; the
decision goes through the real API handler, and each asserts the world afterwards.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"
APPROVER = "arn:aws:iam::111111111111:user/local-approver"
GATED = {"environments": {"prod": {"requiresApproval": True, "approvalTimeoutHours": 2}}}


def run(worlds: Any, *specs: dict[str, Any], config: dict[str, Any] | None = None) -> tuple[list[Any], Any, Any]:
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=config or GATED) as emu:
        results = [emu.promote(PromotionSpec.model_validate(spec)) for spec in specs]
        return results, emu.world(), (emu.history_records(), emu.notifications(), emu.clock.slept)


def test_an_approved_promotion_switches_the_environment_and_says_who_approved(worlds: Any) -> None:
    [result], world, (history, notifications, _) = run(
        worlds, {"environment": "prod", "version": "tools/v2", "approve": True, "approvalComment": "ship it"}
    )

    assert result.status == "SUCCEEDED", result.as_json()
    assert result.approval == "approved"
    assert world == worlds.expect(
        parameters={"prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}},
        grants={"prod": ["tools/v2"]},
        versions={"tools/v1": "STOPPED"},
    )
    assert result.output["approval"]["decision"] == "approved"
    assert result.output["approval"]["approver"] == APPROVER
    assert result.output["approval"]["comment"] == "ship it"
    assert "Wait for approval" in [step.name for step in result.steps]
    [record] = history["prod"]
    assert (record["approval"], record["approver"], record["approvalComment"]) == ("approved", APPROVER, "ship it")
    [notification] = notifications
    assert "tools/v2" in notification["subject"] and "prod" in notification["subject"]
    assert f"mlpromote approve {result.execution_arn}" in notification["message"]


def test_a_rejected_promotion_is_undone_and_the_pointers_never_move(worlds: Any) -> None:
    [result], world, (history, _, _) = run(
        worlds,
        {"environment": "prod", "version": "tools/v3", "approve": False, "approvalComment": "not before the launch"},
    )

    assert (result.status, result.error, result.approval) == ("FAILED", "PromotionRejected", "rejected")
    assert result.cause == f"rejected by {APPROVER}: not before the launch"
    # v3 was started and granted for the smoke test; the rejection revokes the grant and stops it.
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    [record] = history["prod"]
    assert (record["status"], record["approval"], record["approver"]) == ("FAILED", "rejected", APPROVER)


def test_nobody_deciding_times_out_after_the_configured_hours_and_is_undone(worlds: Any) -> None:
    [result], world, (history, _, slept) = run(worlds, {"environment": "prod", "version": "tools/v2"})

    assert (result.status, result.error, result.approval) == ("FAILED", "ApprovalTimedOut", "timed-out")
    assert "within 2 hours" in (result.cause or "")
    assert world == worlds.standard
    assert slept >= 2 * 3600  # the simulated clock went through the two hours
    assert history["prod"][0]["approval"] == "timed-out"


def test_an_environment_without_the_gate_never_waits(worlds: Any) -> None:
    [result], world, (_, notifications, _) = run(worlds, {"environment": "qa", "version": "tools/v3"})

    assert result.status == "SUCCEEDED"
    assert result.approval is None
    assert "Wait for approval" not in [step.name for step in result.steps]
    assert notifications == []
    assert world["parameters"]["qa"] == {"tools": {QA: "tools/v3"}}


def test_the_approval_route_refuses_what_it_cannot_do_and_changes_nothing(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        emu.approvals_by_hand = True  # the test decides: the simulated timeout must not run out first
        execution = emu.start(emu.request_for(PromotionSpec(environment="prod", version="tools/v2")))
        emu.wait_at_the_gate(execution)
        name = execution.rsplit(":", 1)[-1]

        def post(path: str, body: Any) -> tuple[int, dict[str, Any]]:
            from mlpromote_emulator.apigateway import LocalGateway

            gateway = LocalGateway(emu._template, emu.invoke, APPROVER)
            answer = gateway.call("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            return answer.status, answer.json()

        assert post(f"/promotions/{name}/approval", {"decision": "maybe"})[0] == 400
        status, body = post(f"/promotions/{name}/approval", {"decision": "approve", "by": "me"})
        assert (status, body["error"]) == (400, "InvalidApprovalDecision")
        assert "by" in body["message"]
        assert post("/promotions/no-such-promotion/approval", {"decision": "approve"})[0] == 404
        assert emu.world() == worlds.standard | {"grants": {"qa": ["tools/v2"], "prod": ["tools/v1", "tools/v2"]}}

        status, body = post(f"/promotions/{name}/approval", {"decision": "approve"})
        assert status == 200, body
        assert body["approval"]["status"] == "approved" and body["approval"]["approver"] == APPROVER
        assert "taskToken" not in body["approval"]
        status, body = post(f"/promotions/{name}/approval", {"decision": "reject"})
        assert (status, body["error"]) == (409, "NotAwaitingApproval")
        assert "already approved" in body["message"]

        description = emu.wait(execution)
        assert description["status"] == "SUCCEEDED"
        assert emu.world()["parameters"]["prod"] == {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}


def test_a_promotion_without_the_gate_is_not_awaiting_approval(worlds: Any) -> None:
    from mlpromote_emulator.apigateway import LocalGateway
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        result = emu.promote(PromotionSpec(environment="qa", version="tools/v3"))
        gateway = LocalGateway(emu._template, emu.invoke, APPROVER)
        name = result.execution_arn.rsplit(":", 1)[-1]
        answer = gateway.call("POST", f"/promotions/{name}/approval", json.dumps({"decision": "approve"}))
        assert answer.status == 409
        assert "does not wait for approval (execution SUCCEEDED)" in answer.json()["message"]


@pytest.mark.parametrize("approve", [True, False])
def test_a_scenario_may_decide_only_where_the_gate_is(worlds: Any, approve: bool) -> None:
    from mlpromote_emulator.scenario import InvalidScenario

    with pytest.raises(InvalidScenario, match=r"promotions\[0\]\.approve: qa does not require approval"):
        worlds.scenario({"environment": "qa", "version": "tools/v3", "approve": approve}, config=GATED)


def test_the_approvers_hear_of_the_wait_on_eventbridge_and_the_outcome_carries_the_decision(worlds: Any) -> None:
    from test_events import heard, listen  # tests/workflow, on the path as pytest runs it

    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        url = listen("approvers")
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2", approve=True))
        announcements = {a["detail-type"]: a["detail"] for a in heard(url)}

    assert result.status == "SUCCEEDED"
    waiting = announcements["Model Promotion Awaiting Approval"]
    assert waiting["promotionId"] == result.execution_arn
    assert waiting["from"] == [{"version": emu.names.arn("tools/v1", emu.config), "accounts": [PROD_A, PROD_B]}]
    assert waiting["version"] == emu.names.arn("tools/v2", emu.config)
    assert waiting["expiresAt"] > waiting["requestedAt"]
    assert announcements["Model Promotion Succeeded"]["approval"]["decision"] == "approved"


def test_a_promotion_stopped_at_the_gate_abandons_its_approval_and_releases_the_environment(worlds: Any) -> None:
    import boto3

    from mlpromote_emulator.apigateway import LocalGateway
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        emu.approvals_by_hand = True
        execution = emu.start(emu.request_for(PromotionSpec(environment="prod", version="tools/v2")))
        emu.wait_at_the_gate(execution)
        sfn = boto3.client("stepfunctions")
        sfn.stop_execution(executionArn=execution, error="Operator", cause="wrong release")
        # Step Functions' status-change event reaches ReleaseAbandoned through the template's rule.
        emu.wait(execution)
        [(function, event)] = emu.event_deliveries
        gateway = LocalGateway(emu._template, emu.invoke, APPROVER)
        late = gateway.call("POST", f"/promotions/{execution.rsplit(':', 1)[-1]}/approval", '{"decision": "approve"}')
        history = emu.history_records()

    assert (function, json.loads(event)["detail"]["status"]) == ("ReleaseAbandonedFunction", "ABORTED")
    assert (history["prod"][0]["status"], history["prod"][0]["approval"]) == ("ABORTED", "abandoned")
    assert late.status == 409 and "already abandoned" in late.json()["message"]


# --- four eyes: approvers and separateApprover ------------------------------------------------

RELEASERS = "arn:aws:sts::111111111111:assumed-role/Releasers/*"
ALICE, BOB = (
    "arn:aws:sts::111111111111:assumed-role/Releasers/alice",
    "arn:aws:sts::111111111111:assumed-role/Releasers/bob",
)
FOUR_EYES = {
    "environments": {
        "prod": {
            "requiresApproval": True,
            "approvalTimeoutHours": 2,
            "approvers": [RELEASERS],
            "separateApprover": True,
        }
    }
}


def test_a_decision_by_someone_outside_the_approvers_is_refused_recorded_and_the_promotion_times_out(
    worlds: Any,
) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=FOUR_EYES) as emu:
        result = emu.promote(
            PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2", "approve": True})
        )
        failures, world, history = emu.decision_failures[result.execution_arn], emu.world(), emu.history_records()

    [failure] = failures  # refused for good: sent once, not retried
    assert failure.startswith("403 ") and "NotAnApprover" in failure and "local-approver" in failure
    # The refusal left it waiting; nobody else decided, so it timed out and was undone as today.
    assert (result.status, result.error, result.approval) == ("FAILED", "ApprovalTimedOut", "timed-out")
    assert world == worlds.standard
    [record] = history["prod"]
    [refusal] = record["approvalRefusals"]
    assert (refusal["by"], refusal["error"]) == (APPROVER, "NotAnApprover")
    assert record["approver"] is None


def test_the_requester_may_not_decide_their_own_promotion_but_another_approver_may(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    own = {"environment": "prod", "version": "tools/v2", "via": "api", "requester": ALICE, "approver": ALICE}
    with worlds.emulator(config=FOUR_EYES) as emu:
        refused = emu.promote(PromotionSpec.model_validate({**own, "approve": True}))
        failures, refused_world = emu.decision_failures[refused.execution_arn], emu.world()
        accepted = emu.promote(PromotionSpec.model_validate({**own, "approver": BOB, "approve": True}))
        world, history = emu.world(), emu.history_records()

    [failure] = failures
    assert failure.startswith("409 ") and "ApproverIsRequester" in failure
    assert (refused.status, refused.error) == ("FAILED", "ApprovalTimedOut")
    assert refused_world == worlds.standard
    assert (accepted.status, accepted.approval) == ("SUCCEEDED", "approved"), accepted.as_json()
    assert accepted.output["approval"]["approver"] == BOB
    assert world == worlds.expect(
        parameters={"prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}},
        grants={"prod": ["tools/v2"]},
        versions={"tools/v1": "STOPPED"},
    )
    first, second = history["prod"]
    assert [(r["by"], r["error"]) for r in first["approvalRefusals"]] == [(ALICE, "ApproverIsRequester")]
    assert (first["requestedBy"], second["requestedBy"], second["approver"]) == (ALICE, ALICE, BOB)
    assert "approvalRefusals" not in second or not second["approvalRefusals"]


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"approvers": [RELEASERS]}, "set requiresApproval: true"),
        ({"separateApprover": True}, "set requiresApproval: true"),
        ({"requiresApproval": True, "approvers": ["Releasers"]}, "not an IAM principal ARN pattern"),
    ],
)
def test_four_eyes_settings_are_refused_with_what_to_fix(worlds: Any, settings: dict[str, Any], message: str) -> None:
    from mlpromote.config import parse_config
    from mlpromote.errors import InvalidConfig

    data = worlds.scenario().config.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["environments"]["qa"].update(settings)
    with pytest.raises(InvalidConfig, match=message):
        parse_config(data)
