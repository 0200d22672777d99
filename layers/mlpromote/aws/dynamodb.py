"""The promotions table: the environment lock, the version leases and the history, written together in
transactions."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.errors import TransientAwsError
from mlpromote.history import DEFAULT_TABLE, PromotionRecord, lease_key, lock_key, record_key

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


_table = DEFAULT_TABLE


def use_table(name: str) -> None:
    """Every call from now on goes to table `name`; the handler layer names it (mlpromote.handler)."""
    global _table
    _table = name


def table_name() -> str:
    return _table


def _dynamo(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items() if value is not None}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def lock_holder(environment: str) -> dict[str, Any] | None:
    try:
        answer = sessions.client("dynamodb").get_item(
            TableName=table_name(), Key=_dynamo(lock_key(environment)), ConsistentRead=True
        )
    except ClientError as error:
        raise sessions.translated(error, "dynamodb GetItem") from error
    return _plain(answer["Item"]) if "Item" in answer else None


def _take_lease(version: str, execution: str) -> dict[str, Any]:
    """A transaction item: add `execution` to the version's holders, unless another promotion is
    stopping it (it saw no holder and nothing pointing at it; its stop must not race our start)."""
    return {
        "Update": {
            "TableName": table_name(),
            "Key": _dynamo(lease_key(version)),
            "UpdateExpression": "ADD holders :me",
            "ConditionExpression": "attribute_not_exists(stoppingBy) OR stoppingBy = :exec",
            "ExpressionAttributeValues": {":me": {"SS": [execution]}, ":exec": {"S": execution}},
        }
    }


def _release_lease(version: str, execution: str) -> dict[str, Any]:
    return {
        "Update": {
            "TableName": table_name(),
            "Key": _dynamo(lease_key(version)),
            "UpdateExpression": "DELETE holders :me",
            "ExpressionAttributeValues": {":me": {"SS": [execution]}},
        }
    }


def _transact(items: list[dict[str, Any]]) -> bool:
    """One transaction; False when a condition failed (then nothing was written)."""
    try:
        sessions.client("dynamodb").transact_write_items(TransactItems=items)
    except ClientError as error:
        if sessions.error_code(error) == "TransactionCanceledException":
            raise_if_cancelled_for_a_moment(error)  # a conflict or a throttle is not a failed condition
            return False
        raise sessions.translated(error, "dynamodb TransactWriteItems") from error
    return True


def start(record: PromotionRecord, replacing: dict[str, Any] | None = None) -> bool:
    """Take the environment's lock, write the RUNNING record and lease the promoted version, in one
    transaction.

    `replacing`: a stale lock (its execution has ended) to take over. False when someone holds the
    lock, or another promotion is stopping the version (the caller reads which).
    """
    lock: dict[str, Any] = {**lock_key(record.environment), "holder": record.promotion_id, "since": record.started_at}
    lock["recordKey"] = record_key(record.environment, record.started_at, record.promotion_id)["sk"]
    lock["leases"] = [record.version]  # whoever recovers a stale lock releases the leases it lists
    condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
    if replacing is not None:
        condition = {
            "ConditionExpression": "holder = :stale",
            "ExpressionAttributeValues": {":stale": _serializer.serialize(replacing["holder"])},
        }
    return _transact(
        [
            {"Put": {"TableName": table_name(), "Item": _dynamo(lock), **condition}},
            {"Put": {"TableName": table_name(), "Item": _dynamo(record.item())}},
            _take_lease(record.version, record.promotion_id),
        ]
    )


def hold(record: PromotionRecord, versions: list[str]) -> bool:
    """Under the lock: rewrite the record (its `from`, read under the lock), lease `versions` too
    (what the environment serves now, which this promotion may put back or stop), and list every
    lease on the lock, so that whoever recovers the lock releases them. False if another promotion
    is stopping one of them (then nothing was written)."""
    execution = record.promotion_id
    leased = sorted({record.version, *versions})
    return _transact(
        [
            {"Put": {"TableName": table_name(), "Item": _dynamo(record.item())}},
            {
                "Update": {
                    "TableName": table_name(),
                    "Key": _dynamo(lock_key(record.environment)),
                    "UpdateExpression": "SET leases = :leases",
                    "ConditionExpression": "holder = :exec",
                    "ExpressionAttributeValues": _dynamo({":leases": leased, ":exec": execution}),
                }
            },
            *(_take_lease(version, execution) for version in leased if version != record.version),
        ]
    )


def finish(record: PromotionRecord, versions: list[str]) -> None:
    """Write the record's end, release the lock if this promotion still holds it, and its leases."""
    releases = [_release_lease(version, record.promotion_id) for version in sorted({record.version, *versions})]
    record_put = {"Put": {"TableName": table_name(), "Item": _dynamo(record.item())}}
    lock_delete = {
        "Delete": {
            "TableName": table_name(),
            "Key": _dynamo(lock_key(record.environment)),
            "ConditionExpression": "attribute_not_exists(pk) OR holder = :me",
            "ExpressionAttributeValues": {":me": _serializer.serialize(record.promotion_id)},
        }
    }
    if not _transact([record_put, lock_delete, *releases]):
        # Someone else took the lock over (ours was declared stale): record the end all the same.
        _transact([record_put, *releases])


def lease(version: str) -> dict[str, Any]:
    """The version's lease item: `holders` (a set of executions) and `stoppingBy`; empty if none."""
    try:
        answer = sessions.client("dynamodb").get_item(
            TableName=table_name(), Key=_dynamo(lease_key(version)), ConsistentRead=True
        )
    except ClientError as error:
        raise sessions.translated(error, "dynamodb GetItem") from error
    return _plain(answer["Item"]) if "Item" in answer else {}


def claim_stop(version: str, execution: str) -> bool:
    """Mark the version as being stopped by `execution`, only if no other promotion holds a lease on
    it and none is stopping it. Until `end_stop`, no promotion can lease it: what the caller reads
    next (the pointers) no promotion can change, and its stop races nobody's start."""
    try:
        sessions.client("dynamodb").update_item(
            TableName=table_name(),
            Key=_dynamo(lease_key(version)),
            UpdateExpression="SET stoppingBy = :exec",
            ConditionExpression=(
                "(attribute_not_exists(holders) OR (size(holders) = :one AND contains(holders, :exec)))"
                " AND (attribute_not_exists(stoppingBy) OR stoppingBy = :exec)"
            ),
            ExpressionAttributeValues=_dynamo({":exec": execution, ":one": 1}),
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return False
        raise sessions.translated(error, "dynamodb UpdateItem") from error
    return True


def end_stop(version: str, execution: str) -> None:
    """Clear `execution`'s stop mark (it stopped the version, or decided not to)."""
    try:
        sessions.client("dynamodb").update_item(
            TableName=table_name(),
            Key=_dynamo(lease_key(version)),
            UpdateExpression="REMOVE stoppingBy",
            ConditionExpression="stoppingBy = :exec",
            ExpressionAttributeValues=_dynamo({":exec": execution}),
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return
        raise sessions.translated(error, "dynamodb UpdateItem") from error


def drop_lease(version: str, execution: str) -> None:
    """Remove `execution` from the version's holders, and its stop mark if it has one: for a
    promotion that has ended (recovery) or no longer needs the version (past its switch)."""
    client = sessions.client("dynamodb")
    try:
        client.update_item(
            TableName=table_name(),
            Key=_dynamo(lease_key(version)),
            UpdateExpression="DELETE holders :me REMOVE stoppingBy",
            ConditionExpression="stoppingBy = :exec",
            ExpressionAttributeValues={":me": {"SS": [execution]}, ":exec": {"S": execution}},
        )
        return
    except ClientError as error:
        if sessions.error_code(error) != "ConditionalCheckFailedException":
            raise sessions.translated(error, "dynamodb UpdateItem") from error
    try:
        client.update_item(**_release_lease(version, execution)["Update"])
    except ClientError as error:
        raise sessions.translated(error, "dynamodb UpdateItem") from error


# Why DynamoDB cancels a transaction for a moment (a retry succeeds), as CancellationReasons names it:
# https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html#API_TransactWriteItems_Errors
_TRANSIENT_CANCELLATIONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})


def raise_if_cancelled_for_a_moment(error: ClientError) -> None:
    """TransientAwsError when a cancelled transaction was cancelled by a conflict or a throttle,
    not by its conditions: taking it for a failed condition would leave a lock held."""
    response: dict[str, Any] = dict(error.response)
    reasons = {str(reason.get("Code")) for reason in response.get("CancellationReasons", [])}
    if reasons & _TRANSIENT_CANCELLATIONS:
        why = ", ".join(sorted(reasons - {"None"}))
        raise TransientAwsError(f"dynamodb TransactWriteItems: cancelled ({why}); the workflow retries this") from error


def mark_ended(
    environment: str,
    record_sk: str,
    status: str,
    ended_at: str,
    cause: str | None,
    error: str | None = None,
    approval: dict[str, Any] | None = None,
) -> bool:
    """Close the record of a promotion that ended without closing it (aborted, timed out, crashed,
    or its last state failed): its status, error and cause, and how its approval ended (`approval`:
    history attribute -> value). False when the record was already closed."""
    fields: dict[str, Any] = {"status": status, "endedAt": ended_at, "cause": cause, "error": error, **(approval or {})}
    present = {name: value for name, value in fields.items() if value is not None}
    names = {f"#{index}": name for index, name in enumerate(present)}
    values = {f":{index}": value for index, value in enumerate(present.values())}
    try:
        sessions.client("dynamodb").update_item(
            TableName=table_name(),
            Key=_dynamo({"pk": f"ENV#{environment}", "sk": record_sk}),
            UpdateExpression="SET " + ", ".join(f"#{index} = :{index}" for index in range(len(present))),
            ConditionExpression="attribute_exists(pk) AND #status = :running",
            ExpressionAttributeNames={**names, "#status": "status"},
            ExpressionAttributeValues=_dynamo({**values, ":running": "RUNNING"}),
        )
    except ClientError as error_:
        if sessions.error_code(error_) == "ConditionalCheckFailedException":
            return False
        raise sessions.translated(error_, "dynamodb UpdateItem") from error_
    return True


def note_compensation(
    environment: str, record_sk: str, compensation: dict[str, Any], wave_statuses: list[str] | None = None
) -> bool:
    """Keep on a still open record what the compensation of its ended execution did, and how each of
    its rollout's waves ended (`wave_statuses`, in order). False when the record was already closed
    (its outcome is the workflow's own)."""
    names = {"#compensation": "compensation", "#status": "status"}
    values: dict[str, Any] = {":compensation": compensation, ":running": "RUNNING"}
    update = "SET #compensation = :compensation"
    for index, status in enumerate(wave_statuses or []):
        # The record's waves, as the lock opened them; a record without them is left without.
        update += f", #waves[{index}].#wave = :wave{index}"
        values[f":wave{index}"] = status
    if wave_statuses:
        names |= {"#waves": "waves", "#wave": "status"}
    try:
        sessions.client("dynamodb").update_item(
            TableName=table_name(),
            Key=_dynamo({"pk": f"ENV#{environment}", "sk": record_sk}),
            UpdateExpression=update,
            ConditionExpression="attribute_exists(pk) AND #status = :running"
            + (" AND attribute_exists(#waves)" if wave_statuses else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_dynamo(values),
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            # A record opened before waves were recorded has none to update: note the compensation alone.
            return note_compensation(environment, record_sk, compensation) if wave_statuses else False
        raise sessions.translated(error, "dynamodb UpdateItem") from error
    return True


def records(environment: str, table: str | None = None) -> list[PromotionRecord]:
    """Every promotion of an environment, oldest first."""
    out: list[PromotionRecord] = []
    paginator = sessions.client("dynamodb").get_paginator("query")
    try:
        for page in paginator.paginate(
            TableName=table or table_name(),
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues=_dynamo({":pk": f"ENV#{environment}"}),
            ConsistentRead=True,
        ):
            out.extend(PromotionRecord.from_item(_plain(item)) for item in page["Items"])
    except ClientError as error:
        raise sessions.translated(error, "dynamodb Query") from error
    return out


def release(environment: str, execution: str) -> bool:
    """Delete the environment's lock if `execution` holds it. False when it does not."""
    try:
        sessions.client("dynamodb").delete_item(
            TableName=table_name(),
            Key=_dynamo(lock_key(environment)),
            ConditionExpression="holder = :me",
            ExpressionAttributeValues={":me": _serializer.serialize(execution)},
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return False
        raise sessions.translated(error, "dynamodb DeleteItem") from error
    return True


# --- approvals (mlpromote.approvals): one item per promotion that waits for a decision ---------


def create_approval(item: dict[str, Any]) -> bool:
    """Write a new approval; False (and nothing written) when the promotion already has one."""
    try:
        sessions.client("dynamodb").put_item(
            TableName=table_name(), Item=_dynamo(item), ConditionExpression="attribute_not_exists(pk)"
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return False
        raise sessions.translated(error, "dynamodb PutItem") from error
    return True


def replace_approval(item: dict[str, Any], requested_at: str) -> bool:
    """Write the approval of a promotion's next gate over the decided one of its previous gate (the one
    requested at `requested_at`); False (nothing written) if that is no longer the one in the table."""
    try:
        sessions.client("dynamodb").put_item(
            TableName=table_name(),
            Item=_dynamo(item),
            ConditionExpression="requestedAt = :requested",
            ExpressionAttributeValues={":requested": _serializer.serialize(requested_at)},
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return False
        raise sessions.translated(error, "dynamodb PutItem") from error
    return True


def approval(key: dict[str, str]) -> dict[str, Any] | None:
    try:
        answer = sessions.client("dynamodb").get_item(TableName=table_name(), Key=_dynamo(key), ConsistentRead=True)
    except ClientError as error:
        raise sessions.translated(error, "dynamodb GetItem") from error
    return _plain(answer["Item"]) if "Item" in answer else None


def add_approval_refusal(key: dict[str, str], refusal: dict[str, str]) -> None:
    """Append a refused decision to the approval's `refusals` (it changes nothing else)."""
    try:
        sessions.client("dynamodb").update_item(
            TableName=table_name(),
            Key=_dynamo(key),
            UpdateExpression="SET #r = list_append(if_not_exists(#r, :empty), :refusal)",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#r": "refusals"},
            ExpressionAttributeValues={
                ":empty": _serializer.serialize([]),
                ":refusal": _serializer.serialize([refusal]),
            },
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return
        raise sessions.translated(error, "dynamodb UpdateItem") from error


def settle_approval(
    key: dict[str, str], fields: dict[str, Any], expected_status: str, expected_token: str | None = None
) -> bool:
    """Write the decision fields if the approval's status is still `expected_status` (and its task
    token `expected_token`, when given); False if it is not."""
    names = {f"#{index}": name for index, name in enumerate(fields)}
    values = {f":{index}": value for index, value in enumerate(fields.values())}
    condition = "#status = :expected"
    expected = {":expected": _serializer.serialize(expected_status)}
    if expected_token is not None:
        condition += " AND #token = :token"
        names["#token"] = "taskToken"
        expected[":token"] = _serializer.serialize(expected_token)
    try:
        sessions.client("dynamodb").update_item(
            TableName=table_name(),
            Key=_dynamo(key),
            UpdateExpression="SET " + ", ".join(f"#{index} = :{index}" for index in range(len(fields))),
            ConditionExpression=condition,
            ExpressionAttributeNames={**names, "#status": "status"},
            ExpressionAttributeValues={
                **{name: _serializer.serialize(value) for name, value in values.items()},
                **expected,
            },
        )
    except ClientError as error:
        if sessions.error_code(error) == "ConditionalCheckFailedException":
            return False
        raise sessions.translated(error, "dynamodb UpdateItem") from error
    return True
