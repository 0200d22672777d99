"""Amazon Comprehend custom models promoted, rolled back and compensated on the emulator: the endpoint
is what "start" creates and "stop" deletes, the pointer holds its ARN, the grant allows calling it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from mlpromote import arns
from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.runtime import Emulator
from mlpromote_emulator.scenario import InvalidScenario, PromotionSpec, load_scenario, parse_scenario

ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"
PARAMETER = "/mlpromote/tickets/endpoint-arn"
REPO = Path(__file__).resolve().parents[2]

SCENARIO: dict[str, Any] = {
    "config": {
        "region": "us-east-1",
        "mlAccount": ML,
        "environments": {"qa": {"accounts": [QA]}, "prod": {"accounts": [PROD_A, PROD_B]}},
        "projects": {
            "tickets": {
                "service": "comprehend",
                "kind": "classifier",
                "parameterName": PARAMETER,
                "inferenceUnits": 2,
                "smokeTest": {"texts": ["charged twice, refund please"], "expectClasses": ["billing"], "minScore": 0.5},
            }
        },
    },
    "world": {
        "versions": {
            "tickets/v1": {"status": "IN_SERVICE", "classes": ["billing"]},
            "tickets/v2": {"status": "TRAINED", "classes": {"billing": 0.9}},
            "tickets/v3": {"status": "TRAINED", "classes": {"billing": 0.2, "shipping": 0.8}},
        },
        "live": {"qa": ["tickets/v1"], "prod": ["tickets/v1"]},
    },
}


def _emulator(changes: dict[str, Any] | None = None) -> Emulator:
    data = copy.deepcopy(SCENARIO)
    for key, value in (changes or {}).items():
        data[key] = {**data[key], **value}
    return Emulator(parse_scenario(data, base=Path(".")))


def _model(label: str) -> str:
    project, version = label.split("/")
    return arns.comprehend_model_version("aws", "us-east-1", ML, "document-classifier", project, version)


def _endpoint(label: str) -> str:
    return arns.comprehend_endpoint(_model(label))


def _endpoints(emu: Emulator) -> dict[str, tuple[str, int]]:
    """endpoint ARN -> (status, desired units), as Comprehend holds them now."""
    store = adapt.comprehend_store(ML, "us-east-1")
    return {e.arn: (e.current_status(), e.units) for e in store.list_endpoints(None, None)}


def _grant_statements(environment: str) -> list[dict[str, Any]]:
    document = adapt.inline_policy(ML, "aws", f"mlpromote-access-{environment}", "mlpromote-grants") or {}
    return list(document.get("Statement", []))


def test_a_classifier_version_is_promoted_on_its_own_endpoint_and_the_superseded_endpoint_deleted() -> None:
    with _emulator() as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tickets/v2"))
        assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
        assert result.output["started"] == ["tickets/v2"]
        # The applications' parameter holds the endpoint ARN, in every account of prod; qa's is untouched.
        for account in (PROD_A, PROD_B):
            assert adapt.parameter_value(account, "us-east-1", PARAMETER) == _endpoint("tickets/v2")
        assert adapt.parameter_value(QA, "us-east-1", PARAMETER) == _endpoint("tickets/v1")
        # The grant allows ClassifyDocument on exactly that endpoint.
        assert [(s["Action"], s["Resource"]) for s in _grant_statements("prod")] == [
            ("comprehend:ClassifyDocument", _endpoint("tickets/v2"))
        ]
        # The new endpoint has the project's inference units; v1's stays: qa still points at it.
        assert _endpoints(emu) == {
            _endpoint("tickets/v1"): ("IN_SERVICE", 2),
            _endpoint("tickets/v2"): ("IN_SERVICE", 2),
        }
        assert result.output["left"][0]["why"] == f"still live in qa/{QA}"
        assert emu.world() == {
            "parameters": {
                "qa": {"tickets": {QA: "tickets/v1"}},
                "prod": {"tickets": {PROD_A: "tickets/v2", PROD_B: "tickets/v2"}},
            },
            "grants": {"qa": ["tickets/v1"], "prod": ["tickets/v2"]},
            "versions": {"tickets/v1": "IN_SERVICE", "tickets/v2": "IN_SERVICE", "tickets/v3": "TRAINED"},
        }

        qa = emu.promote(PromotionSpec(environment="qa", version="tickets/v2"))
        assert qa.status == "SUCCEEDED", f"{qa.error}: {qa.cause}"
        # Nothing points at v1 any more: its endpoint is deleted (DELETING for world.stopSeconds, then gone).
        assert qa.output["stopped"] == ["tickets/v1"]
        world = emu.world()
        assert world["versions"] == {"tickets/v1": "TRAINED", "tickets/v2": "IN_SERVICE", "tickets/v3": "TRAINED"}
        assert _endpoints(emu) == {_endpoint("tickets/v2"): ("IN_SERVICE", 2)}


def test_a_rollback_recreates_the_previous_versions_endpoint_and_deletes_the_rolled_back_one() -> None:
    with _emulator({"world": {"live": {"prod": ["tickets/v1"]}}}) as emu:
        assert emu.promote(PromotionSpec(environment="prod", version="tickets/v2")).status == "SUCCEEDED"
        qa = emu.promote(PromotionSpec(environment="qa", version="tickets/v2"))
        assert qa.status == "SUCCEEDED"
        emu.world()  # let v1's deletion run to its end
        assert _endpoint("tickets/v1") not in _endpoints(emu)

        back = emu.promote(PromotionSpec(environment="prod", rollback=True, reason="misrouted refunds"))
        assert back.status == "SUCCEEDED", f"{back.error}: {back.cause}"
        assert back.version == "tickets/v1"
        assert back.output["started"] == ["tickets/v1"]
        assert emu.world()["parameters"]["prod"] == {"tickets": {PROD_A: "tickets/v1", PROD_B: "tickets/v1"}}
        assert adapt.parameter_value(PROD_A, "us-east-1", PARAMETER) == _endpoint("tickets/v1")
        assert [s["Resource"] for s in _grant_statements("prod")] == [_endpoint("tickets/v1")]
        # v2 stays: qa points at it.
        assert _endpoints(emu) == {
            _endpoint("tickets/v1"): ("IN_SERVICE", 2),
            _endpoint("tickets/v2"): ("IN_SERVICE", 2),
        }


def test_a_failed_smoke_test_deletes_the_endpoint_it_created_and_changes_no_pointer() -> None:
    with _emulator() as emu:
        before = emu.world()
        result = emu.promote(PromotionSpec(environment="prod", version="tickets/v3"))
        assert result.status == "FAILED"
        assert result.error == "SmokeTestFailed"
        assert "did not find billing at >= 50%" in str(result.cause)
        assert "shipping 80.0%" in str(result.cause)
        compensation = result.compensation or {}
        assert compensation.get("stopped") is True and compensation.get("revoked") is True
        # Pointers, grants and versions as they were; v3's endpoint is being deleted, then gone.
        assert emu.world() == before
        for account in (PROD_A, PROD_B):
            assert adapt.parameter_value(account, "us-east-1", PARAMETER) == _endpoint("tickets/v1")
        assert _endpoints(emu) == {_endpoint("tickets/v1"): ("IN_SERVICE", 2)}


def test_an_entity_recognizer_is_smoke_tested_with_detect_entities() -> None:
    project = {
        "service": "comprehend",
        "kind": "entity-recognizer",
        "parameterName": "/mlpromote/parts/endpoint-arn",
        "smokeTest": {"texts": ["Replace valve VX-200 on pump 4"], "expectEntities": ["PART"], "minScore": 0.6},
    }
    changes = {
        "config": {"projects": {"parts": project}},
        "world": {
            "versions": {"parts/v1": {"status": "TRAINED", "entities": {"PART": 0.7, "MACHINE": 0.4}}},
            "live": {},
        },
    }
    with _emulator(changes) as emu:
        result = emu.promote(PromotionSpec(environment="qa", version="parts/v1"))
        assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
        model = arns.comprehend_model_version("aws", "us-east-1", ML, "entity-recognizer", "parts", "v1")
        endpoint = arns.comprehend_endpoint(model)
        assert ":entity-recognizer-endpoint/mlpromote-" in endpoint
        assert adapt.parameter_value(QA, "us-east-1", "/mlpromote/parts/endpoint-arn") == endpoint
        assert [(s["Action"], s["Resource"]) for s in _grant_statements("qa")] == [
            ("comprehend:DetectEntities", endpoint)
        ]
        assert emu.world()["versions"] == {"parts/v1": "IN_SERVICE"}


def test_the_example_promotes_through_qa_to_prod_and_rolls_back() -> None:
    scenario = load_scenario(REPO / "examples" / "comprehend.yaml")
    with Emulator(scenario) as emu:
        results = [emu.promote(spec) for spec in scenario.promotions if isinstance(spec, PromotionSpec)]
        assert [r.status for r in results] == ["SUCCEEDED"] * 3, [r.cause for r in results]
        assert emu.world()["parameters"] == {
            "qa": {"tickets": {QA: "tickets/v2"}},
            "prod": {"tickets": {PROD_A: "tickets/v1", PROD_B: "tickets/v1"}},
        }


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ({"status": "TRAINED", "labels": ["billing"]}, "a Comprehend version has a Comprehend status"),
        ({"status": "RUNNING", "classes": ["billing"]}, "a Comprehend version has a Comprehend status"),
        ({"status": "TRAINED", "entities": ["PART"]}, "tickets is a document-classifier: give its classes"),
    ],
)
def test_a_comprehend_version_written_as_another_services_is_refused(version: dict[str, Any], expected: str) -> None:
    data = copy.deepcopy(SCENARIO)
    data["world"]["versions"]["tickets/v2"] = version
    with pytest.raises(InvalidScenario) as refused:
        parse_scenario(data, base=Path("."))
    assert expected in str(refused.value), json.dumps(str(refused.value))


def test_drift_reads_endpoints_as_the_versions_they_serve_and_prices_an_idle_endpoint() -> None:
    """qa points at v2, whose endpoint nobody created (PointerToNotRunning); v3's endpoint is IN_SERVICE
    and nothing points at it (IdleVersion, at the project's 2 inference units x USD 1.80 an hour)."""
    changes = {
        "world": {
            "versions": {
                "tickets/v1": {"status": "IN_SERVICE", "classes": ["billing"]},
                "tickets/v2": {"status": "TRAINED", "classes": ["billing"]},
                "tickets/v3": {"status": "IN_SERVICE", "classes": ["billing"]},
            },
            "live": {"qa": ["tickets/v2"], "prod": ["tickets/v1"]},
        }
    }
    with _emulator(changes) as emu:
        payload, failed = emu.invoke("DetectDriftFunction", json.dumps({"source": "test"}).encode())
        assert not failed, payload
        run = json.loads(payload)
        found = sorted((f["kind"], f["environment"], f["account"], f["version"]) for f in run["findings"])
        assert found == [
            ("IdleVersion", None, None, _model("tickets/v3")),
            ("PointerToNotRunning", "qa", QA, _model("tickets/v2")),
        ]
        idle = next(f for f in run["findings"] if f["kind"] == "IdleVersion")
        assert "tickets/v3 is RUNNING (its endpoint is IN_SERVICE)" in idle["detail"]
        assert "2 inference units x USD 1.80 = USD 3.60 per hour" in idle["detail"]
        assert run["idleCostPerHourUsd"] == pytest.approx(3.6)
        assert run["idleInferenceUnits"] == 2


def test_the_dry_run_plans_a_comprehend_promotion_with_its_endpoints_cost(capsys: Any) -> None:
    from mlpromote_cli.main import main

    assert main(["local", "plan", "--scenario", str(REPO / "examples" / "comprehend.yaml"), "--json"]) == 1
    to_qa = json.loads(capsys.readouterr().out)["plans"][0]
    assert to_qa == {
        "environment": "qa",
        "version": "tickets/v2",
        "kind": "promotion",
        "accounts": [{"account": QA, "from": "tickets/v1", "to": "tickets/v2"}],
        "grant": ["tickets/v2"],
        "revoke": ["tickets/v1"],
        "start": ["tickets/v2"],
        "stop": [],  # prod serves v1
        # v1's endpoint, then v1's and v2's: 2 inference units each at USD 1.80 an hour.
        "costPerHourUsd": {"before": 3.6, "after": 7.2},
        "waves": [{"accounts": [QA], "approve": False, "bakeMinutes": 0}],
        "refusal": None,
        "refusalMessage": None,
    }


def test_a_comprehend_project_in_a_region_without_comprehend_is_refused() -> None:
    """sa-east-1 (São Paulo) offers Rekognition but not Comprehend (botocore's endpoint data)."""
    from mlpromote.errors import InvalidConfig

    data = copy.deepcopy(SCENARIO)
    data["config"]["region"] = "sa-east-1"
    with pytest.raises(InvalidConfig, match="Amazon Comprehend has no endpoint in sa-east-1"):
        parse_scenario(data, base=Path("."))
