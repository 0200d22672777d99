"""The approval gate: in an environment with `requiresApproval`, a person approves or rejects the
promotion after its smoke test and before any pointer moves.

The workflow's "Wait for approval" task (`.waitForTaskToken`) calls `request_approval` with its
task token. The token waits in the promotions table, the approvers hear of it (SNS, EventBridge),
and `decide` (the API's approval route, `mlpromote approve|reject`) hands the decision back to the
execution: approve resumes it, reject fails the task with PromotionRejected, and the workflow
compensates. Nobody deciding within `approvalTimeoutHours` fails the task with States.Timeout,
compensated the same way. Who decided, and their comment, go into the output and the history.

A rollout's wave with `approve: true` (mlpromote.waves) has a gate of its own, before it starts: the
same machinery, the same route and rules. A promotion has one approval item; each gate after the first
takes it over once the previous gate is decided, keeping the earlier decisions in `earlier`. So
`mlpromote approve <promotion>` always decides the gate the promotion waits at now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlpromote import records
from mlpromote.aws import dynamodb, events, sns, stepfunctions
from mlpromote.config import Environment, describe_validation_error
from mlpromote.errors import (
    ApproverIsRequester,
    AwsError,
    InvalidApprovalDecision,
    NotAnApprover,
    NotAwaitingApproval,
    PromotionError,
    PromotionNotFound,
)
from mlpromote.models import CamelModel
from mlpromote.plan import PromotionPlan

AWAITING, APPROVED, REJECTED, TIMED_OUT = "awaiting", "approved", "rejected", "timed-out"
# The execution ended (aborted, timed out as a whole) while it waited: nobody can decide any more.
ABANDONED = "abandoned"
# Step Functions' answers to a task token whose task is no longer waiting.
_TOKEN_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})
# The task's own timeout starts a moment before expiresAt is computed: a token gone this close to
# expiresAt went with the timeout, not with a retry.
_TIMEOUT_MARGIN = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


def approval_key(promotion_id: str) -> dict[str, str]:
    return {"pk": f"APPROVAL#{promotion_id.rsplit(':', 1)[-1]}", "sk": "APPROVAL"}


class Approval(CamelModel):
    """One promotion's approval, from the request to the decision (or the timeout)."""

    model_config = ConfigDict(extra="ignore")

    promotion_id: str
    environment: str
    version: str
    status: Literal["awaiting", "approved", "rejected", "timed-out", "abandoned"] = "awaiting"
    requested_at: str
    expires_at: str
    task_token: str
    requested_by: str | None = None
    approver: str | None = None
    comment: str | None = None
    decided_at: str | None = None
    # Decisions refused by the four-eyes rules (NotAnApprover, ApproverIsRequester): who, when, why.
    refusals: list[dict[str, str]] = []
    # The gate: the number of the rollout's wave it comes before; None for the environment's gate.
    wave: int | None = None
    # The decisions of the promotion's earlier gates (outcome(), with their wave).
    earlier: list[dict[str, Any]] = []

    def item(self) -> dict[str, Any]:
        return {**approval_key(self.promotion_id), **self.model_dump(mode="json", by_alias=True, exclude_none=True)}

    def public(self) -> dict[str, Any]:
        """What callers see: everything but the task token, which resumes the execution."""
        return self.model_dump(mode="json", by_alias=True, exclude={"task_token", "promotion_id"})


class Decision(BaseModel):
    """The body of POST /promotions/{id}/approval."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)

    decision: Literal["approve", "reject"]
    comment: str | None = Field(default=None, min_length=1, max_length=1024)

    @classmethod
    def parse(cls, data: object) -> Decision:
        if not isinstance(data, dict):
            raise InvalidApprovalDecision('the body must be a JSON object: {"decision": "approve" | "reject"}')
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidApprovalDecision(
                "the decision is invalid:\n" + describe_validation_error(error).replace("Input should be", "use")
            ) from None


class ApprovalRequested(CamelModel):
    expires_at: str
    notified: bool
    announced: bool


def request_approval(
    plan: PromotionPlan, task_token: str, topic_arn: str | None, wave: int | None = None
) -> ApprovalRequested:
    """Keep the task token for the approvers' decision, and tell them a promotion waits for one.
    `wave`: the number of the rollout's wave this gate comes before (None: the environment's gate).

    Idempotent per execution and gate: the "Wait for approval" task runs again when a call here
    failed (a throttled Publish) and Step Functions retried it, each time with a new token. An
    approval still awaiting gets the new token (conditional on it still awaiting); a decided one is
    kept as it is, and its decision is handed to the new token, so the retry cannot erase it. The
    decided approval of an earlier gate is taken over by this one.
    """
    for _ in range(3):  # a decision may land between our read and our conditional write
        approval = read(plan.execution)
        if approval is not None and approval.wave == wave and approval.status != AWAITING:
            return _forward(approval, task_token)
        if approval is None or approval.wave != wave:
            requested = _now()
            earlier = [*approval.earlier, {**outcome(approval), "wave": approval.wave}] if approval else []
            previous, approval = (
                approval,
                Approval(
                    promotion_id=plan.execution,
                    environment=plan.environment,
                    version=plan.version_arn,
                    requested_at=requested.isoformat(),
                    expires_at=(requested + timedelta(seconds=plan.approval_timeout_seconds)).isoformat(),
                    task_token=task_token,
                    requested_by=plan.requested_by,
                    wave=wave,
                    earlier=earlier,
                ),
            )
            if previous is None and dynamodb.create_approval(approval.item()):
                break
            if previous is not None and dynamodb.replace_approval(approval.item(), previous.requested_at):
                break
        elif dynamodb.settle_approval(
            approval_key(plan.execution), {"taskToken": task_token}, expected_status=AWAITING
        ):
            approval = approval.model_copy(update={"task_token": task_token})
            break
    else:
        raise NotAwaitingApproval(f"the approval of {plan.execution} kept changing while it was requested")
    # Telling the approvers again on a retry is harmless; not telling them at all is not.
    notified = bool(topic_arn) and sns.publish(str(topic_arn), *_notification(plan, approval))
    detail = {
        "promotionId": plan.execution,
        "environment": plan.environment,
        "project": plan.project,
        "version": plan.version_arn,
        "from": records.from_document(plan),
        **({"wave": wave, "waveAccounts": plan.wave_accounts()[wave - 1]} if wave is not None else {}),
        "reason": plan.reason,
        "requestedBy": plan.requested_by or plan.entry_point,
        "requestedAt": approval.requested_at,
        "expiresAt": approval.expires_at,
    }
    announced = events.publish("Model Promotion Awaiting Approval", detail)
    return ApprovalRequested(expires_at=approval.expires_at, notified=notified, announced=announced)


def _forward(approval: Approval, task_token: str) -> ApprovalRequested:
    """The request ran again after the decision: give this attempt's task the recorded decision."""
    if approval.status == APPROVED:
        stepfunctions.send_task_success(task_token, json.dumps(outcome(approval)))
    elif approval.status == REJECTED:
        stepfunctions.send_task_failure(task_token, "PromotionRejected", _rejection(approval))
    else:  # timed-out or abandoned: nobody can decide any more
        stepfunctions.send_task_failure(
            task_token, "ApprovalTimedOut", f"the approval ended {approval.status}; promote again to ask again"
        )
    return ApprovalRequested(expires_at=approval.expires_at, notified=False, announced=False)


def _rejection(approval: Approval) -> str:
    return f"rejected by {approval.approver}: {approval.comment or 'no comment'}"


def _notification(plan: PromotionPlan, approval: Approval) -> tuple[str, str]:
    name = plan.execution.rsplit(":", 1)[-1]
    gate = approval.wave
    waiting = set(plan.wave_accounts()[gate - 1] if gate is not None else plan.account_ids)
    # Grouped by what they serve now: a line per account would pass SNS's 256 KB at a thousand accounts.
    changes = "\n".join(
        f"  from {g.version or '(nothing)'}{' (each its own copy)' if g.copies else ''}, {len(shown)} account(s): "
        f"{', '.join(shown)}"
        for g in plan.pointing
        if (shown := [account for account in g.accounts if account in waiting])
    )
    what = (
        f"Wave {gate} of {len(plan.rollout)} of {plan.version_label} in {plan.environment} waits for your decision; "
        f"waves 1 to {gate - 1} switched and baked. Rejecting it puts them back."
        if gate is not None
        else f"{plan.version_label} passed its smoke test in {plan.environment} and waits for your decision."
    )
    message = (
        f"{what}\n\n"
        f"Reason: {plan.reason or '(none given)'}\nRequested by: {plan.requested_by or plan.entry_point}\n"
        f"Accounts, to {plan.version_arn}:\n{changes}\n\n"
        f"Approve:  mlpromote approve {plan.execution}\n"
        f'Reject:   mlpromote reject {plan.execution} --comment "why"\n'
        f'or POST /promotions/{name}/approval with {{"decision": "approve" | "reject"}}.\n\n'
        f"Nobody deciding by {approval.expires_at} rejects it; the promotion is then undone."
    )
    wave = f"wave {gate}: " if gate is not None else ""
    subject = f"mlpromote: {wave}approve {plan.version_label} for {plan.environment}?"
    # SNS takes a subject of fewer than 100 characters; a version label may have 511.
    return (subject if len(subject) < 100 else subject[:96] + "...?"), message


def read(promotion_id: str) -> Approval | None:
    item = dynamodb.approval(approval_key(promotion_id))
    return Approval.model_validate(item) if item else None


def decide(promotion_id: str, decision: Decision, approver: str, rules: Environment | None = None) -> Approval:
    """Record who decided what, then resume (approve) or stop (reject) the waiting execution.

    Refused with NotAwaitingApproval, changing nothing, when the promotion does not wait for a
    decision; with NotAnApprover or ApproverIsRequester (the environment's four-eyes `rules`), the
    refusal recorded and the promotion still waiting. If Step Functions refuses the token (the task
    timed out meanwhile), the record says timed-out; if the call fails otherwise, the record is
    reopened so the decision can be sent again.
    """
    for _ in range(3):  # a retried request may swap the token between our read and our write
        approval = _awaiting(promotion_id)
        if rules is not None:
            _require_allowed(approval, approver, rules)
        decided, settled = _settle(approval, decision, approver)
        if settled:
            break
    else:
        raise NotAwaitingApproval(f"someone else decided on {promotion_id} at the same moment; read it again")
    try:
        if decided.status == APPROVED:
            stepfunctions.send_task_success(approval.task_token, json.dumps(outcome(decided)))
        else:
            stepfunctions.send_task_failure(approval.task_token, "PromotionRejected", _rejection(decided))
    except AwsError as error:
        if error.code in _TOKEN_GONE:
            expired = _now() >= datetime.fromisoformat(approval.expires_at) - _TIMEOUT_MARGIN
            if not expired and stepfunctions.find_execution_status(promotion_id) == "RUNNING":
                # The task this token belonged to failed and Step Functions is retrying it: the
                # retried request finds the recorded decision and hands it to its own task.
                return decided
            dynamodb.settle_approval(
                approval_key(promotion_id), {"status": TIMED_OUT, "approver": None}, expected_status=decided.status
            )
            raise NotAwaitingApproval(
                f"{promotion_id} stopped waiting before the decision reached it (the approval timed out)"
            ) from None
        reopen = {"status": AWAITING, "approver": None, "comment": None, "decidedAt": None}
        dynamodb.settle_approval(approval_key(promotion_id), reopen, expected_status=decided.status)
        raise
    return decided


def _require_allowed(approval: Approval, approver: str, rules: Environment) -> None:
    """The four-eyes rules of the approval's environment; a refusal goes into the approval's record
    (and so into the history) before it is raised."""
    refusal: PromotionError | None = None
    # IAM's ArnLike: * and ? match any run of characters and any one character, case-sensitively.
    # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    if rules.approvers and not any(fnmatchcase(approver, pattern) for pattern in rules.approvers):
        refusal = NotAnApprover(
            f"{approver} is not one of {approval.environment}'s approvers ({', '.join(rules.approvers)}); "
            "ask one of them to decide, or add your principal to environments."
            f"{approval.environment}.approvers"
        )
    elif rules.separate_approver and approval.requested_by and approver == approval.requested_by:
        refusal = ApproverIsRequester(
            f"{approver} requested this promotion and {approval.environment} has separateApprover: true; "
            "someone else must decide"
        )
    if refusal is None:
        return
    entry = {"by": approver, "error": type(refusal).__name__, "at": _now().isoformat()}
    dynamodb.add_approval_refusal(approval_key(approval.promotion_id), entry)
    raise refusal


def _awaiting(promotion_id: str) -> Approval:
    """The approval, if it awaits a decision now; NotAwaitingApproval (or PromotionNotFound) if not."""
    approval = read(promotion_id)
    if approval is None:
        status = stepfunctions.find_execution_status(promotion_id)
        if status is None:
            raise PromotionNotFound(f"no promotion {promotion_id}; list them with GET /promotions?environment=...")
        raise NotAwaitingApproval(
            f"{promotion_id} does not wait for approval (execution {status}): its environment does not "
            "require approval, or it has not passed its smoke test yet. Read it with GET /promotions/{id}"
        )
    if approval.status != AWAITING:
        raise NotAwaitingApproval(
            f"{promotion_id} was already {approval.status}"
            + (f" by {approval.approver} at {approval.decided_at}" if approval.approver else "")
        )
    if _now() > datetime.fromisoformat(approval.expires_at):
        raise NotAwaitingApproval(f"the approval of {promotion_id} expired at {approval.expires_at}")
    return approval


def _settle(approval: Approval, decision: Decision, approver: str) -> tuple[Approval, bool]:
    """Record the decision if the approval still awaits one with the token we read."""
    now = _now().isoformat()
    decided = approval.model_copy(
        update={
            "status": APPROVED if decision.decision == "approve" else REJECTED,
            "approver": approver,
            "comment": decision.comment,
            "decided_at": now,
        }
    )
    fields = {"status": decided.status, "approver": approver, "comment": decision.comment, "decidedAt": now}
    settled = dynamodb.settle_approval(
        approval_key(approval.promotion_id), fields, expected_status=AWAITING, expected_token=approval.task_token
    )
    return decided, settled


def outcome(approval: Approval) -> dict[str, Any]:
    """The decision as the execution's output and history carry it."""
    decision = {
        "decision": approval.status,
        "approver": approval.approver,
        "comment": approval.comment,
        "decidedAt": approval.decided_at,
    }
    return decision if approval.wave is None else {**decision, "wave": approval.wave}


def close(promotion_id: str, ending: str = TIMED_OUT) -> Approval | None:
    """At the promotion's end, an approval still awaiting a decision ends too: timed out (the
    workflow's own ending), or abandoned (the execution was stopped or timed out as a whole)."""
    approval = read(promotion_id)
    if approval is None or approval.status != AWAITING:
        return approval
    if dynamodb.settle_approval(approval_key(promotion_id), {"status": ending}, expected_status=AWAITING):
        return approval.model_copy(update={"status": ending})
    return read(promotion_id)
