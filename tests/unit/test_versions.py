import pytest

from mlpromote.errors import InvalidModelVersionArn, ModelVersionNotPromotable
from mlpromote.versions import ModelVersionArn, require_promotable

ARN = "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/tools.2024-01-01T00.00.00/1700000001000"


def test_parses_a_version_arn() -> None:
    parsed = ModelVersionArn.parse(ARN)
    assert (parsed.region, parsed.account, parsed.project) == ("us-east-1", "111111111111", "tools")
    assert parsed.version == "tools.2024-01-01T00.00.00"
    assert parsed.label == "tools/tools.2024-01-01T00.00.00"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tools/v2",
        "arn:aws:rekognition:us-east-1:111111111111:project/tools/1700000000000",  # a project, not a version
        "arn:aws:rekognition:us-east-1:11111111111:project/tools/version/v2/1700000001000",  # 11-digit account
        "arn:aws:sagemaker:us-east-1:111111111111:project/tools/version/v2/1700000001000",
        ARN + "/extra",
        ARN.replace("tools/version", "to ols/version"),
        "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/notatime",
        " " + ARN,
        "x" * 5000,
    ],
)
def test_refuses_what_is_not_a_version_arn(text: str) -> None:
    with pytest.raises(InvalidModelVersionArn, match="expected arn:aws:rekognition"):
        ModelVersionArn.parse(text)


def test_refuses_non_strings() -> None:
    with pytest.raises(InvalidModelVersionArn, match="must be a string"):
        ModelVersionArn.parse(42)


# STOPPING: the promotion waits until it is STOPPED, then starts it (a rollback right after a promotion).
@pytest.mark.parametrize(
    "status", ["RUNNING", "STARTING", "TRAINING_COMPLETED", "STOPPED", "COPYING_COMPLETED", "STOPPING"]
)
def test_startable_or_serving_states_are_promotable(status: str) -> None:
    require_promotable("tools/v2", status)


@pytest.mark.parametrize(
    ("status", "advice"),
    [
        ("TRAINING_FAILED", "train a new version"),
        ("FAILED", "StatusMessage"),
        ("DEPRECATED", "no longer be started"),
        ("EXPIRED", "expired"),
        ("DELETING", "being deleted"),
        ("TRAINING_IN_PROGRESS", "once training completes"),
    ],
)
def test_other_states_say_why_and_what_to_do(status: str, advice: str) -> None:
    with pytest.raises(ModelVersionNotPromotable, match=advice):
        require_promotable("tools/v2", status)
