"""A copy environment's state grows by account ids only (issue 12 item 3 at issue 13's scale): the plan keeps
what each account points at by the source version of its copy, not by the copy's ARN (one per account, each
naming its account and its own creation time), so the state, the history record and the events stay small.

Measured as tests/workflow/test_fan_out_growth.py measures a share environment: an OU copy environment of 2
and of 6 accounts, in one batch each, with every account already on its copy of v1; three promotions each:
every smoke test failing and every rotation failing (both compensated: every pointer back on its own copy,
the world as it was), then one that succeeds. The growth per account is extrapolated to 1,000 accounts,
which stays under half of Step Functions' quotas (128 KB of state, 12,500 events). With
MLPROMOTE_COPY_SCALE_ACCOUNTS set (e.g. 300), an OU copy environment of that many accounts is promoted,
compensated and measured once (minutes of emulator; not part of the default run).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from mlpromote_emulator.runtime import largest_state_bytes

HALF_STATE_QUOTA = 128 * 1024
HALF_HISTORY_QUOTA = 12_500
PATHS = ("everySmokeTestFails", "everyRotationFails", "promoted")
ORG, MANAGEMENT, PROD_OU = "o-a1b2c3d4e5", "999999999999", "ou-ab12-prod0001"
# With the default accountsPerBatch (25): 1,000 accounts are 40 batches.
AT_SCALE, PER_BATCH = 1_000, 25


def _copy_world(worlds: Any, accounts: int, per_batch: int) -> Any:
    prod = [f"{600_000_000_000 + i}" for i in range(accounts)]
    config = {
        "organizationId": ORG,
        "organizationReaderRoleArn": f"arn:aws:iam::{MANAGEMENT}:role/mlpromote-organization-reader",
        "environments": {"prod": {"accounts": None, "organizationalUnits": [PROD_OU], "strategy": "copy"}},
        "workflow": {"accountsPerBatch": per_batch},
    }
    world = {
        "organization": {PROD_OU: {"accounts": prod}},
        "versions": {"tools/v4": {"status": "TRAINING_COMPLETED", "labels": ["cat"]}},  # fails its smoke test
        "live": {"prod": ["tools/v1"], "qa": ["tools/v2"]},
        "iamPropagationSeconds": 0,
        "copySeconds": 30,
        "startSeconds": 30,
    }
    return prod, worlds.emulator(config=worlds.merge({}, config), world=world)


def _measure(worlds: Any, accounts: int, per_batch: int) -> dict[str, tuple[int, int]]:
    """(history events, largest state bytes) of each path."""
    from mlpromote_emulator import moto_adaptations
    from mlpromote_emulator.scenario import PromotionSpec

    prod, emulator = _copy_world(worlds, accounts, per_batch)
    measured = {}
    with emulator as emu:
        before = emu.world()
        assert before["parameters"]["prod"]["tools"] == dict.fromkeys(prod, "tools/v1")
        pointers = {
            a: moto_adaptations.parameter_value(a, emu.config.region, "/mlpromote/tools/model-arn") for a in prod
        }
        for path in PATHS:
            version = "tools/v4" if path == "everySmokeTestFails" else "tools/v2"
            if path == "everyRotationFails":
                fault = moto_adaptations.Fault("ssm", "PutParameter", "AccessDeniedException", count=accounts)
                moto_adaptations.hooks.faults.append(fault)
            result = emu.promote(PromotionSpec(environment="prod", version=version))
            expected = {"promoted": ("SUCCEEDED", None), "everySmokeTestFails": ("FAILED", "SmokeTestFailed")}
            assert (result.status, result.error) == expected.get(path, ("FAILED", "AwsCallFailed")), result.as_json()
            if path != "promoted":
                after = emu.world()
                # Compensated: each account back on its own copy of v1, by its exact ARN.
                assert after["parameters"] == before["parameters"], path
                for account in prod:
                    value = moto_adaptations.parameter_value(account, emu.config.region, "/mlpromote/tools/model-arn")
                    assert value == pointers[account], (path, account)
            events = emu.history(result.execution_arn)
            [record] = [r for r in emu.history_records()["prod"] if r["promotionId"] == result.execution_arn]
            # The record says each account left (its copy of) v1.
            assert {a["from"] for a in record["accounts"]} == {"tools/v1"}, record
            measured[path] = (len(events), largest_state_bytes(events))
            print(
                f"copy, {accounts} accounts in batches of {per_batch}, {path}: {measured[path]} (events, state bytes)"
            )
        after = emu.world()
        assert after["parameters"]["prod"]["tools"] == dict.fromkeys(prod, "tools/v2")
        assert {a: c["tools/v2"] for a, c in after["copies"].items()} == dict.fromkeys(prod, "RUNNING")
    return measured


def test_a_copy_environments_state_grows_by_account_ids_only(worlds: Any) -> None:
    two = _measure(worlds, 2, 6)
    six = _measure(worlds, 6, 6)
    for path in PATHS:
        assert six[path][0] == two[path][0], (path, two, six)  # one batch either way: the same history
        per_account = (six[path][1] - two[path][1]) / 4
        at_scale = two[path][1] + per_account * (AT_SCALE - 2)
        print(
            f"copy {path}: {two[path]}, {six[path]} (events, state bytes): {per_account:.0f} bytes per account "
            f"-> {at_scale:.0f} state bytes at {AT_SCALE}"
        )
        # An account id is 12 digits, quoted, with a comma (15 bytes): the plan names each account in its
        # batch and in its pointing group; a copy's ARN (about 90 characters) in each group would be
        # several times that.
        assert per_account <= 5 * 15, (path, two, six, per_account)
        assert at_scale < HALF_STATE_QUOTA, (path, at_scale)


@pytest.mark.skipif(
    not os.environ.get("MLPROMOTE_COPY_SCALE_ACCOUNTS"),
    reason="set MLPROMOTE_COPY_SCALE_ACCOUNTS (e.g. 300) to promote an OU copy environment of that many accounts",
)
def test_an_ou_copy_environment_at_scale_stays_under_half_the_quotas(
    worlds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlpromote_emulator import runtime

    accounts = int(os.environ["MLPROMOTE_COPY_SCALE_ACCOUNTS"])
    # Wall-clock time on the emulator, not a quota: hundreds of accounts take minutes per promotion.
    monkeypatch.setattr(runtime, "EXECUTION_DEADLINE_SECONDS", 7200.0)
    measured = _measure(worlds, accounts, PER_BATCH)
    for path, (events, state) in measured.items():
        print(f"copy at {accounts} accounts, {path}: {events} events, {state} state bytes")
        assert events < HALF_HISTORY_QUOTA and state < HALF_STATE_QUOTA, (path, measured)
