"""Retire the superseded version (mlpromote.phases.retire), branch by branch: revoked and stopped
only when nothing uses it."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from phase_fakes import OTHER, PROD_A, PROD_B, QA, V1, V2, FakeWorld, config, locked_plan, standard_world

from mlpromote.aws import sessions
from mlpromote.errors import TransientAwsError
from mlpromote.phases.pointers import rotate_pointer
from mlpromote.phases.retire import retire_superseded
from mlpromote.plan import PromotionPlan

PROD_ROLE = config().access_role_name("prod")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def switched(world: FakeWorld, **environment: object) -> PromotionPlan:
    """prod, promoted from v1 to v2: both pointers moved."""
    plan = locked_plan(config(**environment), "prod", V2)
    world.grants[PROD_ROLE].grant(V2)
    for account in (PROD_A, PROD_B):
        rotate_pointer(plan, account)
    return plan


def test_the_superseded_version_nothing_uses_is_revoked_and_stopped(world: FakeWorld) -> None:
    retirement = retire_superseded(switched(world), config())
    assert (retirement.revoked, retirement.stopped, retirement.left) == ([V1], [V1], [])
    assert world.granted(PROD_ROLE) == [V2] and world.versions[V1] == "STOPPED"
    assert world.leases[V1].get("stoppingBy") is None  # the stop mark is cleared


def test_a_superseded_version_live_in_another_environment_is_revoked_but_left_running(world: FakeWorld) -> None:
    plan = switched(world)
    world.pointers[QA] = V1
    retirement = retire_superseded(plan, config())
    assert retirement.revoked == [V1] and retirement.stopped == []
    [left] = retirement.left
    assert (left.version, left.granted, left.running, left.why) == (V1, False, True, f"still live in qa/{QA}")
    assert world.versions[V1] == "RUNNING"


def test_a_superseded_version_another_running_promotion_holds_is_left_running(world: FakeWorld) -> None:
    plan = switched(world)
    world.leases[V1]["holders"].add(OTHER)
    retirement = retire_superseded(plan, config())
    assert retirement.stopped == [] and OTHER in retirement.left[0].why
    # Done with it, this promotion lets go of its lease, so the other may stop it later.
    assert world.holders(V1) == {OTHER} and world.versions[V1] == "RUNNING"


def test_with_retire_superseded_false_nothing_is_revoked_or_stopped(world: FakeWorld) -> None:
    retirement = retire_superseded(switched(world, retireSuperseded=False), config())
    assert retirement.revoked == [] and retirement.stopped == []
    assert retirement.left[0].why == "retireSuperseded is false for prod"
    assert world.granted(PROD_ROLE) == sorted([V1, V2]) and world.versions[V1] == "RUNNING"


def test_nothing_superseded_retires_nothing(world: FakeWorld) -> None:
    retirement = retire_superseded(locked_plan(config(), "qa", V2), config())
    assert (retirement.revoked, retirement.stopped, retirement.left) == ([], [], [])


def test_a_stop_that_fails_leaves_the_version_with_why(world: FakeWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlpromote.aws import rekognition

    def refuse(arn: str) -> None:
        error = ClientError({"Error": {"Code": "ValidationException", "Message": "no"}}, "StopProjectVersion")
        raise sessions.translated(error, "rekognition StopProjectVersion")

    monkeypatch.setattr(rekognition, "stop_version", refuse)
    retirement = retire_superseded(switched(world), config())
    assert retirement.revoked == [V1] and retirement.stopped == []
    assert retirement.left[0].why.startswith("could not stop")


def test_a_throttled_stop_is_retried_by_the_workflow(world: FakeWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlpromote.aws import rekognition

    def throttled(arn: str) -> None:
        error = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "StopProjectVersion")
        raise sessions.translated(error, "rekognition StopProjectVersion")

    monkeypatch.setattr(rekognition, "stop_version", throttled)
    with pytest.raises(TransientAwsError):
        retire_superseded(switched(world), config())
