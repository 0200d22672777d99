"""`mlpromote local serve`: the REST API over real HTTP on 127.0.0.1, backed by the emulator.

Each test starts the server on a free port in a thread, talks to it with urllib, and asserts the
emulated world the requests left behind.
"""

from __future__ import annotations

import io
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from mlpromote_cli.main import main

PROD_A, PROD_B = "333333333333", "444444444444"
LOCAL_CALLER = "arn:aws:iam::111111111111:user/local-serve"


class Client:
    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read() or b"null")

    def until_ended(self, promotion_id: str) -> dict[str, Any]:
        """GET the promotion until it is no longer RUNNING (the execution runs on simulated time)."""
        for _ in range(2000):
            status, promotion = self("GET", f"/promotions/{promotion_id}")
            assert status == 200, promotion
            if promotion["status"] != "RUNNING":
                return dict(promotion)
            time.sleep(0.02)
        raise AssertionError(f"{promotion_id} still RUNNING")


@pytest.fixture
def served(worlds: Any) -> Iterator[tuple[Any, Client]]:
    from mlpromote_emulator.serve import LocalApi, serve_in_background

    with worlds.emulator() as emu, LocalApi(emu, port=0) as api:
        thread = serve_in_background(api)
        try:
            yield emu, Client(api.url)
        finally:
            api.shutdown()
            thread.join(timeout=10)


def executions(emu: Any) -> list[dict[str, Any]]:
    return boto3.client("stepfunctions").list_executions(stateMachineArn=emu.state_machine_arn)["executions"]


def test_a_promotion_over_http_moves_every_account_and_is_listed(served: Any) -> None:
    emu, http = served
    v2 = emu.names.arn("tools/v2", emu.config)

    status, started = http("POST", "/promotions", {"environment": "prod", "modelVersionArn": v2, "reason": "curl"})
    assert (status, started["status"]) == (202, "RUNNING"), started
    promotion = http.until_ended(started["promotionId"])
    listed_status, listed = http("GET", "/promotions?environment=prod")
    world = emu.world()

    assert promotion["status"] == "SUCCEEDED", promotion
    assert promotion["request"]["entryPoint"] == "api" and promotion["request"]["requestedBy"] == LOCAL_CALLER
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert world["grants"]["prod"] == ["tools/v2"]
    assert listed_status == 200
    assert [(p["promotionId"], p["status"], p["requestedBy"]) for p in listed["promotions"]] == [
        (started["executionArn"], "SUCCEEDED", LOCAL_CALLER)
    ]


def test_a_bad_body_is_400_naming_the_field_and_starts_nothing(served: Any, worlds: Any) -> None:
    emu, http = served
    missing_status, missing = http("POST", "/promotions", {"environment": "prod"})
    not_json_status, not_json = http("POST", "/promotions", b"{environment: prod")
    assert (missing_status, missing["error"]) == (400, "InvalidPromotionRequest")
    assert "modelVersionArn" in missing["message"]
    assert (not_json_status, not_json["error"]) == (400, "InvalidPromotionRequest")
    assert executions(emu) == []
    assert emu.world() == worlds.standard


def test_an_unknown_route_is_404_and_names_the_routes(served: Any) -> None:
    emu, http = served
    status, answer = http("GET", "/promotion")
    wrong_method_status, _ = http("DELETE", "/promotions")
    assert (status, answer["error"]) == (404, "NotFound")
    assert "POST /promotions" in answer["message"]
    assert wrong_method_status == 404
    assert executions(emu) == []


def test_a_retry_with_the_same_idempotency_key_starts_one_execution(served: Any) -> None:
    emu, http = served
    body = {"environment": "qa", "modelVersionArn": emu.names.arn("tools/v3", emu.config)}
    key = {"Idempotency-Key": "release-42", "Content-Type": "application/json"}
    first_status, first = http("POST", "/promotions", body, key)
    again_status, again = http("POST", "/promotions", body, key)
    promotion = http.until_ended(first["promotionId"])

    assert (first_status, again_status) == (202, 202)
    assert again["executionArn"] == first["executionArn"]
    assert [e["executionArn"] for e in executions(emu)] == [first["executionArn"]]
    assert promotion["status"] == "SUCCEEDED", promotion
    assert emu.world()["parameters"]["qa"]["tools"] == {"222222222222": "tools/v3"}


def test_a_rollback_over_http_puts_the_environment_back(served: Any, worlds: Any) -> None:
    emu, http = served
    v2 = emu.names.arn("tools/v2", emu.config)
    _, promoted = http("POST", "/promotions", {"environment": "prod", "modelVersionArn": v2})
    assert http.until_ended(promoted["promotionId"])["status"] == "SUCCEEDED"

    status, started = http("POST", "/environments/prod/rollback", {"reason": "error rate up"})
    rolled_back = http.until_ended(started["promotionId"])

    assert status == 202 and rolled_back["status"] == "SUCCEEDED", rolled_back
    assert emu.world()["parameters"] == worlds.standard["parameters"]


def test_serve_refuses_a_bad_scenario_with_exit_2(tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"config": {"region": "us-east-1"}, "world": {}}))
    assert main(["local", "serve", "--scenario", str(path), "--port", "0"]) == 2
    captured = capsys.readouterr()
    assert "InvalidConfig" in captured.err and captured.out == ""


def test_serve_prints_where_it_listens_then_serves_until_stopped(tmp_path: Path) -> None:
    """The command's own loop: one startup line with the URL and a curl body that works as printed;
    the scenario's promotions are not run."""
    from conftest import scenario_data
    from mlpromote_emulator.serve import serve

    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario_data(promotions=[("prod", "tools/v2")])))
    out, err = io.StringIO(), io.StringIO()
    seen: dict[str, Any] = {}

    def try_it(api: Any) -> None:
        def session() -> None:
            line = seen["line"] = out.getvalue()
            body = seen["body"] = json.loads(line.split("-d '", 1)[1].rsplit("'", 1)[0])
            http = Client(api.url)
            status, started = http("POST", "/promotions", body)
            seen["status"], seen["promotion"] = status, http.until_ended(started["promotionId"])
            seen["url"], seen["executions"] = api.url, executions(api.emulator)
            api.shutdown()

        threading.Thread(target=session, daemon=True).start()

    assert serve(path, 0, out, err, ready=try_it) == 0

    line, promotion = seen["line"], seen["promotion"]
    assert line.count("\n") == 1 and seen["url"] in line and "not run" in line
    assert seen["status"] == 202 and promotion["status"] == "SUCCEEDED", promotion
    request = {k: v for k, v in promotion["request"].items() if k not in ("entryPoint", "requestedBy")}
    assert seen["body"] == request
    # Only the execution requested over HTTP ran, not the scenario's promotion.
    assert [e["executionArn"] for e in seen["executions"]] == [promotion["executionArn"]]
    assert "POST /promotions" in err.getvalue()


def test_an_approval_over_http_resumes_a_gated_promotion(worlds: Any) -> None:
    from mlpromote_emulator.serve import LocalApi, serve_in_background

    gated = {"environments": {"prod": {"requiresApproval": True}}}
    with worlds.emulator(config=gated) as emu, LocalApi(emu, port=0) as api:
        emu.approvals_by_hand = True  # as `local serve` does: the user decides, however long it takes
        thread = serve_in_background(api)
        http = Client(api.url)
        try:
            v2 = emu.names.arn("tools/v2", emu.config)
            _, started = http("POST", "/promotions", {"environment": "prod", "modelVersionArn": v2})
            promotion_id = started["promotionId"]
            for _ in range(2000):
                _, promotion = http("GET", f"/promotions/{promotion_id}")
                if (promotion.get("approval") or {}).get("status") == "awaiting":
                    break
                time.sleep(0.02)
            waiting_world = emu.world()
            decided_status, decided = http(
                "POST", f"/promotions/{promotion_id}/approval", {"decision": "approve", "comment": "go"}
            )
            promotion = http.until_ended(promotion_id)
            world = emu.world()
        finally:
            api.shutdown()
            thread.join(timeout=10)

    assert waiting_world["parameters"]["prod"] == {"tools": {PROD_A: "tools/v1", PROD_B: "tools/v1"}}
    assert decided_status == 200 and decided["approval"]["approver"] == LOCAL_CALLER
    assert promotion["status"] == "SUCCEEDED"
    assert promotion["approval"]["status"] == "approved" and promotion["approval"]["comment"] == "go"
    assert world["parameters"]["prod"] == {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}
