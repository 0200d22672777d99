"""Record the outcome (mlpromote.phases.outcome): the record closed, the lock and every lease
released, the event published."""

from __future__ import annotations

import pytest
from phase_fakes import EXECUTION, PROD_A, PROD_B, V1, V2, FakeWorld, config, locked_plan, standard_world

from mlpromote.phases.outcome import record_outcome


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def test_a_promotion_that_reached_its_summary_succeeded(world: FakeWorld) -> None:
    plan = locked_plan(config(), "prod", V2)
    outcome = record_outcome(plan, {"summary": {"outcome": "PROMOTED"}})
    assert (outcome.status, outcome.error) == ("SUCCEEDED", None)
    record = world.record_of(EXECUTION)
    assert (record.status, record.error) == ("SUCCEEDED", None) and record.ended_at
    assert "prod" not in world.locks and world.holders(V1) == world.holders(V2) == set()
    detail_type, detail = world.events[-1]
    assert detail_type == "Model Promotion Succeeded"
    assert detail["from"] == [{"version": V1, "accounts": [PROD_A, PROD_B]}] and detail["version"] == V2


def test_a_compensated_promotion_failed_with_the_error_it_was_compensated_for(world: FakeWorld) -> None:
    plan = locked_plan(config(), "prod", V2)
    error = {"Error": "SmokeTestFailed", "Cause": "no hammer"}
    outcome = record_outcome(plan, {"summary": None, "compensation": {"error": error}})
    assert (outcome.status, outcome.error) == ("FAILED", error)
    record = world.record_of(EXECUTION)
    assert (record.status, record.error, record.cause) == ("FAILED", "SmokeTestFailed", "no hammer")
    assert world.events[-1][0] == "Model Promotion Failed" and "prod" not in world.locks


def test_a_failure_without_a_compensation_is_named(world: FakeWorld) -> None:
    outcome = record_outcome(locked_plan(config(), "prod", V2), {})
    assert outcome.error == {"Error": "PromotionFailed", "Cause": ""}
