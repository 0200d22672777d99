"""The ModelService interface and its first implementation, Rekognition Custom Labels."""

from __future__ import annotations

from typing import Any

import pytest
from phase_fakes import V1, V2, V3

from mlpromote.aws import rekognition
from mlpromote.config import SmokeTest
from mlpromote.errors import InvalidModelVersionArn
from mlpromote.grants import SOURCE_VPCE, GrantPolicy
from mlpromote.services import ModelService, model_service
from mlpromote.services.rekognition import CUSTOM_LABELS


def test_the_default_service_is_custom_labels() -> None:
    service: ModelService = model_service()
    assert service is CUSTOM_LABELS and service.invoke_action == "rekognition:DetectCustomLabels"
    with pytest.raises(KeyError):
        model_service("comprehend")


def test_the_smoke_test_keeps_each_labels_best_confidence_over_every_image(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"a.jpg": {"hammer": 60.0, "wrench": 10.0}, "b.jpg": {"hammer": 90.0}}
    calls: list[tuple[Any, ...]] = []

    def detect(chain: tuple[str, ...], arn: str, bucket: str, key: str, floor: float, external_id: str | None) -> Any:
        calls.append((chain, arn, bucket, key, floor, external_id))
        return answers[key]

    monkeypatch.setattr(rekognition, "detect_custom_labels", detect)
    test = SmokeTest.model_validate(
        {"images": ["s3://bucket/a.jpg", "s3://bucket/b.jpg"], "expectLabels": ["hammer"], "minConfidence": 70}
    )
    seen = CUSTOM_LABELS.smoke_test(("role-a", "role-b"), V2, test, "ext")
    assert seen == {"hammer": 90.0, "wrench": 10.0}
    assert calls == [(("role-a", "role-b"), V2, "bucket", key, 70.0, "ext") for key in ("a.jpg", "b.jpg")]


def test_the_grant_statement_allows_exactly_the_call_on_exactly_the_version() -> None:
    statement = CUSTOM_LABELS.grant_statement(V2, ["vpce-0123456789abcdef0"])
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        "rekognition:DetectCustomLabels",
        V2,
    )
    assert statement["Condition"] == {"StringEquals": {SOURCE_VPCE: ["vpce-0123456789abcdef0"]}}
    policy = GrantPolicy()
    assert policy.add(statement) and not policy.add(CUSTOM_LABELS.grant_statement(V2, []))
    assert policy.granted_versions() == [V2]


def test_describe_names_the_version_from_its_arn(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, str, str]] = []

    def describe(project_arn: str, name: str, arn: str) -> rekognition.VersionDescription:
        asked.append((project_arn, name, arn))
        return rekognition.VersionDescription(arn, "RUNNING", "")

    monkeypatch.setattr(rekognition, "describe_version", describe)
    assert CUSTOM_LABELS.status("project-arn", V3) == "RUNNING"
    assert asked == [("project-arn", "v3", V3)]


def test_arns_and_prices() -> None:
    assert CUSTOM_LABELS.parse_version(V1).label == "tools/v1"
    with pytest.raises(InvalidModelVersionArn):
        CUSTOM_LABELS.parse_version("arn:aws:comprehend:us-east-1:111111111111:document-classifier/x")
    assert CUSTOM_LABELS.unit_hour_price("us-east-1") == 4.00 and CUSTOM_LABELS.unit_hour_price("eu-west-1") is None
