"""Named errors of a promotion.

The class name is the contract: a Lambda that raises one reports it as `errorType`, the state
machine's Retry and Catch clauses match on it, and the execution ends with it as its error.
Every message says what is wrong and what to do about it.
"""

from __future__ import annotations


class PromotionError(Exception):
    """A promotion cannot go on. Subclasses name why."""


# --- refused before anything changes (ValidateAndPlan) -------------------------------------


class InvalidPromotionRequest(PromotionError):
    """The execution input is not a promotion request."""


class InvalidConfig(PromotionError):
    """The mlpromote config file is missing or invalid."""


class UnknownEnvironment(PromotionError):
    """The request names an environment the config does not declare."""


class InvalidModelVersionArn(PromotionError):
    """The text is not a Rekognition Custom Labels model version ARN."""


class VersionOutsideMlAccount(PromotionError):
    """The version ARN names another account or region than the configured ML account."""


class UnknownProject(PromotionError):
    """The version belongs to a project the config does not declare."""


class ModelVersionNotFound(PromotionError):
    """No such version exists in the project."""


class ModelVersionNotPromotable(PromotionError):
    """The version is in a state it cannot be started or served from."""


class RollbackAlarmNotFound(PromotionError):
    """A rollback alarm of the environment does not exist in one of its accounts: the bake would
    watch nothing there."""


# --- failures after the first change (the workflow compensates) ----------------------------


class ModelStartFailed(PromotionError):
    """Rekognition could not start the version."""


class ModelStartTimedOut(PromotionError):
    """The version did not reach RUNNING within the configured cap."""


class GrantPolicyTooLarge(PromotionError):
    """Adding the grant would exceed IAM's inline-policy size limit."""


class GrantNotYetEffective(PromotionError):
    """AccessDenied shortly after a grant: IAM has not propagated it yet. The ASL retries this."""


class SmokeTestAccessDenied(PromotionError):
    """The delegation chain refused the smoke test after the propagation bound."""


class SmokeTestFailed(PromotionError):
    """The model answered, but not with the expected labels."""


class ModelNotServing(PromotionError):
    """DetectCustomLabels said the version is not running."""


class AwsError(PromotionError):
    """An AWS call refused, as the adapter that made it translated it (mlpromote.aws.sessions.translated).
    Raised as one of the two below, whose names the ASL matches; `operation` (DetectCustomLabels),
    `code` (AccessDeniedException) and `said` (AWS's message) are there for callers that tell cases apart."""

    def __init__(self, message: str, operation: str = "", code: str = "", said: str = "") -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code
        self.said = said

    @property
    def brief(self) -> str:
        """`Operation: Code: message`, shorter than botocore's sentence (for causes kept in a Map's results)."""
        return f"{self.operation}: {self.code}: {self.said}" if self.operation else str(self)


class AwsCallFailed(AwsError):
    """An AWS call failed with an error that retrying will not fix."""


class TransientAwsError(AwsError):
    """Throttling or a service-side error; the ASL retries this with backoff."""


# --- refused because of other promotions or the promotion path -----------------------------


class PromotionInProgress(PromotionError):
    """Another promotion of the same environment is still running."""


class VersionBeingStopped(PromotionError):
    """Another promotion is stopping the version right now (nothing used it); refused before any change."""


class EnvironmentChanged(PromotionError):
    """A rollback's environment moved between its plan and its lock; refused before any change."""


class VersionNoLongerServing(PromotionError):
    """Before the switch, the version is no longer RUNNING or no longer granted; compensated."""


class NotVerifiedUpstream(PromotionError):
    """The environment requires an upstream environment the version has not been through."""


class NothingToRollBackTo(PromotionError):
    """The environment's history has no earlier version to go back to."""


class HistoryRecordUnreadable(PromotionError):
    """An item of the promotions table's history is not a promotion record (written by hand, or corrupted)."""


class RolledBackOnAlarm(PromotionError):
    """A rollback alarm went off during the bake time; the environment was put back."""


# --- the approval gate -----------------------------------------------------------------------


class PromotionRejected(PromotionError):
    """A person rejected the promotion at the approval gate; the workflow compensates."""


class ApprovalTimedOut(PromotionError):
    """Nobody approved or rejected within the environment's approvalTimeoutHours."""


class InvalidApprovalDecision(InvalidPromotionRequest):
    """The approval body is not {"decision": "approve" | "reject", "comment"?}."""


class NotAwaitingApproval(PromotionError):
    """The promotion is not waiting for a decision (none needed, not there yet, or already decided)."""


class PromotionNotFound(PromotionError):
    """No promotion (execution) has this id."""


class PromotionAborted(PromotionError):
    """Someone stopped the promotion (`mlpromote abort`, POST /promotions/{id}/abort, StopExecution):
    the error its execution ends with. ReleaseAbandoned then undoes what it changed."""


class PromotionNotRunning(PromotionError):
    """The promotion has already ended: there is nothing to abort."""


class PlanSchemaUnsupported(PromotionError):
    """A promotion plan of a schema this code does not know (written by a newer release)."""


class NotAnApprover(PromotionError):
    """The caller is not one of the environment's `approvers`: the decision is refused, the promotion waits."""


class ApproverIsRequester(PromotionError):
    """`separateApprover`: the requester may not decide their own promotion; someone else must."""


# --- copy environments (strategy: copy) ---------------------------------------------------


class CopyConflict(PromotionError):
    """A target account's project has a version of the promoted version's name that is not a copy of it."""


class CopiesBusy(PromotionError):
    """Copies to delete are still STOPPING or COPYING_IN_PROGRESS (DeleteProjectVersion takes neither): the
    state machine runs the step again once they may have stopped; everything before the deletion is idempotent."""


class ModelStillStarting(PromotionError):
    """The version this promotion started is still STARTING at its compensation, and a start under way
    cannot be stopped: the state machine runs the compensation again (everything before the stop is
    idempotent) until the version is RUNNING and can be stopped, or for as long as quotas allows."""


# --- environments by organizational unit (mlpromote.environments) ---------------------------


class OrganizationalUnitNotFound(PromotionError):
    """An OU the environment names does not exist in the organization the reader role reads."""


class EnvironmentHasNoAccounts(PromotionError):
    """The environment's OUs hold no ACTIVE account: there is nothing to promote to."""


class EnvironmentTooLarge(PromotionError):
    """The environment's OUs hold more accounts than a promotion serves (the config's cap, or the
    history quota with the environment's bake and polling)."""


class EnvironmentsOverlap(PromotionError):
    """An account of the environment's OUs is the ML account or an account of another environment."""
