"""The concurrency campaign's own parts: the invariant checker on hand-made runs (a checker that
cannot fail is a defect), the families, the verdict, and one real seeded run.

The whole campaign runs with `make concurrency`, not here.
"""

from __future__ import annotations

import copy
from typing import Any

import interleavings
import pytest
from interleavings import FAMILIES, Promotion, Run, Spec, check_invariants

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"
EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:promotion-{}"

# The standard world (tests/conftest.py), and after the swap: prod->v2 and qa->v1 together.
BEFORE: dict[str, Any] = {
    "parameters": {"qa": {"tools": {QA: "tools/v2"}}, "prod": {"tools": {PROD_A: "tools/v1", PROD_B: "tools/v1"}}},
    "grants": {"qa": ["tools/v2"], "prod": ["tools/v1"]},
    "versions": {"tools/v1": "RUNNING", "tools/v2": "RUNNING", "tools/v3": "TRAINING_COMPLETED"},
}
SWAPPED: dict[str, Any] = {
    "parameters": {"qa": {"tools": {QA: "tools/v1"}}, "prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}},
    "grants": {"qa": ["tools/v1"], "prod": ["tools/v2"]},
    "versions": {"tools/v1": "RUNNING", "tools/v2": "RUNNING", "tools/v3": "TRAINING_COMPLETED"},
}


def promotion(number: int, environment: str, version: str, status: str = "SUCCEEDED", **fields: Any) -> Promotion:
    spec = fields.pop("spec", None) or Spec(environment, version)
    return Promotion(
        spec=spec,
        step=fields.pop("step", 0),
        execution=EXECUTION.format(number),
        status=status,
        version=version,
        took_environment=fields.pop("took_environment", True),
        ended_at=fields.pop("ended_at", f"2026-01-01T00:0{number}:00+00:00"),
        **fields,
    )


def record(p: Promotion, before: dict[str, str | None], **fields: Any) -> dict[str, Any]:
    """The history record `p` writes (accounts from `before` to its version), as the product writes the
    item (accounts grouped by what they pointed at, `accountsFrom`) and the campaign reads it back."""
    from mlpromote.history import AccountChange, PromotionRecord

    written = PromotionRecord(
        promotion_id=p.execution,
        environment=p.spec.environment,
        project="tools",
        version=p.version,
        accounts=[AccountChange(account=a, from_version=v, to_version=p.version) for a, v in before.items()],
        started_at="2026-01-01T00:00:00+00:00",
        ended_at=p.ended_at,
        status=p.status,
    ).item()
    assert "accountsFrom" in written and "accounts" not in written
    return {**interleavings.read_record(written, {}), **fields}


def swap_run() -> Run:
    """The swap, done right: both succeeded, each record from what its environment held."""
    prod, qa = promotion(1, "prod", "tools/v2"), promotion(2, "qa", "tools/v1")
    return Run(
        "swap",
        1,
        before=copy.deepcopy(BEFORE),
        after=copy.deepcopy(SWAPPED),
        promotions=[prod, qa],
        records=[record(prod, {PROD_A: "tools/v1", PROD_B: "tools/v1"}), record(qa, {QA: "tools/v2"})],
    )


def broken(run: Run) -> set[str]:
    violations = check_invariants(run)
    assert all(v.detail and v.invariant in interleavings.INVARIANTS for v in violations)
    return {v.invariant for v in violations}


# --- holds where it should -----------------------------------------------------------------------


def test_a_clean_swap_holds() -> None:
    assert broken(swap_run()) == set()


def test_a_failure_compensated_beside_a_success_holds() -> None:
    # shared new version: qa->v3 succeeded; prod->v3 failed and put everything back.
    qa = promotion(1, "qa", "tools/v3")
    spec = Spec("prod", "tools/v3", expect="fail")
    prod = promotion(2, "prod", "tools/v3", "FAILED", error="AwsCallFailed", spec=spec)
    after = copy.deepcopy(BEFORE)
    after["parameters"]["qa"]["tools"][QA] = "tools/v3"
    after["grants"]["qa"] = ["tools/v3"]
    after["versions"].update({"tools/v2": "STOPPED", "tools/v3": "RUNNING"})
    run = Run("shared-new-version", 1, before=copy.deepcopy(BEFORE), after=after, promotions=[qa, prod])
    run.records = [record(qa, {QA: "tools/v2"}), record(prod, {PROD_A: "tools/v1", PROD_B: "tools/v1"})]
    assert broken(run) == set()


def test_one_refused_beside_the_one_that_held_the_environment_holds() -> None:
    spec = Spec("prod", "tools/v3", expect="succeed-or-refused")
    winner = promotion(1, "prod", "tools/v2", spec=Spec("prod", "tools/v2", expect="succeed-or-refused"))
    refused = promotion(2, "prod", "tools/v3", "FAILED", error="PromotionInProgress", spec=spec, took_environment=False)
    after = copy.deepcopy(BEFORE)
    after["parameters"]["prod"]["tools"] = {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    after["grants"]["prod"] = ["tools/v2"]
    run = Run("one-environment-throttled", 1, before=BEFORE, after=after, promotions=[winner, refused])
    run.records = [record(winner, {PROD_A: "tools/v1", PROD_B: "tools/v1"})]
    assert broken(run) == set()


def test_two_promotions_of_one_environment_in_turn_hold() -> None:
    spec2, spec3 = (Spec("prod", v, expect="succeed-or-refused") for v in ("tools/v2", "tools/v3"))
    first, second = promotion(1, "prod", "tools/v2", spec=spec2), promotion(2, "prod", "tools/v3", spec=spec3)
    after = copy.deepcopy(BEFORE)
    after["parameters"]["prod"]["tools"] = {PROD_A: "tools/v3", PROD_B: "tools/v3"}
    after["grants"]["prod"] = ["tools/v3"]
    after["versions"].update({"tools/v1": "STOPPED", "tools/v3": "RUNNING"})
    run = Run("one-environment-throttled", 1, before=BEFORE, after=after, promotions=[second, first])
    run.records = [
        record(first, {PROD_A: "tools/v1", PROD_B: "tools/v1"}),
        record(second, {PROD_A: "tools/v2", PROD_B: "tools/v2"}),  # planned after the first ended
    ]
    assert broken(run) == set()


def test_a_grant_the_retirement_reported_left_is_allowed() -> None:
    run = swap_run()
    run.after["grants"]["prod"] = ["tools/v1", "tools/v2"]
    assert broken(run) == {"grants"}
    run.promotions[0].left_granted = ("tools/v1",)
    assert broken(run) == set()


# --- and breaks where it should (issue 15's findings among them) -------------------------------


def test_a_pointer_at_a_stopped_version() -> None:
    run = swap_run()  # issue 15, 1: qa's retirement stopped v2 before prod pointed at it
    run.after["versions"]["tools/v2"] = "STOPPED"
    assert broken(run) == {"pointers"}


def test_a_pointer_at_an_ungranted_version() -> None:
    run = swap_run()
    run.after["grants"]["prod"] = []
    assert broken(run) == {"pointers"}


def test_a_failed_promotion_that_left_a_pointer_moved() -> None:
    run = swap_run()
    run.promotions[1].status = "FAILED"
    run.promotions[1].spec = Spec("qa", "tools/v1", expect="fail")
    run.records[1]["status"] = "FAILED"
    assert broken(run) == {"compensated"}


def test_a_success_that_a_stale_compensation_undid() -> None:
    # prod->v3 succeeded last, but the world is back where prod->v2's stale plan found it.
    run = swap_run()
    run.after["parameters"]["prod"]["tools"] = {PROD_A: "tools/v1", PROD_B: "tools/v1"}
    run.after["grants"]["prod"] = ["tools/v1"]
    assert broken(run) == {"compensated"}


def test_a_record_planned_before_the_lock() -> None:
    # issue 15, 3: the second promotion took prod after the first, with pointers it read before.
    spec2, spec3 = (Spec("prod", v, expect="succeed-or-refused") for v in ("tools/v2", "tools/v3"))
    first, second = promotion(1, "prod", "tools/v2", spec=spec2), promotion(2, "prod", "tools/v3", spec=spec3)
    after = copy.deepcopy(BEFORE)
    after["parameters"]["prod"]["tools"] = {PROD_A: "tools/v3", PROD_B: "tools/v3"}
    after["grants"]["prod"] = ["tools/v3"]
    after["versions"]["tools/v3"] = "RUNNING"
    run = Run("one-environment-throttled", 1, before=BEFORE, after=after, promotions=[first, second])
    run.records = [
        record(first, {PROD_A: "tools/v1", PROD_B: "tools/v1"}),
        record(second, {PROD_A: "tools/v1", PROD_B: "tools/v1"}),
    ]
    violations = check_invariants(run)
    assert {v.invariant for v in violations} == {"history"}
    assert "from tools/v1, but it was on tools/v2" in violations[0].detail


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        (lambda run: run.records.pop(), "has 0 records"),
        (lambda run: run.records.append(copy.deepcopy(run.records[0])), "has 2 records"),
        (lambda run: run.records[0].update(status="RUNNING"), "still RUNNING"),
        (lambda run: run.unreadable.append(("ENV#dev/x", "ValidationError: from required")), "cannot be read back"),
        (lambda run: run.records.append({**run.records[0], "promotionId": "elsewhere"}), "unknown promotion"),
    ],
)
def test_a_history_that_is_incomplete_open_or_unreadable(change: Any, detail: str) -> None:
    run = swap_run()
    change(run)
    violations = check_invariants(run)
    assert {v.invariant for v in violations} == {"history"}
    assert any(detail in v.detail for v in violations), violations


def test_a_refusal_with_nobody_beside_it() -> None:
    run = swap_run()
    run.promotions[1].status, run.promotions[1].error = "FAILED", "PromotionInProgress"
    run.promotions[1].took_environment = False
    run.records.pop()
    run.after["parameters"]["qa"]["tools"][QA] = "tools/v2"
    run.after["grants"]["qa"] = ["tools/v2"]
    assert broken(run) == {"refused", "outcome"}


def test_a_refusal_that_left_a_record() -> None:
    spec = Spec("prod", "tools/v3", expect="succeed-or-refused")
    winner = promotion(1, "prod", "tools/v2", spec=Spec("prod", "tools/v2", expect="succeed-or-refused"))
    refused = promotion(2, "prod", "tools/v3", "FAILED", error="PromotionInProgress", spec=spec, took_environment=False)
    after = copy.deepcopy(BEFORE)
    after["parameters"]["prod"]["tools"] = {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    after["grants"]["prod"] = ["tools/v2"]
    run = Run("one-environment-throttled", 1, before=BEFORE, after=after, promotions=[winner, refused])
    run.records = [record(winner, {PROD_A: "tools/v1", PROD_B: "tools/v1"}), record(refused, {})]
    assert broken(run) == {"refused"}


def test_an_unexpected_failure_or_success() -> None:
    run = swap_run()
    run.promotions[0].spec = Spec("prod", "tools/v2", expect="fail")
    assert broken(run) == {"outcome"}


def test_a_lock_or_lease_left_behind() -> None:
    run = swap_run()
    run.held = ["LOCK#prod/LOCK", "LEASE#tools/v2/prod"]
    violations = check_invariants(run)
    assert [v.invariant for v in violations] == ["released", "released"]


def test_a_run_that_raised() -> None:
    run = swap_run()
    run.crash = "ValidationError: 1 validation error for PromotionRecord"
    assert broken(run) == {"traceback"}
    # Nothing read back: only the crash is reported.
    assert broken(Run("swap", 1, crash="KeyError: 'x'")) == {"traceback"}


def test_every_invariant_can_break() -> None:
    seen: set[str] = set()
    for check in (
        test_a_pointer_at_a_stopped_version,
        test_a_failed_promotion_that_left_a_pointer_moved,
        test_a_record_planned_before_the_lock,
        test_a_refusal_with_nobody_beside_it,
        test_a_lock_or_lease_left_behind,
        test_a_run_that_raised,
    ):
        check()
    for run_change in (
        lambda run: run.after["grants"]["prod"].append("tools/v3"),
        lambda run: run.after["versions"].update({"tools/v2": "STOPPED"}),
        lambda run: run.records[0].update(status="RUNNING"),
        lambda run: setattr(run, "held", ["LEASE#x/y"]),
        lambda run: setattr(run, "crash", "KeyError: x"),
        lambda run: setattr(run.promotions[0], "spec", Spec("prod", "tools/v2", expect="fail")),
        lambda run: run.after["parameters"]["qa"]["tools"].update({QA: "tools/v2"}),
    ):
        run = swap_run()
        run_change(run)
        seen |= broken(run)
    refusal = swap_run()
    refusal.promotions[1].status, refusal.promotions[1].took_environment = "FAILED", False
    seen |= broken(refusal)
    assert seen == set(interleavings.INVARIANTS)


# --- the families and the verdict --------------------------------------------------------------


def test_the_families_cover_what_issue_15_asks() -> None:
    assert set(FAMILIES) == {
        "swap",
        "shared-new-version",
        "one-environment-throttled",
        "rollback-beside-promotion",
        "three-environments",
    }
    for family in FAMILIES.values():
        assert any(len(step) >= 2 for step in family.steps), f"{family.name} runs nothing side by side"
    assert max(len(step) for family in FAMILIES.values() for step in family.steps) == 3
    assert any(spec.rollback for family in FAMILIES.values() for step in family.steps for spec in step)
    throttled = FAMILIES["one-environment-throttled"]
    assert {s.environment for s in throttled.steps[0]} == {"prod"}
    assert throttled.faults[0]["operation"] == "TransactWriteItems"
    assert [s.expect for s in FAMILIES["shared-new-version"].steps[0]] == ["succeed", "fail"]


def test_each_family_is_a_valid_scenario() -> None:
    from pathlib import Path

    from mlpromote_emulator.scenario import Batch, parse_scenario

    for family in FAMILIES.values():
        scenario = parse_scenario(interleavings._standard(family), base=Path("."))
        shapes = [len(entry.batch) if isinstance(entry, Batch) else 1 for entry in scenario.promotions]
        assert shapes == [len(step) for step in family.steps]
        assert len(scenario.faults) == len(family.faults)


def test_the_report_counts_and_names_family_seed_and_invariant() -> None:
    good, bad = swap_run(), swap_run()
    bad.seed = 4
    bad.after["versions"]["tools/v2"] = "STOPPED"
    for run in (good, bad):
        run.violations = check_invariants(run)
    text = interleavings.report([good, bad])
    assert text.splitlines()[0] == "2 interleavings, 1 held"
    assert (
        "swap seed 4" in text
        and "broke (pointers) prod/tools/333333333333 points at tools/v2, which is STOPPED" in text
    )
    assert "swap pointers: 1" in text


@pytest.mark.parametrize(("value", "seeds"), [(None, 5), ("", 5), ("12", 12), (" 3 ", 3)])
def test_seeds(value: str | None, seeds: int) -> None:
    assert interleavings.seeds_from(value) == seeds


@pytest.mark.parametrize("value", ["0", "-1", "many", "1.5", "100000"])
def test_bad_seeds_say_what_to_give(value: str) -> None:
    with pytest.raises(ValueError, match="whole number"):
        interleavings.seeds_from(value)


# --- one real seeded run (the campaign runs them all) -----------------------------------------


def test_a_real_run_is_read_back_and_checked() -> None:
    alone = interleavings.Family("alone", "prod->v2 by itself", steps=((Spec("prod", "tools/v2"),),))
    run = interleavings.run_family(alone, seed=3)

    assert run.crash is None, run.trace
    assert run.violations == [] and run.ok, interleavings.describe(run)
    [promoted] = run.promotions
    assert promoted.status == "SUCCEEDED" and promoted.took_environment and promoted.ended_at
    assert run.after["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert [(r["promotionId"], r["status"]) for r in run.records] == [(promoted.execution, "SUCCEEDED")]
    assert [a["from"] for a in run.records[0]["accounts"]] == ["tools/v1", "tools/v1"]  # read back, labelled
    assert run.held == [] and run.unreadable == []
    assert run.handlers_run >= 7 and run.fallbacks == 0
