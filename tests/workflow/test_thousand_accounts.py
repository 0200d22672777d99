"""A thousand accounts within half of Step Functions' quotas (issue 13, item 3).

prod is an organizational unit with a child OU (the accounts split between them, so the plan's
recursive resolution is part of the run); its access role trusts by organization path, so its trust
policy stays within IAM's quota whatever the count. One promotion of every account, a rollback, and a
promotion with every account's rotation failing (compensated) run offline; after each, the whole world is
asserted, and so is the execution's largest state (under 128 KB, half the 256 KB quota) and its history
(under 12,500 events, half the 25,000). The fan-out runs one Lambda per batch of accounts, so the history
grows with the batches; tests/workflow/test_fan_out_growth.py proves the growth on small worlds in every run.

A run of 1,000 accounts takes many minutes of the emulator on a shared machine, so it runs at that size
when MLPROMOTE_SCALE_ACCOUNTS is set (`make scale` sets 1000); otherwise the same at 60 accounts.
MLPROMOTE_SCALE_REPORT names a file the measurements are written to (JSON), as well as printed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from mlpromote_emulator import moto_adaptations, runtime
from mlpromote_emulator.runtime import Emulator, largest_state_bytes
from mlpromote_emulator.scenario import PromotionSpec, Scenario, parse_scenario

HALF_STATE_QUOTA = 128 * 1024
HALF_HISTORY_QUOTA = 12_500
ACCOUNTS = int(os.environ.get("MLPROMOTE_SCALE_ACCOUNTS", "60"))
ORGANIZATION_ID = "o-a1b2c3d4e5"
PROD_OU, PROD_CHILD_OU, OTHER_OU = "ou-ab12-prod0001", "ou-ab12-prodeu01", "ou-ab12-other001"
READER = "arn:aws:iam::999999999999:role/mlpromote-organization-reader"
OUTSIDER = "777777777777"  # in another OU of the organization: never served by prod


def scenario(accounts: list[str]) -> Scenario:
    """prod is PROD_OU (the first half of the accounts) and its child OU (the second half), all on
    tools/v1; tools/v2 RUNNING, live in qa."""
    half = len(accounts) // 2
    return parse_scenario(
        {
            "config": {
                "region": "us-east-1",
                "mlAccount": "111111111111",
                "organizationId": ORGANIZATION_ID,
                "organizationReaderRoleArn": READER,
                "environments": {
                    "qa": {"accounts": ["222222222222"]},
                    "prod": {"organizationalUnits": [PROD_OU]},
                },
                "projects": {
                    "tools": {
                        "parameterName": "/mlpromote/tools/model-arn",
                        "smokeTest": {"images": ["s3://mlpromote-smoke/tools/hammer.jpg"], "expectLabels": ["hammer"]},
                    }
                },
            },
            "world": {
                "versions": {
                    "tools/v1": {"status": "RUNNING", "labels": ["hammer"]},
                    "tools/v2": {"status": "RUNNING", "labels": ["hammer", "wrench"]},
                },
                "live": {"prod": ["tools/v1"], "qa": ["tools/v2"]},
                "organization": {
                    PROD_OU: {"accounts": accounts[:half], "children": [PROD_CHILD_OU]},
                    PROD_CHILD_OU: {"accounts": accounts[half:]},
                    OTHER_OU: {"accounts": [OUTSIDER]},
                },
                "iamPropagationSeconds": 0,
            },
        },
        base=Path("."),
    )


def _measured(emu: Emulator, result: Any, started: float, measured: dict[str, Any]) -> dict[str, Any]:
    """The run's wall time, history events and largest state, printed and written (MLPROMOTE_SCALE_REPORT)
    as soon as it ends: a run of 1,000 accounts takes many minutes, and a later failure keeps these."""
    events = emu.history(result.execution_arn)
    numbers = {
        "status": result.status,
        "wallSeconds": round(time.perf_counter() - started, 1),
        "historyEvents": len(events),
        "maxStateBytes": largest_state_bytes(events),
        # Lambda invocations past their timeout (retried by the state machine): on a loaded machine the
        # emulator's own time counts against a handler's 120 s.
        "lambdaTimeouts": sum("Sandbox.Timedout" in json.dumps(event, default=str) for event in events),
    }
    print(f"\n{json.dumps(numbers)}", flush=True)
    if report := os.environ.get("MLPROMOTE_SCALE_REPORT"):
        Path(report).write_text(json.dumps({**measured, "last": numbers}, indent=2) + "\n")
    return numbers


def _served(world: dict[str, Any]) -> dict[str, str | None]:
    return dict(world["parameters"]["prod"]["tools"])


def test_a_thousand_account_ou_environment_is_promoted_rolled_back_and_compensated_within_half_the_quotas() -> None:
    accounts = sorted(f"{500_000_000_000 + i}" for i in range(ACCOUNTS))
    measured: dict[str, Any] = {"accounts": len(accounts)}
    started = time.perf_counter()
    # Simulated time is free, but 1,000 accounts take many minutes of real time on a shared machine.
    runtime.EXECUTION_DEADLINE_SECONDS = max(runtime.EXECUTION_DEADLINE_SECONDS, 7200.0)
    with Emulator(scenario(accounts)) as emu:
        initial = emu.world()
        assert _served(initial) == dict.fromkeys(accounts, "tools/v1")

        step = time.perf_counter()
        promoted = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        measured["promote"] = _measured(emu, promoted, step, measured)
        assert promoted.status == "SUCCEEDED", promoted.as_json()
        world = emu.world()
        # Every account of the OU and of its child OU switched; the other OU's account was never served.
        assert _served(world) == dict.fromkeys(accounts, "tools/v2")
        assert world["grants"] == {**initial["grants"], "prod": ["tools/v2"]}
        assert world["versions"] == {"tools/v1": "STOPPED", "tools/v2": "RUNNING"}

        step = time.perf_counter()
        rolled_back = emu.promote(PromotionSpec(environment="prod", rollback=True))
        measured["rollback"] = _measured(emu, rolled_back, step, measured)
        assert rolled_back.status == "SUCCEEDED", rolled_back.as_json()
        world = emu.world()
        assert _served(world) == dict.fromkeys(accounts, "tools/v1")
        assert world["grants"] == initial["grants"]
        assert world["versions"] == {"tools/v1": "RUNNING", "tools/v2": "RUNNING"}  # qa serves v2

        before = emu.world()
        assert before == initial
        moto_adaptations.hooks.faults.append(
            moto_adaptations.Fault("ssm", "PutParameter", "AccessDeniedException", count=len(accounts))
        )
        step = time.perf_counter()
        failed = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        measured["everyRotationFails"] = _measured(emu, failed, step, measured)
        assert (failed.status, failed.error) == ("FAILED", "AwsCallFailed"), failed.as_json()
        # Every fault fired (one per account's rotation), every parameter is back on v1 (none had
        # moved), the grant is revoked, and v2 runs on for qa: the world is the one before.
        assert not moto_adaptations.hooks.faults or moto_adaptations.hooks.faults[0].count == 0
        assert emu.world() == before
        # (Not compensation["revoked"]: a compensation Lambda retried after a timeout finds the grant
        # already revoked and says False; the world above is what counts.)
        assert failed.compensation is not None and failed.compensation["error"]["Error"] == "AwsCallFailed"

        records = emu.history_records()["prod"]
        assert [(r["kind"], r["status"]) for r in records] == [
            ("promotion", "SUCCEEDED"),
            ("rollback", "SUCCEEDED"),
            ("promotion", "FAILED"),
        ]
        # The plan resolved the OU and its child OU to every account, and the history records each one.
        assert all(sorted(a["account"] for a in r["accounts"]) == accounts for r in records)
        assert OUTSIDER not in _served(emu.world())

    measured["wallSeconds"] = round(time.perf_counter() - started, 1)
    print(f"\n{json.dumps(measured)}")
    if report := os.environ.get("MLPROMOTE_SCALE_REPORT"):
        Path(report).write_text(json.dumps(measured, indent=2) + "\n")
    for name in ("promote", "rollback", "everyRotationFails"):
        assert measured[name]["maxStateBytes"] < HALF_STATE_QUOTA, (name, measured[name])
        assert measured[name]["historyEvents"] < HALF_HISTORY_QUOTA, (name, measured[name])
