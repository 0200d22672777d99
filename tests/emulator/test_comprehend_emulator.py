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
