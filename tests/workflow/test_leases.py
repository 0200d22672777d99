"""Promotions side by side never break each other (issue 15, items 1, 2, 3 and 6).

A batch's interleaving varies from run to run (the emulator runs each execution in its own thread), so
each test asserts what must hold in EVERY interleaving, and runs the batch a few times: every
pointer is on a RUNNING version its environment grants, nothing is left holding a lock or a lease,
and every history record's `from` is what the environment served when that promotion took it.
"""

from __future__ import annotations

from typing import Any

from mlpromote_emulator.scenario import PromotionSpec

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"
REPEATS = 2


def run(worlds: Any, batch: list[dict[str, Any]], **overrides: Any) -> tuple[list[Any], dict[str, Any], Any, list]:
    """One batch on a fresh emulator: results, world, history, and what is left in the promotions table."""
    import boto3

    faults = overrides.pop("faults", [])
    with worlds.emulator(**overrides) as emu:
        emu.inject(worlds.scenario(faults=faults).faults)
        results = emu.promote_together([PromotionSpec.model_validate(spec) for spec in batch])
        world, history = emu.world(), emu.history_records()
        table = boto3.resource("dynamodb").Table("mlpromote-promotions")
        held = [
            item
            for item in table.scan(ConsistentRead=True)["Items"]
            if item["pk"].startswith("LOCK#")
            or (item["pk"].startswith("LEASE#") and (item.get("holders") or item.get("stoppingBy")))
        ]
    return results, world, history, held


def assert_consistent(world: dict[str, Any], history: dict[str, Any], held: list, before: dict[str, Any]) -> None:
    """The invariants every interleaving keeps."""
    for environment, projects in world["parameters"].items():
        for account, version in projects["tools"].items():
            assert version is None or world["versions"][version] == "RUNNING", (environment, account, world)
            assert version is None or version in world["grants"][environment], (environment, account, world)
    assert held == [], held  # no lock, no lease left behind
    for environment, records in history.items():
        serving = dict(before["parameters"][environment]["tools"])
        for record in sorted(records, key=lambda r: r["startedAt"]):
            if record["status"] == "RUNNING":
                raise AssertionError(f"a record is still open: {record}")
            # The record's `from` is what the environment served when this promotion held it.
            assert {c["account"]: c["from"] for c in record["accounts"]} == serving, (record, records)
            if record["status"] == "SUCCEEDED":
                serving = {c["account"]: c["to"] for c in record["accounts"]}


def test_swapping_versions_between_environments_stops_neither(worlds: Any) -> None:
    """Item 1: qa on v2, prod on v1; qa->v1 and prod->v2 together. prod waits at its approval gate
    (the emulator approves it once qa has ended), so qa's retirement always comes before prod's
    switch: it must not stop v2, which prod is bringing into service."""
    results, world, history, held = run(
        worlds,
        [{"environment": "qa", "version": "tools/v1"}, {"environment": "prod", "version": "tools/v2", "approve": True}],
        config={"environments": {"prod": {"requiresApproval": True}}},
    )
    assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"], [r.as_json() for r in results]
    assert world["parameters"] == {
        "prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}},
        "qa": {"tools": {QA: "tools/v1"}},
    }
    assert world["versions"]["tools/v1"] == world["versions"]["tools/v2"] == "RUNNING"
    assert world["grants"] == {"prod": ["tools/v2"], "qa": ["tools/v1"]}
    qa = results[0].output
    assert [left["version"] for left in qa["left"]] == [results[1].output["version"]]  # v2: prod leases it
    assert_consistent(world, history, held, worlds.standard)


def test_swapping_versions_in_any_interleaving_keeps_every_pointer_serving(worlds: Any) -> None:
    for _ in range(REPEATS):
        results, world, history, held = run(
            worlds, [{"environment": "prod", "version": "tools/v2"}, {"environment": "qa", "version": "tools/v1"}]
        )
        assert [r.status for r in results] == ["SUCCEEDED", "SUCCEEDED"], [r.as_json() for r in results]
        assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
        assert world["parameters"]["qa"]["tools"] == {QA: "tools/v1"}
        assert_consistent(world, history, held, worlds.standard)


def test_a_compensation_never_stops_a_version_another_environment_brings_into_service(worlds: Any) -> None:
    """Item 2: qa->v3 and prod->v3 (v3 not running); prod fails at one PutParameter and compensates,
    while qa's rotation is slowed by throttling. qa must end on a RUNNING v3."""
    faults = [
        {"service": "ssm", "operation": "PutParameter", "account": PROD_B, "error": "ValidationException"},
        {"service": "ssm", "operation": "PutParameter", "account": QA, "error": "ThrottlingException", "count": 3},
    ]
    for _ in range(REPEATS):
        results, world, history, held = run(
            worlds,
            [{"environment": "qa", "version": "tools/v3"}, {"environment": "prod", "version": "tools/v3"}],
            faults=faults,
        )
        qa, prod = results
        assert qa.status == "SUCCEEDED", qa.as_json()
        assert prod.status == "FAILED" and prod.error == "AwsCallFailed", prod.as_json()
        assert world["parameters"]["qa"]["tools"] == {QA: "tools/v3"}
        assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v1", PROD_B: "tools/v1"}
        assert world["versions"]["tools/v3"] == "RUNNING"
        assert world["grants"] == {"prod": ["tools/v1"], "qa": ["tools/v3"]}
        assert_consistent(world, history, held, worlds.standard)


def test_a_promotion_held_back_by_throttling_plans_under_the_lock(worlds: Any) -> None:
    """Item 3: prod->v2 and prod->v3 together, with four throttled TransactWriteItems. Whichever takes
    the lock second reads prod as the first one left it, never as it was before both."""
    faults = [{"service": "dynamodb", "operation": "TransactWriteItems", "error": "ThrottlingException", "count": 4}]
    for _ in range(REPEATS):
        results, world, history, held = run(
            worlds,
            [{"environment": "prod", "version": "tools/v2"}, {"environment": "prod", "version": "tools/v3"}],
            faults=faults,
        )
        succeeded = [r for r in results if r.status == "SUCCEEDED"]
        assert succeeded, [r.as_json() for r in results]
        for result in results:  # either both ran, one after the other, or one was refused
            assert result.status == "SUCCEEDED" or result.error == "PromotionInProgress", result.as_json()
        last = max(history["prod"], key=lambda r: r["startedAt"] if r["status"] == "SUCCEEDED" else "")
        assert set(world["parameters"]["prod"]["tools"].values()) == {last["version"]}
        assert world["grants"]["prod"] == [last["version"]]
        assert_consistent(world, history, held, worlds.standard)


def test_already_served_means_granted_too(worlds: Any) -> None:
    """Item 6: prod points at v2, but its access role grants only v1 (drift). Promoting v2 grants it."""
    drifted = {
        "parameters": {"prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}},
        "grants": {"prod": ["tools/v1"]},
    }
    before = worlds.merge(worlds.standard, {"parameters": drifted["parameters"]})
    results, world, history, held = run(worlds, [{"environment": "prod", "version": "tools/v2"}], world=drifted)

    [result] = results
    assert result.status == "SUCCEEDED", result.as_json()
    assert result.output["outcome"] == "PROMOTED" and result.output["granted"] == ["tools/v2"]
    assert "tools/v2" in world["grants"]["prod"]
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert_consistent(world, history, held, before)


def test_already_served_and_granted_is_a_no_op(worlds: Any) -> None:
    results, world, history, held = run(worlds, [{"environment": "qa", "version": "tools/v2"}])

    assert results[0].output["outcome"] == "ALREADY_SERVED", results[0].as_json()
    assert world == worlds.standard
    assert_consistent(world, history, held, worlds.standard)


def test_a_plan_made_before_the_lock_is_read_again_under_it(worlds: Any) -> None:
    """Item 3, step by step: prod->v3 is planned, then prod->v2 runs from start to end, then prod->v3
    takes the lock (as a throttled Take the environment would). It works from what prod serves now."""
    import boto3

    from mlpromote.clock import now
    from mlpromote.handler import deployed_config
    from mlpromote.phases.lock import take_environment
    from mlpromote.phases.outcome import record_outcome
    from mlpromote.phases.plan import validate_and_plan

    late = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:late"
    with worlds.emulator() as emu:
        v1, v2, v3 = (emu.names.arn(f"tools/{v}", emu.config) for v in ("v1", "v2", "v3"))
        request = {"environment": "prod", "modelVersionArn": v3}
        stale = validate_and_plan(request, late, now().isoformat(), deployed_config())
        first = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        fresh = take_environment(stale)
        table = boto3.resource("dynamodb").Table("mlpromote-promotions")
        lock = table.get_item(Key={"pk": "LOCK#prod", "sk": "LOCK"})["Item"]
        leases = {v: table.get_item(Key={"pk": f"LEASE#{v}", "sk": "LEASE"}).get("Item", {}) for v in (v1, v2, v3)}
        record = next(r for r in emu.history_records()["prod"] if r["status"] == "RUNNING")

        assert first.status == "SUCCEEDED", first.as_json()
        assert [(t.account, t.current) for t in fresh.targets] == [(PROD_A, v2), (PROD_B, v2)]
        assert fresh.status_at_plan == "TRAINING_COMPLETED" and not fresh.already_served and fresh.locked_at
        assert [(c["account"], c["from"]) for c in record["accounts"]] == [(PROD_A, "tools/v2"), (PROD_B, "tools/v2")]
        assert lock["holder"] == late and sorted(lock["leases"]) == sorted([v2, v3])
        assert {v: set(item.get("holders", ())) for v, item in leases.items()} == {v1: set(), v2: {late}, v3: {late}}

        record_outcome(fresh, {"summary": None, "compensation": {"error": {"Error": "X", "Cause": "y"}}})
        left = [i for i in table.scan()["Items"] if i["pk"] == "LOCK#prod" or i.get("holders")]
    assert left == []


def test_a_rollback_whose_environment_moved_before_the_lock_is_refused_and_changes_nothing(worlds: Any) -> None:
    import boto3

    from mlpromote.clock import now
    from mlpromote.errors import EnvironmentChanged
    from mlpromote.handler import deployed_config
    from mlpromote.phases.lock import take_environment
    from mlpromote.phases.plan import validate_and_plan

    late = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:late"
    with worlds.emulator() as emu:
        emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        stale = validate_and_plan({"environment": "prod", "rollback": True}, late, now().isoformat(), deployed_config())
        emu.promote(PromotionSpec(environment="prod", version="tools/v3"))
        before = emu.world()
        try:
            take_environment(stale)
        except EnvironmentChanged as error:
            refused = str(error)
        else:
            raise AssertionError("the rollback was not refused")
        after, history = emu.world(), emu.history_records()
        table = boto3.resource("dynamodb").Table("mlpromote-promotions")
        left = [i for i in table.scan()["Items"] if i["pk"].startswith("LOCK#") or i.get("holders")]
    assert "changed between this rollback's plan and its lock" in refused
    assert after == before and left == []
    [record] = [r for r in history["prod"] if r["promotionId"] == late]
    assert (record["version"], record["status"], record["error"]) == ("tools/v1", "FAILED", "EnvironmentChanged")


def test_a_version_stopped_outside_mlpromote_before_the_switch_is_never_pointed_at(worlds: Any) -> None:
    """While prod waits at its approval gate, someone stops v2 by hand. Approved, the promotion checks
    once more before the first pointer moves, fails with VersionNoLongerServing and is undone."""
    import time

    import boto3

    from mlpromote import approvals

    with worlds.emulator(config={"environments": {"prod": {"requiresApproval": True}}}) as emu:
        emu.approvals_by_hand = True
        execution = emu.start(emu.request_for(PromotionSpec(environment="prod", version="tools/v2")))
        deadline = time.monotonic() + 60
        while (approval := approvals.read(execution)) is None or approval.status != approvals.AWAITING:
            assert time.monotonic() < deadline, "the promotion never reached the approval gate"
            time.sleep(0.01)
        boto3.client("rekognition").stop_project_version(ProjectVersionArn=emu.names.arn("tools/v2", emu.config))
        emu.decide(execution, "approve")
        result = emu.result(execution, emu.wait(execution), "prod", "tools/v2")
        world, history = emu.world(), emu.history_records()

    assert (result.status, result.error) == ("FAILED", "VersionNoLongerServing"), result.as_json()
    assert "tools/v2 is STOPPING" in result.cause  # a stop takes world.stopSeconds
    assert [s.name for s in result.steps][-3:] == ["Check the version still serves", "Compensate", "Record the outcome"]
    assert world["parameters"] == worlds.standard["parameters"]  # no pointer ever moved
    assert world["grants"] == worlds.standard["grants"]
    assert history["prod"][-1]["error"] == "VersionNoLongerServing"
