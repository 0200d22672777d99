"""What each step returns: the typed results the state machine carries from one state to the next.

Kept apart from the phases that produce them, because later states (and the summary) read them:
the smoke test reads the grant, the status check the start, the summary all of them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mlpromote.clock import stamp
from mlpromote.errors import AwsError, PromotionError
from mlpromote.models import CamelModel

# The longest cause a result keeps (a failed batch's). A raised error's Cause on AWS is the runtime's
# whole error document (about 1 KB) and stays in the execution's state, whose quota is 256 KB.
RESULT_CAUSE_CHARACTERS = 120


def short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def reported(error: PromotionError) -> dict[str, str]:
    """A named error as a result reports it: its name, and a short cause."""
    # botocore's "An error occurred (...) when calling the ... operation" says an AWS error at length.
    cause = error.brief if isinstance(error, AwsError) else str(error)
    return {"Error": type(error).__name__, "Cause": short(cause, RESULT_CAUSE_CHARACTERS)}


class StepResult(CamelModel):
    model_config = ConfigDict(extra="forbid")
    ended_at: str = Field(default_factory=stamp)

    def dump(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class ModelStart(StepResult):
    started_by_this_execution: bool
    started_at: str
    status: str
    wait_seconds: int


class Grant(StepResult):
    added_by_this_execution: bool
    granted_at: str | None = Field(description="when the statement was added; None if it already existed")


class SmokeTestResult(StepResult):
    """One batch's smoke test: every account of it passed (a failure is raised). Kept small: one per
    batch stays in the execution's state."""

    accounts: int


class Serving(StepResult):
    status: str


class FailedAccounts(BaseModel):
    """The accounts of a batch that failed with one error: the error's name, the first one's cause."""

    model_config = ConfigDict(extra="forbid")
    error: str
    cause: str
    accounts: list[str]


class Rotation(StepResult):
    """One batch's rotation: how many accounts switched, and the failed ones grouped by error, so that
    every account failing stays small in the execution's state. From and to are in the plan.

    The first failure's first account (sorted) has the promotion's error when any failed. A batch
    whose Lambda failed as a whole (its "Record the failed batch" state) has `accounts` (the whole
    batch) and `error`, and no `failures`."""

    model_config = ConfigDict(extra="forbid")
    switched: int = 0
    failed: bool = False
    error: dict[str, str] | None = None
    failures: list[FailedAccounts] = []
    accounts: list[str] = Field(default=[], description="the whole batch, when its Lambda failed as a whole")

    @property
    def failed_accounts(self) -> list[FailedAccounts]:
        if self.failures or not self.failed or self.error is None:
            return self.failures
        return [FailedAccounts(error=self.error["Error"], cause=self.error["Cause"], accounts=self.accounts)]

    @property
    def first_error(self) -> dict[str, str] | None:
        """The error and cause of the batch's first failed account (sorted), or of the batch itself."""
        if self.error is not None:
            return self.error
        return next(({"Error": f.error, "Cause": f.cause} for f in self.failures), None)

    def dump(self) -> dict[str, object]:
        # Each batch's result stays in the state: the fields only a failed batch's own state sets are
        # left out. `failed` stays: the Map's ResultSelector looks for it in every result.
        left_out = {name for name in ("error", "accounts") if not getattr(self, name)}
        return self.model_dump(mode="json", by_alias=True, exclude=left_out)


class Watch(StepResult):
    until: str
    done: bool
    wait_seconds: int


class LeftBehind(BaseModel):
    version: str
    granted: bool
    running: bool
    why: str


class Retirement(StepResult):
    revoked: list[str] = []
    stopped: list[str] = []
    left: list[LeftBehind] = []


class Compensation(StepResult):
    error: dict[str, str] = Field(description="the error being compensated: Error and Cause")
    restored: list[str] = Field(description="accounts whose parameter was put back")
    revoked: bool
    stopped: bool
    left_running_why: str | None = None


class Outcome(StepResult):
    status: str
    error: dict[str, str] | None = None


class Released(StepResult):
    released: bool
    approval: str | None = Field(default=None, description="the approval it closed, if one was awaiting")
