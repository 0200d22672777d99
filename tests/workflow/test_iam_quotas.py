"""IAM's size quotas in the rehearsal: a role's trust policy, and all its inline policies together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import scenario_data
from mlpromote_emulator.scenario import InvalidScenario, parse_scenario

WIDE = [f"{500_000_000_000 + i}" for i in range(70)]  # a trust policy of about 2,400 characters


def test_an_access_role_trust_over_the_quota_is_refused_until_the_quota_is_raised() -> None:
    data = scenario_data(config={"environments": {"prod": {"accounts": WIDE}}})
    with pytest.raises(InvalidScenario, match=r"world.trustPolicyMaxChars: the access role of prod .* over IAM's 2048"):
        parse_scenario(data, base=Path("."))
    raised = scenario_data(config={"environments": {"prod": {"accounts": WIDE}}}, world={"trustPolicyMaxChars": 4096})
    assert parse_scenario(raised, base=Path(".")).world.trust_policy_max_chars == 4096
    with pytest.raises(InvalidScenario, match="trustPolicyMaxChars"):
        parse_scenario(scenario_data(world={"trustPolicyMaxChars": 8192}), base=Path("."))


def _near_the_limit(worlds: Any) -> tuple[dict[str, Any], int]:
    """A world whose prod access role grants so many versions that one more fits in mlpromote-grants
    alone, but not with the role's other inline policy (mlpromote-smoke-test-images)."""
    from mlpromote import iam_model
    from mlpromote.grants import INLINE_POLICY_LIMIT, GrantPolicy, policy_size
    from mlpromote_emulator.world import WorldMap

    for count in range(30, 80):
        old = {f"tools/old{i}": {"status": "STOPPED", "labels": ["hammer"]} for i in range(count)}
        world = {"versions": old, "grants": {"prod": ["tools/v1", *old]}}
        scenario = worlds.scenario(world=world)
        names = WorldMap(scenario)
        policy = GrantPolicy()
        for label in ["tools/v1", *old, "tools/v2"]:
            policy.grant(names.arn(label, scenario.config))
        grants = policy_size(policy.document())
        images = policy_size(iam_model.smoke_test_images_policy(scenario.config))
        if grants <= INLINE_POLICY_LIMIT < grants + images:
            return world, count
    raise AssertionError("no number of grants lands between the two sizes")


def test_grant_counts_every_inline_policy_of_the_access_role(worlds: Any) -> None:
    """Issue 11 item 5: the grant would fit alone, not with mlpromote-smoke-test-images. IAM answers
    LimitExceeded; the user gets GrantPolicyTooLarge, naming both policies, and nothing changes."""
    from mlpromote_emulator.scenario import PromotionSpec

    world, count = _near_the_limit(worlds)
    with worlds.emulator(world=world) as emu:
        before = emu.world()
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        after = emu.world()

    assert (result.status, result.error) == ("FAILED", "GrantPolicyTooLarge"), result.as_json()
    assert "mlpromote-smoke-test-images" in str(result.cause) and f"grants {count + 1} versions" in str(result.cause)
    assert after == before
