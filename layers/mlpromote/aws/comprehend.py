"""Amazon Comprehend custom models in the ML account: describe a model version, create, describe and
delete the real-time endpoint that serves it, and call the endpoint through a delegated role.

Statuses and fields are botocore's comprehend service model: a model is SUBMITTED, TRAINING, DELETING,
STOP_REQUESTED, STOPPED, IN_ERROR, TRAINED or TRAINED_WITH_WARNING; an endpoint CREATING, DELETING,
FAILED, IN_SERVICE or UPDATING. botocore has no Comprehend waiter; ListDocumentClassifiers and
ListEntityRecognizers have paginators.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    return describe_endpoint_as((), endpoint_arn)


def create_endpoint(name: str, model_arn: str, inference_units: int) -> None:
    """Create the endpoint; one of that name already there (a retried step, another promotion) is not an error."""
    create_endpoint_as((), name, model_arn, inference_units)


def delete_endpoint(endpoint_arn: str) -> None:
    """Delete the endpoint; one already gone is not an error (what was wanted is done)."""
    delete_endpoint_as((), endpoint_arn)


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


# --- copies in target accounts (strategy: copy): ImportModel and the source's resource policy ------


@dataclass(frozen=True)
class LocalModel:
    """A model version in a target account, as its role reads it: an import has SourceModelArn."""

    arn: str
    status: str
    message: str
    source_arn: str | None
    submitted: float


def _as(role_chain: tuple[str, ...]) -> Any:
    """The control plane's own client with no chain; else the last role's of the chain."""
    return sessions.assumed_client("comprehend", role_chain) if role_chain else sessions.client("comprehend")


def _local(properties: dict[str, Any], arn_key: str) -> LocalModel:
    submitted = properties.get("SubmitTime")
    return LocalModel(
        arn=properties[arn_key],
        status=properties["Status"],
        message=properties.get("Message", ""),
        source_arn=properties.get("SourceModelArn"),
        submitted=submitted.timestamp() if isinstance(submitted, datetime) else float(submitted or 0),
    )


def describe_model_as(role_chain: tuple[str, ...], model_arn: str) -> LocalModel | None:
    """The account's model version (None: it has none of that ARN)."""
    noun = _operation_noun(model_arn)
    try:
        if _kind(model_arn) == CLASSIFIER:
            properties = _as(role_chain).describe_document_classifier(DocumentClassifierArn=model_arn)[
                "DocumentClassifierProperties"
            ]
        else:
            properties = _as(role_chain).describe_entity_recognizer(EntityRecognizerArn=model_arn)[
                "EntityRecognizerProperties"
            ]
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            return None
        raise sessions.translated(error, f"comprehend Describe{noun}") from error
    return _local(properties, f"{noun}Arn")


def list_models_as(role_chain: tuple[str, ...], kind: str, name: str) -> list[LocalModel]:
    """Every version of the account's model `name`."""
    if kind == CLASSIFIER:
        operation, key, arn_key, name_key = (
            "list_document_classifiers",
            "DocumentClassifierPropertiesList",
            "DocumentClassifierArn",
            "DocumentClassifierName",
        )
    else:
        operation, key, arn_key, name_key = (
            "list_entity_recognizers",
            "EntityRecognizerPropertiesList",
            "EntityRecognizerArn",
            "RecognizerName",
        )
    out: list[LocalModel] = []
    with sessions.translating(f"comprehend {''.join(w.title() for w in operation.split('_'))}"):
        for page in _as(role_chain).get_paginator(operation).paginate(Filter={name_key: name}):
            out.extend(_local(properties, arn_key) for properties in page[key])
    return out


def import_model(role_chain: tuple[str, ...], source_arn: str, model_name: str, version_name: str) -> str:
    """ImportModel in the role's account: a copy of `source_arn` named `model_name`, version `version_name`
    (same region as the source; the source's resource policy must allow the account). No KMS key or
    DataAccessRoleArn: those are needed only for a model encrypted with a customer managed key, which
    mlpromote's models are not ("Importing a custom model from another AWS account", Comprehend guide)."""
    with sessions.translating("comprehend ImportModel"):
        answer = _as(role_chain).import_model(SourceModelArn=source_arn, ModelName=model_name, VersionName=version_name)
    return str(answer["ModelArn"])


def describe_endpoint_as(role_chain: tuple[str, ...], endpoint_arn: str) -> Endpoint | None:
    try:
        properties = _as(role_chain).describe_endpoint(EndpointArn=endpoint_arn)["EndpointProperties"]
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


def create_endpoint_as(role_chain: tuple[str, ...], name: str, model_arn: str, inference_units: int) -> None:
    try:
        _as(role_chain).create_endpoint(EndpointName=name, ModelArn=model_arn, DesiredInferenceUnits=inference_units)
    except ClientError as error:
        if sessions.error_code(error) == "ResourceInUseException":
            return  # created already (a retried step)
        raise sessions.translated(error, "comprehend CreateEndpoint") from error


def delete_endpoint_as(role_chain: tuple[str, ...], endpoint_arn: str) -> None:
    try:
        _as(role_chain).delete_endpoint(EndpointArn=endpoint_arn)
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            return
        raise sessions.translated(error, "comprehend DeleteEndpoint") from error


def delete_model_as(role_chain: tuple[str, ...], model_arn: str) -> None:
    noun = _operation_noun(model_arn)
    try:
        if _kind(model_arn) == CLASSIFIER:
            _as(role_chain).delete_document_classifier(DocumentClassifierArn=model_arn)
        else:
            _as(role_chain).delete_entity_recognizer(EntityRecognizerArn=model_arn)
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            return
        raise sessions.translated(error, f"comprehend Delete{noun}") from error


def _resource_policy(model_arn: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the version's resource policy, its revision), (None, None) when it has none."""
    try:
        answer = sessions.client("comprehend").describe_resource_policy(ResourceArn=model_arn)
    except ClientError as error:
        if sessions.error_code(error) == _NOT_FOUND:
            return None, None
        raise sessions.translated(error, "comprehend DescribeResourcePolicy") from error
    if not answer.get("ResourcePolicy"):
        return None, None
    return json.loads(answer["ResourcePolicy"]), answer.get("PolicyRevisionId")


# A write names the revision it read; another writer in between makes it fail (InvalidRequestException):
# read again and redo the change, a few times.
_POLICY_ATTEMPTS = 3


def update_resource_policy(
    model_arn: str, change: Callable[[dict[str, Any] | None], dict[str, Any] | None], text: Callable[[Any], str]
) -> bool:
    """Read-modify-write the version's resource policy: `change` gets the document (None: no policy) and
    returns the new one (None: delete it). False when there was nothing to change."""
    comprehend = sessions.client("comprehend")
    for attempt in range(_POLICY_ATTEMPTS):
        document, revision = _resource_policy(model_arn)
        wanted = change(document)
        if wanted == document:
            return False
        try:
            if wanted is None:
                comprehend.delete_resource_policy(ResourceArn=model_arn, PolicyRevisionId=revision)
            else:
                extra = {"PolicyRevisionId": revision} if revision else {}
                comprehend.put_resource_policy(ResourceArn=model_arn, ResourcePolicy=text(wanted), **extra)
        except ClientError as error:
            code = sessions.error_code(error)
            raced = code == "InvalidRequestException" and "revision" in str(error).lower()
            if (raced or (wanted is None and code == _NOT_FOUND)) and attempt < _POLICY_ATTEMPTS - 1:
                continue
            what = "DeleteResourcePolicy" if wanted is None else "PutResourcePolicy"
            raise sessions.translated(error, f"comprehend {what}") from error
        return True
    return False  # pragma: no cover - the loop returns or raises


def _operation_noun(model_arn: str) -> str:
    return "DocumentClassifier" if _kind(model_arn) == CLASSIFIER else "EntityRecognizer"
