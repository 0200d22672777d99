"""What a promotion of the most accounts an environment may have writes elsewhere than Step Functions
fits those stores' quotas, and the rehearsal enforces them (docs/emulator.md): DynamoDB's 400 KB item
(the history record), EventBridge's 256 KB PutEvents entries (the promotion's events), SNS's 256 KB
message (the approvers' notification)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from mlpromote import records
from mlpromote.aws import dynamodb, events, sessions
from mlpromote.config import MAX_ACCOUNTS_PER_ENVIRONMENT
from mlpromote.history import DEFAULT_TABLE
from mlpromote.plan import PromotionPlan, batches_of, grouped
from mlpromote_emulator import moto_adaptations as adapt

REGION = "us-east-1"
ML = "111111111111"
# The longest version ARN Rekognition makes: project and version names of 255 characters each.
PROJECT = "p" * 255
LONGEST = f"arn:aws:rekognition:{REGION}:{ML}:project/{PROJECT}/version/{'v' * 255}/1700000002000"
PREVIOUS = LONGEST.replace("/1700000002000", "/1700000001000")
ACCOUNTS = [f"{500_000_000_000 + i}" for i in range(MAX_ACCOUNTS_PER_ENVIRONMENT)]


@pytest.fixture
def aws() -> Any:
    adapt.install()
    adapt.set_default_account(ML)
    adapt.hooks.faults, adapt.hooks.calls = [], []
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName=DEFAULT_TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        sessions.reset()
        sessions.use_region(REGION)
        dynamodb.use_table(DEFAULT_TABLE)
        yield
    sessions.reset()
    adapt.set_default_account("123456789012")


def _plan() -> PromotionPlan:
    """A locked plan of the most accounts an environment may have, every ARN as long as it gets."""
    return PromotionPlan.model_validate(
        {
            "environment": "prod",
            "versionArn": LONGEST,
            "versionLabel": f"{PROJECT}/{'v' * 255}",
            "mlAccount": ML,
            "region": REGION,
            "accessRoleName": "mlpromote-access-prod",
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTestRoleName": "mlpromote-smoke-test",
            "parameterWriterRoleName": "mlpromote-parameter-writer",
            "smokeTest": {"images": ["s3://mlpromote-smoke/tools/a.jpg"], "expectLabels": ["hammer"]},
            "grantPropagationSeconds": 120,
            "execution": f"arn:aws:states:{REGION}:{ML}:execution:mlpromote-promote-model:x",
            "requestedAt": "2026-01-01T00:00:00+00:00",
            "plannedAt": "2026-01-01T00:00:00+00:00",
            "reason": "r" * 1024,
            "project": PROJECT,
            "projectArn": f"arn:aws:rekognition:{REGION}:{ML}:project/{PROJECT}/1",
            "statusAtPlan": "RUNNING",
            "batches": batches_of(ACCOUNTS, 25),
            "pointing": [g.dump() for g in grouped({a: PREVIOUS if i % 2 else None for i, a in enumerate(ACCOUNTS)})],
            "alreadyServed": False,
            "alreadyRunning": True,
            "minInferenceUnits": 1,
            "maxInferenceUnits": None,
            "retireSuperseded": True,
            "startPollSeconds": 30,
            "startTimeoutSeconds": 1800,
            "maxConcurrency": 10,
        }
    )


def test_dynamodb_refuses_an_item_over_400_kb_and_the_history_record_at_the_cap_fits(aws: Any) -> None:
    record = records.record(_plan())
    # One {account, from, to} per account, each ARN written out: what the record held before.
    per_account = {**record.item(), "accounts": [c.model_dump(mode="json", by_alias=True) for c in record.accounts]}
    del per_account["accountsFrom"]
    with pytest.raises(ClientError, match="Item size has exceeded the maximum allowed size"):
        boto3.client("dynamodb", region_name=REGION).put_item(
            TableName=DEFAULT_TABLE, Item=dynamodb._dynamo(per_account)
        )

    assert dynamodb.start(record)  # the lock, the record (grouped by `from`) and the lease
    [read] = dynamodb.records("prod")
    assert read.accounts == record.accounts  # each account's from and to, as it was


def test_eventbridge_refuses_entries_of_256_kb_and_the_promotion_s_events_at_the_cap_fit(aws: Any) -> None:
    client = boto3.client("events", region_name=REGION)
    too_big = {"Source": "mlpromote", "DetailType": "x", "Detail": json.dumps({"d": "x" * (256 * 1024)})}
    with pytest.raises(ClientError, match="Total size of the entries in the request is over the limit"):
        client.put_events(Entries=[too_big])
    assert events.publish("x", {"d": "x" * (256 * 1024)}) is False  # logged; a promotion never fails on it

    plan = _plan()
    detail = records.event_detail(plan, status="FAILED", error="AwsCallFailed", cause="c" * 1000)
    entry = {"Source": events.SOURCE, "DetailType": "Model Promotion Failed", "Detail": json.dumps(detail)}
    assert adapt.put_events_entry_size(entry) < adapt.PUT_EVENTS_MAX_BYTES / 2
    assert events.publish("Model Promotion Failed", detail) is True


def test_the_approvers_message_at_the_cap_fits_sns(aws: Any) -> None:
    from mlpromote import approvals

    subject, message = approvals._notification(_plan(), approvals.Approval.model_validate(_awaiting()))
    # SNS takes at most 256 KB (moto refuses more: "Message too long").
    assert len(message.encode("utf-8")) < 128 * 1024
    topic = boto3.client("sns", region_name=REGION).create_topic(Name="approvals")["TopicArn"]
    boto3.client("sns", region_name=REGION).publish(TopicArn=topic, Subject=subject, Message=message)


def _awaiting() -> dict[str, Any]:
    return {
        "promotionId": f"arn:aws:states:{REGION}:{ML}:execution:mlpromote-promote-model:x",
        "environment": "prod",
        "version": LONGEST,
        "taskToken": "t" * 1024,
        "status": "awaiting",
        "requestedAt": "2026-01-01T00:00:00+00:00",
        "expiresAt": "2026-01-02T00:00:00+00:00",
    }
