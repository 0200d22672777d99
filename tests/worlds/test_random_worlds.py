"""Worlds at random (issue 10, item 5): configs, worlds, faults and promotions drawn by hypothesis,
run through the real ASL on the emulator, the invariants checked after every promotion.

`make test` runs a fixed, derandomized set of `MLPROMOTE_WORLDS_EXAMPLES` worlds (default
BOUNDED_EXAMPLES), without shrinking: a failure prints its scenario, ready for `mlpromote local
promote --scenario`. `make soak` (make/soak.mk) runs many more, from a fresh seed each time, and
shrinks a failure to a minimal world.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import botocore.session
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings

import worlds
from worlds import Run, Violation, check_promotion

BOUNDED_EXAMPLES = 10
SOAK = os.environ.get("MLPROMOTE_WORLDS_SOAK") == "1"
EXAMPLES = int(os.environ.get("MLPROMOTE_WORLDS_EXAMPLES", BOUNDED_EXAMPLES))

random_worlds = settings(
    max_examples=EXAMPLES,
    deadline=None,
    # make test: the same worlds on every run (reproducible CI). make soak: new ones each time.
    derandomize=not SOAK,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink] if SOAK else [Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    print_blob=True,
)


@random_worlds
@given(data=worlds.scenarios())
def test_random_worlds_keep_every_invariant(data: dict[str, Any]) -> None:
    note("scenario (save it as a file and run `mlpromote local promote --scenario FILE`):\n" + yaml.safe_dump(data))
    outcome = worlds.run_world(data)
    note(f"results: {outcome.results}")
    assert not outcome.violations, "invariants broken:\n" + outcome.report()


# --- the generators -------------------------------------------------------------------------------


def drawn(strategy: Any, examples: int = 300) -> list[Any]:
    values: list[Any] = []

    @settings(
        max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def draw(value: Any) -> None:
        values.append(value)

    draw()
    return values


def test_regions_come_from_every_partition_that_offers_rekognition() -> None:
    table = worlds.partition_regions()
    assert set(table) == {"aws", "aws-cn", "aws-us-gov"}
    assert {"cn-north-1", "us-gov-west-1", "eu-central-1", "us-east-1"} <= {r for rs in table.values() for r in rs}
    offered = worlds.rekognition_regions()
    assert set(offered) == {"aws", "aws-us-gov"}  # botocore lists no Rekognition endpoint in aws-cn
    seen = set(drawn(worlds.regions()))
    assert {partition for partition, regions in offered.items() if seen & set(regions)} == {"aws", "aws-us-gov"}
    assert len(seen & set(offered["aws"])) > 3


@settings(max_examples=40, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(data=worlds.scenarios())
def test_every_drawn_scenario_is_valid(data: dict[str, Any]) -> None:
    """The generator draws only worlds the scenario parser accepts, with names at their limits allowed."""
    from pathlib import Path

    from mlpromote_emulator.scenario import parse_scenario

    scenario = parse_scenario(copy.deepcopy(data), base=Path("."))
    config = scenario.config
    assert 1 <= len(config.environments) <= 3 and 1 <= len(config.projects) <= 3
    assert all(1 <= len(env.accounts) <= 12 for env in config.environments.values())
    assert all(len(p.parameter_name) <= worlds.PARAMETER_NAME_LIMIT for p in config.projects.values())


def test_names_reach_their_limits() -> None:
    scenarios = drawn(worlds.scenarios(), 60)
    assert 255 in {len(project) for data in scenarios for project in data["config"]["projects"]}
    assert 40 in {len(environment) for data in scenarios for environment in data["config"]["environments"]}
    parameters = [p["parameterName"] for data in scenarios for p in data["config"]["projects"].values()]
    assert worlds.PARAMETER_NAME_LIMIT in {len(name) for name in parameters}


def test_faults_name_real_operations_and_error_codes() -> None:
    """Every fault the generator draws names an operation its service has (botocore's models)."""
    session = botocore.session.get_session()
    for service, operation in worlds.CALLED:
        assert operation in session.get_service_model(service).operation_names, (service, operation)
    from mlpromote.aws.sessions import TRANSIENT_ERROR_CODES

    assert worlds.TRANSIENT_CODES <= TRANSIENT_ERROR_CODES
    fatal = {code for codes in worlds.FATAL_ERRORS.values() for code in codes}
    assert not fatal & TRANSIENT_ERROR_CODES


# --- the checker, on hand-made worlds -------------------------------------------------------------

BEFORE: dict[str, Any] = {
    "parameters": {"qa": {"tools": {"2": "tools/v2"}}, "prod": {"tools": {"3": "tools/v1", "4": "tools/v1"}}},
    "grants": {"qa": ["tools/v2"], "prod": ["tools/v1"]},
    "versions": {"tools/v1": "RUNNING", "tools/v2": "RUNNING", "tools/v3": "TRAINING_COMPLETED"},
}
PROMOTED: dict[str, Any] = {
    "parameters": {"qa": {"tools": {"2": "tools/v2"}}, "prod": {"tools": {"3": "tools/v3", "4": "tools/v3"}}},
    "grants": {"qa": ["tools/v2"], "prod": ["tools/v3"]},
    "versions": {"tools/v1": "STOPPED", "tools/v2": "RUNNING", "tools/v3": "RUNNING"},
}


def run(after: dict[str, Any], status: str = "SUCCEEDED", **overrides: Any) -> Run:
    fields: dict[str, Any] = {
        "environment": "prod",
        "project": "tools",
        "version": "tools/v3",
        "status": status,
        "error": None if status == "SUCCEEDED" else "SmokeTestFailed",
        "cause": None,
        "before": BEFORE,
        "after": after,
        "took_lock": True,
        "records_before": {"prod": 0},
        "records_after": {"prod": 1},
        "named_errors": worlds.named_errors(),
        "record": written({"3": "tools/v1", "4": "tools/v1"}, status),
    }
    return Run(**{**fields, **overrides})


def broken(violations: list[Violation]) -> set[str]:
    return {v.invariant for v in violations}


def changed(world: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(world)
    for key, value in changes.items():
        out[key] = {**out[key], **value}
    return out


def test_a_clean_promotion_and_a_clean_failure_hold() -> None:
    assert check_promotion(run(PROMOTED)) == []
    assert check_promotion(run(BEFORE, "FAILED")) == []


BROKEN = [
    # A failure that left one account on the new version.
    (
        changed(BEFORE, parameters={"prod": {"tools": {"3": "tools/v3", "4": "tools/v1"}}}),
        "FAILED",
        {},
        {"pointers-kept", "healthy-stays-healthy"},
    ),
    # A failure that left its grant behind.
    (
        changed(BEFORE, grants={"prod": ["tools/v1", "tools/v3"]}),
        "FAILED",
        {},
        {"grants-kept", "no-dangling-grant"},
    ),
    # A failure that revoked a grant in use.
    (changed(BEFORE, grants={"prod": []}), "FAILED", {}, {"grants-kept", "healthy-stays-healthy"}),
    # A failure that left the version it started running.
    (changed(BEFORE, versions={"tools/v3": "RUNNING"}), "FAILED", {}, {"nothing-idle"}),
    # A success that touched qa.
    (
        changed(PROMOTED, parameters={"qa": {"tools": {"2": "tools/v3"}}}),
        "SUCCEEDED",
        {},
        {"elsewhere-untouched", "healthy-stays-healthy", "no-dangling-grant"},
    ),
    # A success that left the superseded version running and granted, and says nothing.
    (
        changed(PROMOTED, grants={"prod": ["tools/v1", "tools/v3"]}, versions={"tools/v1": "RUNNING"}),
        "SUCCEEDED",
        {},
        {"nothing-idle", "no-dangling-grant"},
    ),
    # A success whose new version is not granted.
    (changed(PROMOTED, grants={"prod": []}), "SUCCEEDED", {}, {"promoted", "healthy-stays-healthy"}),
    (PROMOTED, "SUCCEEDED", {"locks": {"prod": "arn:...:promotion-1"}}, {"no-lock"}),
    (PROMOTED, "SUCCEEDED", {"unreadable": ["accounts.0.from: Field required"]}, {"history"}),
    (PROMOTED, "SUCCEEDED", {"records_after": {"prod": 0}}, {"history"}),
    (BEFORE, "FAILED", {"error": "KeyError", "cause": "'accounts'"}, {"named-error"}),
    (
        BEFORE,
        "FAILED",
        {"error": "AwsCallFailed", "cause": "ssm PutParameter: injected by the emulator", "fired": ["Throttling"]},
        {"transient-absorbed"},
    ),
]


@pytest.mark.parametrize(("after", "status", "overrides", "invariants"), BROKEN)
def test_the_checker_catches_each_broken_invariant(
    after: dict[str, Any], status: str, overrides: dict[str, Any], invariants: set[str]
) -> None:
    assert broken(check_promotion(run(after, status, **overrides))) == invariants


def test_what_the_output_explains_is_not_a_violation() -> None:
    left = {"left": [{"version": "tools/v1", "granted": True, "running": True, "why": "retireSuperseded is false"}]}
    after = changed(PROMOTED, grants={"prod": ["tools/v1", "tools/v3"]}, versions={"tools/v1": "RUNNING"})
    assert check_promotion(run(after, output=left)) == []
    # A compensation that failed says so; the half-changed world is then reported, not hidden.
    half = changed(BEFORE, parameters={"prod": {"tools": {"3": "tools/v3", "4": "tools/v1"}}})
    failed = run(half, "FAILED", error="CompensationFailed", cause="The promotion failed and so did its compensation")
    assert check_promotion(failed) == []


def test_a_drifted_world_is_judged_against_itself() -> None:
    """A pointer that was broken before the promotion (not granted, or not running) is not the
    promotion's fault; one it broke is."""
    drifted = changed(BEFORE, grants={"qa": []})  # qa points at v2 without a grant
    assert check_promotion(run(changed(PROMOTED, grants={"qa": []}), before=drifted)) == []
    assert broken(check_promotion(run(changed(PROMOTED, versions={"tools/v2": "STOPPED"})))) == {
        "healthy-stays-healthy"
    }


def written(before: dict[str, str | None], status: str = "SUCCEEDED") -> dict[str, Any]:
    """prod's record of tools/v3 as the product writes it (accounts grouped by what they pointed at,
    `accountsFrom`) and reads it back: what run_world hands the checker."""
    from mlpromote.history import AccountChange, PromotionRecord

    record = PromotionRecord(
        promotion_id="arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:p1",
        environment="prod",
        project="tools",
        version="tools/v3",
        accounts=[AccountChange(account=a, from_version=v, to_version="tools/v3") for a, v in before.items()],
        started_at="2026-01-01T00:00:00+00:00",
        ended_at="2026-01-01T00:05:00+00:00",
        status=status,
    )
    item = record.item()
    assert "accountsFrom" in item and "accounts" not in item
    return worlds.read_record(item, {})


def test_a_promotion_that_took_the_environment_and_left_no_record_breaks_history() -> None:
    violations = check_promotion(run(PROMOTED, record=None))
    assert [v.detail for v in violations] == ["no record of this promotion reads back"]


@pytest.mark.parametrize(
    ("status", "before", "detail"),
    [
        # What a rollback would go back to is not what the account held.
        (
            "SUCCEEDED",
            {"3": "tools/v2", "4": "tools/v1"},
            "the record has prod/tools/3 from tools/v2; it pointed at tools/v1",
        ),
        ("FAILED", {"3": "tools/v1", "4": None}, "the record has prod/tools/4 from None; it pointed at tools/v1"),
        # A success that moved account 4 without saying so.
        ("SUCCEEDED", {"3": "tools/v1"}, "names no move of 4"),
    ],
)
def test_a_record_that_misstates_the_accounts_breaks_history(
    status: str, before: dict[str, str | None], detail: str
) -> None:
    violations = check_promotion(
        run(PROMOTED if status == "SUCCEEDED" else BEFORE, status, record=written(before, status))
    )
    assert broken(violations) == {"history"}
    assert any(detail in v.detail for v in violations), violations


def test_every_invariant_can_break() -> None:
    assert set().union(*(invariants for *_, invariants in BROKEN)) == set(worlds.INVARIANTS)
