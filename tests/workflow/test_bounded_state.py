"""The execution's state stays bounded whatever fails (issue 11, item 6): short causes, each failure once."""

from __future__ import annotations

import json
from typing import Any

from mlpromote.handler import RESULT_CAUSE_CHARACTERS
from mlpromote_emulator.runtime import largest_state_bytes

STATE_QUOTA = 256 * 1024
ENVIRONMENT_CAP = 500


def _every_rotation_fails(worlds: Any, accounts: list[str]) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    from mlpromote_emulator.scenario import PromotionSpec

    faults = [{"service": "ssm", "operation": "PutParameter", "error": "AccessDeniedException", "count": 1000}]
    config = {"environments": {"prod": {"accounts": accounts}}}
    live = {"prod": ["tools/v1"], "qa": ["tools/v2"]}
    with worlds.emulator(config=config, world={"live": live}, faults=faults) as emu:
        before = emu.world()
        emu.inject(worlds.scenario(config=config, faults=faults).faults)
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        events = emu.history(result.execution_arn)
        assert emu.world() == before  # compensated: the grant revoked, nothing else had changed
    return result, before, events


def _state_entering(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    entered = next(e for e in events if e.get("stateEnteredEventDetails", {}).get("name") == name)
    return dict(json.loads(entered["stateEnteredEventDetails"]["input"]))


def test_each_failed_rotation_is_kept_once_with_a_short_cause(worlds: Any) -> None:
    accounts = [f"{600_000_000_000 + i}" for i in range(5)]
    result, _, events = _every_rotation_fails(worlds, accounts)

    assert result.error == "AwsCallFailed" and "AccessDenied" in (result.cause or ""), result.as_json()
    state = _state_entering(events, "Compensate")
    rotations = state["rotations"]["all"]
    assert sorted(r["account"] for r in rotations) == accounts and all(r["failed"] for r in rotations)
    assert all(len(r["error"]["Cause"]) <= RESULT_CAUSE_CHARACTERS for r in rotations)
    # The promotion's error is the first failed account's: one record, not a second copy of them all.
    assert state["error"]["failedRotations"] == [rotations[0]]


def test_every_account_failing_grows_the_state_slowly_enough_for_the_environment_cap(worlds: Any) -> None:
    # The state grows with the accounts (the plan, the smoke tests, the rotations): measured at 40, it
    # must fit 256 KB at the 500 an environment may have (make bench measures 500 itself). Kept twice
    # with the runtime's ~1 KB causes, 500 failures alone would pass it several times over.
    accounts = [f"{600_000_000_000 + i}" for i in range(40)]
    result, _, events = _every_rotation_fails(worlds, accounts)

    assert result.status == "FAILED" and result.error == "AwsCallFailed", result.as_json()
    assert result.compensation is not None and result.compensation["revoked"] is True
    per_account = largest_state_bytes(events) / len(accounts)  # the fixed part counted in, generously
    assert per_account * ENVIRONMENT_CAP < STATE_QUOTA, per_account
