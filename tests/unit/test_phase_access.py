"""Grant access and smoke-test from each account (mlpromote.phases.access), branch by branch."""

from __future__ import annotations

from datetime import timedelta

import pytest
from botocore.exceptions import ClientError
from phase_fakes import PROD_A, PROD_B, V1, V2, V3, FakeWorld, config, locked_plan, standard_world

from mlpromote.aws import sessions
from mlpromote.clock import now
from mlpromote.errors import (
    AwsError,
    GrantNotYetEffective,
    ModelNotServing,
    SmokeTestAccessDenied,
    SmokeTestFailed,
    TransientAwsError,
)
from mlpromote.grants import SOURCE_VPCE
from mlpromote.phases.access import grant_access, smoke_test, smoke_test_batch
from mlpromote.results import Grant

PROD_ROLE = config().access_role_name("prod")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def test_the_version_is_granted_to_the_environments_access_role(world: FakeWorld) -> None:
    grant = grant_access(locked_plan(config(), "prod", V2))
    assert grant.added_by_this_execution and grant.granted_at
    assert world.granted(PROD_ROLE) == sorted([V1, V2])


def test_a_version_already_granted_is_not_granted_again(world: FakeWorld) -> None:
    grant = grant_access(locked_plan(config(), "qa", V2))
    assert not grant.added_by_this_execution and grant.granted_at is None
    assert not [write for write in world.writes if write.startswith("grants")]


def test_every_grant_follows_the_environments_vpc_endpoints(world: FakeWorld) -> None:
    endpoints = ["vpce-0123456789abcdef0"]
    grant_access(locked_plan(config(vpcEndpointIds=endpoints), "prod", V2))
    statements = world.grants[PROD_ROLE].statements
    assert {s["Resource"] for s in statements} == {V1, V2}
    assert all(s["Condition"] == {"StringEquals": {SOURCE_VPCE: endpoints}} for s in statements)


def granted(seconds_ago: float | None) -> Grant:
    at = None if seconds_ago is None else (now() - timedelta(seconds=seconds_ago)).isoformat()
    return Grant(added_by_this_execution=at is not None, granted_at=at)


def test_the_smoke_test_passes_when_the_model_finds_the_expected_labels(world: FakeWorld) -> None:
    assert smoke_test_batch(locked_plan(config(), "prod", V2), [PROD_A, PROD_B], granted(None)).accounts == 2


def test_a_batch_raises_the_failure_no_retry_mends_before_one_a_retry_may_mend(world: FakeWorld) -> None:
    # PROD_A is still waiting for IAM (retried), PROD_B's model misses its label (final): the batch
    # fails with PROD_B's, so the promotion is compensated at once instead of retrying the batch.
    world.smoke_failures[PROD_A] = GrantNotYetEffective(f"account {PROD_A}: denied 3 s after the grant")
    world.smoke_failures[PROD_B] = SmokeTestFailed(f"account {PROD_B}: did not find hammer")
    with pytest.raises(SmokeTestFailed, match=PROD_B):
        smoke_test_batch(locked_plan(config(), "prod", V2), [PROD_A, PROD_B], granted(1))
    del world.smoke_failures[PROD_B]
    with pytest.raises(GrantNotYetEffective, match=PROD_A):
        smoke_test_batch(locked_plan(config(), "prod", V2), [PROD_A, PROD_B], granted(1))


def test_a_model_that_misses_an_expected_label_fails_the_smoke_test_with_what_it_found(world: FakeWorld) -> None:
    world.answers[V2] = {"hammer": 40.0, "wrench": 90.0}
    with pytest.raises(SmokeTestFailed, match=r"did not find hammer at >= 50% .* found: hammer 40.0%, wrench 90.0%"):
        smoke_test(locked_plan(config(), "prod", V2), PROD_A, granted(None))


def denied(operation: str, code: str = "AccessDeniedException") -> AwsError:
    """What the adapter raises for AWS's refusal: the ClientError, translated."""
    return sessions.translated(
        ClientError({"Error": {"Code": code, "Message": "not authorized"}}, operation), operation
    )


def test_access_denied_right_after_the_grant_is_propagation_and_retried(world: FakeWorld) -> None:
    world.answers[V2] = denied("DetectCustomLabels")
    with pytest.raises(GrantNotYetEffective, match="IAM is still propagating it"):
        smoke_test(locked_plan(config(), "prod", V2), PROD_A, granted(1))


def test_access_denied_past_the_propagation_bound_names_the_access_roles_policy(world: FakeWorld) -> None:
    world.answers[V2] = denied("DetectCustomLabels")
    plan = locked_plan(config(), "prod", V2)
    with pytest.raises(SmokeTestAccessDenied, match=f"{PROD_ROLE} may not call tools/v2"):
        smoke_test(plan, PROD_A, granted(plan.grant_propagation_seconds + 1))


def test_a_refused_role_assumption_points_at_the_target_account_stack(world: FakeWorld) -> None:
    world.answers[V2] = denied("AssumeRole", "AccessDenied")
    with pytest.raises(SmokeTestAccessDenied, match=f"deploy the target-account stack in {PROD_A}"):
        smoke_test(locked_plan(config(), "prod", V2), PROD_A, granted(None))


def test_a_version_that_is_not_running_is_not_serving(world: FakeWorld) -> None:
    world.answers[V3] = denied("DetectCustomLabels", "ResourceNotReadyException")
    with pytest.raises(ModelNotServing, match=f"account {PROD_A}: tools/v3 is not running"):
        smoke_test(locked_plan(config(), "qa", V3), PROD_A, granted(None))


def test_a_throttled_call_is_transient(world: FakeWorld) -> None:
    world.answers[V2] = denied("DetectCustomLabels", "ThrottlingException")
    with pytest.raises(TransientAwsError, match="the workflow retries this"):
        smoke_test(locked_plan(config(), "prod", V2), PROD_A, granted(None))
