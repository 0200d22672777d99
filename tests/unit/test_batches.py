"""The fan-out's batches: how the plan splits an environment's accounts, and what the config allows."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlpromote import fanout
from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig
from mlpromote.plan import batches_of, grouped

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


def with_workflow(**workflow: int) -> dict[str, Any]:
    data = copy.deepcopy(CONFIG)
    data["workflow"] = workflow
    return data


def test_the_accounts_are_sorted_into_batches_and_what_they_serve_is_kept_once_per_version() -> None:
    accounts = ["555555555555", "333333333333", "444444444444", "222222222222", "666666666666"]
    assert batches_of(accounts, 2) == [
        ["222222222222", "333333333333"],
        ["444444444444", "555555555555"],
        ["666666666666"],
    ]
    groups = grouped({"333333333333": "arn:v1", "222222222222": None, "444444444444": "arn:v1"})
    assert [g.dump() for g in groups] == [
        {"version": None, "accounts": ["222222222222"]},
        {"version": "arn:v1", "accounts": ["333333333333", "444444444444"]},
    ]


def test_batches_run_side_by_side_within_max_concurrency_accounts_at_once() -> None:
    for max_concurrency in range(1, 41):
        for per_batch in range(1, 101):
            threads = fanout.account_workers(max_concurrency, per_batch)
            assert fanout.batch_concurrency(max_concurrency, per_batch) * threads <= max(max_concurrency, 1)
    assert (fanout.account_workers(10, 25), fanout.batch_concurrency(10, 25), fanout.rounds(10, 25)) == (10, 1, 3)
    assert (fanout.account_workers(40, 5), fanout.batch_concurrency(40, 5)) == (5, 8)


def test_the_default_batch_keeps_a_batch_within_its_rounds_and_a_batch_that_would_not_is_refused() -> None:
    assert parse_config(with_workflow(), source="c").workflow.batch_size == 25
    assert parse_config(with_workflow(maxConcurrency=1), source="c").workflow.batch_size == 4
    with pytest.raises(InvalidConfig) as refused:
        parse_config(with_workflow(maxConcurrency=2, accountsPerBatch=25), source="c")
    assert "accountsPerBatch 25 with maxConcurrency 2" in str(refused.value)
    assert "Set accountsPerBatch <= 8 or raise maxConcurrency" in str(refused.value)
    assert parse_config(with_workflow(maxConcurrency=2, accountsPerBatch=8), source="c").workflow.batch_size == 8
