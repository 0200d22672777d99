"""What each step returns: the typed results the state machine carries from one state to the next.

Kept apart from the phases that produce them, because later states (and the summary) read them:
the smoke test reads the grant, the status check the start, the summary all of them.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from mlpromote.clock import stamp
from mlpromote.models import CamelModel


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
    """Kept small: one per account stays in the execution's state (256 KB in all)."""

    account: str


class Serving(StepResult):
    status: str


class Rotation(StepResult):
    """Kept small: one per account stays in the execution's state. From and to are in the plan."""

    account: str
    failed: bool = False
    parameter_version: int | None


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
