"""Each adaptation of moto internals, checked against the installed moto: an upgrade that moves one fails here."""

import json
from typing import Any

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
    template = '{"environment": <environment>, "count": <count>, "text": "<environment> ok"}'
    assert json.loads(adapt.transform_input_for_target(template, paths, event)) == {
        "environment": "prod",
        "count": 3,
        "text": "prod ok",
    }
    assert json.loads(adapt.transform_input_for_target('{"n": "<note>"}', paths, event)) == {"n": 'say "hi"'}
    assert adapt.transform_input_for_target("<environment> is <count>", paths, event) == "prod is 3"


def test_input_transformer_leaves_out_a_variable_whose_path_is_missing() -> None:
    """EventBridge user guide, "Common issues with transforming input": the variable isn't created and
    won't appear in the output. Unquoted in a JSON template, that is not JSON."""
    event = {"source": "ci", "detail": {"environment": "prod", "reason": None}}
    paths = {"environment": "$.detail.environment", "reason": "$.detail.reason", "missing": "$.detail.nope"}
    assert adapt.transform_input_for_target('{"r": <reason>, "m": "<missing>"}', paths, event) == '{"r": null, "m": ""}'
    output = adapt.transform_input_for_target('{"environment": <environment>, "why": <missing>}', paths, event)
    assert output == '{"environment": "prod", "why": }'
    with pytest.raises(ValueError):
        json.loads(output)


def test_iam_in_govcloud_answers_in_its_partition_and_assume_role_holds_to_it(aws) -> None:
    # moto reads the region `us-gov` off iam.us-gov.amazonaws.com and would file the role under `aws`.
    iam = boto3.client("iam", region_name="us-gov-west-1")
    arn = _role(iam, "trusts-ml", ["arn:aws-us-gov:iam::111111111111:root"])
    assert arn == "arn:aws-us-gov:iam::111111111111:role/trusts-ml"
    with pytest.raises(ClientError) as elsewhere:  # each partition has its own IAM
        boto3.client("iam", region_name="eu-west-1").get_role(RoleName="trusts-ml")
    assert elsewhere.value.response["Error"]["Code"] == "NoSuchEntity"
    sts = boto3.client("sts", region_name="us-gov-west-1")
    assert sts.assume_role(RoleArn=arn, RoleSessionName="test")["Credentials"]["AccessKeyId"]
    with pytest.raises(ClientError) as wrong_partition:  # the ARN a hand-written `arn:aws:` would give
        sts.assume_role(RoleArn=arn.replace("arn:aws-us-gov:", "arn:aws:"), RoleSessionName="test")
    assert wrong_partition.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.parametrize(
    "name",
    [
        "mlpromote/tools/model-arn",
        "/mlpromote//model-arn",
        "/mlpromote/tools/",
        "/mlpromote/model arn",
        "/mlpromote/x!",
    ],
)
def test_ssm_refuses_names_ssm_refuses(aws, name: str) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1", config=NO_RETRIES)
    ssm.put_parameter(Name="/mlpromote/tools/model-arn", Value="v1", Type="String")

    for call in (
        lambda: ssm.put_parameter(Name=name, Value="v2", Type="String", Overwrite=True),
        lambda: ssm.get_parameter(Name=name),
        lambda: ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["current"]),
        lambda: ssm.delete_parameter(Name=name),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ValidationException"
        assert "each sub-path can be formed as a mix of letters" in refused.value.response["Error"]["Message"]

    # moto alone would have made "mlpromote/tools/model-arn" a second parameter beside the real one.
    assert [p["Name"] for p in ssm.describe_parameters()["Parameters"]] == ["/mlpromote/tools/model-arn"]
    assert ssm.get_parameter(Name="/mlpromote/tools/model-arn")["Parameter"]["Value"] == "v1"


def test_ssm_limits_levels_and_length_on_put_and_reads_by_label_and_arn(aws) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1", config=NO_RETRIES)
    fifteen, sixteen = "/l" * 15, "/l" * 16
    # arn:aws:ssm:us-east-1:111111111111:parameter is 44 characters; the name may bring the rest of 1011.
    longest = "/" + "x" * (1011 - 44 - 1)

    ssm.put_parameter(Name=fifteen, Value="v", Type="String")
    ssm.put_parameter(Name=longest, Value="v", Type="String")
    with pytest.raises(ClientError) as deep:
        ssm.put_parameter(Name=sixteen, Value="v", Type="String")
    with pytest.raises(ClientError) as long:
        ssm.put_parameter(Name=longest + "x", Value="v", Type="String")

    assert deep.value.response["Error"]["Code"] == "HierarchyLevelLimitExceededException"
    assert long.value.response["Error"]["Code"] == "ValidationException"
    assert sorted(p["Name"] for p in ssm.describe_parameters()["Parameters"]) == sorted([fifteen, longest])
    ssm.label_parameter_version(Name=fifteen, ParameterVersion=1, Labels=["current"])
    assert ssm.get_parameter(Name=f"{fifteen}:current")["Parameter"]["Value"] == "v"
    arn = f"arn:aws:ssm:us-east-1:111111111111:parameter{fifteen}"
    assert ssm.get_parameter(Name=arn)["Parameter"]["Value"] == "v"


def test_describe_alarms_returns_composite_alarms_only_when_asked(aws) -> None:
    """As CloudWatch does: without AlarmTypes, metric alarms only. The control plane asks for both, so a
    composite rollback alarm is found by the plan and watched by the bake."""
    from mlpromote.aws import cloudwatch, sessions

    client = boto3.client("cloudwatch", region_name="us-east-1")
    client.put_metric_alarm(
        AlarmName="Errors", MetricName="Errors", Namespace="App", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
    )  # fmt: skip
    client.put_composite_alarm(AlarmName="Health", AlarmRule='ALARM("Errors")')
    client.set_alarm_state(AlarmName="Health", StateValue="ALARM", StateReason="test")

    def names(**arguments: object) -> list[str]:
        page = client.describe_alarms(AlarmNames=["Errors", "Health"], **arguments)
        return [a["AlarmName"] for a in page["MetricAlarms"] + page["CompositeAlarms"]]

    assert names() == ["Errors"]
    assert names(AlarmTypes=["CompositeAlarm"]) == ["Health"]
    assert sorted(names(AlarmTypes=["CompositeAlarm", "MetricAlarm"])) == ["Errors", "Health"]

    reader = _role(boto3.client("iam", region_name="us-east-1"), "alarm-reader", ["arn:aws:iam::111111111111:root"])
    sessions.reset()
    try:
        assert cloudwatch.missing_alarms(reader, ["Errors", "Health", "Latency"]) == ["Latency"]
        assert cloudwatch.alarms_in_alarm(reader, ["Errors", "Health"]) == ["Health"]
    finally:
        sessions.reset()


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


def test_only_moto_adaptations_touches_moto_internals() -> None:
    """The rest of the emulator uses moto's public `mock_aws` and the functions of moto_adaptations, so a
    moto upgrade is checked in one module (issue 12)."""
    import ast
    from pathlib import Path

    package = Path(adapt.__file__).parent
    touches = []
    for path in sorted(package.glob("*.py")):
        if path.name == "moto_adaptations.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "moto":
                if node.module != "moto" or [alias.name for alias in node.names] != ["mock_aws"]:
                    touches.append(f"{path.name}:{node.lineno} from {node.module} import ...")
            elif isinstance(node, ast.Import):
                touches += [
                    f"{path.name}:{node.lineno} import {a.name}" for a in node.names if a.name.startswith("moto")
                ]
    assert touches == []


def test_a_stop_passes_through_stopping_and_only_a_running_model_stops(aws) -> None:
    """StopProjectVersion "stops a running model" (API reference): STOPPING for stopSeconds, then STOPPED.
    A STOPPING version cannot be started, and a STARTING one cannot be stopped (ResourceInUseException)."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    version = "arn:aws:rekognition:us-east-1:111111111111:project/p/version/v1/1700000001000"
    project = "arn:aws:rekognition:us-east-1:111111111111:project/p/1700000000000"
    adapt.seed_custom_labels("111111111111", "us-east-1", "p", project, adapt.CustomLabelsVersion(
        arn=version, project="p", name="v1", status="TRAINING_COMPLETED", labels={}, start_seconds=300,
        stop_seconds=120))  # fmt: skip
    rekognition = boto3.client("rekognition", region_name="us-east-1", config=NO_RETRIES)

    def status() -> str:
        described = rekognition.describe_project_versions(ProjectArn=project, VersionNames=["v1"])
        return str(described["ProjectVersionDescriptions"][0]["Status"])

    def refused(call: Any) -> str:
        with pytest.raises(ClientError) as error:
            call(
                ProjectVersionArn=version,
                **({"MinInferenceUnits": 1} if call == rekognition.start_project_version else {}),
            )
        return str(error.value.response["Error"]["Code"])

    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False) as clock:
        rekognition.start_project_version(ProjectVersionArn=version, MinInferenceUnits=1)
        assert refused(rekognition.stop_project_version) == "ResourceInUseException"  # STARTING
        clock.shift(timedelta(seconds=300))
        assert status() == "RUNNING"
        assert rekognition.stop_project_version(ProjectVersionArn=version)["Status"] == "STOPPING"
        clock.shift(timedelta(seconds=119))
        assert status() == "STOPPING"
        assert refused(rekognition.start_project_version) == "ResourceInUseException"
        assert refused(rekognition.stop_project_version) == "ResourceInUseException"
        assert adapt.transitions_end("111111111111", "us-east-1") == datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            seconds=420
        )
        clock.shift(timedelta(seconds=1))
        assert status() == "STOPPED"
        assert adapt.transitions_end("111111111111", "us-east-1") is None
        assert rekognition.start_project_version(ProjectVersionArn=version, MinInferenceUnits=1)["Status"] == "STARTING"


def _policy(statements: int, padding: str = "") -> str:
    document = {"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i:05d}", "Effect": "Allow", "Action": "rekognition:DetectCustomLabels",
         "Resource": f"arn:aws:rekognition:us-east-1:111111111111:project/p/version/v{i}/1700000001000"}
        for i in range(statements)]}  # fmt: skip
    return json.dumps(document, indent=padding or None)


def test_iam_counts_every_inline_policy_of_a_role_without_whitespace(aws) -> None:
    """All inline policies of a role together: 10,240 characters, whitespace not counted (IAM quotas)."""
    iam = boto3.client("iam", region_name="us-east-1", config=NO_RETRIES)
    _role(iam, "access", ["arn:aws:iam::111111111111:root"])
    big = _policy(60, padding="        ")  # over 10,240 as sent; under it without the whitespace
    assert len(big) > adapt.ROLE_INLINE_POLICIES_LIMIT > adapt.policy_chars(big)
    iam.put_role_policy(RoleName="access", PolicyName="grants", PolicyDocument=big)
    with pytest.raises(ClientError) as error:
        # Alone well under the limit; with the other policy over it.
        iam.put_role_policy(RoleName="access", PolicyName="images", PolicyDocument=_policy(15))
    assert error.value.response["Error"]["Code"] == "LimitExceeded"
    assert error.value.response["Error"]["Message"] == "Maximum policy size of 10240 bytes exceeded for role access"
    assert iam.list_role_policies(RoleName="access")["PolicyNames"] == ["grants"]
    iam.put_role_policy(RoleName="access", PolicyName="grants", PolicyDocument=_policy(40))  # replaced, not added
    iam.put_role_policy(RoleName="access", PolicyName="images", PolicyDocument=_policy(15))


def test_iam_limits_the_trust_policy_to_its_quota(aws) -> None:
    iam = boto3.client("iam", region_name="us-east-1", config=NO_RETRIES)
    accounts = [f"arn:aws:iam::{500_000_000_000 + i}:root" for i in range(70)]  # about 2,400 characters
    with pytest.raises(ClientError) as error:
        _role(iam, "wide", accounts)
    assert error.value.response["Error"]["Code"] == "LimitExceeded"
    assert error.value.response["Error"]["Message"] == "Cannot exceed quota for ACLSizePerRole: 2048"
    _role(iam, "narrow", accounts[:10])
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": accounts}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    with pytest.raises(ClientError):
        iam.update_assume_role_policy(RoleName="narrow", PolicyDocument=json.dumps(trust))
    adapt.hooks.trust_policy_limit = 4096  # the quota raised
    try:
        _role(iam, "wide", accounts)
        iam.update_assume_role_policy(RoleName="narrow", PolicyDocument=json.dumps(trust))
    finally:
        adapt.hooks.trust_policy_limit = 2048


def test_get_role_policy_answers_the_previous_document_for_a_while_after_a_write(aws) -> None:
    """IAM User Guide, "Changes that I make are not always immediately visible": modelled as GetRolePolicy
    answering with the document before the latest write for iam_read_lag_seconds."""
    from datetime import UTC, datetime, timedelta

    import time_machine

    iam = boto3.client("iam", region_name="us-east-1", config=NO_RETRIES)
    _role(iam, "access", ["arn:aws:iam::111111111111:root"])
    adapt.hooks.iam_read_lag_seconds = 10
    try:
        with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False) as clock:

            def read() -> str | None:
                try:
                    return str(
                        iam.get_role_policy(RoleName="access", PolicyName="g")["PolicyDocument"]["Statement"][0]["Sid"]
                    )
                except ClientError as error:
                    return str(error.response["Error"]["Code"])

            def policy(sid: str) -> str:
                return json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [{"Sid": sid, "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                    }
                )

            iam.put_role_policy(RoleName="access", PolicyName="g", PolicyDocument=policy("First"))
            assert read() == "NoSuchEntity"  # written, not yet visible
            clock.shift(timedelta(seconds=10))
            assert read() == "First"
            iam.put_role_policy(RoleName="access", PolicyName="g", PolicyDocument=policy("Second"))
            clock.shift(timedelta(seconds=9))
            assert read() == "First"
            clock.shift(timedelta(seconds=1))
            assert read() == "Second"
            iam.delete_role_policy(RoleName="access", PolicyName="g")
            assert read() == "Second"
            clock.shift(timedelta(seconds=10))
            assert read() == "NoSuchEntity"
    finally:
        adapt.hooks.iam_read_lag_seconds = 0
        adapt.forget_policy_writes()


def test_organizations_lists_an_ous_accounts_page_by_page_to_its_management_account_only(aws) -> None:
    """ListAccountsForParent: the OU's own accounts (not its children's), 20 per page at most;
    ListOrganizationalUnitsForParent: its child OUs (the root's: the top-level ones). Organizations
    API Reference. Only the management account may call them."""
    ou, child = "ou-ab12-prod0001", "ou-ab12-prodeu01"
    accounts = [f"{300000000000 + n:012d}" for n in range(45)]
    adapt.forget_organizations()
    adapt.seed_organization(
        adapt.Organization(
            id="o-a1b2c3d4e5",
            management_account="111111111111",
            units={ou: list(accounts), child: ["555555555555"]},
            children={ou: [child]},
        )
    )
    try:
        organizations = boto3.client("organizations", region_name="us-east-1", config=NO_RETRIES)
        first = organizations.list_accounts_for_parent(ParentId=ou)
        assert len(first["Accounts"]) == 20 and "NextToken" in first
        pages = organizations.get_paginator("list_accounts_for_parent").paginate(ParentId=ou)
        listed = [a["Id"] for page in pages for a in page["Accounts"]]
        assert listed == accounts and all(a["Status"] == "ACTIVE" for a in first["Accounts"])
        children = organizations.list_organizational_units_for_parent(ParentId=ou)["OrganizationalUnits"]
        assert [c["Id"] for c in children] == [child]
        top = organizations.list_organizational_units_for_parent(ParentId="r-ab12")["OrganizationalUnits"]
        assert [c["Id"] for c in top] == [ou]
        with pytest.raises(ClientError) as missing:
            organizations.list_accounts_for_parent(ParentId="ou-ab12-missing1")
        assert missing.value.response["Error"]["Code"] == "ParentNotFoundException"
        with pytest.raises(ClientError) as too_many:
            organizations.list_accounts_for_parent(ParentId=ou, MaxResults=21)
        assert too_many.value.response["Error"]["Code"] == "InvalidInputException"
        assert adapt.organization_paths("555555555555") == [f"o-a1b2c3d4e5/r-ab12/{ou}/{child}/"]
        # A member account is refused.
        sts = boto3.client("sts", region_name="us-east-1")
        adapt.ensure_role(accounts[0], "aws", "admin", {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                           "Action": "sts:AssumeRole"}],
        })  # fmt: skip
        keys = sts.assume_role(RoleArn=f"arn:aws:iam::{accounts[0]}:role/admin", RoleSessionName="member")[
            "Credentials"
        ]
        as_member = boto3.client(
            "organizations",
            region_name="us-east-1",
            config=NO_RETRIES,
            aws_access_key_id=keys["AccessKeyId"],
            aws_secret_access_key=keys["SecretAccessKey"],
            aws_session_token=keys["SessionToken"],
        )
        with pytest.raises(ClientError) as denied:
            as_member.list_accounts_for_parent(ParentId=ou)
        assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    finally:
        adapt.forget_organizations()


@pytest.mark.parametrize(
    ("organization", "problem"),
    [
        ({"ou-ab12-prod0001": {"children": ["ou-ab12-missing1"]}}, "is not an OU of world.organization"),
        (
            {
                "ou-ab12-aaaaaaaa": {"children": ["ou-ab12-cccccccc"]},
                "ou-ab12-bbbbbbbb": {"children": ["ou-ab12-cccccccc"]},
                "ou-ab12-cccccccc": {},
            },
            "an OU has one parent",
        ),
        (
            {
                "ou-ab12-aaaaaaaa": {"children": ["ou-ab12-bbbbbbbb"]},
                "ou-ab12-bbbbbbbb": {"children": ["ou-ab12-aaaaaaaa"]},
            },
            "is a cycle",
        ),
        (
            {"ou-ab12-aaaaaaaa": {"accounts": ["555555555555"]}, "ou-ab12-bbbbbbbb": {"accounts": ["555555555555"]}},
            "an account is in one OU",
        ),
        ({"ou-AB": {}}, "does not match"),
    ],
)
def test_a_scenario_organization_is_one_tree(worlds: Any, organization: dict[str, Any], problem: str) -> None:
    from mlpromote_emulator.scenario import InvalidScenario

    with pytest.raises(InvalidScenario, match=problem):
        worlds.scenario(world={"organization": organization})
