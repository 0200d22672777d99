"""`mlpromote approve` / `reject` on a deployed stack (the control plane runs on the emulator).

The stack lookup (CloudFormation) is the only thing replaced: the commands call the real
approvals code, which hands the decision to the real waiting execution.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from typing import Any

import pytest

from mlpromote.plan import PromotionRequest
from mlpromote_cli import deployed
from mlpromote_cli.main import main

STACK = "mlpromote-test"
GATED = {"environments": {"prod": {"requiresApproval": True}}}
PROD_A, PROD_B = "333333333333", "444444444444"


@pytest.fixture
def stack_of(monkeypatch: pytest.MonkeyPatch) -> Any:
    known: dict[str, deployed.Stack] = {}
    monkeypatch.setattr(deployed, "resolve_stack", lambda name, region: known[str(name)])

    def deploy(emu: Any) -> deployed.Stack:
        known[STACK] = deployed.Stack(emu.state_machine_arn, "mlpromote-promotions", emu.config.region)
        return known[STACK]

    return deploy


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([*argv, "--stack", STACK, "--region", "us-east-1"])
    return code, out.getvalue(), err.getvalue()


def start_and_reach_the_gate(emu: Any, stack: deployed.Stack, version: str) -> str:
    request = PromotionRequest.parse({"environment": "prod", "modelVersionArn": emu.names.arn(version, emu.config)})
    emu.approvals_by_hand = True  # the test decides: the simulated timeout must not run out first
    execution = deployed.start(stack, request)
    emu.wait_at_the_gate(execution)
    return execution


def test_approve_resumes_the_promotion_and_records_the_caller(worlds: Any, stack_of: Any) -> None:
    with worlds.emulator(config=GATED) as emu:
        stack = stack_of(emu)
        execution = start_and_reach_the_gate(emu, stack, "tools/v2")
        code, out, _ = run("approve", execution.rsplit(":", 1)[-1], "--comment", "QA signed off", "--json")
        final = deployed.wait(stack, execution, lambda step: None, poll_seconds=0.01)
        world = emu.world()

    assert code == 0
    # The first document is the command's; the resumed execution's handlers print after it.
    decided = json.JSONDecoder().raw_decode(out[out.index('{\n  "promotionId"') :])[0]["approval"]
    assert decided["status"] == "approved" and decided["comment"] == "QA signed off"
    assert decided["approver"].startswith("arn:aws:")  # whoever the credentials say the caller is
    assert final["status"] == "SUCCEEDED"
    assert final["approval"]["status"] == "approved"
    assert final["summary"]["approval"]["approver"] == decided["approver"]
    assert world["parameters"]["prod"] == {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}


def test_reject_undoes_the_promotion_and_a_second_decision_is_refused(worlds: Any, stack_of: Any) -> None:
    with worlds.emulator(config=GATED) as emu:
        stack = stack_of(emu)
        execution = start_and_reach_the_gate(emu, stack, "tools/v3")
        code, out, _ = run("reject", execution, "--comment", "wrong dataset")
        final = deployed.wait(stack, execution, lambda step: None, poll_seconds=0.01)
        again, _, err = run("approve", execution)
        world = emu.world()

    assert code == 0 and "rejected by" in out and "is being undone" in out
    assert (final["status"], final["error"]) == ("FAILED", "PromotionRejected")
    assert "wrong dataset" in final["cause"]
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    assert again == 1 and "NotAwaitingApproval" in err and "already rejected" in err


def test_reject_needs_a_comment_and_bad_input_touches_no_stack(worlds: Any, stack_of: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("reject", "some-promotion")
    assert exit_.value.code == 2
    code, _, err = run("approve", "some-promotion", "--comment", "")
    assert code == 2 and "InvalidApprovalDecision" in err and "comment" in err


def test_promote_tells_the_user_it_waits_for_approval(
    worlds: Any, stack_of: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    monkeypatch.setattr(deployed, "wait", functools.partial(deployed.wait, poll_seconds=0.02))
    out = io.StringIO()
    with worlds.emulator(config=GATED) as emu:
        stack_of(emu)
        emu.approvals_by_hand = True
        arn = emu.names.arn("tools/v2", emu.config)
        codes: list[int] = []

        def promote() -> None:
            with contextlib.redirect_stdout(out):
                argv = ["promote", "--environment", "prod", "--model-version-arn", arn, "--stack", STACK]
                codes.append(main(argv))

        worker = threading.Thread(target=promote)
        worker.start()
        deadline = time.monotonic() + 60
        while "WAITING" not in out.getvalue():
            assert time.monotonic() < deadline and worker.is_alive(), out.getvalue()
            time.sleep(0.02)
        execution = out.getvalue().splitlines()[0]
        assert run("approve", execution)[0] == 0
        worker.join(60)

    assert codes == [0], out.getvalue()
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("{")]
    assert "  WAITING   for approval until" in "\n".join(lines)
    assert lines[-1] == "  SUCCEEDED Record the outcome" or "SUCCEEDED" in lines[-1]


def test_abort_stops_the_promotion_and_reports_what_was_undone(worlds: Any, stack_of: Any) -> None:
    with worlds.emulator(config=GATED) as emu:
        stack = stack_of(emu)
        execution = start_and_reach_the_gate(emu, stack, "tools/v3")
        code, out, _ = run("abort", execution.rsplit(":", 1)[-1], "--reason", "wrong dataset")
        again, _, err = run("abort", execution, "--reason", "twice")
        final = deployed.status(stack, execution)
        world = emu.world()

    assert code == 0, out
    assert f"ABORTED  {execution}" in out.splitlines()
    assert "wrong dataset" in out and "grant revoked, version stopped" in out
    assert (final["status"], final["error"]) == ("ABORTED", "PromotionAborted")
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    assert again == 1 and "PromotionNotRunning" in err and "already ended ABORTED" in err


def test_abort_needs_a_reason_before_anything_talks_to_aws(stack_of: Any) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("abort", "some-promotion")
    assert exit_.value.code == 2
    code, _, err = run("abort", "some-promotion", "--reason", "  ")
    assert code == 2 and "InvalidPromotionRequest" in err and "--reason" in err
