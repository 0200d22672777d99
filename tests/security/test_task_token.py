"""The approval task's token resumes a promotion: it stays out of every log (issue 11 C).

The state machine logs its events without their data (tests/test_security_static.py checks the
template); this runs an approved promotion on the emulator and reads everything the handlers
logged, the request-approval handler (which receives the token) and the API (which sends it) included.
"""

from __future__ import annotations

from typing import Any

GATED = {"environments": {"prod": {"requiresApproval": True, "approvalTimeoutHours": 2}}}


def test_no_handler_logs_the_task_token_of_an_approved_promotion(worlds: Any) -> None:
    from mlpromote import approvals
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        result = emu.promote(
            PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2", "approve": True})
        )
        approval = approvals.read(result.execution_arn)
        logs = emu.logs.getvalue()

    assert result.status == "SUCCEEDED" and result.approval == "approved", result.as_json()
    assert approval is not None and len(approval.task_token) > 20
    # The handler that received the token logged (its metrics, at least): its lines are here.
    assert "RequestApprovalSucceeded" in logs
    assert approval.task_token not in logs
