"""What a promotion costs in AWS calls and state transitions: counted, never timed.

The lower bound is documented in docs/benchmarks.md; bench/run.py reports the same counts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

PROD = ["333333333333", "444444444444", "555555555555"]


@pytest.mark.parametrize("accounts", [1, 3])
def test_promoting_a_running_version_makes_only_the_necessary_calls(promote: Any, accounts: int) -> None:
    (result,), world = promote(
        ("prod", "tools/v2"),
        config={"environments": {"prod": {"accounts": PROD[:accounts]}}},
        world={"iamPropagationSeconds": 0},
    )

    assert result.status == "SUCCEEDED", result.as_json()
    assert set(world["parameters"]["prod"]["tools"].values()) == {"tools/v2"}
    calls = Counter(f"{c.service}:{c.operation}" for c in promote.calls)
    assert calls == {
        "rekognition:DescribeProjects": 1,  # the project ARN (version ARNs do not contain it)
        # The version exists and is promotable (plan); its status under the lock (take); still RUNNING
        # right before the switch (confirm serving).
        "rekognition:DescribeProjectVersions": 3,
        # Under the lock, smoke test (x2: target role, access role), rotate; qa in retire.
        "sts:AssumeRole": accounts * 4 + 1,
        "ssm:GetParameter": accounts + 1,  # each pointer once, under the lock; qa's in retire, before stopping v1
        # Grant (mlpromote-grants and, for IAM's aggregate size, mlpromote-smoke-test-images), still granted
        # before the switch, revoke.
        "iam:GetRolePolicy": 4,
        "iam:ListRolePolicies": 1,  # grant: the role's other inline policies count in IAM's 10,240
        "iam:PutRolePolicy": 2,
        "rekognition:DetectCustomLabels": accounts,  # one smoke-test image
        "ssm:PutParameter": accounts,
        "ssm:LabelParameterVersion": accounts,
        "rekognition:StopProjectVersion": 1,  # v1, live nowhere any more
        # Lock + record opened + v2 leased; under the lock, the record's `from` + v1 leased; record closed
        # + lock and leases released.
        "dynamodb:TransactWriteItems": 3,
        "dynamodb:UpdateItem": 2,  # retire: claim the stop of v1 (no other promotion leases it), clear the claim
        "events:PutEvents": 2,  # Model Promotion Started, Model Promotion Succeeded
        # ReleaseAbandoned, on the status-change event of every ending: who holds the lock (nobody any
        # more), and the approval to close (none).
        "dynamodb:GetItem": 2,
    }
    # Validate, take, choice, grant, smoke Map, approval choice, confirm serving, rotate Map,
    # did-all-switch choice, retire, record, did-it-succeed choice, succeed; and 2 per batch of accounts
    # (one task in each Map): up to 25 accounts are one batch. No approval gate and no bake time here.
    # The rollout loop: "Begin with the first wave" once, then per wave "Take up the next wave", "Does
    # the wave require approval?", "Switch the wave" and "Is there another wave?" (one wave here).
    assert result.state_transitions == 13 + 2 * 1 + 1 + 4 * 1


def test_the_handlers_publish_step_metrics(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(world={"iamPropagationSeconds": 0}) as emu:
        emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        metrics = emu.metrics()
    # The promotion's own metrics go out twice: per environment and for the whole control plane.
    assert metrics.pop("PromotionDuration") > 0
    assert metrics == {
        "PromotionsStarted": 2,
        "PromotionsSucceeded": 2,
        "ValidateAndPlanSucceeded": 1,
        "GrantAccessSucceeded": 1,
        "SmokeTestSucceeded": 1,  # both accounts in one batch: one invocation
        "RotatePointerSucceeded": 1,
        "RetireSupersededSucceeded": 1,
        "TakeEnvironmentSucceeded": 1,
        "ConfirmServingSucceeded": 1,
        "RecordOutcomeSucceeded": 1,
        # Every ending's status-change event reaches ReleaseAbandoned, as on AWS: nothing left to do here.
        "ReleaseAbandonedSucceeded": 1,
    }


def test_the_largest_environment_stays_within_the_step_functions_payload_limit(worlds: Any) -> None:
    """Measure the state's size at 5 and 25 accounts; the growth per account must let the cap fit in 256 KB."""
    from mlpromote.config import Environment
    from mlpromote_emulator.scenario import PromotionSpec

    def largest_state(accounts: int) -> int:
        prod = [f"{600_000_000_000 + i}" for i in range(accounts)]
        with worlds.emulator(config={"environments": {"prod": {"accounts": prod}}}) as emu:
            result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
            events = emu.history(result.execution_arn)
        assert result.status == "SUCCEEDED"
        payloads = [
            details.get("input", details.get("output", ""))
            for event in events
            for details in [event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}]
        ]
        return max(len(p.encode()) for p in payloads)

    small, large = largest_state(5), largest_state(25)
    per_account = (large - small) / 20
    most = next(m.max_length for m in Environment.model_fields["accounts"].metadata if hasattr(m, "max_length"))
    assert small + per_account * (most - 5) < 256 * 1024, f"{per_account:.0f} bytes per account"
