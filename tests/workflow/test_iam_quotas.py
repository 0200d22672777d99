"""IAM's size quotas in the rehearsal: a role's trust policy, and all its inline policies together."""

from __future__ import annotations

from pathlib import Path

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
