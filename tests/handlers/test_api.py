"""The REST API's handler, called with API Gateway proxy events, against the emulated accounts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

CALLER = "arn:aws:iam::999999999999:user/release-bot"
REPO = Path(__file__).resolve().parents[2]


def event(method: str, path: str, body: Any = None, query: dict[str, str] | None = None, headers: Any = None) -> dict:
    resource, parameters = path, {}
    if path.startswith("/environments/"):
        resource, parameters = "/environments/{environment}/rollback", {"environment": path.split("/")[2]}
    elif path.startswith("/promotions/"):
        resource, parameters = "/promotions/{promotionId}", {"promotionId": path.split("/")[2]}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in (query or {}).items()} or None,
        "pathParameters": parameters or None,
        "body": body if isinstance(body, str) or body is None else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {
            "requestId": "test-request",
            "stage": "v1",
            "httpMethod": method,
            "resourcePath": resource,
            "path": f"/v1{path}",
            "identity": {"userArn": CALLER, "caller": "AIDAEXAMPLE", "sourceIp": "127.0.0.1"},
        },
    }


def call(emu: Any, *args: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    payload, failed = emu.invoke("ApiFunction", json.dumps(event(*args, **kwargs)).encode())
    assert not failed, payload
    answer = json.loads(payload)
    body = json.loads(answer["body"])
    assert answer["statusCode"] < 500, body
    return answer["statusCode"], body


def executions(emu: Any) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=emu.state_machine_arn)["executions"]


def test_post_promotions_starts_one_execution_and_get_reads_it(worlds: Any) -> None:
    with worlds.emulator() as emu:
        body = {"environment": "prod", "modelVersionArn": emu.names.arn("tools/v2", emu.config), "reason": "QA passed"}
        status, started = call(emu, "POST", "/promotions", body)
        again_status, again = call(emu, "POST", "/promotions", body)  # a retry: the same execution
        emu.wait(started["executionArn"])
        read_status, promotion = call(emu, "GET", f"/promotions/{started['promotionId']}")
        list_status, listed = call(emu, "GET", "/promotions", query={"environment": "prod"})
        world, count = emu.world(), len(executions(emu))

    assert (status, started["status"]) == (202, "RUNNING")
    assert (again_status, again["promotionId"]) == (202, started["promotionId"])
    assert count == 1
    assert read_status == 200 and promotion["status"] == "SUCCEEDED"
    assert promotion["request"]["entryPoint"] == "api" and promotion["request"]["requestedBy"] == CALLER
    assert promotion["steps"][0] == {"name": "Validate and plan", "status": "SUCCEEDED"}
    assert promotion["summary"]["version"] == emu.names.arn("tools/v2", emu.config)
    assert list_status == 200
    assert [(p["requestedBy"], p["entryPoint"], p["status"]) for p in listed["promotions"]] == [
        (CALLER, "api", "SUCCEEDED")
    ]
    assert world["parameters"]["prod"]["tools"] == {"333333333333": "tools/v2", "444444444444": "tools/v2"}


def test_the_idempotency_key_decides_what_a_retry_is(worlds: Any) -> None:
    with worlds.emulator() as emu:
        v2, v3 = emu.names.arn("tools/v2", emu.config), emu.names.arn("tools/v3", emu.config)
        headers = {"Idempotency-Key": "release-42"}
        first, started = call(emu, "POST", "/promotions", {"environment": "qa", "modelVersionArn": v3}, headers=headers)
        emu.wait(started["executionArn"])
        reused, refused = call(
            emu, "POST", "/promotions", {"environment": "prod", "modelVersionArn": v2}, headers=headers
        )
        count = len(executions(emu))
    assert first == 202
    assert (reused, refused["error"]) == (400, "IdempotencyKeyReused")
    assert count == 1


GATED = {"environments": {"prod": {"requiresApproval": True, "approvalTimeoutHours": 2}}}


@pytest.mark.parametrize("keyed", [True, False], ids=["idempotency-key", "same-body"])
def test_a_retry_gets_its_first_promotion_in_every_state_and_a_reused_key_is_refused_in_every_state(
    worlds: Any, keyed: bool
) -> None:
    with worlds.emulator(config=GATED) as emu:
        emu.approvals_by_hand = True  # the test decides at the gate
        v2, v3 = emu.names.arn("tools/v2", emu.config), emu.names.arn("tools/v3", emu.config)
        body, other = {"environment": "prod", "modelVersionArn": v2}, {"environment": "prod", "modelVersionArn": v3}
        key = {"Idempotency-Key": "release-7"} if keyed else None
        answers: dict[str, tuple[tuple[int, dict[str, Any]], tuple[int, dict[str, Any]] | None]] = {}

        def retry(state: str) -> None:
            reused = call(emu, "POST", "/promotions", other, headers=key) if keyed else None
            answers[state] = (call(emu, "POST", "/promotions", body, headers=key), reused)

        first_status, first = call(emu, "POST", "/promotions", body, headers=key)
        retry("running")
        emu.wait_at_the_gate(first["executionArn"])
        retry("gate")
        assert emu.decide(first["executionArn"], "approve").status == 200
        emu.wait(first["executionArn"])
        retry("ended")
        world, count = emu.world(), len(executions(emu))

    assert first_status == 202
    expected = {"running": "RUNNING", "gate": "RUNNING", "ended": "SUCCEEDED"}
    for state, ((status, again), reused) in answers.items():
        assert (status, again["promotionId"], again["status"]) == (202, first["promotionId"], expected[state])
        if reused is not None:
            assert (reused[0], reused[1]["error"]) == (400, "IdempotencyKeyReused"), (state, reused)
    assert answers["gate"][0][1]["approval"]["status"] == "awaiting"
    assert answers["ended"][0][1]["approval"]["status"] == "approved"
    assert count == 1
    assert world["parameters"]["prod"] == {"tools": {"333333333333": "tools/v2", "444444444444": "tools/v2"}}


def test_every_bad_request_is_refused_with_what_to_fix_and_starts_nothing(worlds: Any) -> None:
    arn = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000"
    cases = [
        ("POST", "/promotions", "not json", {}, "InvalidPromotionRequest", "not JSON"),
        ("POST", "/promotions", [1, 2], {}, "InvalidPromotionRequest", "JSON object"),
        ("POST", "/promotions", {"modelVersionArn": arn}, {}, "InvalidPromotionRequest", "environment"),
        ("POST", "/promotions", {"environment": "prod"}, {}, "InvalidPromotionRequest", "modelVersionArn"),
        ("POST", "/promotions", {"environment": "staging", "modelVersionArn": arn}, {}, "UnknownEnvironment", "known"),
        ("POST", "/promotions", {"environment": "prod", "modelVersionArn": "v2"}, {}, "InvalidModelVersionArn", "arn"),
        (
            "POST",
            "/promotions",
            {"environment": "prod", "modelVersionArn": arn.replace("1111", "2222")},
            {},
            "VersionOutsideMlAccount",
            "ML account",
        ),
        (
            "POST",
            "/promotions",
            {"environment": "prod", "modelVersionArn": arn.replace("tools", "wid")},
            {},
            "UnknownProject",
            "projects",
        ),
        (
            "POST",
            "/promotions",
            {"environment": "prod", "modelVersionArn": arn, "requestedBy": "me"},
            {},
            "InvalidPromotionRequest",
            "requestedBy",
        ),
        ("POST", "/environments/prod/rollback", {"force": True}, {}, "InvalidPromotionRequest", "force"),
        ("GET", "/promotions", None, None, "InvalidPromotionRequest", "environment"),
        ("GET", "/promotions", None, {"environment": "prod", "limit": "0"}, "InvalidPromotionRequest", "limit"),
        ("GET", "/promotions", None, {"environment": "x"}, "UnknownEnvironment", "known"),
        (
            "GET",
            "/promotions",
            None,
            {"environment": "prod", "nextToken": "%%"},
            "InvalidPromotionRequest",
            "nextToken",
        ),
    ]
    with worlds.emulator() as emu:
        before = emu.world()
        answers = [call(emu, method, path, body, query=query) for method, path, body, query, *_ in cases]
        missing = call(emu, "GET", "/promotions/prod-promote-nosuch")
        after, count = emu.world(), len(executions(emu))
    for (status, answer), (*_, error, words) in zip(answers, cases, strict=True):
        assert (status, answer["error"]) == (400, error), answer
        assert words in answer["message"], answer
    assert missing[0] == 404
    assert after == before and count == 0


def test_a_promotion_of_a_busy_environment_is_409_naming_the_running_one(worlds: Any) -> None:
    with worlds.emulator(config=GATED) as emu:
        emu.approvals_by_hand = True  # the holder waits at the approval gate while the others ask
        v2, v3 = emu.names.arn("tools/v2", emu.config), emu.names.arn("tools/v3", emu.config)
        _, first = call(emu, "POST", "/promotions", {"environment": "prod", "modelVersionArn": v2})
        holder = first["executionArn"]
        emu.wait_at_the_gate(holder)
        status, answer = call(emu, "POST", "/promotions", {"environment": "prod", "modelVersionArn": v3})
        rollback_status, rollback = call(emu, "POST", "/environments/prod/rollback", {"reason": "errors"})
        count = len(executions(emu))
        assert emu.decide(holder, "reject").status == 200
        emu.wait(holder)
        world = emu.world()
    assert (status, answer["error"]) == (409, "PromotionInProgress") and holder in answer["message"]
    assert rollback_status == 409 and holder in rollback["message"]
    assert count == 1  # only the holder's execution
    assert world == worlds.standard  # the holder was rejected and undone; the refused ones changed nothing


def test_the_openapi_document_matches_the_routes_and_the_template() -> None:
    """Three lists of the same routes: the handler's, the OpenAPI document's, the template's events."""
    import importlib.util
    import re

    def shape(path: str) -> str:
        return re.sub(r"[<{][^>}]+[>}]", "{}", path)

    spec = importlib.util.spec_from_file_location("api_app", REPO / "functions" / "api" / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    routes = {(r.method.lower(), shape(r.path)) for r in module.app._static_routes + module.app._dynamic_routes}
    document = yaml.safe_load((REPO / "api" / "openapi.yaml").read_text())
    documented = {(method, shape(path)) for path, operations in document["paths"].items() for method in operations}
    from mlpromote_emulator.runtime import load_template

    template = load_template(REPO / "template.yaml")
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    deployed = {(e["Properties"]["Method"], shape(e["Properties"]["Path"])) for e in events}
    assert routes == documented == deployed
