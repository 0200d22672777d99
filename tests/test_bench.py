"""bench/run.py's results have the shape issue 13's offline contract gives them (the smallest sizes)."""

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

FANOUT_FIELDS = {"accounts", "wallSeconds", "stateTransitions", "apiCalls", "maxStateBytes", "historyEvents"}
ALL_FAIL_FIELDS = {"accounts", "historyEvents", "maxStateBytes", "worldUnchanged"}


@pytest.fixture(scope="module")
def bench() -> Any:
    path = Path(__file__).resolve().parents[1] / "bench" / "run.py"
    spec = importlib.util.spec_from_file_location("mlpromote_bench", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_fanout_and_all_fail_have_the_contract_fields_and_the_world_is_checked(bench, monkeypatch) -> None:
    monkeypatch.setattr(bench, "FANOUT", (1,))
    monkeypatch.setattr(bench, "ALL_FAIL_ACCOUNTS", 1)
    monkeypatch.setattr(bench, "promote", lambda accounts: None)  # no warm-up here
    rows, all_fail, _runs = bench.fanout_results(with_all_fail=True)
    assert [set(row) for row in rows] == [FANOUT_FIELDS]
    assert rows[0]["accounts"] == 1 and rows[0]["historyEvents"] > 0 and rows[0]["apiCalls"] > 0
    assert set(all_fail) >= ALL_FAIL_FIELDS
    # Every rotation failed, and the compensation put back the grant: parameters, grants and models as before.
    assert all_fail["worldUnchanged"] is True
    assert all_fail["details"]["unchanged"] == {"parameters": True, "grants": True, "versions": True}


def test_a_size_this_checkout_cannot_run_is_skipped_with_why(bench, monkeypatch) -> None:
    missing = bench.missing_features(1000)
    has_units = "organizational_units" in bench.config_models.Environment.model_fields
    has_batches = "accounts_per_batch" in bench.config_models.Workflow.model_fields
    assert (missing is None) == (has_units and has_batches)
    assert bench.missing_features(1) is None
    if "rollout" not in bench.config_models.Environment.model_fields:
        waves = bench.waves_results()
        assert "rollout waves" in waves["skipped"] and not FANOUT_FIELDS & set(waves) - {"accounts"}


def test_bench_only_names_its_sections(bench, monkeypatch) -> None:
    monkeypatch.setenv("BENCH_ONLY", "waves, fanout")
    assert bench.selected_sections() == ["waves", "fanout"]
    monkeypatch.setenv("BENCH_ONLY", "fan-out")
    with pytest.raises(SystemExit, match="unknown section fan-out; the sections are fanout, allFail"):
        bench.selected_sections()


def test_a_promotion_that_ends_unexpectedly_is_reported_not_measured_and_the_other_sizes_run(
    bench, monkeypatch
) -> None:
    """At 1,000 accounts a loaded machine can time a run out: that row says why, and the rest are measured."""
    monkeypatch.setattr(bench, "FANOUT", (1, 2))
    real_parse = bench.parse_scenario

    def v2_without_hammer_at_two_accounts(data: dict[str, Any], base: Path) -> Any:
        if len(data["config"]["environments"]["prod"].get("accounts", [])) == 2:
            data["world"]["versions"]["tools/v2"]["labels"] = ["wrench"]  # prod's smoke test expects a hammer
        return real_parse(data, base=base)

    monkeypatch.setattr(bench, "parse_scenario", v2_without_hammer_at_two_accounts)
    rows, _all_fail, runs = bench.fanout_results(with_all_fail=False)
    assert [row["accounts"] for row in rows] == [1, 2]
    assert set(rows[0]) == FANOUT_FIELDS and set(runs) == {1}
    assert set(rows[1]) == {"accounts", "skipped"}
    assert "ended FAILED SmokeTestFailed" in rows[1]["skipped"]
