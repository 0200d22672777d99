"""Version leases (mlpromote.leases, the LEASE# items of mlpromote.aws.dynamodb) against moto's DynamoDB:
who may stop a version, and when; what the lock's transactions write and release."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlpromote import leases
from mlpromote.aws import dynamodb, stepfunctions
from mlpromote.history import PromotionRecord

V1 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v1/1700000001000"
V2 = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000"
A = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:a"
B = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:b"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        from mlpromote.aws import sessions

        sessions.reset()
        resource = boto3.resource("dynamodb", region_name="us-east-1")
        created = resource.create_table(
            TableName=dynamodb.table_name(),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield created
        sessions.reset()


@pytest.fixture
def running(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The executions Step Functions reports RUNNING; every other one has ended."""
    alive = {A, B}
    monkeypatch.setattr(stepfunctions, "execution_status", lambda arn: "RUNNING" if arn in alive else "ABORTED")
    return alive


def record(execution: str, environment: str, version: str) -> PromotionRecord:
    return PromotionRecord(
        promotion_id=execution, environment=environment, project="tools", version=version, started_at="2026-01-01"
    )


def holders(table: Any, version: str) -> set[str]:
    return set(table.get_item(Key={"pk": f"LEASE#{version}", "sk": "LEASE"}).get("Item", {}).get("holders", ()))


def test_the_lock_leases_what_it_promotes_and_what_it_serves_and_the_outcome_releases_both(table: Any) -> None:
    prod = record(A, "prod", V2)
    assert dynamodb.start(prod)
    assert holders(table, V2) == {A} and holders(table, V1) == set()
    assert dynamodb.hold(prod, [V1])
    assert holders(table, V1) == {A}
    assert sorted(table.get_item(Key={"pk": "LOCK#prod", "sk": "LOCK"})["Item"]["leases"]) == [V1, V2]

    dynamodb.finish(prod.model_copy(update={"status": "SUCCEEDED"}), [V1])
    assert holders(table, V1) == holders(table, V2) == set()
    assert "Item" not in table.get_item(Key={"pk": "LOCK#prod", "sk": "LOCK"})


def test_a_version_another_promotion_leases_is_not_stopped(table: Any, running: set[str]) -> None:
    assert dynamodb.start(record(A, "qa", V1))
    assert dynamodb.hold(record(A, "qa", V1), [V2])  # qa: v2 -> v1
    assert dynamodb.start(record(B, "prod", V2))  # prod: v1 -> v2, leases v2 too
    stopped_now: list[str] = []

    def stop(version: str) -> str | None:
        stopped_now.append(version)
        return None

    stopped, left = leases.stop_unless_used([V2], A, dict, stop, done_with_them=True)

    assert stopped == stopped_now == [] and left == {V2: f"a running promotion may serve it: {B}"}
    assert holders(table, V2) == {B}  # qa let go of v2: prod, once it retires, may stop it itself


def test_an_unleased_unused_version_is_stopped_and_the_claim_cleared(table: Any, running: set[str]) -> None:
    assert dynamodb.start(record(A, "prod", V2)) and dynamodb.hold(record(A, "prod", V2), [V1])
    seen: list[Any] = []

    def live() -> dict[str, list[str]]:
        # Read after the claim: the mark is on, so nobody can lease v1 now.
        seen.append(dynamodb.lease(V1).get("stoppingBy"))
        return {V2: ["prod/333333333333"]}

    stopped, left = leases.stop_unless_used([V1], A, live, lambda version: None)

    assert (stopped, left, seen) == ([V1], {}, [A])
    assert "stoppingBy" not in dynamodb.lease(V1)


def test_a_version_still_pointed_at_is_left_running(table: Any, running: set[str]) -> None:
    stopped, left = leases.stop_unless_used([V1], A, lambda: {V1: ["qa/222222222222"]}, lambda v: None)
    assert stopped == [] and left == {V1: "still live in qa/222222222222"}
    assert "stoppingBy" not in dynamodb.lease(V1)


def test_no_lease_can_be_taken_while_another_promotion_is_stopping_the_version(table: Any, running: set[str]) -> None:
    assert dynamodb.claim_stop(V1, A)
    assert not dynamodb.start(record(B, "prod", V1))  # nothing written: no lock, no record, no lease
    assert "Item" not in table.get_item(Key={"pk": "LOCK#prod", "sk": "LOCK"})
    assert not dynamodb.claim_stop(V1, B)
    dynamodb.end_stop(V1, A)
    assert dynamodb.start(record(B, "prod", V1))
    assert not dynamodb.claim_stop(V1, A)  # and now B holds it


def test_the_leases_of_an_ended_promotion_are_not_in_the_way(table: Any, running: set[str]) -> None:
    assert dynamodb.start(record(B, "prod", V1))
    running.discard(B)  # B was aborted without releasing anything

    stopped, left = leases.stop_unless_used([V1], A, dict, lambda version: None)

    assert stopped == [V1] and left == {}
    assert holders(table, V1) == set()


def test_dropping_a_lease_clears_only_its_own_stop_mark(table: Any) -> None:
    assert dynamodb.claim_stop(V1, A)
    dynamodb.drop_lease(V1, B)
    assert dynamodb.lease(V1).get("stoppingBy") == A
    dynamodb.drop_lease(V1, A)
    assert "stoppingBy" not in dynamodb.lease(V1)
