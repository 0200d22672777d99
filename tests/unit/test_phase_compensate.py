"""Compensate a failed promotion (mlpromote.phases.compensate), branch by branch: the world as
the plan found it, and nothing more."""

from __future__ import annotations

import pytest
from phase_fakes import OTHER, PROD_A, PROD_B, QA, V1, V2, V3, FakeWorld, config, locked_plan, standard_world

from mlpromote import quotas
from mlpromote.errors import ModelStillStarting
from mlpromote.phases.access import grant_access
from mlpromote.phases.compensate import compensate, original_error
from mlpromote.phases.model import start_model
from mlpromote.phases.pointers import rotate_pointer
from mlpromote.plan import PromotionPlan

QA_ROLE = config().access_role_name("qa")
FAILED = {"Error": "SmokeTestFailed", "Cause": "no hammer"}


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def half_done(world: FakeWorld, environment: str = "qa", version: str = V3) -> PromotionPlan:
    """Started, granted and switched, then failed."""
    plan = locked_plan(config(), environment, version)
    start_model(plan)
    world.versions[version] = "RUNNING"
    grant_access(plan)
    for target in plan.targets:
        rotate_pointer(plan, target.account)
    return plan


def test_everything_the_promotion_changed_is_put_back(world: FakeWorld) -> None:
    compensation = compensate(half_done(world), config(), FAILED)
    assert (compensation.restored, compensation.revoked, compensation.stopped) == ([QA], True, True)
    assert compensation.error == FAILED and compensation.left_running_why is None
    assert world.pointers[QA] == V2 and world.granted(QA_ROLE) == [V2] and world.versions[V3] == "STOPPED"


def test_a_version_that_was_running_before_is_left_running(world: FakeWorld) -> None:
    compensation = compensate(half_done(world, "qa", V1), config(), FAILED)
    assert compensation.revoked and not compensation.stopped
    assert world.versions[V1] == "RUNNING" and world.pointers[QA] == V2


def test_a_started_version_another_environment_points_at_meanwhile_is_left_running(world: FakeWorld) -> None:
    plan = half_done(world)
    world.pointers[PROD_A] = V3
    compensation = compensate(plan, config(), FAILED)
    assert not compensation.stopped and compensation.left_running_why == f"still live in prod/{PROD_A}"
    assert world.versions[V3] == "RUNNING"


def test_a_started_version_another_promotion_holds_is_left_running_and_let_go(world: FakeWorld) -> None:
    plan = half_done(world)
    world.leases[V3]["holders"].add(OTHER)
    compensation = compensate(plan, config(), FAILED)
    assert not compensation.stopped and OTHER in str(compensation.left_running_why)
    assert world.holders(V3) == {OTHER}


def test_compensating_twice_changes_nothing_more(world: FakeWorld) -> None:
    plan = half_done(world)
    compensate(plan, config(), FAILED)
    writes = list(world.writes)
    again = compensate(plan, config(), FAILED)
    assert (again.restored, again.revoked, again.stopped) == ([], False, False) and world.writes == writes


def test_a_failure_before_the_switch_restores_no_pointer(world: FakeWorld) -> None:
    plan = locked_plan(config(), "prod", V2)
    compensation = compensate(plan, config(), FAILED)
    assert compensation.restored == [] and world.pointers == {QA: V2, PROD_A: V1, PROD_B: V1}
    assert not compensation.stopped  # v2 was running before


def test_the_error_compensated_is_the_first_failed_rotations() -> None:
    failures = [{"error": "AwsCallFailed", "cause": "denied", "accounts": [PROD_B]}]
    rotations = {"failedRotations": [{"switched": 1, "failed": False}, {"failed": True, "failures": failures}]}
    assert original_error(rotations) == {"Error": "AwsCallFailed", "Cause": "denied"}
    # A batch whose Lambda failed as a whole ("Record the failed batch"): its own error.
    whole = {"accounts": [PROD_A, PROD_B], "failed": True, "error": {"Error": "Sandbox.Timedout", "Cause": "t"}}
    assert original_error({"failedRotations": [whole]}) == {"Error": "Sandbox.Timedout", "Cause": "t"}
    assert original_error({"failedRotations": []}) == {"Error": "RotationFailed", "Cause": ""}
    assert original_error({}) == {"Error": "States.TaskFailed", "Cause": ""}


# --- a version this promotion started that is still STARTING -------------------------------------


def starting(world: FakeWorld) -> PromotionPlan:
    """Started, and still STARTING when the promotion failed (ModelStartTimedOut): nothing granted or moved."""
    plan = locked_plan(config(), "qa", V3)
    start_model(plan)
    assert world.versions[V3] == "STARTING"
    return plan


def test_a_starting_version_is_waited_for_before_anything_changes(world: FakeWorld) -> None:
    plan = starting(world)
    pointers, grants = dict(world.pointers), world.granted(QA_ROLE)
    with pytest.raises(ModelStillStarting, match=r"tools/v3 is still STARTING.*runs again every 60 s"):
        compensate(plan, config(), FAILED, retry_count=quotas.COMPENSATION_START_RETRIES - 1)
    assert world.pointers == pointers and world.granted(QA_ROLE) == grants and world.versions[V3] == "STARTING"

    # The state machine runs it again; by then the start has ended, and the version is stopped.
    world.versions[V3] = "RUNNING"
    compensation = compensate(plan, config(), FAILED, retry_count=quotas.COMPENSATION_START_RETRIES - 1)
    assert compensation.stopped and compensation.left_running_why is None
    assert world.versions[V3] == "STOPPED"


def test_a_version_still_starting_at_the_last_retry_is_left_with_why(world: FakeWorld) -> None:
    plan = starting(world)
    compensation = compensate(plan, config(), FAILED, retry_count=quotas.COMPENSATION_START_RETRIES)
    assert not compensation.stopped and world.versions[V3] == "STARTING"
    assert str(compensation.left_running_why).startswith(
        f"still STARTING after {quotas.COMPENSATION_START_RETRIES} looks a minute apart, "
        "and a start under way cannot be stopped"
    )


def test_a_compensation_that_is_not_retried_leaves_a_starting_version_with_why(world: FakeWorld) -> None:
    """ReleaseAbandoned (an aborted or timed-out execution) runs once, outside the state machine's Retry."""
    compensation = compensate(starting(world), config(), FAILED)
    assert not compensation.stopped and str(compensation.left_running_why).startswith("still STARTING, and")


def test_a_version_that_was_starting_before_the_promotion_is_not_waited_for(world: FakeWorld) -> None:
    world.versions[V3] = "STARTING"  # someone else's start: not this promotion's to stop
    plan = locked_plan(config(), "qa", V3)
    compensation = compensate(plan, config(), FAILED, retry_count=0)
    assert not compensation.stopped and world.versions[V3] == "STARTING"
