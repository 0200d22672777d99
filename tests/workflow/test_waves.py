"""Rollout in waves (config `rollout`, mlpromote.waves) on the emulator: each wave switches its
accounts and bakes; a failure or an alarm in wave k puts waves 1..k back, and later waves never start."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from conftest import scenario_data

PROD_A, PROD_B, PROD_C, PROD_D = "333333333333", "444444444444", "555555555555", "666666666666"
PROD = [PROD_C, PROD_A, PROD_D, PROD_B]  # listed out of order: waves take the accounts by id
ALL_V1 = {PROD_A: "tools/v1", PROD_B: "tools/v1", PROD_C: "tools/v1", PROD_D: "tools/v1"}
ROLLOUT = [{"accounts": 1, "bakeMinutes": 10}, {"accounts": 2, "bakeMinutes": 10}, {"percent": 100}]
CONFIG: dict[str, Any] = {
    "environments": {"prod": {"accounts": PROD, "rollbackAlarms": ["HighErrorRate"], "rollout": ROLLOUT}}
}


def alarms(at: dict[str, int] | None = None) -> list[dict[str, Any]]:
    """HighErrorRate in every prod account (the plan refuses a missing one); `at`: account -> when it goes off."""
    at = at or {}
    return [
        {"account": account, "name": "HighErrorRate", **({"alarmAt": at[account]} if account in at else {})}
        for account in sorted(PROD)
    ]


def test_an_alarm_in_wave_2_puts_waves_1_and_2_back_and_wave_3_never_starts(promote: Any, worlds: Any) -> None:
    # v2 runs already: wave 1 switches within seconds and bakes 10 minutes; wave 2 switches at about
    # 600 s, and its account's alarm goes off 15 minutes in, during wave 2's bake.
    world = {"alarms": alarms({PROD_B: 900})}
    (result,), after = promote(("prod", "tools/v2"), config=CONFIG, world=world)

    assert (result.status, result.error) == ("FAILED", "RolledBackOnAlarm"), result.as_json()
    assert f"HighErrorRate in {PROD_B}" in result.cause and "wave 2 of prod" in result.cause
    assert result.waves == [
        {"accounts": [PROD_A], "status": "putBack"},
        {"accounts": [PROD_B], "status": "putBack"},
        {"accounts": [PROD_C, PROD_D], "status": "notStarted"},
    ]
    assert result.as_json()["waves"] == result.waves
    # The world is as before: every pointer on v1, v2's grant revoked, both versions running (qa serves v2).
    assert after == worlds.expect(
        parameters={"prod": {"tools": ALL_V1}},
        grants={"prod": ["tools/v1"]},
        versions={"tools/v1": "RUNNING", "tools/v2": "RUNNING"},
    )
    assert after == promote.before
    # Wave 3's accounts were never written, not even put back; waves 1 and 2 were, once each way.
    writes = [c.account for c in promote.calls if c.operation == "PutParameter" and c.error is None]
    assert sorted(writes) == sorted([PROD_A, PROD_A, PROD_B, PROD_B])
    assert sorted(result.compensation["restored"]) == [PROD_A, PROD_B]
    # The bakes read the alarms of the switched accounts only: wave 3's only by the plan, which checks
    # that every account has them.
    looked = [c.account for c in promote.calls if c.operation == "DescribeAlarms"]
    assert looked.count(PROD_C) == looked.count(PROD_D) == 1
    assert looked.count(PROD_A) > looked.count(PROD_B) > 1
    steps = [s.name for s in result.steps]
    assert steps.count("Point each account at the new version") == 1  # one step, run per wave
    assert "Keep watching the rollback alarms" in steps


def test_the_history_says_which_waves_ran(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    world = {"alarms": alarms({PROD_B: 900})}
    with worlds.emulator(config=CONFIG, world=world) as emu:
        emu.promote(PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2"}))
        history = emu.history_records()
    (record,) = history["prod"]
    assert (record["status"], record["error"]) == ("FAILED", "RolledBackOnAlarm")
    assert [(w["accounts"], w["status"]) for w in record["waves"]] == [
        ([PROD_A], "putBack"),
        ([PROD_B], "putBack"),
        ([PROD_C, PROD_D], "notStarted"),
    ]


def test_every_wave_switched_and_baked(promote: Any, worlds: Any) -> None:
    (result,), after = promote(("prod", "tools/v2"), config=CONFIG, world={"alarms": alarms()})

    assert result.status == "SUCCEEDED", result.as_json()
    assert [w["status"] for w in result.waves] == ["switched"] * 3
    assert after["parameters"]["prod"]["tools"] == {account: "tools/v2" for account in PROD}
    assert after["grants"]["prod"] == ["tools/v2"]
    assert after["versions"]["tools/v1"] == "STOPPED"
    # Two bakes of 10 minutes, one after wave 1 and one after wave 2; wave 3 has none.
    rollout = next(s for s in result.output["steps"] if s["name"] == "Roll out wave by wave: switch, then bake")
    assert 1200 <= rollout["seconds"] < 1300


def test_a_failed_rotation_in_wave_2_puts_back_waves_1_and_2(promote: Any, worlds: Any) -> None:
    faults = [{"service": "ssm", "operation": "PutParameter", "account": PROD_B, "error": "AccessDeniedException"}]
    config = {
        "environments": {"prod": {"accounts": PROD, "rollout": [{"accounts": 1}, {"accounts": 2}, {"percent": 100}]}}
    }
    (result,), after = promote(("prod", "tools/v2"), config=config, faults=faults)

    assert result.status == "FAILED", result.as_json()
    assert [w["status"] for w in result.waves] == ["putBack", "putBack", "notStarted"]
    assert after == promote.before
    writes = {c.account for c in promote.calls if c.operation == "PutParameter"}
    assert writes == {PROD_A, PROD_B}


def test_without_a_rollout_a_promotion_is_one_wave(promote: Any, worlds: Any) -> None:
    (result,), after = promote(("prod", "tools/v2"))

    assert result.status == "SUCCEEDED", result.as_json()
    assert result.waves == [{"accounts": [worlds.PROD_A, worlds.PROD_B], "status": "switched"}]
    assert after["parameters"]["prod"]["tools"] == {worlds.PROD_A: "tools/v2", worlds.PROD_B: "tools/v2"}


def test_a_failure_before_the_first_wave_starts_none(promote: Any, worlds: Any) -> None:
    (result,), after = promote(
        ("prod", "tools/v3"), config=CONFIG, world={"alarms": alarms(), "versions": {"tools/v3": {"labels": ["saw"]}}}
    )
    assert result.error == "SmokeTestFailed", result.as_json()
    assert [w["status"] for w in result.waves] == ["notStarted"] * 3
    assert (after["parameters"], after["grants"]) == (promote.before["parameters"], promote.before["grants"])


GATED = {
    "environments": {
        "prod": {
            "accounts": PROD,
            "rollout": [{"accounts": 1}, {"accounts": 2, "approve": True}, {"percent": 100, "approve": True}],
        }
    }
}


def test_a_wave_with_approve_waits_for_a_decision_and_a_rejection_puts_the_earlier_waves_back(worlds: Any) -> None:
    from mlpromote import approvals
    from mlpromote_emulator.scenario import PromotionSpec

    # Wave 2's gate approved, wave 3's rejected: waves 1 and 2 are put back, wave 3 never starts.
    spec = {"environment": "prod", "version": "tools/v2", "approve": [True, False], "approvalComment": "not today"}
    with worlds.emulator(config=GATED) as emu:
        before = emu.world()
        result = emu.promote(PromotionSpec.model_validate(spec))
        after, history = emu.world(), emu.history_records()
        approval = approvals.read(result.execution_arn)

    assert (result.status, result.error) == ("FAILED", "PromotionRejected"), result.as_json()
    assert "not today" in result.cause
    assert [w["status"] for w in result.waves] == ["putBack", "putBack", "notStarted"]
    assert after == before
    assert approval is not None and (approval.wave, approval.status) == (3, "rejected")
    assert [(d["wave"], d["decision"]) for d in approval.earlier] == [(2, "approved")]
    (record,) = history["prod"]
    assert [(w["status"], (w.get("approval") or {}).get("decision")) for w in record["waves"]] == [
        ("putBack", None),
        ("putBack", "approved"),
        ("notStarted", "rejected"),
    ]
    assert record["approval"] == "rejected"


def test_a_rejection_at_the_first_gated_wave_puts_wave_1_back(promote: Any, worlds: Any) -> None:
    (result,), after = promote({"environment": "prod", "version": "tools/v2", "approve": False}, config=GATED)

    assert result.error == "PromotionRejected", result.as_json()
    assert [w["status"] for w in result.waves] == ["putBack", "notStarted", "notStarted"]
    assert after == promote.before
    writes = [c.account for c in promote.calls if c.operation == "PutParameter"]
    assert sorted(writes) == [PROD_A, PROD_A]  # switched, then put back; no other account touched


def test_every_gate_approved_switches_every_wave(promote: Any, worlds: Any) -> None:
    (result,), after = promote({"environment": "prod", "version": "tools/v2", "approve": [True, True]}, config=GATED)

    assert result.status == "SUCCEEDED", result.as_json()
    assert [w["status"] for w in result.waves] == ["switched"] * 3
    assert after["parameters"]["prod"]["tools"] == {account: "tools/v2" for account in PROD}
    assert result.approval == "approved"


def test_a_wave_gate_nobody_decides_times_out_and_puts_back(promote: Any, worlds: Any) -> None:
    (result,), after = promote({"environment": "prod", "version": "tools/v2", "approve": [True]}, config=GATED)

    assert result.error == "ApprovalTimedOut", result.as_json()
    assert [w["status"] for w in result.waves] == ["putBack", "putBack", "notStarted"]
    assert after == promote.before


def test_the_dry_run_and_the_reports_show_each_waves_accounts(tmp_path: Path, capsys: Any) -> None:
    from mlpromote_cli.main import main

    world = {"alarms": alarms({PROD_B: 900})}
    path = tmp_path / "scenario.yaml"
    promotions = [{"environment": "prod", "version": "tools/v2"}]
    path.write_text(yaml.safe_dump(scenario_data(config=CONFIG, world=world, promotions=promotions)))

    assert main(["local", "plan", "--scenario", str(path), "--json"]) == 0
    (plan,) = json.loads(capsys.readouterr().out)["plans"]
    assert plan["waves"] == [
        {"accounts": [PROD_A], "bakeMinutes": 10, "approve": False},
        {"accounts": [PROD_B], "bakeMinutes": 10, "approve": False},
        {"accounts": [PROD_C, PROD_D], "bakeMinutes": 0, "approve": False},
    ]
    assert main(["local", "plan", "--scenario", str(path)]) == 0
    text = capsys.readouterr().out
    assert "waves:  3, accounts by id" in text
    assert f"1. 1 account(s) ({PROD_A}); bake 10 min" in text
    assert f"3. 2 account(s) ({PROD_C}, {PROD_D})" in text

    assert main(["local", "promote", "--scenario", str(path)]) == 1
    text = capsys.readouterr().out
    assert f"2. 1 account(s) ({PROD_B}): putBack" in text
    assert f"3. 2 account(s) ({PROD_C}, {PROD_D}): notStarted" in text


def test_a_promotion_stopped_at_a_waves_gate_is_undone_wave_by_wave(worlds: Any) -> None:
    """No Catch runs on a stopped execution: ReleaseAbandoned compensates from its history, putting back
    the waves taken up (only wave 1 here), and its record says how each wave ended."""
    import boto3

    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        before = emu.world()
        emu.approvals_by_hand = True  # nobody decides: it waits at wave 2's gate until stopped
        execution = str(emu.start(emu.request_for(PromotionSpec(environment="prod", version="tools/v2"))))
        emu.wait_at_the_gate(execution)
        switched = emu.world()["parameters"]["prod"]["tools"]
        boto3.client("stepfunctions").stop_execution(executionArn=execution, error="Operator", cause="not now")
        emu.wait(execution)
        after, history = emu.world(), emu.history_records()

    assert switched == {**ALL_V1, PROD_A: "tools/v2"}  # wave 1 had switched when it stopped
    assert after == before
    (record,) = history["prod"]
    assert (record["status"], record["error"]) == ("ABORTED", "Operator")
    assert record["compensation"]["restored"] == [PROD_A]
    assert [w["status"] for w in record["waves"]] == ["putBack", "notStarted", "notStarted"]


def test_a_scenario_gives_at_most_one_decision_per_gate(worlds: Any) -> None:
    import pytest

    from mlpromote_emulator.scenario import InvalidScenario

    spec = {"environment": "prod", "version": "tools/v2", "approve": [True, True, True]}
    with pytest.raises(InvalidScenario, match=r"promotions\[0\]\.approve lists 3 decisions, and prod has 2 approval"):
        worlds.scenario(spec, config=GATED)
    worlds.scenario({**spec, "approve": [True, False]}, config=GATED)  # one per wave gate: fine


def test_the_waves_example_puts_back_waves_1_and_2_and_never_starts_wave_3(capsys: Any) -> None:
    from mlpromote_cli.main import main

    example = Path(__file__).resolve().parents[2] / "examples" / "waves.yaml"
    assert main(["local", "promote", "--scenario", str(example), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    (promotion,) = report["promotions"]
    accounts = [f"3000000000{n:02d}" for n in range(1, 11)]
    assert (promotion["status"], promotion["error"]) == ("FAILED", "RolledBackOnAlarm")
    assert promotion["waves"] == [
        {"accounts": accounts[:1], "status": "putBack"},
        {"accounts": accounts[1:2], "status": "putBack"},
        {"accounts": accounts[2:], "status": "notStarted"},
    ]
    assert report["world"]["parameters"]["prod"]["tools"] == {account: "tools/v1" for account in accounts}
    assert report["world"]["grants"]["prod"] == ["tools/v1"]
    assert report["world"]["versions"] == {"tools/v1": "RUNNING", "tools/v2": "STOPPED"}
