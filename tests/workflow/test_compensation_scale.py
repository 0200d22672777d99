"""Compensation finishes within its Lambda timeout at scale: accounts restored side by side (issue 11, item 8)."""

from __future__ import annotations

from typing import Any


def test_compensation_restores_many_accounts_within_its_timeout_when_calls_take_time(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    # Every AWS call takes 3 simulated seconds. Putting 12 accounts back one after another (assume the
    # writer role, read, write, label: 4 calls each) takes 144 s, past the compensation's 120 s; side
    # by side, as the fan-out does, it takes a fraction of it.
    accounts = [f"{700_000_000_000 + i}" for i in range(12)]
    config = {"environments": {"prod": {"accounts": accounts}}}
    faults = [
        {"service": "ssm", "operation": "PutParameter", "error": "AccessDeniedException", "account": accounts[-1]}
    ]
    with worlds.emulator(config=config, world={"awsCallSeconds": 3}, faults=faults) as emu:
        before = emu.world()
        emu.inject(worlds.scenario(config=config, faults=faults).faults)
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        after = emu.world()
        failures = [e["lambdaFunctionFailedEventDetails"] for e in emu.history(result.execution_arn)
                    if e["type"] == "LambdaFunctionFailed"]  # fmt: skip
        timed_out = [f for f in failures if f["error"] == "Sandbox.Timedout"]

    assert result.error == "AwsCallFailed" and accounts[-1] in (result.cause or ""), result.as_json()
    assert timed_out == []
    assert sorted(result.compensation["restored"]) == accounts[:-1]
    assert after == before  # every account back on v1, v2's grant in prod revoked
