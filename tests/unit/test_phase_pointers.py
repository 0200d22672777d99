"""Confirm the version serves, rotate each pointer, watch the rollback alarms
(mlpromote.phases.pointers), branch by branch."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from phase_fakes import PROD_A, PROD_B, QA, V1, V2, FakeWorld, config, locked_plan, standard_world

from mlpromote.clock import now
from mlpromote.errors import AwsCallFailed, RolledBackOnAlarm, TransientAwsError, VersionNoLongerServing
from mlpromote.phases.pointers import confirm_serving, rotate_batch, rotate_pointer, watch_alarms
from mlpromote.results import RESULT_CAUSE_CHARACTERS, Watch


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def test_a_running_granted_version_serves(world: FakeWorld) -> None:
    assert confirm_serving(locked_plan(config(), "qa", V2)).status == "RUNNING"


def test_a_version_stopped_after_its_smoke_test_is_refused_before_any_pointer_moves(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V2)
    world.versions[V2] = "STOPPED"
    with pytest.raises(VersionNoLongerServing, match="tools/v2 is STOPPED after its smoke test"):
        confirm_serving(plan)
    assert world.pointers[QA] == V2 and not [w for w in world.writes if w.startswith("pointer")]


def test_a_version_whose_grant_was_removed_is_refused(world: FakeWorld) -> None:
    plan = locked_plan(config(), "qa", V2)
    world.grants.clear()
    with pytest.raises(VersionNoLongerServing, match="is no longer granted by mlpromote-access-qa"):
        confirm_serving(plan)


def test_the_rotation_moves_exactly_that_accounts_pointer(world: FakeWorld) -> None:
    assert rotate_pointer(locked_plan(config(), "prod", V2), PROD_A) == 2
    assert world.pointers == {QA: V2, PROD_A: V2, PROD_B: V1}


def test_a_batch_switches_every_account_it_can_and_reports_the_others_grouped_by_error(world: FakeWorld) -> None:
    extra = ["777777777771", "777777777772", "777777777773"]
    plan = locked_plan(config(), "prod", V2)
    denied = AwsCallFailed("denied", "PutParameter", "AccessDeniedException", "not authorized " + "x" * 300)
    world.write_failures.update({extra[0]: denied, extra[2]: denied, PROD_B: AwsCallFailed("gone", "PutParameter")})

    rotation = rotate_batch(plan, [PROD_A, PROD_B, *extra])

    assert (rotation.switched, rotation.failed) == (2, True)
    assert [(f.error, f.accounts) for f in rotation.failures] == [("AwsCallFailed", [PROD_B, extra[0], extra[2]])]
    # One cause per error (the first account's, sorted), short: every account failing stays small.
    assert rotation.first_error == {"Error": "AwsCallFailed", "Cause": rotation.failures[0].cause}
    assert "error" not in rotation.dump() and "accounts" not in rotation.dump()  # each batch's result stays small
    assert world.pointers[PROD_A] == V2 and world.pointers[extra[1]] == V2 and world.pointers[PROD_B] == V1
    assert len(rotation.failures[0].cause) <= RESULT_CAUSE_CHARACTERS


def test_a_transient_error_in_one_account_retries_the_whole_batch_once_all_are_done(world: FakeWorld) -> None:
    world.write_failures[PROD_B] = TransientAwsError("throttled", "PutParameter", "ThrottlingException")
    with pytest.raises(TransientAwsError):
        rotate_batch(locked_plan(config(), "prod", V2), [PROD_A, PROD_B])
    assert world.pointers[PROD_A] == V2  # done before the error was raised; the retry writes it again


def test_the_first_look_starts_the_bake_and_waits_one_alarm_poll(world: FakeWorld) -> None:
    plan = locked_plan(config(), "prod", V2)
    watch = watch_alarms(plan, None)
    assert not watch.done and watch.wait_seconds == plan.alarm_poll_seconds
    remaining = (datetime.fromisoformat(watch.until) - now()).total_seconds()
    assert plan.bake_seconds - 5 < remaining <= plan.bake_seconds


def test_the_bake_ends_at_its_deadline(world: FakeWorld) -> None:
    plan = locked_plan(config(), "prod", V2)
    almost = Watch(until=(now() + timedelta(seconds=10)).isoformat(), done=False, wait_seconds=60)
    assert watch_alarms(plan, almost).wait_seconds <= 10
    past = Watch(until=(now() - timedelta(seconds=1)).isoformat(), done=False, wait_seconds=60)
    assert watch_alarms(plan, past).done


def test_an_alarm_in_one_account_rolls_the_environment_back(world: FakeWorld) -> None:
    plan = locked_plan(config(), "prod", V2)
    world.alarms[PROD_B]["Errors"] = True
    with pytest.raises(RolledBackOnAlarm, match=f"Errors in {PROD_B} went to ALARM .* putting it back on tools/v1"):
        watch_alarms(plan, None)


def test_an_environment_without_rollback_alarms_reads_none_and_bakes_for_no_time(world: FakeWorld) -> None:
    world.alarms[QA] = {"Errors": True}  # not one of qa's rollback alarms (it has none)
    assert watch_alarms(locked_plan(config(), "qa", V2), None).done
