"""Amazon Comprehend custom models in the ML account: describe a model version, create, describe and
delete the real-time endpoint that serves it, and call the endpoint through a delegated role.

Statuses and fields are botocore's comprehend service model: a model is SUBMITTED, TRAINING, DELETING,
STOP_REQUESTED, STOPPED, IN_ERROR, TRAINED or TRAINED_WITH_WARNING; an endpoint CREATING, DELETING,
FAILED, IN_SERVICE or UPDATING. botocore has no Comprehend waiter; ListDocumentClassifiers and
ListEntityRecognizers have paginators.
"""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.errors import ModelVersionNotFound

CLASSIFIER = "document-classifier"
ENTITY_RECOGNIZER = "entity-recognizer"
_NOT_FOUND = "ResourceNotFoundException"


@dataclass(frozen=True)
class Endpoint:
    arn: str
    status: str
    message: str
    model_arn: str
    desired_inference_units: int | None


@dataclass(frozen=True)
class ModelDescription:
    arn: str
    status: str
    message: str


def _kind(model_arn: str) -> str:
    return CLASSIFIER if f":{CLASSIFIER}/" in model_arn else ENTITY_RECOGNIZER


def describe_model(model_arn: str) -> ModelDescription:
    """The model version's training status; ModelVersionNotFound when it does not exist."""
    comprehend = sessions.client("comprehend")
    try:
        if _kind(model_arn) == CLASSIFIER:
            properties = comprehend.describe_document_classifier(DocumentClassifierArn=model_arn)[
                "DocumentClassifierProperties"
            ]
        else:
            properties = comprehend.describe_entity_recognizer(EntityRecognizerArn=model_arn)[
                "EntityRecognizerProperties"
            ]
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            raise ModelVersionNotFound(
                f"{model_arn} does not exist in Comprehend in the ML account; copy the model version's ARN "
                "from the Comprehend console or DescribeDocumentClassifier / DescribeEntityRecognizer"
            ) from error
        raise sessions.translated(error, f"comprehend Describe{_operation_noun(model_arn)}") from error
    return ModelDescription(arn=model_arn, status=properties["Status"], message=properties.get("Message", ""))


def list_models(kind: str, name: str) -> list[ModelDescription]:
    """Every version of the model `name` (paginated, filtered by name)."""
    comprehend = sessions.client("comprehend")
    out: list[ModelDescription] = []
    try:
        if kind == CLASSIFIER:
            pages = comprehend.get_paginator("list_document_classifiers").paginate(
                Filter={"DocumentClassifierName": name}
            )
            key, arn_key = "DocumentClassifierPropertiesList", "DocumentClassifierArn"
        else:
            pages = comprehend.get_paginator("list_entity_recognizers").paginate(Filter={"RecognizerName": name})
            key, arn_key = "EntityRecognizerPropertiesList", "EntityRecognizerArn"
        for page in pages:
            out.extend(
                ModelDescription(arn=p[arn_key], status=p["Status"], message=p.get("Message", "")) for p in page[key]
            )
    except ClientError as error:
        noun = "DocumentClassifiers" if kind == CLASSIFIER else "EntityRecognizers"
        raise sessions.translated(error, f"comprehend List{noun}") from error
    return out


def describe_endpoint(endpoint_arn: str) -> Endpoint | None:
    """The endpoint, or None when it does not exist (never created, or deleted)."""
    try:
        properties = sessions.client("comprehend").describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            return None
        raise sessions.translated(error, "comprehend DescribeEndpoint") from error
    return Endpoint(
        arn=endpoint_arn,
        status=properties["Status"],
        message=properties.get("Message", ""),
        model_arn=properties.get("ModelArn", ""),
        desired_inference_units=properties.get("DesiredInferenceUnits"),
    )


def create_endpoint(name: str, model_arn: str, inference_units: int) -> None:
    """Create the endpoint; one of that name already there (a retried step, another promotion) is not an error."""
    try:
        sessions.client("comprehend").create_endpoint(
            EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=inference_units
        )
    except ClientError as error:
        if sessions.error_code(error) == "ResourceInUseException":
            return
        raise sessions.translated(error, "comprehend CreateEndpoint") from error


def delete_endpoint(endpoint_arn: str) -> None:
    """Delete the endpoint; one already gone is not an error (what was wanted is done)."""
    try:
        sessions.client("comprehend").delete_endpoint(EndpointArn=endpoint_arn)
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            return
        raise sessions.translated(error, "comprehend DeleteEndpoint") from error


def classify(role_chain: tuple[str, ...], endpoint_arn: str, text: str, external_id: str | None) -> dict[str, float]:
    """ClassifyDocument as the last role of the chain: each class (multi-class) or label (multi-label)
    with its score, 0-1. A refusal is the AwsError of the call refused, with its code."""
    comprehend = sessions.assumed_client("comprehend", role_chain, external_id=external_id)
    with sessions.translating("comprehend ClassifyDocument"):
        answer = comprehend.classify_document(EndpointArn=endpoint_arn, Text=text)
    found: dict[str, float] = {}
    for item in [*answer.get("Classes", []), *answer.get("Labels", [])]:
        found[item["Name"]] = max(found.get(item["Name"], 0.0), float(item["Score"]))
    return found


def detect_entities(
    role_chain: tuple[str, ...], endpoint_arn: str, text: str, external_id: str | None
) -> dict[str, float]:
    """DetectEntities on the custom endpoint as the last role of the chain: each entity type with its best score."""
    comprehend = sessions.assumed_client("comprehend", role_chain, external_id=external_id)
    with sessions.translating("comprehend DetectEntities"):
        answer = comprehend.detect_entities(EndpointArn=endpoint_arn, Text=text)
    found: dict[str, float] = {}
    for entity in answer.get("Entities", []):
        found[entity["Type"]] = max(found.get(entity["Type"], 0.0), float(entity["Score"]))
    return found


def _operation_noun(model_arn: str) -> str:
    return "DocumentClassifier" if _kind(model_arn) == CLASSIFIER else "EntityRecognizer"
