"""The execution's state stays bounded whatever fails (issue 11, item 6): short causes, each failure once."""

from __future__ import annotations

import json
from typing import Any

from mlpromote.handler import RESULT_CAUSE_CHARACTERS


def _every_rotation_fails(
    worlds: Any, accounts: list[str], per_batch: int | None = None
) -> tuple[Any, dict[str, Any], list[dict[str, Any]]]:
    from mlpromote_emulator.scenario import PromotionSpec

    faults = [{"service": "ssm", "operation": "PutParameter", "error": "AccessDeniedException", "count": 1000}]
    config: dict[str, Any] = {"environments": {"prod": {"accounts": accounts}}}
    if per_batch:
        config["workflow"] = {"accountsPerBatch": per_batch}
    live = {"prod": ["tools/v1"], "qa": ["tools/v2"]}
    # Past about 55 accounts the access role's trust policy needs IAM's raised quota.
    world = {"live": live, "trustPolicyMaxChars": 4096}
    with worlds.emulator(config=config, world=world, faults=faults) as emu:
        before = emu.world()
        emu.inject(worlds.scenario(config=config, world=world, faults=faults).faults)
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        events = emu.history(result.execution_arn)
        assert emu.world() == before  # compensated: the grant revoked, nothing else had changed
    return result, before, events


def _state_entering(events: list[dict[str, Any]], name: str) -> dict[str, Any]:
    entered = next(e for e in events if e.get("stateEnteredEventDetails", {}).get("name") == name)
    return dict(json.loads(entered["stateEnteredEventDetails"]["input"]))


def test_each_failed_rotation_is_kept_once_grouped_by_error_with_a_short_cause(worlds: Any) -> None:
    accounts = [f"{600_000_000_000 + i}" for i in range(5)]
    result, _, events = _every_rotation_fails(worlds, accounts, per_batch=2)

    assert result.error == "AwsCallFailed" and "AccessDenied" in (result.cause or ""), result.as_json()
    state = _state_entering(events, "Compensate")
    rotations = state["rotations"]["all"]  # one per batch: 2, 2 and 1 accounts
    assert [r["switched"] for r in rotations] == [0, 0, 0] and all(r["failed"] for r in rotations)
    assert [[(f["error"], f["accounts"]) for f in r["failures"]] for r in rotations] == [
        [("AwsCallFailed", accounts[0:2])],
        [("AwsCallFailed", accounts[2:4])],
        [("AwsCallFailed", accounts[4:])],
    ]
    assert all(len(f["cause"]) <= RESULT_CAUSE_CHARACTERS for r in rotations for f in r["failures"])
    # The promotion's error is the first failed account's: one record, not a second copy of them all.
    assert state["error"]["failedRotations"] == [rotations[0]]
