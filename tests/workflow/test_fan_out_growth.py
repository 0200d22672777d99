"""The history grows with the fan-out's batches, not its accounts, and the state by a few bytes per
account (issue 13, item 3): measured on small worlds with batches of 2, extrapolated to the most accounts
an environment may have (config.MAX_ACCOUNTS_PER_ENVIRONMENT) in batches of the default size, every
path stays under half of Step Functions' quotas: 128 KB per state, 12,500 history events.

Three worlds: 2 accounts in 1 batch, 6 accounts in 3 batches, 6 accounts in 1 batch. In each, three
promotions: every smoke test failing, every rotation failing (both compensated, the world back as it
was), then a promotion that succeeds. tests/workflow/test_thousand_accounts.py runs 1,000 accounts.
"""

from __future__ import annotations

import math
from typing import Any

from mlpromote.config import MAX_ACCOUNTS_PER_ENVIRONMENT, Workflow
from mlpromote_emulator.runtime import largest_state_bytes

HALF_STATE_QUOTA = 128 * 1024
HALF_HISTORY_QUOTA = 12_500
PATHS = ("everySmokeTestFails", "everyRotationFails", "promoted")


def _measure(worlds: Any, accounts: int, per_batch: int) -> dict[str, tuple[int, int]]:
    """(history events, largest state bytes) of each path, in a world of `accounts` in batches of `per_batch`."""
    from mlpromote_emulator import moto_adaptations
    from mlpromote_emulator.scenario import PromotionSpec

    prod = [f"{600_000_000_000 + i}" for i in range(accounts)]
    config = {"environments": {"prod": {"accounts": prod}}, "workflow": {"accountsPerBatch": per_batch}}
    world = {
        "versions": {"tools/v4": {"status": "RUNNING", "labels": ["cat"]}},  # finds no hammer: fails its smoke test
        "live": {"prod": ["tools/v1"], "qa": ["tools/v2"]},
        "iamPropagationSeconds": 0,
    }
    measured = {}
    with worlds.emulator(config=config, world=world) as emu:
        before = emu.world()
        for path in PATHS:
            version = "tools/v4" if path == "everySmokeTestFails" else "tools/v2"
            if path == "everyRotationFails":
                fault = moto_adaptations.Fault("ssm", "PutParameter", "AccessDeniedException", count=accounts)
                moto_adaptations.hooks.faults.append(fault)
            result = emu.promote(PromotionSpec(environment="prod", version=version))
            expected = ("SUCCEEDED", None) if path == "promoted" else ("FAILED", "AwsCallFailed")
            if path == "everySmokeTestFails":
                expected = ("FAILED", "SmokeTestFailed")
            assert (result.status, result.error) == expected, (path, result.as_json())
            if path != "promoted":
                assert emu.world() == before, path  # compensated
            events = emu.history(result.execution_arn)
            measured[path] = (len(events), largest_state_bytes(events))
        assert emu.world()["parameters"]["prod"]["tools"] == dict.fromkeys(prod, "tools/v2")
    return measured


def test_the_history_grows_with_the_batches_and_every_path_fits_half_the_quotas_at_the_cap(worlds: Any) -> None:
    one = _measure(worlds, 2, 2)  # 2 accounts, 1 batch
    three = _measure(worlds, 6, 2)  # 6 accounts, 3 batches
    wide = _measure(worlds, 6, 6)  # 6 accounts, 1 batch

    batches_at_cap = math.ceil(MAX_ACCOUNTS_PER_ENVIRONMENT / Workflow().batch_size)
    for path in PATHS:
        # Three times the accounts in one batch: the same history.
        assert wide[path][0] == one[path][0], (path, one, wide)
        per_batch_events = (three[path][0] - one[path][0]) / 2
        assert per_batch_events <= 2 * 7, (path, per_batch_events)  # both Maps: 7 events per iteration
        events_at_cap = one[path][0] + per_batch_events * (batches_at_cap - 1)
        per_account_bytes = (wide[path][1] - one[path][1]) / 4
        per_batch_bytes = max(0.0, (three[path][1] - wide[path][1]) / 2)
        bytes_at_cap = (
            one[path][1]
            + per_account_bytes * (MAX_ACCOUNTS_PER_ENVIRONMENT - 2)
            + per_batch_bytes * (batches_at_cap - 1)
        )
        print(
            f"{path}: {one[path]}, {three[path]}, {wide[path]} (events, bytes) -> "
            f"at the cap {events_at_cap:.0f} events, {bytes_at_cap:.0f} bytes"
        )
        assert events_at_cap < HALF_HISTORY_QUOTA, (path, one, three, events_at_cap)
        assert bytes_at_cap < HALF_STATE_QUOTA, (path, one, three, wide, bytes_at_cap)
