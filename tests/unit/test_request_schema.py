"""The console's documented input (schemas/promotion-request.schema.json) says what the workflow accepts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from mlpromote.errors import PromotionError
from mlpromote.plan import PromotionRequest
from mlpromote.versions import ModelVersionArn

REPO = Path(__file__).resolve().parents[2]
SCHEMA = Draft202012Validator(json.loads((REPO / "schemas" / "promotion-request.schema.json").read_text()))
ARN = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000"


def workflow_accepts(data: Any) -> bool:
    """What 'Validate and plan' checks before it asks AWS anything."""
    try:
        request = PromotionRequest.parse(data)
        if request.model_version_arn is not None:
            ModelVersionArn.parse(request.model_version_arn)
    except PromotionError:
        return False
    return True


@pytest.mark.parametrize("path", sorted((REPO / "events").glob("*.json")), ids=lambda p: p.name)
def test_every_sample_input_is_valid(path: Path) -> None:
    data = json.loads(path.read_text())
    assert list(SCHEMA.iter_errors(data)) == []
    assert workflow_accepts(data)


@pytest.mark.parametrize(
    "data",
    [
        {"environment": "prod", "modelVersionArn": ARN},
        {"environment": "prod", "rollback": True},
        {"environment": "prod", "rollback": True, "project": "tools", "reason": "r"},
        {"environment": "prod", "modelVersionArn": ARN, "force": True, "reason": "r"},
        {"environment": "prod", "modelVersionArn": ARN, "rollback": False},
        {"environment": "prod", "modelVersionArn": ARN, "entryPoint": "api", "requestedBy": "arn:aws:iam::1:user/x"},
        {},
        [],
        "prod",
        {"environment": "prod"},
        {"modelVersionArn": ARN},
        {"environment": "prod", "modelVersionArn": ARN, "rollback": True},
        {"environment": "prod", "rollback": False},
        {"environment": "prod", "modelVersionArn": ARN, "force": True},
        {"environment": "prod", "modelVersionArn": ARN, "force": "yes", "reason": "r"},
        {"environment": "prod", "modelVersionArn": "tools/v2"},
        {"environment": "prod", "modelVersionArn": ARN + "\n"},
        {"environment": "pr od", "modelVersionArn": ARN},
        {"environment": "prod\n", "modelVersionArn": ARN},
        {"environment": "prod", "modelVersionArn": ARN, "enviroment": "prod"},
        {"environment": "prod", "modelVersionArn": ARN, "reason": ""},
        {"environment": "prod", "modelVersionArn": ARN, "entryPoint": "web"},
    ],
)
def test_the_schema_and_the_workflow_agree(data: Any) -> None:
    assert SCHEMA.is_valid(data) == workflow_accepts(data), data
