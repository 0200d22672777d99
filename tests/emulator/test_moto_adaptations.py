"""Each adaptation of moto internals, checked against the installed moto: an upgrade that moves one fails here."""

import json

import boto3
import moto
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from mlpromote_emulator import moto_adaptations as adapt

NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def aws():
    adapt.install()
    adapt.set_default_account("111111111111")
    adapt.hooks.faults, adapt.hooks.calls = [], []
    with mock_aws():
        yield
    adapt.set_default_account("123456789012")


def test_pins_the_moto_it_adapts() -> None:
    assert moto.__version__ == adapt.PINNED_MOTO


def test_default_account_is_the_ml_account(aws) -> None:
    assert boto3.client("sts", region_name="us-east-1").get_caller_identity()["Account"] == "111111111111"


def _role(account_client, name: str, trusted: list[str]) -> str:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": trusted}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    return account_client.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def test_assume_role_checks_the_trust_policy_account(aws) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    trusted = _role(iam, "trusts-ml", ["arn:aws:iam::111111111111:root"])
    untrusted = _role(iam, "trusts-other", ["arn:aws:iam::999999999999:root"])
    sts = boto3.client("sts", region_name="us-east-1")
    assert sts.assume_role(RoleArn=trusted, RoleSessionName="test")["Credentials"]["AccessKeyId"]
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=untrusted, RoleSessionName="test")
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        sts.assume_role(RoleArn="arn:aws:iam::111111111111:role/does-not-exist", RoleSessionName="test")


def test_faults_hit_only_control_plane_calls_and_are_counted(aws) -> None:
    adapt.hooks.faults = [adapt.Fault(service="ssm", operation="PutParameter", error="ThrottlingException", count=1)]
    ssm = boto3.client("ssm", region_name="us-east-1", config=NO_RETRIES)
    ssm.put_parameter(Name="/x", Value="1", Type="String")  # not the control plane: no fault, no record
    assert adapt.hooks.calls == []
    with adapt.acting_as_control_plane():
        with pytest.raises(ClientError) as throttled:
            ssm.put_parameter(Name="/x", Value="2", Type="String", Overwrite=True)
        ssm.put_parameter(Name="/x", Value="3", Type="String", Overwrite=True)
    assert throttled.value.response["Error"]["Code"] == "ThrottlingException"
    assert [(c.operation, c.error) for c in adapt.hooks.calls] == [("PutParameter", "ThrottlingException"),
                                                                    ("PutParameter", None)]  # fmt: skip
    assert ssm.get_parameter(Name="/x")["Parameter"]["Value"] == "3"


def test_query_protocol_faults_parse_as_aws_errors(aws) -> None:
    adapt.hooks.faults = [adapt.Fault(service="iam", operation="GetRole", error="Throttling")]
    with adapt.acting_as_control_plane(), pytest.raises(ClientError) as throttled:
        boto3.client("iam", region_name="us-east-1", config=NO_RETRIES).get_role(RoleName="x")
    assert throttled.value.response["Error"]["Code"] == "Throttling"


def test_custom_labels_lifecycle_and_grant_check(aws) -> None:
    now = {"t": 0.0}
    adapt.hooks.sleep = lambda s: now.__setitem__("t", now["t"] + s)
    version = "arn:aws:rekognition:us-east-1:111111111111:project/p/version/v1/1700000001000"
    project = "arn:aws:rekognition:us-east-1:111111111111:project/p/1700000000000"
    adapt.seed_custom_labels("111111111111", "us-east-1", "p", project, adapt.CustomLabelsVersion(
        arn=version, project="p", name="v1", status="TRAINING_COMPLETED", labels={"hammer": 90.0},
        start_seconds=0))  # fmt: skip
    rekognition = boto3.client("rekognition", region_name="us-east-1")
    assert rekognition.describe_projects(ProjectNames=["p"])["ProjectDescriptions"][0]["ProjectArn"] == project
    rekognition.start_project_version(ProjectVersionArn=version, MinInferenceUnits=1)
    waiter = rekognition.get_waiter("project_version_running")
    waiter.wait(ProjectArn=project, VersionNames=["v1"], WaiterConfig={"Delay": 0, "MaxAttempts": 2})

    boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="images")
    boto3.client("s3", region_name="us-east-1").put_object(Bucket="images", Key="h.jpg", Body=b"x")
    iam = boto3.client("iam", region_name="us-east-1")
    role = _role(iam, "access", ["arn:aws:iam::222222222222:root", "arn:aws:iam::111111111111:root"])
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(RoleArn=role, RoleSessionName="test")[
        "Credentials"
    ]
    as_role = boto3.client("rekognition", region_name="us-east-1", aws_access_key_id=credentials["AccessKeyId"],
                           aws_secret_access_key=credentials["SecretAccessKey"],
                           aws_session_token=credentials["SessionToken"])  # fmt: skip
    image = {"S3Object": {"Bucket": "images", "Name": "h.jpg"}}

    def detect() -> str:
        try:
            as_role.detect_custom_labels(ProjectVersionArn=version, Image=image)
        except ClientError as error:
            return str(error.response["Error"]["Code"])
        return "ok"

    assert detect() == "AccessDeniedException"  # no grant
    grant = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "rekognition:DetectCustomLabels", "Resource": version}]}  # fmt: skip
    iam.put_role_policy(RoleName="access", PolicyName="g", PolicyDocument=json.dumps(grant))
    adapt.hooks.iam_propagation_seconds = 3600
    assert detect() == "AccessDeniedException"  # granted, not yet propagated
    adapt.hooks.iam_propagation_seconds = 0
    assert detect() == "ok"
    rekognition.stop_project_version(ProjectVersionArn=version)
    assert detect() == "ResourceNotReadyException"
    adapt.hooks.sleep = None


def test_input_transformer_quotes_as_eventbridge_does() -> None:
    event = {"source": "ci", "detail": {"environment": "prod", "count": 3, "note": 'say "hi"'}}
    paths = {"environment": "$.detail.environment", "count": "$.detail.count", "reason": "$.detail.reason",
             "note": "$.detail.note"}  # fmt: skip
    template = '{"environment": <environment>, "count": <count>, "reason": <reason>, "text": "<environment> ok"}'
    assert json.loads(adapt.transform_input_for_target(template, paths, event)) == {
        "environment": "prod",
        "count": 3,
        "reason": None,
        "text": "prod ok",
    }
    assert json.loads(adapt.transform_input_for_target('{"n": "<note>"}', paths, event)) == {"n": 'say "hi"'}
    assert adapt.transform_input_for_target("<environment> is <count>", paths, event) == "prod is 3"


@pytest.mark.parametrize(
    ("service", "operation", "call", "code"),
    [
        ("cloudwatch", "DescribeAlarms", lambda c: c.describe_alarms(AlarmNames=["x"]), "Throttling"),
        ("dynamodb", "GetItem", lambda c: c.get_item(TableName="t", Key={"pk": {"S": "x"}}), "ThrottlingException"),
        ("events", "PutEvents", lambda c: c.put_events(Entries=[{"Source": "s", "DetailType": "d", "Detail": "{}"}]),
         "ThrottlingException"),
        ("sns", "Publish", lambda c: c.publish(TopicArn="arn:aws:sns:us-east-1:1:t", Message="m"), "Throttled"),
        ("sts", "GetCallerIdentity", lambda c: c.get_caller_identity(), "InternalFailure"),
    ],
)  # fmt: skip
def test_faults_are_encoded_in_the_protocol_the_client_speaks(aws, service, operation, call, code) -> None:
    """CloudWatch's client speaks awsJson1_0 with query-compatible codes (its model also lists
    smithy-rpc-v2-cbor); an XML error there arrived as `(400)`, which no retry recognises."""
    adapt.hooks.faults = [adapt.Fault(service=service, operation=operation, error=code)]
    with adapt.acting_as_control_plane(), pytest.raises(ClientError) as faulted:
        call(boto3.client(service, region_name="us-east-1", config=NO_RETRIES))
    assert faulted.value.response["Error"]["Code"] == code


def test_cbor_faults_parse_as_aws_errors_in_botocore() -> None:
    from botocore.parsers import RpcV2CBORParser

    status, headers, body = adapt.error_response("cloudwatch", "Throttling", "slow down", "smithy-rpc-v2-cbor")
    shape = boto3.client("cloudwatch", region_name="us-east-1").meta.service_model.operation_model("DescribeAlarms")
    parsed = RpcV2CBORParser().parse(
        {"status_code": status, "headers": {k.lower(): str(v) for k, v in headers.items()}, "body": body},
        shape.output_shape,
    )
    assert (parsed["Error"]["Code"], parsed["Error"]["Message"]) == ("Throttling", "slow down")
    assert headers["Content-Type"] == "application/cbor"
