import pytest

from mlpromote import arns
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


# Both services' version ARNs go through one parse (mlpromote.arns.MODEL_VERSION_SHAPES), in every
# partition mlpromote supports; the builders in mlpromote.arns write what it reads back.
PARTITION_REGIONS = [("aws", "eu-west-1"), ("aws-cn", "cn-north-1"), ("aws-us-gov", "us-gov-west-1")]


@pytest.mark.parametrize(("partition", "region"), PARTITION_REGIONS)
def test_a_rekognition_version_of_each_partition_parses_back(partition: str, region: str) -> None:
    built = arns.rekognition_version(partition, region, "111111111111", "tools", "tools.v-2_x", 1700000001000)
    parsed = ModelVersionArn.parse(built)
    assert parsed == ModelVersionArn(
        arn=built,
        partition=partition,
        region=region,
        account="111111111111",
        project="tools",
        version="tools.v-2_x",
        kind="rekognition",
    )
    assert parsed.service == "rekognition"


@pytest.mark.parametrize(("partition", "region"), PARTITION_REGIONS)
@pytest.mark.parametrize("kind", ["document-classifier", "entity-recognizer"])
def test_a_comprehend_version_of_each_partition_parses_back(partition: str, region: str, kind: str) -> None:
    built = arns.comprehend_model_version(partition, region, "111111111111", kind, "tickets--v", "v-2")
    parsed = ModelVersionArn.parse(built)
    assert parsed == ModelVersionArn(
        arn=built,
        partition=partition,
        region=region,
        account="111111111111",
        project="tickets--v",
        version="v-2",
        kind=kind,
    )
    assert parsed.service == "comprehend"


COMPREHEND = "arn:aws:comprehend:us-east-1:111111111111:document-classifier/tickets/version/v2"


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:comprehend",
        "arn:aws:comprehend:us-east-1:111111111111:document-classifier/tickets",  # no version
        "arn:aws:comprehend:us-east-1:111111111111:document-classifier-endpoint/tickets",  # an endpoint
        "arn:aws:comprehend:us-east-1:111111111111:sentiment-detector/tickets/version/v2",
        COMPREHEND.replace("111111111111", "11111111111"),
        COMPREHEND.replace("arn:aws:", "arn:aws-iso:"),  # a partition mlpromote leaves out
        COMPREHEND.replace("tickets", "-tickets"),  # a name starts with a letter or digit
        COMPREHEND.replace("tickets", "tick_ets"),
        COMPREHEND.replace("v2", "v" * 64),  # 63 characters at most
        COMPREHEND + "/extra",
        COMPREHEND + "\n",
        COMPREHEND.replace("tickets", "t" * 63).replace("v2", "v" * 63).replace("us-east-1", "ap-southeast-1")
        + "-x" * 40,  # past 256 characters
    ],
)
def test_refuses_what_is_not_a_comprehend_version_arn(text: str) -> None:
    with pytest.raises(InvalidModelVersionArn) as refused:
        ModelVersionArn.parse(text)
    message = str(refused.value)
    assert "is not a Comprehend custom model version ARN; expected arn:aws:comprehend:REGION:ACCOUNT:" in message
    assert message.endswith("a model trained without a VersionName cannot be promoted: train a version")


@pytest.mark.parametrize(
    "text",
    [
        ARN.replace("arn:aws:", "arn:aws-iso:"),
        ARN.replace("us-east-1", "useast1"),
        ARN.replace("1700000001000", "\u0661\u0667\u0660\u0660"),  # Arabic-Indic digits
        ARN + "\n",
    ],
)
def test_a_refused_rekognition_arn_says_what_to_give_and_where_to_find_it(text: str) -> None:
    with pytest.raises(InvalidModelVersionArn) as refused:
        ModelVersionArn.parse(text)
    assert str(refused.value) == (
        f"{text!r} is not a Rekognition Custom Labels model version ARN; expected "
        "arn:aws:rekognition:REGION:ACCOUNT:project/PROJECT/version/VERSION/TIMESTAMP "
        "(copy it from DescribeProjectVersions or the console)"
    )
