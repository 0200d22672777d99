"""Amazon Comprehend custom models as the rehearsal serves them: model versions (document classifiers,
entity recognizers), their real-time endpoints and the calls that use them.

moto 5.2.5 has models and endpoints, but not as AWS has them: a classifier's ARN without `/version/`,
an endpoint's ARN that is neither a document-classifier-endpoint nor an entity-recognizer-endpoint ARN,
an endpoint IN_SERVICE at once, no checks on CreateEndpoint, and no ClassifyDocument or custom
DetectEntities. This module is the store and the rules; moto_adaptations answers the API with it
(moto's internals stay there). Each rule names the AWS documentation it follows (docs/emulator.md).
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mlpromote import arns

CLASSIFIER = "document-classifier"
ENTITY_RECOGNIZER = "entity-recognizer"
# botocore's ComprehendEndpointName and the model ARN shapes (DocumentClassifierArn, EntityRecognizerArn).
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
ENDPOINT_NAME_MAX = 40
# "You can provision the endpoint with up to 10 inference units" (Comprehend Developer Guide, "Using
# Amazon Comprehend endpoints"); botocore's InferenceUnitsInteger has min 1.
MAX_INFERENCE_UNITS = 10
# "For all input document types, the input file maximum is one page, with no more than 10,000
# characters"; UTF-8 text documents at most 10 KB (Developer Guide, "Inputs for real-time custom analysis").
TEXT_MAX_BYTES = 10_000
TEXT_MAX_CHARACTERS = 10_000
TRAINED = frozenset({"TRAINED", "TRAINED_WITH_WARNING"})


class ComprehendError(Exception):
    """An error Comprehend answers with: its code (the botocore model's) and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Model:
    arn: str
    kind: str  # CLASSIFIER or ENTITY_RECOGNIZER
    name: str
    version: str
    status: str
    # What the model finds in any smoke-test text: class name (or entity type) -> score, 0-1.
    finds: dict[str, float]
    # An import (ImportModel) names the model it copies (SourceModelArn); it is SUBMITTED until
    # `ready_at` (world.copySeconds later), then TRAINED.
    source_arn: str | None = None
    submitted: datetime = field(default_factory=lambda: datetime.now(UTC))
    ready_at: datetime | None = None

    def current_status(self) -> str:
        if self.ready_at is not None and datetime.now(UTC) >= self.ready_at and self.status == "SUBMITTED":
            self.status, self.ready_at = "TRAINED", None
        return self.status


@dataclass
class ResourcePolicy:
    document: str
    revision: str
    created: datetime
    updated: datetime


@dataclass
class Endpoint:
    arn: str
    name: str
    model_arn: str
    units: int
    create_seconds: float
    delete_seconds: float
    fails: bool = False
    status: str = "CREATING"
    since: datetime = field(default_factory=lambda: datetime.now(UTC))

    def current_status(self) -> str:
        end = self.transition_ends()
        if end is not None and datetime.now(UTC) >= end and self.status == "CREATING":
            self.status = "FAILED" if self.fails else "IN_SERVICE"
        return self.status

    def transition_ends(self) -> datetime | None:
        if self.status == "CREATING":
            return self.since + timedelta(seconds=self.create_seconds)
        if self.status == "DELETING":
            return self.since + timedelta(seconds=self.delete_seconds)
        return None

    def gone(self) -> bool:
        end = self.transition_ends()
        return self.status == "DELETING" and end is not None and datetime.now(UTC) >= end

    def properties(self) -> dict[str, Any]:
        status = self.current_status()
        out: dict[str, Any] = {
            "EndpointArn": self.arn,
            "Status": status,
            "ModelArn": self.model_arn,
            "DesiredModelArn": self.model_arn,
            "DesiredInferenceUnits": self.units,
            "CurrentInferenceUnits": self.units if status == "IN_SERVICE" else 0,
            "CreationTime": self.since.timestamp(),
            "LastModifiedTime": self.since.timestamp(),
        }
        if status == "FAILED":
            out["Message"] = "The endpoint failed to start (emulated: world.startFails)."
        return out


@dataclass
class Store:
    """One account and region's Comprehend custom models and endpoints."""

    account: str
    region: str
    models: dict[str, Model] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    # Simulated seconds an endpoint is CREATING (world.startSeconds) and DELETING (world.stopSeconds).
    create_seconds: float = 300
    delete_seconds: float = 120
    # Models whose endpoints end FAILED (world.startFails).
    failing: set[str] = field(default_factory=set)
    # Resource-based policies, by model version ARN (PutResourcePolicy).
    policies: dict[str, ResourcePolicy] = field(default_factory=dict)
    # Simulated seconds an import is SUBMITTED (world.copySeconds).
    import_seconds: float = 300

    def _sweep(self) -> None:
        for arn in [arn for arn, endpoint in self.endpoints.items() if endpoint.gone()]:
            del self.endpoints[arn]

    def model(self, arn: str, kind: str) -> Model:
        model = self.models.get(arn)
        if model is None or model.kind != kind:
            raise ComprehendError("ResourceNotFoundException", f"RESOURCE_NOT_FOUND: Could not find model {arn}")
        return model

    def list_models(self, kind: str, name: str | None) -> list[Model]:
        return [m for m in self.models.values() if m.kind == kind and (name is None or m.name == name)]

    def endpoint(self, arn: str) -> Endpoint:
        self._sweep()
        endpoint = self.endpoints.get(arn)
        if endpoint is None:
            raise ComprehendError("ResourceNotFoundException", f"RESOURCE_NOT_FOUND: Could not find endpoint {arn}")
        return endpoint

    def list_endpoints(self, model_arn: str | None, status: str | None) -> list[Endpoint]:
        self._sweep()
        return [
            e
            for e in self.endpoints.values()
            if (model_arn is None or e.model_arn == model_arn) and (status is None or e.current_status() == status)
        ]

    def create_endpoint(self, name: object, model_arn: object, units: object) -> Endpoint:
        """CreateEndpoint (API reference): EndpointName 1-40 of [a-zA-Z0-9] and hyphens, unique in the account
        and region (ResourceInUseException); DesiredInferenceUnits 1-10; the model must exist
        (ResourceNotFoundException) and be trained (ResourceUnavailableException)."""
        self._sweep()
        if not isinstance(name, str) or len(name) > ENDPOINT_NAME_MAX or not ENDPOINT_NAME.fullmatch(name):
            raise ComprehendError(
                "ValidationException",
                f"1 validation error detected: Value '{name}' at 'endpointName' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9])*$ and have length "
                f"less than or equal to {ENDPOINT_NAME_MAX}",
            )
        if not isinstance(units, int) or isinstance(units, bool) or not 1 <= units <= MAX_INFERENCE_UNITS:
            raise ComprehendError(
                "InvalidRequestException",
                f"DesiredInferenceUnits must be between 1 and {MAX_INFERENCE_UNITS}, got {units}",
            )
        if not isinstance(model_arn, str):
            raise ComprehendError("InvalidRequestException", "ModelArn is required for a custom model endpoint")
        kind = CLASSIFIER if f":{CLASSIFIER}/" in model_arn else ENTITY_RECOGNIZER
        model = self.model(model_arn, kind)
        if model.current_status() not in TRAINED:
            raise ComprehendError(
                "ResourceUnavailableException",
                f"The model {model_arn} is {model.status}; only a trained model can be served by an endpoint",
            )
        arn = f"arn:{arns.partition_of(self.region)}:comprehend:{self.region}:{self.account}:{kind}-endpoint/{name}"
        if any(e.name == name for e in self.endpoints.values()):
            raise ComprehendError("ResourceInUseException", f"An endpoint named {name} already exists")
        endpoint = Endpoint(
            arn=arn,
            name=name,
            model_arn=model_arn,
            units=units,
            create_seconds=self.create_seconds,
            delete_seconds=self.delete_seconds,
            fails=model_arn in self.failing,
        )
        self.endpoints[arn] = endpoint
        return endpoint

    def delete_endpoint(self, arn: str) -> None:
        """DeleteEndpoint: an endpoint being created or already being deleted is in use
        (ResourceInUseException); one IN_SERVICE or FAILED is DELETING for world.stopSeconds, then gone."""
        endpoint = self.endpoint(arn)
        status = endpoint.current_status()
        if status in ("CREATING", "UPDATING", "DELETING"):
            raise ComprehendError("ResourceInUseException", f"The endpoint {arn} is {status}")
        endpoint.status, endpoint.since = "DELETING", datetime.now(UTC)

    def infer(self, arn: str, kind: str, text: object) -> Model:
        """ClassifyDocument / DetectEntities on an endpoint: it must exist (ResourceNotFoundException),
        be IN_SERVICE (ResourceUnavailableException), and the text 1-10,000 characters and at most 10 KB
        of UTF-8 (TextSizeLimitExceededException)."""
        if not isinstance(text, str) or not text:
            raise ComprehendError("InvalidRequestException", "Text or Bytes is required")
        size = len(text.encode())
        if size > TEXT_MAX_BYTES or len(text) > TEXT_MAX_CHARACTERS:
            raise ComprehendError(
                "TextSizeLimitExceededException",
                f"Input text size exceeds limit. Max length of request text allowed is {TEXT_MAX_BYTES} bytes "
                f"while in this request the text size is {size} bytes",
            )
        endpoint = self.endpoint(arn)
        if f":{kind}-endpoint/" not in arn:
            raise ComprehendError("InvalidRequestException", f"{arn} is not a {kind} endpoint")
        status = endpoint.current_status()
        if status != "IN_SERVICE":
            raise ComprehendError(
                "ResourceUnavailableException", f"The endpoint {arn} is {status}; it is not in service"
            )
        return self.models[endpoint.model_arn]

    def transitions_end(self) -> datetime | None:
        ends = [end for e in self.endpoints.values() if (end := e.transition_ends())]
        ends += [m.ready_at for m in self.models.values() if m.ready_at is not None and m.status == "SUBMITTED"]
        return max(ends, default=None)

    # --- sharing and copying a model across accounts ------------------------------------------
    # PutResourcePolicy / DescribeResourcePolicy / DeleteResourcePolicy and ImportModel, as the Comprehend API
    # reference has them (https://docs.aws.amazon.com/comprehend/latest/APIReference/API_PutResourcePolicy.html,
    # API_ImportModel.html): one policy per model version, 1-20,000 characters of [\t\n\r\x20-\xFF]; a
    # policy is replaced or deleted with the PolicyRevisionId it has now, and each write gets a new one; an
    # import must be in the source's region and, from another account, allowed by the source's policy.

    def put_resource_policy(self, arn: str, document: object, revision: object) -> str:
        self._versioned_model(arn)
        if not isinstance(document, str) or not 1 <= len(document) <= POLICY_MAX_CHARS:
            size = len(document) if isinstance(document, str) else 0
            raise ComprehendError(
                "ValidationException",
                f"1 validation error detected: Value at 'resourcePolicy' failed to satisfy constraint: Member must "
                f"have length less than or equal to {POLICY_MAX_CHARS} (it has {size})",
            )
        if not POLICY_CHARACTERS.fullmatch(document):
            raise ComprehendError("ValidationException", "resourcePolicy has characters outside [\\t\\n\\r\\x20-\\xFF]")
        try:
            parsed = json.loads(document)
        except ValueError:
            raise ComprehendError("InvalidRequestException", "The resource policy is not valid JSON") from None
        if not isinstance(parsed, dict) or not _statements(parsed):
            raise ComprehendError("InvalidRequestException", "The resource policy has no Statement")
        existing = self.policies.get(arn)
        if existing is None and revision is not None:
            raise ComprehendError(
                "InvalidRequestException", f"{arn} has no resource policy: leave PolicyRevisionId out to create one"
            )
        if existing is not None and revision != existing.revision:
            raise ComprehendError(
                "InvalidRequestException",
                f"PolicyRevisionId {revision} is not the current revision of the resource policy of {arn}",
            )
        now = datetime.now(UTC)
        self._revisions += 1
        new = f"{int(now.timestamp() * 1000):x}{self._revisions:08x}"
        self.policies[arn] = ResourcePolicy(document, new, existing.created if existing else now, now)
        return new

    def resource_policy(self, arn: str) -> ResourcePolicy:
        self._versioned_model(arn)
        policy = self.policies.get(arn)
        if policy is None:
            raise ComprehendError("ResourceNotFoundException", f"RESOURCE_NOT_FOUND: {arn} has no resource policy")
        return policy

    def delete_resource_policy(self, arn: str, revision: object) -> None:
        policy = self.resource_policy(arn)
        if revision is not None and revision != policy.revision:
            raise ComprehendError(
                "InvalidRequestException",
                f"PolicyRevisionId {revision} is not the current revision of the resource policy of {arn}",
            )
        del self.policies[arn]

    def policy_allows_import(self, arn: str, caller_account: str, caller_role: str | None) -> bool:
        """The source's policy has a statement allowing comprehend:ImportModel to the caller (its account
        id, the account's root, or its role) on this version, and none denies it."""
        policy = self.policies.get(arn)
        if policy is None:
            return False
        partition = arn.split(":")[1]
        principals = {caller_account, f"arn:{partition}:iam::{caller_account}:root"} | (
            {caller_role} if caller_role else set()
        )

        def matches(statement: dict[str, Any]) -> bool:
            principal = statement.get("Principal")
            named = _as_list(principal.get("AWS")) if isinstance(principal, dict) else _as_list(principal)
            actions = [str(a).lower() for a in _as_list(statement.get("Action"))]
            return (
                any(p == "*" or p in principals for p in named)
                and any(fnmatch.fnmatchcase("comprehend:importmodel", a) for a in actions)
                and any(fnmatch.fnmatchcase(arn, str(r)) for r in _as_list(statement.get("Resource", "*")))
            )

        effects = {str(s.get("Effect", "")).lower() for s in _statements(json.loads(policy.document)) if matches(s)}
        return "allow" in effects and "deny" not in effects

    def import_model(self, source: Model, name: object, version: object) -> Model:
        """ImportModel into this store (the caller's account): the source must be trained; ModelName defaults
        to the source's name; a version of that name and version already here is ResourceInUseException."""
        if source.current_status() not in TRAINED:
            raise ComprehendError(
                "ResourceUnavailableException", f"The model {source.arn} is {source.status}; only a trained one imports"
            )
        model_name = name if isinstance(name, str) and name else source.name
        version_name = version if isinstance(version, str) and version else source.version
        for part in (model_name, version_name):
            if not _NAME.fullmatch(part):
                raise ComprehendError("ValidationException", f"{part!r} is not a model or version name")
        arn = (
            f"arn:{arns.partition_of(self.region)}:comprehend:{self.region}:{self.account}:{source.kind}/"
            f"{model_name}/version/{version_name}"
        )
        if arn in self.models:
            raise ComprehendError(
                "ResourceInUseException", f"A model {model_name} version {version_name} already exists"
            )
        now = datetime.now(UTC)
        model = Model(
            arn=arn,
            kind=source.kind,
            name=model_name,
            version=version_name,
            status="SUBMITTED",
            finds=dict(source.finds),
            source_arn=source.arn,
            submitted=now,
            ready_at=now + timedelta(seconds=self.import_seconds),
        )
        self.models[arn] = model
        return model

    def delete_model(self, arn: str, kind: str) -> None:
        """DeleteDocumentClassifier / DeleteEntityRecognizer: only a model in a terminated state (TRAINED,
        IN_ERROR) is deleted, and not while an endpoint uses it (ResourceInUseException)."""
        model = self.model(arn, kind)
        self._sweep()
        if model.current_status() not in (*TRAINED, "IN_ERROR"):
            raise ComprehendError("ResourceInUseException", f"The model {arn} is {model.status}; it cannot be deleted")
        if any(e.model_arn == arn for e in self.endpoints.values()):
            raise ComprehendError("ResourceInUseException", f"The model {arn} is used by an endpoint; delete it first")
        del self.models[arn]
        self.policies.pop(arn, None)

    def _versioned_model(self, arn: str) -> Model:
        model = self.models.get(arn)
        if model is None:
            raise ComprehendError("ResourceNotFoundException", f"RESOURCE_NOT_FOUND: Could not find model {arn}")
        return model

    _revisions: int = 0


POLICY_MAX_CHARS = 20_000
POLICY_CHARACTERS = re.compile(r"[\t\n\r\x20-\xff]+")
_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, dict)]
