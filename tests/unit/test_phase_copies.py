"""The model phase's copy branch (strategy: copy), with fake adapters: each account's copy and the source
project's policy in dictionaries. The wiring (ASL, handlers, the emulator's Rekognition) is in
tests/workflow/test_copy_strategy.py."""

from __future__ import annotations

from typing import Any

import pytest

from mlpromote.aws import rekognition
from mlpromote.aws.rekognition import CopyDescription
from mlpromote.clock import stamp
from mlpromote.config import parse_config
from mlpromote.errors import CopyConflict, ModelStartFailed, ModelStartTimedOut
from mlpromote.phases.model import check_model_status, start_model
from mlpromote.plan import Pointing, PromotionPlan
from mlpromote.results import ModelStart

ML, A, B = "111111111111", "333333333333", "444444444444"
V2 = f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/v2/1700000002000"
CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {"prod": {"accounts": [A, B], "strategy": "copy"}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


class Copies:
    """Each account's copy of v2 (status, or absent), the source project's policies, and what was done."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, **statuses: str) -> None:
        self.status = {account: statuses[name] for name, account in (("a", A), ("b", B)) if name in statuses}
        self.source = V2
        self.policies: set[str] = set()
        self.done: list[tuple[str, str]] = []
        monkeypatch.setattr(rekognition, "find_project", self.find_project)
        monkeypatch.setattr(rekognition, "create_project", lambda chain, name: self.find_project(chain, name))
        monkeypatch.setattr(rekognition, "describe_named", self.describe_named)
        monkeypatch.setattr(rekognition, "copy_version", self.copy_version)
        monkeypatch.setattr(rekognition, "start_version_as", self.start)
        monkeypatch.setattr(rekognition, "put_project_policy", lambda arn, name, doc: self.policies.add(name))
        monkeypatch.setattr(rekognition, "delete_project_policy", self.delete_policy)

    @staticmethod
    def account(chain: tuple[str, ...]) -> str:
        return chain[0].split(":")[4]

    def find_project(self, chain: tuple[str, ...], name: str) -> str:
        return f"arn:aws:rekognition:us-east-1:{self.account(chain)}:project/{name}/1"

    def describe_named(self, chain: tuple[str, ...], project: str, name: str) -> CopyDescription | None:
        account = self.account(chain)
        if account not in self.status:
            return None
        arn = f"arn:aws:rekognition:us-east-1:{account}:project/tools/version/v2/2"
        return CopyDescription(
            arn, self.status[account], "bad" if "FAIL" in self.status[account] else "", self.source, 2.0
        )

    def copy_version(self, chain: tuple[str, ...], *args: Any) -> str:
        self.done.append(("copy", self.account(chain)))
        self.status[self.account(chain)] = "COPYING_IN_PROGRESS"
        return "copied"

    def start(self, chain: tuple[str, ...], arn: str, low: int, high: int | None) -> None:
        self.done.append(("start", self.account(chain)))
        self.status[self.account(chain)] = "STARTING"

    def delete_policy(self, arn: str, name: str) -> bool:
        found = name in self.policies
        self.policies.discard(name)
        return found


def plan() -> PromotionPlan:
    cfg = parse_config(CONFIG)
    return PromotionPlan(
        execution="exec-1",
        requested_at=stamp(),
        planned_at=stamp(),
        reason=None,
        environment="prod",
        project="tools",
        project_arn=f"arn:aws:rekognition:us-east-1:{ML}:project/tools/1700000000000",
        version_arn=V2,
        version_label="tools/v2",
        status_at_plan="TRAINING_COMPLETED",
        ml_account=ML,
        region="us-east-1",
        access_role_name="mlpromote-access-prod",
        parameter_name="/mlpromote/tools/model-arn",
        smoke_test_role_name="mlpromote-smoke-test",
        parameter_writer_role_name="mlpromote-parameter-writer",
        smoke_test=cfg.projects["tools"].smoke_test,
        grant_propagation_seconds=120,
        batches=[[A, B]],
        pointing=[Pointing(version=None, accounts=[A, B])],
        already_served=False,
        already_running=False,
        min_inference_units=1,
        max_inference_units=None,
        retire_superseded=True,
        start_poll_seconds=30,
        start_timeout_seconds=1800,
        max_concurrency=10,
        strategy="copy",
    )


def copying(started_at: str | None = None, status: str = "COPYING") -> ModelStart:
    return ModelStart(started_by_this_execution=True, started_at=started_at or stamp(), status=status, wait_seconds=1)


def test_start_shares_the_version_and_copies_it_where_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = Copies(monkeypatch, b="STOPPED")  # B kept a copy of v2 from an earlier promotion
    started = start_model(plan())
    assert (started.status, started.started_by_this_execution) == ("COPYING", True)
    assert copies.done == [("copy", A)] and copies.policies == {"mlpromote-copy-prod"}


def test_start_shares_nothing_when_every_account_has_its_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = Copies(monkeypatch, a="RUNNING", b="STOPPED")
    started = start_model(plan())
    assert (started.status, started.started_by_this_execution) == ("COPYING", False)
    assert copies.done == [] and copies.policies == set()


def test_check_waits_while_a_copy_is_in_progress_and_starts_the_ones_done(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = Copies(monkeypatch, a="COPYING_IN_PROGRESS", b="COPYING_COMPLETED")
    copies.policies.add("mlpromote-copy-prod")
    checked = check_model_status(plan(), copying())
    assert checked.status == "COPYING" and checked.wait_seconds > 0
    assert copies.done == [("start", B)] and copies.policies == {"mlpromote-copy-prod"}  # A still copies


def test_check_takes_the_policy_back_once_no_copy_is_in_progress(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = Copies(monkeypatch, a="COPYING_COMPLETED", b="STARTING")
    copies.policies.add("mlpromote-copy-prod")
    checked = check_model_status(plan(), copying())
    assert checked.status == "STARTING" and copies.policies == set() and copies.done == [("start", A)]
    copies.status = {A: "RUNNING", B: "RUNNING"}
    assert check_model_status(plan(), checked).status == "RUNNING"


@pytest.mark.parametrize("status", ["COPYING_FAILED", "FAILED", "DEPRECATED"])
def test_a_copy_that_cannot_serve_fails_the_start(monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    Copies(monkeypatch, a=status, b="RUNNING")
    with pytest.raises(ModelStartFailed, match=rf"account {A}: the copy of tools/v2 is {status}"):
        check_model_status(plan(), copying(status="STARTING"))


def test_a_copy_deleted_meanwhile_fails_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    Copies(monkeypatch, b="RUNNING")
    with pytest.raises(ModelStartFailed, match=rf"account {A}: the copy of tools/v2 is gone"):
        check_model_status(plan(), copying(status="STARTING"))


def test_copies_past_the_cap_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    Copies(monkeypatch, a="STARTING", b="RUNNING")
    with pytest.raises(ModelStartTimedOut, match=rf"the copies of tools/v2 in {A} are not RUNNING"):
        check_model_status(plan(), copying(started_at="2020-01-01T00:00:00+00:00", status="STARTING"))


def test_a_version_of_that_name_that_is_not_a_copy_of_it_is_a_conflict(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = Copies(monkeypatch, a="STOPPED", b="STOPPED")
    copies.source = V2.replace("1700000002000", "1600000000000")  # another v2, since deleted in the ML account
    with pytest.raises(CopyConflict, match=r"has a version v2 that is not a copy of"):
        start_model(plan())
    assert copies.done == [] and copies.policies == set()
