"""Comprehend custom models in a copy environment (issue 12 item 3, "the same with PutResourcePolicy and
ImportModel"): each prod account imports its own copy of the promoted version, runs it on an endpoint of its
own, is smoke-tested and pointed at that endpoint there. Promoted, rolled back and compensated on the
emulator; the world asserted: pointers (by the source version), grants, each account's copies, the local
endpoints the pointers name, and the source version's resource policy (gone once the copies are done)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from mlpromote import arns
from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.runtime import Emulator
from mlpromote_emulator.scenario import PromotionSpec, parse_scenario

ML, QA, A, B = "111111111111", "222222222222", "333333333333", "444444444444"
PARAMETER = "/mlpromote/tickets/endpoint-arn"

SCENARIO: dict[str, Any] = {
    "config": {
        "region": "us-east-1",
        "mlAccount": ML,
        "environments": {
            "qa": {"accounts": [QA]},
            "prod": {"accounts": [A, B], "strategy": "copy", "deleteSupersededCopies": True},
        },
        "projects": {
            "tickets": {
                "service": "comprehend",
                "kind": "classifier",
                "parameterName": PARAMETER,
                "inferenceUnits": 2,
                "smokeTest": {"texts": ["charged twice, refund please"], "expectClasses": ["billing"]},
            }
        },
    },
    "world": {
        "versions": {
            "tickets/v1": {"status": "IN_SERVICE", "classes": ["billing"]},
            "tickets/v2": {"status": "TRAINED", "classes": {"billing": 0.9}},
            "tickets/v3": {"status": "TRAINED", "classes": {"shipping": 0.8}},
        },
        "live": {"qa": ["tickets/v1"], "prod": ["tickets/v1"]},
    },
}


def _emulator(changes: dict[str, Any] | None = None) -> Emulator:
    data = copy.deepcopy(SCENARIO)
    for key, value in (changes or {}).items():
        data[key] = {**data[key], **value}
    return Emulator(parse_scenario(data, base=Path(".")))


def _model(label: str, account: str = ML) -> str:
    project, version = label.split("/")
    return arns.comprehend_model_version("aws", "us-east-1", account, "document-classifier", project, version)


def _policy(label: str) -> Any:
    return adapt.import_policy_of(_model(label))


def _endpoints(account: str) -> dict[str, tuple[str, int]]:
    """The account's endpoints: ARN -> (the model it serves, its inference units)."""
    store = adapt.comprehend_store(account, "us-east-1")
    return {e.arn: (e.model_arn, e.units) for e in store.list_endpoints(None, None) if e.current_status() != "DELETING"}


def test_a_comprehend_copy_environment_is_promoted_then_rolled_back() -> None:
    with _emulator() as emu:
        before = emu.world()
        assert before["copies"] == {A: {"tickets/v1": "IN_SERVICE"}, B: {"tickets/v1": "IN_SERVICE"}}
        assert before["grants"]["prod"] == []

        promoted = emu.promote(PromotionSpec(environment="prod", version="tickets/v2", reason="passed QA"))
        assert promoted.status == "SUCCEEDED", f"{promoted.error}: {promoted.cause}"
        assert promoted.output["granted"] == [] and promoted.output["revoked"] == []
        assert promoted.output["stopped"] == ["tickets/v1: copy deleted in 2 accounts"]
        after = emu.world()
        assert after["parameters"]["prod"] == {"tickets": {A: "tickets/v2", B: "tickets/v2"}}
        assert after["grants"]["prod"] == []
        # v1's endpoints and imports are deleted (deleteSupersededCopies); v2 is imported and served in each.
        assert after["copies"] == {A: {"tickets/v2": "IN_SERVICE"}, B: {"tickets/v2": "IN_SERVICE"}}
        # The ML account's versions are untouched: v2 has no endpoint there (no environment shares it).
        assert (
            after["versions"]
            == before["versions"]
            == {"tickets/v1": "IN_SERVICE", "tickets/v2": "TRAINED", "tickets/v3": "TRAINED"}
        )
        assert _policy("tickets/v2") is None  # taken back once every import was done
        for account in (A, B):
            # The pointer names the account's own endpoint, serving its import with the project's units.
            local = _model("tickets/v2", account)
            pointer = adapt.parameter_value(account, "us-east-1", PARAMETER)
            assert pointer == arns.comprehend_endpoint(local)
            assert _endpoints(account) == {pointer: (local, 2)}
            assert adapt.comprehend_store(account, "us-east-1").models[local].source_arn == _model("tickets/v2")
        # qa (share) is as it was.
        assert after["parameters"]["qa"] == before["parameters"]["qa"]
        assert after["grants"]["qa"] == before["grants"]["qa"]

        rolled_back = emu.promote(PromotionSpec(environment="prod", rollback=True, reason="misrouted"))
        assert rolled_back.status == "SUCCEEDED", f"{rolled_back.error}: {rolled_back.cause}"
        assert rolled_back.output["version"] == "tickets/v1"
        after = emu.world()
        assert after["parameters"]["prod"] == {"tickets": {A: "tickets/v1", B: "tickets/v1"}}
        assert after["copies"] == {A: {"tickets/v1": "IN_SERVICE"}, B: {"tickets/v1": "IN_SERVICE"}}
        assert after["versions"] == before["versions"]
        assert _policy("tickets/v1") is None


def test_a_failed_smoke_test_deletes_the_imports_and_endpoints_this_promotion_made() -> None:
    """v3 does not find `billing`: compensated. Pointers unchanged, the v3 endpoints and imports gone from
    every account, the v1 copies still serving, the resource policy on v3 gone."""
    with _emulator() as emu:
        before = emu.world()
        failed = emu.promote(PromotionSpec(environment="prod", version="tickets/v3"))
        assert failed.status == "FAILED"
        assert failed.error == "SmokeTestFailed", failed.cause
        assert failed.compensation is not None and failed.compensation["stopped"] is True
        after = emu.world()
        assert after["parameters"] == before["parameters"]
        assert after["grants"] == before["grants"]
        assert after["copies"] == before["copies"] == {A: {"tickets/v1": "IN_SERVICE"}, B: {"tickets/v1": "IN_SERVICE"}}
        assert after["versions"] == before["versions"]
        assert _policy("tickets/v3") is None
        for account in (A, B):
            assert list(_endpoints(account).values()) == [(_model("tickets/v1", account), 2)]


def test_the_import_is_refused_without_the_resource_policy() -> None:
    """ImportModel across accounts needs the source version's resource policy to allow the caller: with the
    policy write failing, no import happens and the promotion fails with the AWS error, nothing changed."""
    fault = {"service": "comprehend", "operation": "PutResourcePolicy", "error": "InvalidRequestException"}
    with _emulator() as emu:
        before = emu.world()
        emu.inject(parse_scenario({**copy.deepcopy(SCENARIO), "faults": [fault]}, base=Path(".")).faults)
        failed = emu.promote(PromotionSpec(environment="prod", version="tickets/v2"))
        assert failed.status == "FAILED" and failed.error == "AwsCallFailed", failed.cause
        after = emu.world()
        assert after == before
        assert _policy("tickets/v2") is None


def test_drift_reports_a_pointer_to_an_endpoint_not_in_service_and_an_idle_import() -> None:
    """An account whose endpoint was deleted (the import TRAINED, no endpoint) and an IN_SERVICE import nobody
    points at (it costs its inference units per hour)."""
    world = {"copies": {A: {"tickets/v1": "STOPPED", "tickets/v2": "RUNNING"}}}
    with _emulator({"world": world}) as emu:
        payload, failed = emu.invoke("DetectDriftFunction", json.dumps({"source": "test"}).encode())
        assert not failed, payload
        findings = json.loads(payload)["findings"]
        assert [(f["kind"], f["environment"], f["account"], f["version"]) for f in findings] == [
            ("PointerToNotRunning", "prod", A, _model("tickets/v1", A)),
            ("IdleVersion", None, None, _model("tickets/v2", A)),
        ]
        assert findings[0]["detail"] == (
            f"{PARAMETER} in {A} points at tickets/v1, which is STOPPED; applications there cannot call it"
        )
        assert findings[1]["detail"].startswith(f"tickets/v2 (the copy in account {A}) is RUNNING")
        assert "USD 3.60 per hour" in findings[1]["detail"]  # 2 inference units at USD 1.80


def test_the_plan_of_a_comprehend_copy_environment_imports_starts_and_stops_per_account(
    tmp_path: Path, capsys: Any
) -> None:
    """The dry run: per account, the import to make, the endpoint to create, the superseded endpoint to delete;
    nothing granted; the cost counts each account's endpoint (2 units at USD 1.80)."""
    import yaml

    from mlpromote_cli.main import main

    data = copy.deepcopy(SCENARIO)
    data["world"]["copies"] = {B: {"tickets/v2": "STOPPED"}}  # B kept an import of v2, without endpoint
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({**data, "promotions": [{"environment": "prod", "version": "tickets/v2"}]}))
    assert main(["local", "plan", "--scenario", str(path), "--json"]) == 0
    [plan] = json.loads(capsys.readouterr().out)["plans"]
    assert {key: plan[key] for key in ("grant", "revoke", "copy", "start", "stop")} == {
        "grant": [],
        "revoke": [],
        "copy": [f"tickets/v2 into {A}"],
        "start": [f"tickets/v2 in {A}", f"tickets/v2 in {B}"],
        "stop": [f"tickets/v1 in {A}", f"tickets/v1 in {B}"],
    }
    # Before: the ML account's v1 endpoint (qa's) and the two v1 imports' endpoints; after: the same count on v2.
    assert plan["costPerHourUsd"] == {"before": 3 * 2 * 1.8, "after": 3 * 2 * 1.8}
