"""The rehearsal's Amazon Comprehend custom models, as strict as the API reference and the Developer
Guide: CreateEndpoint's checks, the endpoint lifecycle on the world's clock, and ClassifyDocument /
DetectEntities that answer only a granted caller, only while the endpoint is IN_SERVICE, only for text
within the size limit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from mlpromote import arns
from mlpromote_emulator import comprehend
from mlpromote_emulator import moto_adaptations as adapt

ML = "111111111111"
NO_RETRIES = Config(retries={"total_max_attempts": 1})
MODEL = arns.comprehend_model_version("aws", "us-east-1", ML, "document-classifier", "tickets", "v1")
TRAINING = arns.comprehend_model_version("aws", "us-east-1", ML, "document-classifier", "tickets", "v2")


@pytest.fixture
def aws() -> Any:
    adapt.install()
    adapt.set_default_account(ML)
    adapt.hooks.faults, adapt.hooks.calls = [], []
    with mock_aws():
        store = adapt.comprehend_store(ML, "us-east-1")
        store.create_seconds, store.delete_seconds = 300, 120
        for arn, version, status in ((MODEL, "v1", "TRAINED"), (TRAINING, "v2", "TRAINING")):
            adapt.seed_comprehend(
                ML,
                "us-east-1",
                comprehend.Model(arn, "document-classifier", "tickets", version, status, {"billing": 0.9}),
                None,
            )
        yield boto3.client("comprehend", region_name="us-east-1", config=NO_RETRIES)
    adapt.set_default_account("123456789012")


def _code(call: Any, **arguments: Any) -> str:
    with pytest.raises(ClientError) as error:
        call(**arguments)
    return str(error.value.response["Error"]["Code"])


def _granted_client(endpoint_arn: str) -> Any:
    """A role of the ML account whose grant on the endpoint has propagated, as the access role's would."""
    iam = boto3.client("iam", region_name="us-east-1")
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ML}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    role = iam.create_role(RoleName="caller", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    grant = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "comprehend:ClassifyDocument", "Resource": endpoint_arn}]}  # fmt: skip
    iam.put_role_policy(RoleName="caller", PolicyName="mlpromote-grants", PolicyDocument=json.dumps(grant))
    adapt.backdate_grants(ML, 3600)
    keys = boto3.client("sts", region_name="us-east-1").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    return boto3.client(
        "comprehend",
        region_name="us-east-1",
        config=NO_RETRIES,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def test_create_endpoint_checks_what_aws_checks(aws: Any) -> None:
    """CreateEndpoint (API reference; Developer Guide, "Using Amazon Comprehend endpoints"): 1-10 inference
    units, a name of at most 40 letters, digits and hyphens, unique; a model that is trained."""
    create = aws.create_endpoint
    assert _code(create, EndpointName="e1", ModelArn=MODEL, DesiredInferenceUnits=11) == "InvalidRequestException"
    assert _code(create, EndpointName="e" * 41, ModelArn=MODEL, DesiredInferenceUnits=1) == "ValidationException"
    assert _code(create, EndpointName="bad_name", ModelArn=MODEL, DesiredInferenceUnits=1) == "ValidationException"
    assert (
        _code(create, EndpointName="e1", ModelArn=TRAINING, DesiredInferenceUnits=1) == "ResourceUnavailableException"
    )
    missing = MODEL.replace("/v1", "/v9")
    assert _code(create, EndpointName="e1", ModelArn=missing, DesiredInferenceUnits=1) == "ResourceNotFoundException"
    arn = create(EndpointName="e1", ModelArn=MODEL, DesiredInferenceUnits=10)["EndpointArn"]
    assert arn == f"arn:aws:comprehend:us-east-1:{ML}:document-classifier-endpoint/e1"
    assert _code(create, EndpointName="e1", ModelArn=MODEL, DesiredInferenceUnits=1) == "ResourceInUseException"


def test_an_endpoint_is_creating_then_in_service_and_deleting_then_gone_on_the_worlds_clock(aws: Any) -> None:
    name = arns.comprehend_endpoint_name(MODEL)
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False) as clock:
        arn = aws.create_endpoint(EndpointName=name, ModelArn=MODEL, DesiredInferenceUnits=2)["EndpointArn"]
        assert arn == arns.comprehend_endpoint(MODEL)
        classify = _granted_client(arn).classify_document

        def status() -> str:
            return str(aws.describe_endpoint(EndpointArn=arn)["EndpointProperties"]["Status"])

        assert status() == "CREATING"
        # Not in service yet: ClassifyDocument's ResourceUnavailableException, and not deletable.
        assert _code(classify, EndpointArn=arn, Text="charged twice") == "ResourceUnavailableException"
        assert _code(aws.delete_endpoint, EndpointArn=arn) == "ResourceInUseException"
        clock.shift(timedelta(seconds=300))
        assert status() == "IN_SERVICE"
        assert classify(EndpointArn=arn, Text="charged twice")["Classes"] == [{"Name": "billing", "Score": 0.9}]
        # At most 10,000 characters and 10 KB of UTF-8 text (Developer Guide, "Inputs for real-time custom analysis").
        assert _code(classify, EndpointArn=arn, Text="é" * 5001) == "TextSizeLimitExceededException"
        aws.delete_endpoint(EndpointArn=arn)
        assert status() == "DELETING"
        assert _code(classify, EndpointArn=arn, Text="charged twice") == "ResourceUnavailableException"
        clock.shift(timedelta(seconds=120))
        assert _code(aws.describe_endpoint, EndpointArn=arn) == "ResourceNotFoundException"
        # The name is free again.
        aws.create_endpoint(EndpointName=name, ModelArn=MODEL, DesiredInferenceUnits=1)


def test_classify_document_answers_only_a_caller_whose_grant_has_propagated(aws: Any) -> None:
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False) as clock:
        arn = aws.create_endpoint(EndpointName="e1", ModelArn=MODEL, DesiredInferenceUnits=1)["EndpointArn"]
        clock.shift(timedelta(seconds=300))
        # The account's own credentials are no role that the model's account granted.
        assert _code(aws.classify_document, EndpointArn=arn, Text="x") == "AccessDeniedException"
        assert _granted_client(arn).classify_document(EndpointArn=arn, Text="x")["Classes"]
        other = arn.replace("/e1", "/e2")
        assert _code(_granted_client_again(), EndpointArn=other, Text="x") == "ResourceNotFoundException"


def _granted_client_again() -> Any:
    keys = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=f"arn:aws:iam::{ML}:role/caller", RoleSessionName="test-2"
    )["Credentials"]
    return boto3.client(
        "comprehend",
        region_name="us-east-1",
        config=NO_RETRIES,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    ).classify_document


def test_a_model_is_described_and_listed_by_name_with_its_version_in_the_arn(aws: Any) -> None:
    described = aws.describe_document_classifier(DocumentClassifierArn=MODEL)["DocumentClassifierProperties"]
    assert (described["DocumentClassifierArn"], described["Status"]) == (MODEL, "TRAINED")
    listed = aws.list_document_classifiers(Filter={"DocumentClassifierName": "tickets"})
    assert sorted(p["DocumentClassifierArn"] for p in listed["DocumentClassifierPropertiesList"]) == [MODEL, TRAINING]
    assert (
        aws.list_document_classifiers(Filter={"DocumentClassifierName": "other"})["DocumentClassifierPropertiesList"]
        == []
    )
    assert _code(
        aws.describe_entity_recognizer, EntityRecognizerArn=MODEL.replace("document-classifier", "entity-recognizer")
    ) == ("ResourceNotFoundException")


# --- copies across accounts: resource policies and ImportModel (strategy: copy) ---------------------

TARGET, OTHER = "333333333333", "444444444444"


def _client_in(account: str, region: str = "us-east-1") -> Any:
    """A Comprehend client acting as a role of `account`."""
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ML}:root"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
    adapt.ensure_role(account, "aws", "importer", trust)
    keys = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/importer", RoleSessionName="test"
    )["Credentials"]
    return boto3.client(
        "comprehend",
        region_name=region,
        config=NO_RETRIES,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys["SessionToken"],
    )


def _import_policy(*accounts: str, resource: str = MODEL) -> str:
    allow = {"Effect": "Allow", "Principal": {"AWS": list(accounts)}, "Action": "comprehend:ImportModel"}
    return json.dumps({"Version": "2012-10-17", "Statement": [{**allow, "Resource": resource}]})


def test_a_resource_policy_is_replaced_and_deleted_only_at_its_current_revision(aws: Any) -> None:
    """PutResourcePolicy / DeleteResourcePolicy (API reference): one policy per model version, 1-20,000
    characters of JSON; a new one takes no PolicyRevisionId, a replacement or a deletion the current one, and
    each write gets a new one."""
    missing = arns.comprehend_model_version("aws", "us-east-1", ML, "document-classifier", "tickets", "v9")
    put = aws.put_resource_policy
    assert _code(put, ResourceArn=missing, ResourcePolicy=_import_policy(TARGET)) == "ResourceNotFoundException"
    assert _code(put, ResourceArn=MODEL, ResourcePolicy="x" * 20_001) == "ValidationException"
    assert _code(put, ResourceArn=MODEL, ResourcePolicy="not json") == "InvalidRequestException"
    assert _code(put, ResourceArn=MODEL, ResourcePolicy=_import_policy(TARGET), PolicyRevisionId="ab") == (
        "InvalidRequestException"  # nothing to revise
    )
    assert _code(aws.describe_resource_policy, ResourceArn=MODEL) == "ResourceNotFoundException"
    first = put(ResourceArn=MODEL, ResourcePolicy=_import_policy(TARGET))["PolicyRevisionId"]
    # A second writer that did not read the current revision is refused, not silently overwriting.
    assert _code(put, ResourceArn=MODEL, ResourcePolicy=_import_policy(OTHER)) == "InvalidRequestException"
    assert _code(put, ResourceArn=MODEL, ResourcePolicy=_import_policy(OTHER), PolicyRevisionId="ab") == (
        "InvalidRequestException"
    )
    second = put(ResourceArn=MODEL, ResourcePolicy=_import_policy(TARGET, OTHER), PolicyRevisionId=first)
    assert second["PolicyRevisionId"] != first
    described = aws.describe_resource_policy(ResourceArn=MODEL)
    assert json.loads(described["ResourcePolicy"]) == json.loads(_import_policy(TARGET, OTHER))
    assert described["PolicyRevisionId"] == second["PolicyRevisionId"]
    assert _code(aws.delete_resource_policy, ResourceArn=MODEL, PolicyRevisionId=first) == "InvalidRequestException"
    aws.delete_resource_policy(ResourceArn=MODEL, PolicyRevisionId=second["PolicyRevisionId"])
    assert _code(aws.describe_resource_policy, ResourceArn=MODEL) == "ResourceNotFoundException"


def test_import_model_needs_the_sources_policy_its_region_and_a_trained_source(aws: Any) -> None:
    """ImportModel (API reference; Developer Guide, "Copying custom models between AWS accounts"): from another
    account only as the source's resource policy allows; in the source's region only; a trained source only;
    the copy is SUBMITTED, then TRAINED, and names its source (SourceModelArn)."""
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False) as clock:
        target = _client_in(TARGET)
        imported = {"SourceModelArn": MODEL, "ModelName": "tickets", "VersionName": "v1"}
        assert _code(target.import_model, **imported) == "AccessDeniedException"  # no policy
        aws.put_resource_policy(ResourceArn=MODEL, ResourcePolicy=_import_policy(OTHER))
        assert _code(target.import_model, **imported) == "AccessDeniedException"  # another account's
        revision = aws.describe_resource_policy(ResourceArn=MODEL)["PolicyRevisionId"]
        aws.put_resource_policy(ResourceArn=MODEL, ResourcePolicy=_import_policy(TARGET), PolicyRevisionId=revision)
        # Same region only.
        elsewhere = _client_in(TARGET, "us-west-2")
        assert _code(elsewhere.import_model, **imported) == "InvalidRequestException"
        arn = target.import_model(**imported)["ModelArn"]
        assert arn == arns.comprehend_model_version("aws", "us-east-1", TARGET, "document-classifier", "tickets", "v1")
        properties = target.describe_document_classifier(DocumentClassifierArn=arn)["DocumentClassifierProperties"]
        assert (properties["Status"], properties["SourceModelArn"]) == ("SUBMITTED", MODEL)
        assert _code(target.import_model, **imported) == "ResourceInUseException"  # that name and version exist
        clock.shift(timedelta(seconds=300))
        properties = target.describe_document_classifier(DocumentClassifierArn=arn)["DocumentClassifierProperties"]
        assert properties["Status"] == "TRAINED"
        # A source still training cannot be imported, policy or not.
        revision = aws.put_resource_policy(ResourceArn=TRAINING, ResourcePolicy=_import_policy(TARGET, resource="*"))
        assert revision["PolicyRevisionId"]
        training = {"SourceModelArn": TRAINING, "ModelName": "tickets", "VersionName": "v2"}
        assert _code(target.import_model, **training) == "ResourceUnavailableException"


def test_an_imported_model_is_deleted_only_once_no_endpoint_serves_it(aws: Any) -> None:
    """DeleteDocumentClassifier (API reference): a model in use answers ResourceInUseException; one in a
    terminal state with no endpoint is deleted."""
    with time_machine.travel(datetime(2026, 1, 1, tzinfo=UTC), tick=False) as clock:
        aws.put_resource_policy(ResourceArn=MODEL, ResourcePolicy=_import_policy(TARGET))
        target = _client_in(TARGET)
        arn = target.import_model(SourceModelArn=MODEL, ModelName="tickets", VersionName="v1")["ModelArn"]
        # Still importing (SUBMITTED): neither served nor deleted.
        assert _code(target.delete_document_classifier, DocumentClassifierArn=arn) == "ResourceInUseException"
        clock.shift(timedelta(seconds=300))
        name = arns.comprehend_endpoint_name(arn)
        endpoint = target.create_endpoint(EndpointName=name, ModelArn=arn, DesiredInferenceUnits=1)["EndpointArn"]
        assert endpoint.split(":")[4] == TARGET
        assert _code(target.delete_document_classifier, DocumentClassifierArn=arn) == "ResourceInUseException"
        clock.shift(timedelta(seconds=300))
        target.delete_endpoint(EndpointArn=endpoint)
        assert _code(target.delete_document_classifier, DocumentClassifierArn=arn) == "ResourceInUseException"
        clock.shift(timedelta(seconds=120))  # the endpoint is gone
        target.delete_document_classifier(DocumentClassifierArn=arn)
        assert _code(target.describe_document_classifier, DocumentClassifierArn=arn) == "ResourceNotFoundException"
