"""Polling cannot pass Step Functions' 25,000 history events: the config refuses what could (issue 11, item 2)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlpromote import quotas
from mlpromote.config import MAX_ACCOUNTS_PER_ENVIRONMENT, parse_config
from mlpromote.errors import InvalidConfig

REPO = Path(__file__).resolve().parents[2]
CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": "111111111111",
    "environments": {"prod": {"accounts": ["222222222222"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://mlpromote-smoke-111111111111/tools/a.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def config(accounts: int = 1, bake_minutes: int = 0, **workflow: int) -> dict[str, Any]:
    data = copy.deepcopy(CONFIG)
    prod = data["environments"]["prod"]
    prod["accounts"] = [f"{500_000_000_000 + i}" for i in range(accounts)]
    if bake_minutes:
        prod.update(bakeMinutes=bake_minutes, rollbackAlarms=["HighErrorRate"])
    data["workflow"] = workflow
    return data


def test_a_day_s_bake_polled_every_10_seconds_is_refused_with_the_poll_interval_that_fits() -> None:
    # The case: 8,640 looks at about 9 events each.
    with pytest.raises(InvalidConfig) as refused:
        parse_config(config(bake_minutes=1440, alarmPollSeconds=10), source="c")

    message = str(refused.value)
    assert "environments.prod: set workflow.alarmPollSeconds >= 35" in message
    assert "25,000" in message and "uncompensated" in message
    fixed = parse_config(config(bake_minutes=1440, alarmPollSeconds=35), source="c")
    assert fixed.workflow.alarm_poll_seconds == 35


def test_a_day_long_start_polled_every_5_seconds_is_refused() -> None:
    with pytest.raises(InvalidConfig) as refused:
        parse_config(config(startTimeoutMinutes=1440, startPollSeconds=5), source="c")

    assert "workflow.startPollSeconds >= " in str(refused.value)


def test_the_environment_cap_with_a_day_s_bake_polled_every_10_seconds_is_refused_and_fits_without_it() -> None:
    with pytest.raises(InvalidConfig) as refused:
        parse_config(config(accounts=MAX_ACCOUNTS_PER_ENVIRONMENT, bake_minutes=1440, alarmPollSeconds=10), source="c")
    assert "accountsPerBatch" in str(refused.value) and "alarmPollSeconds >= " in str(refused.value)

    # The defaults fit at the cap, with a day's bake too: the fan-out's events grow with the batches.
    parse_config(config(accounts=MAX_ACCOUNTS_PER_ENVIRONMENT), source="c")
    parse_config(config(accounts=MAX_ACCOUNTS_PER_ENVIRONMENT, bake_minutes=1440), source="c")


@pytest.mark.parametrize("accounts", [1, 100, 500, MAX_ACCOUNTS_PER_ENVIRONMENT])
def test_the_longest_promotion_the_config_allows_fits_with_room_for_transient_retries(accounts: int) -> None:
    budget = quotas.history_budget(accounts, 0, 60, 30, 30, 120)
    limit = quotas.HISTORY_EVENT_QUOTA - quotas.RETRY_MARGIN
    polls = budget.polls_allowed
    longest = quotas.HistoryBudget(accounts, polls // 2, polls - polls // 2, budget.grant_retries, budget.batches)
    assert longest.fits and longest.events <= limit
    assert not quotas.HistoryBudget(
        accounts, polls // 2, polls - polls // 2 + 1, budget.grant_retries, budget.batches
    ).fits


def test_the_grant_retry_schedule_is_the_state_machine_s() -> None:
    asl = json.loads((REPO / "statemachines" / "promote_model.asl.json").read_text())
    processor = asl["States"]["Smoke-test from each account"]["ItemProcessor"]["States"]
    [retry] = [
        r for r in processor["Smoke-test a batch of accounts"]["Retry"] if r["ErrorEquals"] == ["GrantNotYetEffective"]
    ]
    assert (retry["IntervalSeconds"], retry["BackoffRate"], retry["MaxDelaySeconds"], retry["MaxAttempts"]) == (
        quotas.GRANT_RETRY_INTERVAL,
        quotas.GRANT_RETRY_BACKOFF,
        quotas.GRANT_RETRY_MAX_DELAY,
        quotas.GRANT_RETRY_MAX_ATTEMPTS,
    )
    # 5 + 7.5 + 11.25 + 16.9 + 25.3 + 30 + 30 s reach the default 120 s of propagation.
    assert quotas.grant_retries(120) == 7
    assert quotas.grant_retries(0) == 0


def test_the_compensation_s_wait_for_a_starting_version_is_the_state_machine_s() -> None:
    """Compensate reruns on ModelStillStarting, a minute apart; the compensation gives up (and says why)
    at the last rerun, so the Retry never runs out into the Catch (CompensationFailed)."""
    asl = json.loads((REPO / "statemachines" / "promote_model.asl.json").read_text())
    compensate = asl["States"]["Compensate"]
    [retry] = [r for r in compensate["Retry"] if r["ErrorEquals"] == ["ModelStillStarting"]]
    assert (retry["IntervalSeconds"], retry["BackoffRate"], retry["MaxAttempts"]) == (
        quotas.COMPENSATION_START_RETRY_SECONDS,
        1,
        quotas.COMPENSATION_START_RETRIES,
    )
    assert compensate["Parameters"]["retryCount.$"] == "$$.State.RetryCount"
    assert quotas.COMPENSATION_WAIT_EVENTS == quotas.COMPENSATION_START_RETRIES * quotas.EVENTS_PER_RETRY


def test_the_budget_bounds_what_a_promotion_that_starts_and_bakes_writes(worlds: Any) -> None:
    """On the emulator: a start that takes almost its whole timeout, then a whole bake."""
    from mlpromote_emulator.scenario import PromotionSpec

    alarms = [{"account": a, "name": "HighErrorRate"} for a in (worlds.PROD_A, worlds.PROD_B)]
    workflow = {"startTimeoutMinutes": 10, "startPollSeconds": 30, "alarmPollSeconds": 60}
    with worlds.emulator(
        config={
            "workflow": workflow,
            "environments": {"prod": {"bakeMinutes": 10, "rollbackAlarms": ["HighErrorRate"]}},
        },
        world={"startSeconds": 590, "alarms": alarms, "iamPropagationSeconds": 0},
    ) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v3"))
        events = len(emu.history(result.execution_arn))

    assert result.status == "SUCCEEDED", result.as_json()
    budget = quotas.history_budget(2, 10, 60, 10, 30, 0)
    assert events <= budget.events
    # The loops are counted, not guessed (a success waits for no starting version at its compensation).
    assert events >= budget.events - quotas.EVENTS_OUTSIDE_LOOPS - quotas.COMPENSATION_WAIT_EVENTS
