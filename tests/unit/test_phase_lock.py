"""The environment's lock (mlpromote.phases.lock), branch by branch, on a fake world: taking it,
refusals that give it back, recovering a lock whose execution ended, releasing an abandoned one."""

from __future__ import annotations

import json

import pytest
from phase_fakes import EXECUTION, OTHER, PROD_A, PROD_B, V1, V2, V3, FakeWorld, config, standard_world

from mlpromote.errors import EnvironmentChanged, PromotionInProgress, VersionBeingStopped
from mlpromote.phases.lock import release_abandoned, take_environment
from mlpromote.phases.plan import validate_and_plan
from mlpromote.plan import PromotionPlan


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def planned(version: str = V2, execution: str = EXECUTION, **request: object) -> PromotionPlan:
    body = {"environment": "prod", **({"modelVersionArn": version} if version else {}), **request}
    return validate_and_plan(body, execution, "2026-01-01T00:00:00+00:00", config())


def test_taking_the_environment_locks_it_leases_what_it_may_stop_and_opens_the_record(world: FakeWorld) -> None:
    fresh = take_environment(planned())
    assert [(t.account, t.current) for t in fresh.targets] == [(PROD_A, V1), (PROD_B, V1)]
    assert (fresh.status_at_plan, fresh.already_running, fresh.already_served) == ("RUNNING", True, False)
    assert fresh.locked_at and fresh.took_over_from is None
    assert world.locks["prod"]["holder"] == EXECUTION and world.locks["prod"]["leases"] == sorted([V1, V2])
    assert world.holders(V1) == world.holders(V2) == {EXECUTION}
    record = world.record_of(EXECUTION)
    assert record.status == "RUNNING" and [(c.account, c.from_version) for c in record.accounts] == [
        (PROD_A, V1),
        (PROD_B, V1),
    ]
    [(detail_type, detail)] = world.events
    assert detail_type == "Model Promotion Started"
    assert detail["from"] == [{"version": V1, "accounts": [PROD_A, PROD_B]}] and detail["version"] == V2


def test_an_environment_already_serving_the_version_running_and_granted_is_already_served(world: FakeWorld) -> None:
    fresh = take_environment(planned(V1, force=True, reason="again"))
    assert fresh.already_served
    world.grants.clear()
    world.locks.clear()
    assert not take_environment(planned(V1, force=True, reason="again")).already_served  # not granted: drift, repaired


def test_another_running_promotion_holding_the_lock_refuses_and_changes_nothing(world: FakeWorld) -> None:
    world.locks["prod"] = {"holder": OTHER, "since": "2026-01-01T00:00:00+00:00", "leases": [V1]}
    with pytest.raises(PromotionInProgress, match=f"being promoted by {OTHER}"):
        take_environment(planned())
    assert world.writes == [] and world.locks["prod"]["holder"] == OTHER and world.events == []


def test_a_lock_whose_execution_ended_is_recovered_closing_its_record_and_leases(world: FakeWorld) -> None:
    take_environment(planned(V3, OTHER, force=True, reason="first"))
    world.executions[OTHER] = ("ABORTED", None, None)
    fresh = take_environment(planned())
    assert fresh.took_over_from == OTHER and world.locks["prod"]["holder"] == EXECUTION
    abandoned = world.record_of(OTHER)
    assert abandoned.status == "ABORTED" and "recovered by" in str(abandoned.cause)
    assert world.holders(V3) == set() and world.holders(V1) == {EXECUTION}


def test_a_served_version_another_promotion_is_stopping_refuses_and_gives_the_lock_back(world: FakeWorld) -> None:
    world.leases[V1] = {"stoppingBy": OTHER}
    with pytest.raises(VersionBeingStopped, match=f"which {OTHER} is stopping"):
        take_environment(planned())
    assert "prod" not in world.locks and world.holders(V2) == set()
    record = world.record_of(EXECUTION)
    assert (record.status, record.error) == ("FAILED", "VersionBeingStopped")


def test_a_rollback_whose_environment_moved_before_the_lock_is_refused(world: FakeWorld) -> None:
    from mlpromote.history import AccountChange, PromotionRecord

    for sk, version in (("a", V2), ("b", V1)):
        world.records[("prod", sk)] = PromotionRecord(
            promotion_id=f"old-{sk}",
            environment="prod",
            project="tools",
            version=version,
            accounts=[AccountChange(account=a, to_version=version) for a in (PROD_A, PROD_B)],
            started_at=f"2025-0{1 if sk == 'a' else 2}-01T00:00:00+00:00",
            status="SUCCEEDED",
        )
    stale = planned("", rollback=True)
    world.pointers[PROD_A] = world.pointers[PROD_B] = V3
    with pytest.raises(EnvironmentChanged):
        take_environment(stale)
    assert "prod" not in world.locks and world.pointers[PROD_A] == V3


def test_an_aborted_execution_that_holds_the_lock_is_released(world: FakeWorld) -> None:
    take_environment(planned())
    world.executions[EXECUTION] = ("ABORTED", "States.Aborted", "stopped by a person")
    released = release_abandoned(EXECUTION, "ABORTED", json.dumps({"environment": "prod"}))
    assert released.released and "prod" not in world.locks
    record = world.record_of(EXECUTION)
    assert (record.status, record.error, record.cause) == ("ABORTED", "States.Aborted", "stopped by a person")
    assert world.holders(V1) == world.holders(V2) == set()


def test_an_execution_that_does_not_hold_the_lock_releases_nothing(world: FakeWorld) -> None:
    take_environment(planned(execution=OTHER))
    writes = list(world.writes)
    for execution_input in (json.dumps({"environment": "prod"}), "not json", None):
        assert not release_abandoned(EXECUTION, "TIMED_OUT", execution_input).released
    assert world.locks["prod"]["holder"] == OTHER and world.writes == writes
