"""Validate and plan (mlpromote.phases.plan), branch by branch, on a fake world: every refusal
changes nothing, and the plan carries what the later steps need."""

from __future__ import annotations

import pytest
from phase_fakes import PROD_A, PROD_B, QA, V1, V2, V3, FakeWorld, config, standard_world

from mlpromote.errors import (
    InvalidPromotionRequest,
    ModelVersionNotFound,
    ModelVersionNotPromotable,
    NothingToRollBackTo,
    NotVerifiedUpstream,
    RollbackAlarmNotFound,
    UnknownProject,
    VersionOutsideMlAccount,
)
from mlpromote.history import AccountChange, PromotionRecord
from mlpromote.phases.plan import validate_and_plan
from mlpromote.plan import PromotionPlan


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def plan(request: dict[str, object], **environment: object) -> PromotionPlan:
    return validate_and_plan(request, "exec-1", "2026-01-01T00:00:00+00:00", config(**environment))


def succeeded(environment: str, version: str, started: str, accounts: list[str]) -> PromotionRecord:
    return PromotionRecord(
        promotion_id=f"exec-{started}",
        environment=environment,
        project="tools",
        version=version,
        accounts=[AccountChange(account=a, to_version=version) for a in accounts],
        started_at=started,
        status="SUCCEEDED",
    )


def test_a_promotion_is_planned_from_the_config_and_changes_nothing(world: FakeWorld) -> None:
    made = plan({"environment": "prod", "modelVersionArn": V2, "reason": "better"})
    assert (made.kind, made.version_label, made.status_at_plan, made.reason) == (
        "promotion",
        "tools/v2",
        "RUNNING",
        "better",
    )
    # What prod serves is read under the lock, not here.
    assert [(t.account, t.current) for t in made.targets] == [(PROD_A, None), (PROD_B, None)]
    assert (made.bake_seconds, made.rollback_alarms, made.already_served) == (600, ["Errors"], False)
    assert world.writes == [] and world.events == []


def test_a_version_not_through_the_upstream_environment_is_refused(world: FakeWorld) -> None:
    with pytest.raises(NotVerifiedUpstream, match="tools/v3 is not live in qa"):
        plan({"environment": "prod", "modelVersionArn": V3})
    assert world.writes == []


def test_a_version_once_promoted_upstream_passes_even_if_upstream_moved_on(world: FakeWorld) -> None:
    world.records[("qa", "a")] = succeeded("qa", V3, "2025-12-01T00:00:00+00:00", [QA])
    assert plan({"environment": "prod", "modelVersionArn": V3}).version_arn == V3


def test_force_with_a_reason_skips_the_upstream_check(world: FakeWorld) -> None:
    made = plan({"environment": "prod", "modelVersionArn": V3, "force": True, "reason": "hotfix"})
    assert made.forced and made.status_at_plan == "TRAINING_COMPLETED"


def test_a_version_that_cannot_be_started_is_refused(world: FakeWorld) -> None:
    world.versions[V2] = "TRAINING_FAILED"
    with pytest.raises(ModelVersionNotPromotable, match="its training failed"):
        plan({"environment": "qa", "modelVersionArn": V2})
    assert world.writes == []


def test_a_stopping_version_is_planned_for_a_start_once_it_is_stopped(world: FakeWorld) -> None:
    # A rollback right after the promotion that stopped it: the model phase waits for STOPPED, then starts it.
    world.versions[V2] = "STOPPING"
    made = plan({"environment": "qa", "modelVersionArn": V2})
    assert made.status_at_plan == "STOPPING" and world.writes == []


def test_a_missing_version_and_a_foreign_account_are_refused(world: FakeWorld) -> None:
    with pytest.raises(ModelVersionNotFound):
        plan({"environment": "qa", "modelVersionArn": V2.replace("/v2/", "/v9/")})
    with pytest.raises(VersionOutsideMlAccount):
        plan({"environment": "qa", "modelVersionArn": V2.replace("111111111111", "999999999999")})


def test_a_rollback_alarm_missing_in_one_account_is_named(world: FakeWorld) -> None:
    del world.alarms[PROD_B]["Errors"]
    with pytest.raises(RollbackAlarmNotFound, match=f"'Errors' does not exist in account {PROD_B}"):
        plan({"environment": "prod", "modelVersionArn": V2})


def test_a_rollback_goes_to_the_version_the_current_one_replaced(world: FakeWorld) -> None:
    world.records[("prod", "a")] = succeeded("prod", V2, "2025-11-01T00:00:00+00:00", [PROD_A, PROD_B])
    world.records[("prod", "b")] = succeeded("prod", V1, "2025-12-01T00:00:00+00:00", [PROD_A, PROD_B])
    made = plan({"environment": "prod", "rollback": True})
    # A rollback skips the upstream check, and its plan already knows what prod serves.
    assert (made.kind, made.version_arn) == ("rollback", V2)
    assert [(t.account, t.current) for t in made.targets] == [(PROD_A, V1), (PROD_B, V1)]


def test_a_rollback_without_history_or_of_a_split_environment_is_refused(world: FakeWorld) -> None:
    with pytest.raises(NothingToRollBackTo, match="no version of tools before"):
        plan({"environment": "prod", "rollback": True})
    world.pointers[PROD_B] = V2
    with pytest.raises(NothingToRollBackTo, match="do not all serve one version"):
        plan({"environment": "prod", "rollback": True})
    assert world.writes == []


def test_a_rollback_of_an_unknown_project_is_refused(world: FakeWorld) -> None:
    with pytest.raises(UnknownProject, match="nails"):
        plan({"environment": "prod", "rollback": True, "project": "nails"})


def test_a_request_that_is_not_an_object_is_refused(world: FakeWorld) -> None:
    with pytest.raises(InvalidPromotionRequest, match="must be a JSON object"):
        plan(["prod"])  # type: ignore[arg-type]
