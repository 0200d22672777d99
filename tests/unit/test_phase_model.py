"""Start the model version and poll its status (mlpromote.phases.model), branch by branch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from phase_fakes import V1, V3, FakeWorld, config, locked_plan, standard_world

from mlpromote.clock import now
from mlpromote.errors import ModelStartFailed, ModelStartTimedOut
from mlpromote.phases.model import check_model_status, poll_delay, start_model
from mlpromote.results import ModelStart


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def test_first_status_check_waits_several_intervals_then_one() -> None:
    assert poll_delay(0, 30, 1800) == 120
    assert poll_delay(119, 30, 1800) == 120
    assert poll_delay(120, 30, 1800) == 30
    assert poll_delay(900, 30, 1800) == 30


def test_never_waits_past_the_cap_by_more_than_a_second() -> None:
    assert poll_delay(1790, 30, 1800) == 11
    assert poll_delay(1800, 30, 1800) == 1


def test_a_version_that_is_not_serving_is_started(world: FakeWorld) -> None:
    start = start_model(locked_plan(config(), "qa", V3))
    assert start.started_by_this_execution and world.started == [V3] and world.versions[V3] == "STARTING"
    assert (start.status, start.wait_seconds) == ("STARTING", 120)


def test_a_running_version_is_not_started_again(world: FakeWorld) -> None:
    start = start_model(locked_plan(config(), "qa", V1))
    assert not start.started_by_this_execution and world.started == []


def started(seconds_ago: float) -> ModelStart:
    at = (now() - timedelta(seconds=seconds_ago)).isoformat()
    return ModelStart(started_by_this_execution=True, started_at=at, status="STARTING", wait_seconds=120)


def test_running_ends_the_polling(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V3)
    world.versions[V3] = "RUNNING"
    status = check_model_status(plan, started(300))
    assert (status.status, status.wait_seconds, status.started_by_this_execution) == ("RUNNING", 0, True)


def test_starting_waits_one_interval_after_the_first_check(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V3)
    world.versions[V3] = "STARTING"
    assert check_model_status(plan, started(300)).wait_seconds == plan.start_poll_seconds


def test_a_failed_start_says_why(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V3)
    world.versions[V3] = "FAILED"
    with pytest.raises(ModelStartFailed, match=r"tools/v3 failed to start after .* out of capacity"):
        check_model_status(plan, started(60))


def test_a_version_stopped_by_something_else_while_starting_fails(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V3)
    world.versions[V3] = "STOPPED"
    with pytest.raises(ModelStartFailed, match="went to STOPPED while starting"):
        check_model_status(plan, started(60))


def test_a_start_past_the_cap_times_out(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V3)
    world.versions[V3] = "STARTING"
    with pytest.raises(ModelStartTimedOut, match=r"raise workflow\.startTimeoutMinutes"):
        check_model_status(plan, started(plan.start_timeout_seconds + 1))
