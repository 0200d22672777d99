"""Wave membership (mlpromote.waves) and the config's rollout: pure functions, every case."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlpromote.config import Wave, parse_config
from mlpromote.errors import InvalidConfig
from mlpromote.waves import NOT_STARTED, PUT_BACK, SWITCHED, plan_waves, rollout_problem, statuses

ACCOUNTS = [f"{n:012d}" for n in range(300, 310)]


def waves_of(accounts: list[str], *steps: dict[str, Any], bake_minutes: int = 0) -> list[list[str]]:
    return [w.accounts for w in plan_waves(accounts, [Wave.model_validate(s) for s in steps], bake_minutes)]


def test_the_issues_example_on_ten_accounts() -> None:
    # 1 account, then up to 10 % (1 account: so one more, the rule), then the rest.
    waves = waves_of(ACCOUNTS, {"accounts": 1}, {"percent": 10, "bakeMinutes": 15}, {"percent": 100})
    assert waves == [ACCOUNTS[:1], ACCOUNTS[1:2], ACCOUNTS[2:]]


def test_percent_is_of_the_environment_rounded_up_and_cumulative() -> None:
    assert (
        waves_of(ACCOUNTS, {"percent": 25}, {"percent": 50}, {"percent": 100})
        == [
            ACCOUNTS[:3],  # 2.5 -> 3
            ACCOUNTS[3:5],  # up to 5
            ACCOUNTS[5:],
        ]
    )
    # 30 % of 10 is 3, not 4, whatever binary floating point makes of it.
    assert waves_of(ACCOUNTS, {"percent": 30}, {"percent": 100})[0] == ACCOUNTS[:3]


def test_accounts_are_taken_by_id_whatever_order_the_config_lists_them_in() -> None:
    shuffled = [ACCOUNTS[7], ACCOUNTS[2], ACCOUNTS[9], ACCOUNTS[0]]
    assert waves_of(shuffled, {"accounts": 1}, {"percent": 100}) == [[ACCOUNTS[0]], sorted(shuffled)[1:]]


def test_without_a_rollout_one_wave_of_every_account_with_the_environments_bake() -> None:
    (wave,) = plan_waves(list(reversed(ACCOUNTS)), [], 30)
    assert (wave.accounts, wave.bake_seconds, wave.approve) == (ACCOUNTS, 1800, False)


def test_the_environments_bake_is_the_last_waves_unless_it_says_its_own() -> None:
    rollout = [Wave(accounts=1, bake_minutes=5), Wave(percent=100)]
    assert [w.bake_seconds for w in plan_waves(ACCOUNTS, rollout, 30)] == [300, 1800]
    rollout = [Wave(accounts=1), Wave(percent=100, bake_minutes=10)]
    assert [w.bake_seconds for w in plan_waves(ACCOUNTS, rollout, 30)] == [0, 600]


def test_a_small_environment_skips_the_waves_it_cannot_fill_and_keeps_the_final_bake() -> None:
    two = ACCOUNTS[:2]
    rollout = [Wave(accounts=1), Wave(percent=10, bake_minutes=15), Wave(percent=100, approve=True)]
    waves = plan_waves(two, rollout, 60)
    assert [w.accounts for w in waves] == [two[:1], two[1:]]
    assert [w.bake_seconds for w in waves] == [0, 3600]  # the last wave's bake, not lost with it


@given(
    st.integers(min_value=1, max_value=1200),
    st.lists(
        st.one_of(
            st.builds(lambda n: {"accounts": n}, st.integers(min_value=1, max_value=2000)),
            st.builds(lambda p: {"percent": p}, st.integers(min_value=1, max_value=99)),
            st.builds(lambda p: {"percent": p}, st.floats(min_value=0.01, max_value=99.99)),
        ),
        max_size=6,
    ),
)
def test_waves_partition_the_sorted_accounts_cumulatively_and_the_last_covers_all(
    count: int, steps: list[dict[str, Any]]
) -> None:
    accounts = [f"{(n * 7919) % 10**12:012d}" for n in range(1, count + 1)]  # distinct, not in order
    rollout = [Wave.model_validate(s) for s in [*steps, {"percent": 100}]]
    waves = plan_waves(accounts, rollout, 0)

    assert [a for w in waves for a in w.accounts] == sorted(accounts)  # a partition, in id order
    assert all(w.accounts for w in waves)  # every wave switches at least one more account
    assert len(waves) <= len(rollout)
    # Each wave that runs reaches at least its own target (capped at every account), in order; the
    # waves the rollout lists past that are empty (the environment ran out of accounts).
    reached = 0
    for wave, step in zip(waves, rollout, strict=False):
        goal = step.accounts if step.accounts is not None else math.ceil(round((step.percent or 0) * count, 6) / 100)
        reached += len(wave.accounts)
        assert reached >= min(goal, count)
    assert reached == count


def test_rollout_problems_say_what_to_write() -> None:
    assert rollout_problem([Wave(accounts=1), Wave(percent=100)], 5) is None
    assert rollout_problem([Wave(accounts=1), Wave(accounts=5)], 5) is None  # reaches all 5
    assert "end the rollout with {percent: 100}" in str(rollout_problem([Wave(accounts=1), Wave(accounts=4)], 5))
    assert "end the rollout with {percent: 100}" in str(rollout_problem([Wave(percent=50)], 5))
    assert "not above rollout[0].percent" in str(rollout_problem([Wave(percent=50), Wave(percent=50)], 5))
    assert "set requiresApproval: true" in str(rollout_problem([Wave(accounts=1, approve=True), Wave(percent=100)], 5))
    assert "neither accounts nor percent" in str(rollout_problem([Wave(), Wave(percent=100)], 5))


def config(**prod: Any) -> dict[str, Any]:
    return {
        "region": "us-east-1",
        "mlAccount": "111111111111",
        "environments": {"prod": {"accounts": ACCOUNTS, **prod}},
        "projects": {
            "tools": {
                "parameterName": "/mlpromote/tools/model-arn",
                "smokeTest": {"images": ["s3://bucket-1/tools/hammer.jpg"], "expectLabels": ["hammer"]},
            }
        },
    }


@pytest.mark.parametrize(
    ("prod", "message"),
    [
        (
            {"rollout": [{"accounts": 1}, {"percent": 50}]},
            r"environments\.prod: rollout\[1\] \(percent: 50\) is the last wave and does not reach every account "
            r"of the environment's 10: end the rollout with \{percent: 100\}",
        ),
        (
            {"rollout": [{"accounts": 1, "bakeMinutes": 10}, {"percent": 100}]},
            r"rollout\[0\]\.bakeMinutes \(10\) watches the environment's rollbackAlarms .* list the CloudWatch alarms",
        ),
        ({"rollout": [{"acounts": 1}, {"percent": 100}]}, r"rollout\[0\]\.acounts: unknown key .* mean 'accounts'"),
        ({"rollout": [{"percent": 0}, {"percent": 100}]}, r"rollout\[0\]\.percent"),
        ({"rollout": [{"percent": 101}]}, r"rollout\[0\]\.percent"),
        ({"rollout": [{"percent": "10"}, {"percent": 100}]}, r"rollout\[0\]\.percent"),
        ({"rollout": [{"accounts": 0}, {"percent": 100}]}, r"rollout\[0\]\.accounts"),
        ({"rollout": [{"accounts": 1}, {"percent": 100, "approve": "yes"}]}, r"rollout\[1\]\.approve"),
        (
            {"rollout": [{"accounts": 1, "approve": True}, {"percent": 100}]},
            r"rollout\[0\]\.approve: the first wave starts right after the environment's approval gate",
        ),
        (
            {"rollbackAlarms": ["Errors"], "rollout": [{"accounts": 1}, {"percent": 100}]},
            r"rollbackAlarms are watched for bakeMinutes after the switch: set bakeMinutes too \(or a wave's",
        ),
    ],
)
def test_a_bad_rollout_is_a_named_error_that_says_what_to_fix(prod: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidConfig, match=message):
        parse_config(config(**prod))


def test_a_waves_bake_satisfies_the_rollback_alarms_and_approvers_may_decide_wave_gates() -> None:
    parsed = parse_config(
        config(
            rollbackAlarms=["Errors"],
            rollout=[{"accounts": 1, "bakeMinutes": 10}, {"percent": 100, "approve": True}],
            approvers=["arn:aws:iam::111111111111:role/Releasers"],
        )
    )
    assert parsed.environment("prod").bakes == [10, 0]


def test_the_history_quota_counts_every_waves_bake() -> None:
    # A day's bake after each of three waves: at one look a minute, 4,323 looks, past the history quota.
    rollout = [{"accounts": 1, "bakeMinutes": 1440}, {"percent": 50, "bakeMinutes": 1440}, {"percent": 100}]
    data = config(rollbackAlarms=["Errors"], bakeMinutes=1440, rollout=rollout)
    with pytest.raises(InvalidConfig, match=r"set workflow.alarmPollSeconds >= 106 .*4,323 alarm looks"):
        parse_config(data)
    data["workflow"] = {"alarmPollSeconds": 106}
    parse_config(data)


def test_statuses_follow_the_last_wave_taken_up() -> None:
    compensated = {"compensation": {"restored": [], "revoked": True}}
    assert statuses(3, {"summary": {}}, False) == [SWITCHED] * 3
    assert statuses(3, compensated, False) == [NOT_STARTED] * 3  # failed before the rollout
    failed_in_2 = {**compensated, "rollout": {"index": 1, "switching": True}}
    assert statuses(3, failed_in_2, False) == [PUT_BACK, PUT_BACK, NOT_STARTED]
    refused_at_2 = {**compensated, "rollout": {"index": 1, "switching": False}}
    assert statuses(3, refused_at_2, False) == [PUT_BACK, NOT_STARTED, NOT_STARTED]
    broken = {"compensation": {"error": {"Error": "CompensationFailed"}}, "rollout": {"index": 0, "switching": True}}
    assert statuses(3, broken, False) == ["compensationFailed", NOT_STARTED, NOT_STARTED]


def test_the_history_item_keeps_each_wave_as_its_size_and_reads_back_whole() -> None:
    from decimal import Decimal

    from mlpromote.history import AccountChange, PromotionRecord, WaveRecord

    accounts = [AccountChange(account=a, from_version="v1", to_version="v2") for a in reversed(ACCOUNTS)]
    waves = [
        WaveRecord(accounts=ACCOUNTS[:1], status=PUT_BACK),
        WaveRecord(accounts=ACCOUNTS[1:3], status=PUT_BACK, approval={"decision": "approved"}),
        WaveRecord(accounts=ACCOUNTS[3:], status=NOT_STARTED),
    ]
    record = PromotionRecord(
        promotion_id="arn:aws:states:us-east-1:111111111111:execution:m:p",
        environment="prod",
        project="tools",
        version="v2",
        accounts=accounts,
        waves=waves,
        started_at="2026-11-30T00:00:00+00:00",
    )
    item = record.item()
    assert item["waves"] == [
        {"size": 1, "status": PUT_BACK},
        {"size": 2, "status": PUT_BACK, "approval": {"decision": "approved"}},
        {"size": 7, "status": NOT_STARTED},
    ]
    # As DynamoDB reads it back: numbers are Decimals.
    read = PromotionRecord.from_item({**item, "waves": [{**w, "size": Decimal(w["size"])} for w in item["waves"]]})
    assert read.waves == waves
