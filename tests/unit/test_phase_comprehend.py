"""The phases' Comprehend branches (mlpromote.services.comprehend behind the ModelService interface),
with a fake Comprehend beside phase_fakes' FakeWorld: endpoints as "start" and "stop", the pointer and
the grant on the endpoint ARN, the smoke test's classes and scores, the status in the workflow's words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from phase_fakes import EXECUTION, ML, PROD_A, PROD_B, QA, FakeWorld

from mlpromote import arns
from mlpromote.aws import comprehend
from mlpromote.config import Config, parse_config
from mlpromote.errors import (
    AwsCallFailed,
    GrantNotYetEffective,
    ModelNotServing,
    ModelStartFailed,
    ModelVersionNotPromotable,
    SmokeTestFailed,
    UnknownProject,
)
from mlpromote.grants import GrantPolicy
from mlpromote.phases.access import grant_access, smoke_test
from mlpromote.phases.compensate import compensate
from mlpromote.phases.lock import take_environment
from mlpromote.phases.model import check_model_status, start_model
from mlpromote.phases.plan import validate_and_plan
from mlpromote.phases.pointers import rotate_pointer
from mlpromote.phases.retire import retire_superseded
from mlpromote.plan import PromotionPlan
from mlpromote.results import Grant
from mlpromote.services import model_service

PARAMETER = "/mlpromote/tickets/endpoint-arn"
CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {"qa": {"accounts": [QA]}, "prod": {"accounts": [PROD_A, PROD_B]}},
    "projects": {
        "tickets": {
            "service": "comprehend",
            "kind": "classifier",
            "parameterName": PARAMETER,
            "inferenceUnits": 3,
            "smokeTest": {"texts": ["charged twice", "refund please"], "expectClasses": ["billing"], "minScore": 0.6},
        }
    },
}


def model(name: str) -> str:
    return arns.comprehend_model_version("aws", "us-east-1", ML, "document-classifier", "tickets", name)


V1, V2, V3 = model("v1"), model("v2"), model("v3")
E1, E2, E3 = (arns.comprehend_endpoint(v) for v in (V1, V2, V3))


def cfg(**project_changes: Any) -> Config:
    data = {**CONFIG, "projects": {"tickets": {**CONFIG["projects"]["tickets"], **project_changes}}}
    return parse_config(data)


@dataclass
class FakeComprehend:
    models: dict[str, str] = field(default_factory=dict)  # model ARN -> training status
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)  # endpoint ARN -> status, model, units
    answers: dict[str, dict[str, float] | Exception] = field(default_factory=dict)  # endpoint -> class -> 0-1
    created: list[tuple[str, str, int]] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def describe_model(self, arn: str) -> comprehend.ModelDescription:
        from mlpromote.errors import ModelVersionNotFound

        if arn not in self.models:
            raise ModelVersionNotFound(arn)
        return comprehend.ModelDescription(arn, self.models[arn], "")

    def list_models(self, kind: str, name: str) -> list[comprehend.ModelDescription]:
        return [comprehend.ModelDescription(a, s, "") for a, s in self.models.items() if f"/{name}/version/" in a]

    def describe_endpoint(self, arn: str) -> comprehend.Endpoint | None:
        found = self.endpoints.get(arn)
        if found is None:
            return None
        return comprehend.Endpoint(arn, found["status"], "", found["model"], found["units"])

    def create_endpoint(self, name: str, model_arn: str, units: int) -> None:
        self.created.append((name, model_arn, units))
        self.endpoints[arns.comprehend_endpoint(model_arn)] = {"status": "CREATING", "model": model_arn, "units": units}

    def delete_endpoint(self, arn: str) -> None:
        self.deleted.append(arn)
        self.endpoints.pop(arn, None)

    def classify(self, chain: tuple[str, ...], endpoint: str, text: str, external_id: str | None) -> dict[str, float]:
        answer = self.answers.get(endpoint, {})
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("describe_model", "list_models", "describe_endpoint", "create_endpoint", "delete_endpoint"):
            monkeypatch.setattr(comprehend, name, getattr(self, name))
        monkeypatch.setattr(comprehend, "classify", self.classify)


def granting(*versions: str) -> GrantPolicy:
    policy = GrantPolicy()
    for version in versions:
        policy.add(model_service("document-classifier").grant_statement(version, ()))
    return policy


@pytest.fixture
def worlds(monkeypatch: pytest.MonkeyPatch) -> tuple[FakeWorld, FakeComprehend]:
    """qa serves v2, prod v1 (their endpoints IN_SERVICE and granted); v3 is trained, without endpoint."""
    config = cfg()
    world = FakeWorld(
        pointers={QA: E2, PROD_A: E1, PROD_B: E1},
        grants={config.access_role_name("qa"): granting(V2), config.access_role_name("prod"): granting(V1)},
    )
    world.install(monkeypatch)
    fake = FakeComprehend(
        models={V1: "TRAINED", V2: "TRAINED", V3: "TRAINED_WITH_WARNING"},
        endpoints={
            E1: {"status": "IN_SERVICE", "model": V1, "units": 3},
            E2: {"status": "IN_SERVICE", "model": V2, "units": 3},
        },
        answers={E1: {"billing": 0.9}, E2: {"billing": 0.9}, E3: {"billing": 0.7, "refund": 0.4}},
    )
    fake.install(monkeypatch)
    return world, fake


def locked(environment: str, version: str, config: Config | None = None) -> PromotionPlan:
    request = {"environment": environment, "modelVersionArn": version}
    return take_environment(validate_and_plan(request, EXECUTION, "2026-01-01T00:00:00+00:00", config or cfg()))


def test_the_plan_names_the_service_and_the_endpoint_and_reads_pointers_back_as_versions(worlds: Any) -> None:
    plan = locked("prod", V3)
    assert (plan.service, plan.serving_arn) == ("document-classifier", E3)
    assert plan.serving_arn.startswith(f"arn:aws:comprehend:us-east-1:{ML}:document-classifier-endpoint/mlpromote-")
    assert [(t.account, t.current) for t in plan.targets] == [(PROD_A, V1), (PROD_B, V1)]
    assert (plan.status_at_plan, plan.min_inference_units, plan.max_inference_units) == ("STOPPED", 3, None)
    assert not plan.already_served


@pytest.mark.parametrize(
    ("endpoint", "status"),
    [(None, "STOPPED"), ("CREATING", "STARTING"), ("UPDATING", "STARTING"), ("IN_SERVICE", "RUNNING"),
     ("DELETING", "STOPPING"), ("FAILED", "FAILED")],
)  # fmt: skip
def test_a_versions_status_is_its_endpoints_in_the_workflows_words(
    worlds: Any, endpoint: str | None, status: str
) -> None:
    _, fake = worlds
    if endpoint:
        fake.endpoints[E3] = {"status": endpoint, "model": V3, "units": 1}
    assert model_service("document-classifier").status("unused", V3) == status


@pytest.mark.parametrize(("training", "why"), [("TRAINING", "still training"), ("IN_ERROR", "training failed")])
def test_a_model_that_is_not_trained_is_refused_before_anything_changes(worlds: Any, training: str, why: str) -> None:
    world, fake = worlds
    fake.models[V3] = training
    with pytest.raises(ModelVersionNotPromotable, match=why):
        validate_and_plan({"environment": "prod", "modelVersionArn": V3}, EXECUTION, "2026-01-01T00:00:00+00:00", cfg())
    assert world.writes == [] and fake.created == []


def test_a_version_of_another_kind_than_the_configured_project_is_refused(worlds: Any) -> None:
    recognizer = arns.comprehend_model_version("aws", "us-east-1", ML, "entity-recognizer", "tickets", "v1")
    with pytest.raises(UnknownProject, match="entity-recognizer version, but the config's project 'tickets'"):
        validate_and_plan(
            {"environment": "prod", "modelVersionArn": recognizer}, EXECUTION, "2026-01-01T00:00:00+00:00", cfg()
        )


def test_start_creates_the_endpoint_with_the_projects_inference_units_and_waits_for_it(worlds: Any) -> None:
    _, fake = worlds
    plan = locked("prod", V3)
    start = start_model(plan)
    assert start.started_by_this_execution and start.status == "STARTING"
    assert fake.created == [(arns.comprehend_endpoint_name(V3), V3, 3)]
    assert check_model_status(plan, start).status == "STARTING"
    fake.endpoints[E3]["status"] = "IN_SERVICE"
    assert check_model_status(plan, start).status == "RUNNING"


def test_an_endpoint_that_fails_fails_the_start(worlds: Any) -> None:
    _, fake = worlds
    plan = locked("prod", V3)
    start = start_model(plan)
    fake.endpoints[E3]["status"] = "FAILED"
    with pytest.raises(ModelStartFailed, match="failed to start"):
        check_model_status(plan, start)


def test_the_grant_allows_classify_document_on_exactly_the_endpoint(worlds: Any) -> None:
    world, _ = worlds
    grant_access(locked("prod", V3))
    statements = world.grants[cfg().access_role_name("prod")].statements
    assert [(s["Action"], s["Resource"]) for s in statements] == [
        ("comprehend:ClassifyDocument", E1),
        ("comprehend:ClassifyDocument", E3),
    ]


def test_the_smoke_test_needs_every_class_at_the_minimum_score_in_some_text(worlds: Any) -> None:
    _, fake = worlds
    plan = locked("prod", V3)
    smoke_test(plan, PROD_A, Grant(added_by_this_execution=True, granted_at=None))  # passes: raises nothing
    fake.answers[E3] = {"billing": 0.55, "refund": 0.9}
    with pytest.raises(SmokeTestFailed, match=r"did not find billing at >= 60% in 2 texts; found: billing 55\.0%"):
        smoke_test(plan, PROD_A, Grant(added_by_this_execution=True, granted_at=None))


def test_an_endpoint_not_in_service_or_a_grant_not_yet_effective_is_named(worlds: Any) -> None:
    from mlpromote.clock import stamp

    _, fake = worlds
    plan = locked("prod", V3)
    fake.answers[E3] = AwsCallFailed("not ready", operation="ClassifyDocument", code="ResourceUnavailableException")
    with pytest.raises(ModelNotServing):
        smoke_test(plan, PROD_A, Grant(added_by_this_execution=True, granted_at=None))
    fake.answers[E3] = AwsCallFailed("denied", operation="ClassifyDocument", code="AccessDeniedException")
    with pytest.raises(GrantNotYetEffective, match="ClassifyDocument denied"):
        smoke_test(plan, PROD_A, Grant(added_by_this_execution=True, granted_at=stamp()))


def test_the_pointer_holds_the_endpoint_arn(worlds: Any) -> None:
    world, _ = worlds
    rotate_pointer(locked("prod", V3), PROD_A)
    assert world.pointers[PROD_A] == E3


def test_retire_revokes_the_old_endpoints_grant_and_deletes_it_when_nothing_points_at_it(worlds: Any) -> None:
    world, fake = worlds
    plan = locked("prod", V3)
    fake.endpoints[E3] = {"status": "IN_SERVICE", "model": V3, "units": 3}
    grant_access(plan)
    world.pointers.update({PROD_A: E3, PROD_B: E3})
    retirement = retire_superseded(plan, cfg())
    assert (retirement.revoked, retirement.stopped) == ([V1], [V1])
    assert fake.deleted == [E1]
    assert [s["Resource"] for s in world.grants[cfg().access_role_name("prod")].statements] == [E3]


def test_retire_keeps_an_endpoint_another_environment_points_at(worlds: Any) -> None:
    world, fake = worlds
    world.pointers[QA] = E1
    plan = locked("prod", V3)
    fake.endpoints[E3] = {"status": "IN_SERVICE", "model": V3, "units": 3}
    world.pointers.update({PROD_A: E3, PROD_B: E3})
    retirement = retire_superseded(plan, cfg())
    assert retirement.stopped == [] and fake.deleted == []
    assert retirement.left[0].why == f"still live in qa/{QA}"


def test_compensation_puts_the_endpoint_arns_back_and_deletes_the_endpoint_it_created(worlds: Any) -> None:
    world, fake = worlds
    plan = locked("prod", V3)
    start_model(plan)
    fake.endpoints[E3]["status"] = "IN_SERVICE"
    grant = grant_access(plan)
    world.pointers[PROD_A] = E3  # one account switched before the failure
    done = compensate(plan, cfg(), {"Error": "SmokeTestFailed", "Cause": "no billing"}, grant)
    assert done.restored == [PROD_A] and done.revoked and done.stopped
    assert world.pointers == {QA: E2, PROD_A: E1, PROD_B: E1}
    assert fake.deleted == [E3]
    assert [s["Resource"] for s in world.grants[cfg().access_role_name("prod")].statements] == [E1]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"service": "sagemaker"}, "projects.tickets: service is rekognition (the default) or comprehend"),
        ({"inferenceUnits": 11}, "projects.tickets.inferenceUnits: Input should be less than or equal to 10"),
        (
            {"smokeTest": {"texts": ["x"], "expectEntities": ["PART"]}},
            "a classifier's smokeTest names expectClasses",
        ),
        (
            {"smokeTest": {"texts": ["é" * 5001], "expectClasses": ["billing"]}},
            "text 0 is 10002 bytes of UTF-8; Comprehend's real-time endpoints take at most 10000",
        ),
        ({"smokeTest": {"images": ["s3://b/k.jpg"], "expectLabels": ["x"]}}, "smokeTest.texts: required key"),
    ],
)
def test_a_comprehend_project_written_wrong_is_refused_by_name(change: dict[str, Any], expected: str) -> None:
    from mlpromote.errors import InvalidConfig

    with pytest.raises(InvalidConfig) as refused:
        cfg(**change)
    assert expected in str(refused.value)


def test_private_connectivity_is_refused_beside_a_comprehend_project() -> None:
    from mlpromote.errors import InvalidConfig

    data = {**CONFIG, "environments": {"qa": {"accounts": [QA], "vpcEndpointIds": ["vpce-0123456789abcdef0"]}}}
    with pytest.raises(InvalidConfig, match="private connectivity covers Rekognition only"):
        parse_config(data)
