"""One promotion per environment, the history, the promotion path and rollback, on the emulator."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mlpromote.history import live_at

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"


def run(
    worlds: Any,
    *promotions: Any,
    config: dict[str, Any] | None = None,
    world: dict[str, Any] | None = None,
    seed: Any = None,
) -> tuple:
    """Promotions in order (a list entry is a batch started together); results, world and history."""
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=config, world=world) as emu:
        if seed:
            seed(emu)
        results = []
        for entry in promotions:
            specs = entry if isinstance(entry, list) else [entry]
            specs = [PromotionSpec.model_validate(s) for s in specs]
            results += emu.promote_together(specs) if isinstance(entry, list) else [emu.promote(specs[0])]
        return results, emu.world(), emu.history_records()


def test_a_second_promotion_of_the_same_environment_is_refused_and_changes_nothing(worlds: Any) -> None:
    results, world, history = run(
        worlds, [{"environment": "prod", "version": "tools/v2"}, {"environment": "prod", "version": "tools/v3"}]
    )

    by_status = {r.status: r for r in results}
    assert set(by_status) == {"SUCCEEDED", "FAILED"}
    refused, winner = by_status["FAILED"], by_status["SUCCEEDED"]
    assert refused.error == "PromotionInProgress"
    assert winner.execution_arn in refused.cause
    promoted = winner.version
    assert world["parameters"]["prod"]["tools"] == {PROD_A: promoted, PROD_B: promoted}
    assert world["grants"]["prod"] == [promoted]
    assert world["versions"][promoted] == "RUNNING"
    loser = "tools/v3" if promoted == "tools/v2" else "tools/v2"
    assert world["versions"][loser] == ("RUNNING" if loser == "tools/v2" else "TRAINING_COMPLETED")
    assert [r["status"] for r in history["prod"]] == ["SUCCEEDED"]  # a refused promotion opens no record


def test_different_environments_promote_the_same_version_at_once(worlds: Any) -> None:
    results, world, _ = run(
        worlds, [{"environment": "qa", "version": "tools/v3"}, {"environment": "prod", "version": "tools/v3"}]
    )

    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"], [r.as_json() for r in results]
    assert world == worlds.expect(
        parameters={"qa": {"tools": {QA: "tools/v3"}}, "prod": {"tools": {PROD_A: "tools/v3", PROD_B: "tools/v3"}}},
        grants={"qa": ["tools/v3"], "prod": ["tools/v3"]},
        versions={"tools/v1": "STOPPED", "tools/v2": "STOPPED", "tools/v3": "RUNNING"},
    )


def test_the_lock_is_released_on_failure_too(worlds: Any) -> None:
    results, world, history = run(
        worlds,
        {"environment": "prod", "version": "tools/v3"},  # v3 finds no hammer: fails, compensated
        {"environment": "prod", "version": "tools/v2"},
        world={"versions": {"tools/v3": {"labels": ["screwdriver"]}}},
    )

    failed, succeeded = results
    assert failed.error == "SmokeTestFailed"
    assert succeeded.status == "SUCCEEDED", succeeded.as_json()
    assert [(r["version"], r["status"], r["error"]) for r in history["prod"]] == [
        ("tools/v3", "FAILED", "SmokeTestFailed"),
        ("tools/v2", "SUCCEEDED", None),
    ]
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


def test_a_lock_left_by_an_ended_execution_is_recovered(worlds: Any) -> None:
    ghost = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:ghost"

    def abandoned_lock(emu: Any) -> None:
        import boto3

        table = boto3.resource("dynamodb").Table("mlpromote-promotions")
        table.put_item(Item={"pk": "LOCK#prod", "sk": "LOCK", "holder": ghost, "since": "2026-01-01T00:00:00+00:00",
                             "recordKey": "2026-01-01T00:00:00+00:00#ghost"})  # fmt: skip
        table.put_item(Item={"pk": "ENV#prod", "sk": "2026-01-01T00:00:00+00:00#ghost", "promotionId": ghost,
                             "environment": "prod", "project": "tools", "version": "x", "status": "RUNNING",
                             "startedAt": "2026-01-01T00:00:00+00:00"})  # fmt: skip

    results, world, history = run(worlds, {"environment": "prod", "version": "tools/v2"}, seed=abandoned_lock)

    assert results[0].status == "SUCCEEDED", results[0].as_json()
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    ghost_record, record = history["prod"]
    assert ghost_record["status"] == "ABORTED" and "recovered by" in ghost_record["cause"]
    assert record["status"] == "SUCCEEDED"


def test_history_answers_what_was_live_at_a_time_and_who_put_it_there(worlds: Any) -> None:
    results, _, history = run(
        worlds,
        {"environment": "prod", "version": "tools/v2", "reason": "passed QA"},
        {"environment": "prod", "version": "tools/v3", "reason": "better recall"},
    )
    from mlpromote.history import PromotionRecord

    records = [PromotionRecord.model_validate(r) for r in history["prod"]]
    first, second = records
    assert [(r.version, r.status, r.reason) for r in records] == [
        ("tools/v2", "SUCCEEDED", "passed QA"),
        ("tools/v3", "SUCCEEDED", "better recall"),
    ]
    assert [(c.account, c.from_version, c.to_version) for c in first.accounts] == [
        (PROD_A, "tools/v1", "tools/v2"),
        (PROD_B, "tools/v1", "tools/v2"),
    ]
    assert first.promotion_id == results[0].execution_arn and first.entry_point == "console"
    assert first.ended_at and second.started_at
    assert live_at(records, datetime.fromisoformat(first.ended_at)).version == "tools/v2"
    assert live_at(records, datetime.fromisoformat(second.ended_at)).version == "tools/v3"
    assert live_at(records, datetime.fromisoformat(first.started_at)) is None


def test_an_environment_that_requires_another_refuses_a_version_not_verified_there(worlds: Any) -> None:
    results, world, history = run(
        worlds,
        {"environment": "prod", "version": "tools/v3"},
        {"environment": "prod", "version": "tools/v3", "force": True, "reason": "hotfix, QA signed off offline"},
        {"environment": "prod", "version": "tools/v2"},  # live in qa: allowed
        config={"environments": {"prod": {"requires": "qa"}}},
    )

    refused, forced, verified = results
    assert refused.error == "NotVerifiedUpstream" and "force" in refused.cause
    assert forced.status == "SUCCEEDED" and verified.status == "SUCCEEDED"
    assert [(r["version"], r["forced"], r["reason"]) for r in history["prod"]] == [
        ("tools/v3", True, "hotfix, QA signed off offline"),
        ("tools/v2", False, None),
    ]
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


def test_force_needs_a_reason(worlds: Any) -> None:
    results, world, _ = run(worlds, {"environment": "prod", "version": "tools/v3", "force": True})
    assert results[0].error == "InvalidPromotionRequest" and "needs a reason" in results[0].cause
    assert world == worlds.standard


def test_rollback_goes_back_to_the_replaced_version_through_the_whole_workflow(worlds: Any) -> None:
    results, world, history = run(
        worlds,
        {"environment": "prod", "version": "tools/v2"},
        {"environment": "prod", "rollback": True, "reason": "error rate up"},
    )

    promoted, rolled_back = results
    assert promoted.status == "SUCCEEDED"
    assert rolled_back.status == "SUCCEEDED", rolled_back.as_json()
    assert rolled_back.version == "tools/v1"
    assert rolled_back.output["started"] == ["tools/v1"]  # v1 had been stopped when v2 replaced it
    assert world == worlds.standard  # prod on v1 again, granted, running; v2 still live in qa
    assert [(r["kind"], r["version"]) for r in history["prod"]] == [("promotion", "tools/v2"), ("rollback", "tools/v1")]


TWO_PROJECTS = {
    "projects": {
        "gauges": {
            "parameterName": "/mlpromote/gauges/model-arn",
            "smokeTest": {"images": ["s3://mlpromote-smoke-111111111111/gauges/dial.jpg"], "expectLabels": ["gauge"]},
        }
    }
}
GAUGES = {
    "versions": {
        "gauges/v1": {"status": "RUNNING", "labels": ["gauge"]},
        "gauges/v2": {"status": "RUNNING", "labels": ["gauge"]},
    },
    "live": {"prod": ["tools/v1", "gauges/v1"], "qa": ["tools/v2", "gauges/v2"]},
}


def test_a_scenario_rollback_names_its_project_among_several(worlds: Any) -> None:
    results, world, history = run(
        worlds,
        {"environment": "prod", "version": "gauges/v2"},
        {"environment": "prod", "version": "tools/v2"},
        {"environment": "prod", "rollback": True, "reason": "which one?"},
        {"environment": "prod", "rollback": True, "project": "gauges", "reason": "dials read wrong"},
        {"environment": "prod", "rollback": True, "project": "tools", "reason": "and tools too", "via": "api"},
        config=TWO_PROJECTS,
        world=GAUGES,
    )

    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"], [
        r.as_json() for r in results
    ]
    unnamed = results[2]
    assert unnamed.error == "InvalidPromotionRequest" and "one of gauges, tools" in unnamed.cause
    assert (results[3].version, results[4].version) == ("gauges/v1", "tools/v1")
    # Each rollback moved its own project's pointers only: both are back where they started.
    prod = {PROD_A: "gauges/v1", PROD_B: "gauges/v1"}
    assert world["parameters"]["prod"] == {"gauges": prod, "tools": {PROD_A: "tools/v1", PROD_B: "tools/v1"}}
    assert sorted(world["grants"]["prod"]) == ["gauges/v1", "tools/v1"]
    assert [(r["kind"], r["version"]) for r in history["prod"]] == [
        ("promotion", "gauges/v2"),
        ("promotion", "tools/v2"),
        ("rollback", "gauges/v1"),
        ("rollback", "tools/v1"),
    ]


def test_rollback_with_no_history_says_so_and_changes_nothing(worlds: Any) -> None:
    results, world, _ = run(worlds, {"environment": "prod", "rollback": True})
    assert results[0].error == "NothingToRollBackTo"
    assert world == worlds.standard


BAKE = {"environments": {"prod": {"bakeMinutes": 10, "rollbackAlarms": ["HighErrorRate"]}}}


def test_an_alarm_during_the_bake_rolls_the_environment_back(worlds: Any) -> None:
    # v2 needs no start; the switch happens within seconds; the alarm goes off 5 minutes in.
    alarms = [
        {"account": PROD_A, "name": "HighErrorRate"},
        {"account": PROD_B, "name": "HighErrorRate", "alarmAt": 300},
    ]
    results, world, history = run(
        worlds, {"environment": "prod", "version": "tools/v2"}, config=BAKE, world={"alarms": alarms}
    )

    [result] = results
    assert result.error == "RolledBackOnAlarm", result.as_json()
    assert "HighErrorRate in 444444444444" in result.cause and "tools/v1" in result.cause
    assert [s.name for s in result.steps][-4:] == [
        "Watch the rollback alarms",
        "Keep watching the rollback alarms",
        "Compensate",
        "Record the outcome",
    ]
    assert world == worlds.standard  # prod back on v1 everywhere, v2 not granted in prod, v1 running
    assert [(r["status"], r["error"]) for r in history["prod"]] == [("FAILED", "RolledBackOnAlarm")]


def test_a_quiet_bake_ends_in_success_after_the_bake_time(worlds: Any) -> None:
    alarms = [{"account": account, "name": "HighErrorRate"} for account in (PROD_A, PROD_B)]  # never raised
    results, world, _ = run(
        worlds, {"environment": "prod", "version": "tools/v2"}, config=BAKE, world={"alarms": alarms}
    )

    [result] = results
    assert result.status == "SUCCEEDED", result.as_json()
    baked = next(s for s in result.output["steps"] if s["name"] == "Bake: watch the rollback alarms")
    assert baked["seconds"] >= 600  # the bake happens between the switch and the retirement
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert world["versions"]["tools/v1"] == "STOPPED"


def test_an_alarm_after_the_bake_changes_nothing(worlds: Any) -> None:
    alarms = [
        {"account": PROD_A, "name": "HighErrorRate", "alarmAt": 3600},
        {"account": PROD_B, "name": "HighErrorRate"},
    ]
    results, world, _ = run(
        worlds, {"environment": "prod", "version": "tools/v2"}, config=BAKE, world={"alarms": alarms}
    )
    assert results[0].status == "SUCCEEDED", results[0].as_json()
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}


def test_a_rollback_alarm_missing_in_an_account_is_refused_by_the_plan(worlds: Any) -> None:
    """The bake reads an alarm that does not exist as "not in ALARM": it would watch nothing there."""
    alarms = [{"account": PROD_A, "name": "HighErrorRate", "alarmAt": 0}]  # none in PROD_B
    results, world, history = run(
        worlds, {"environment": "prod", "version": "tools/v2"}, config=BAKE, world={"alarms": alarms}
    )

    [result] = results
    assert (result.status, result.error) == ("FAILED", "RollbackAlarmNotFound"), result.as_json()
    assert "'HighErrorRate'" in result.cause and PROD_B in result.cause and PROD_A not in result.cause
    assert [s.name for s in result.steps] == ["Validate and plan"]
    assert world == worlds.standard  # no grant, no pointer moved, nothing started or stopped
    assert history.get("prod", []) == []  # refused before the lock: no record


def test_an_aborted_promotion_releases_its_environment_through_the_status_event(worlds: Any) -> None:
    import json

    import boto3

    aborted = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:aborted"
    other = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:other"

    def status_event(execution: str, environment: str) -> bytes:
        return json.dumps(
            {
                "version": "0",
                "id": "e1",
                "detail-type": "Step Functions Execution Status Change",
                "source": "aws.states",
                "account": "111111111111",
                "time": "2026-01-01T00:00:00Z",
                "region": "us-east-1",
                "resources": [execution],
                "detail": {
                    "executionArn": execution,
                    "status": "ABORTED",
                    "input": json.dumps({"environment": environment}),
                },
            }
        ).encode()

    with worlds.emulator() as emu:
        table = boto3.resource("dynamodb").Table("mlpromote-promotions")
        for environment, holder in (("prod", aborted), ("qa", other)):
            sk = f"2026-01-01T00:00:00+00:00#{holder.rsplit(':', 1)[-1]}"
            table.put_item(Item={"pk": f"LOCK#{environment}", "sk": "LOCK", "holder": holder, "recordKey": sk})
            table.put_item(Item={"pk": f"ENV#{environment}", "sk": sk, "promotionId": holder, "status": "RUNNING",
                                 "environment": environment, "project": "tools", "version": "v",
                                 "startedAt": "2026-01-01T00:00:00+00:00"})  # fmt: skip
        released, _ = emu.invoke("ReleaseAbandonedFunction", status_event(aborted, "prod"))
        untouched, _ = emu.invoke("ReleaseAbandonedFunction", status_event(aborted, "qa"))
        locks = {i["pk"] for i in table.scan()["Items"] if i["sk"] == "LOCK"}
        history = emu.history_records()
    assert json.loads(released)["released"] is True and json.loads(untouched)["released"] is False
    assert locks == {"LOCK#qa"}
    assert (history["prod"][0]["status"], history["qa"][0]["status"]) == ("ABORTED", "RUNNING")
