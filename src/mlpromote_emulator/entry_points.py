"""A scenario promotion's `via:` other than the console: the REST API's handler, or an event.

`api` sends the request through API Gateway's proxy event to the real Api handler (POST /promotions,
or POST /environments/{env}/rollback) and takes the execution from its 202; a refusal is ApiRefused.
`event` puts the documented request event on the default bus; the template's rule and its input
transformer start the execution, which is found as the one that was not there before.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import boto3

from mlpromote_emulator.apigateway import LocalGateway

# The request event template.yaml's PromotionRequested rule matches (README, "with an event").
REQUEST_SOURCE = "mlpromote.requests"
REQUEST_DETAIL_TYPE = "Model Promotion Requested"


class ApiRefused(Exception):
    """The API answered something other than 202: nothing started."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(f"{status} {error}: {message}")
        self.status, self.error, self.message = status, error, message


def _route(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The API route of a request and its body: a rollback has its own route."""
    if request.get("rollback"):
        body: dict[str, Any] = {key: request[key] for key in ("reason", "project") if key in request}
        return f"/environments/{quote(str(request['environment']), safe='')}/rollback", body
    return "/promotions", request


def dry_run_through_api(gateway: LocalGateway, request: dict[str, Any]) -> dict[str, Any]:
    """The plan the API's dry run (`?dryRun=true`) answers; ApiRefused for a request it cannot plan."""
    path, body = _route(request)
    answer = gateway.call(
        "POST", path, json.dumps(body), headers={"Content-Type": "application/json"}, query={"dryRun": ["true"]}
    )
    try:
        document = answer.json() or {}
    except ValueError:
        document = {}
    if answer.status != 200 or not isinstance(document, dict) or "refusal" not in document:
        message = " ".join(str(document.get(k)) for k in ("message", "detail") if document.get(k)) or answer.body
        raise ApiRefused(answer.status, str(document.get("error") or f"HTTP {answer.status}"), message)
    return document


def through_api(gateway: LocalGateway, request: dict[str, Any], idempotency_key: str | None = None) -> str:
    """The execution ARN the API's 202 names; ApiRefused for any other answer."""
    path, body = _route(request)
    headers = {"Content-Type": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    answer = gateway.call("POST", path, json.dumps(body), headers=headers)
    try:
        document = answer.json() or {}
    except ValueError:
        document = {}
    if answer.status != 202 or not isinstance(document, dict) or "executionArn" not in document:
        message = " ".join(str(document.get(k)) for k in ("message", "detail") if document.get(k)) or answer.body
        raise ApiRefused(answer.status, str(document.get("error") or f"HTTP {answer.status}"), message)
    return str(document["executionArn"])


class EventNotDelivered(Exception):
    """EventBridge could not start the execution with the request event: it is in the dead-letter queue."""

    error = "EventNotDelivered"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def through_event(
    region: str, state_machine_arn: str, request: dict[str, Any], dead_letter_queues: tuple[str, ...] = ()
) -> str:
    """Put the request event on the default bus; the execution the template's rule started.
    EventNotDelivered when the event went to a rule's dead-letter queue instead."""
    sfn = boto3.client("stepfunctions", region_name=region)
    before = _executions(sfn, state_machine_arn)
    detail = {key: request[key] for key in ("environment", "modelVersionArn", "reason") if key in request}
    answer = boto3.client("events", region_name=region).put_events(
        Entries=[{"Source": REQUEST_SOURCE, "DetailType": REQUEST_DETAIL_TYPE, "Detail": json.dumps(detail)}]
    )
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the request event: {answer['Entries']}")
    started = _executions(sfn, state_machine_arn) - before
    undelivered = _dead_letters(region, dead_letter_queues, str(answer["Entries"][0].get("EventId")))
    if not started and undelivered:
        raise EventNotDelivered(undelivered)
    if len(started) != 1:
        raise RuntimeError(
            f"the request event started {len(started)} executions, not one: "
            "is template.yaml's PromotionRequested rule still on the state machine?"
        )
    return started.pop()


def _dead_letters(region: str, queues: tuple[str, ...], event_id: str) -> str:
    """What the dead-letter queues say of this event (its error and tries), or "" if they do not hold it."""
    sqs = boto3.client("sqs", region_name=region)
    for url in queues:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        for message in messages:
            if json.loads(message["Body"]).get("id") != event_id:
                continue
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            return (
                f"EventBridge sent the request event to its dead-letter queue after "
                f"{int(attributes.get('RETRY_ATTEMPTS', '0')) + 1} tries: {attributes.get('ERROR_CODE')}: "
                f"{attributes.get('ERROR_MESSAGE')}"
            )
    return ""


def _executions(sfn: Any, state_machine_arn: str) -> set[str]:
    return {
        execution["executionArn"]
        for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn)
        for execution in page["executions"]
    }
