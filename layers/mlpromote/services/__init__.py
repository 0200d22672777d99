"""The model services mlpromote promotes versions of, behind one interface (ModelService).

A phase asks `model_service()` for the service and calls it: describe, start, stop and poll a
version, call it for the smoke test, write the statement that grants it, parse its ARN, price it.
Rekognition Custom Labels is the first implementation; Amazon Comprehend custom models (document
classifiers and entity recognizers, each served by a real-time endpoint) the second. The version ARN
says which service a version belongs to (its `kind`), and the plan carries it as `service`.

A version's status is in the workflow's words for every service (RUNNING, STARTING, STOPPING, STOPPED,
FAILED, and mlpromote.versions' reasons a version is not promotable); a service translates its own.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any, Protocol

from mlpromote.aws.rekognition import CopyDescription, VersionDescription
from mlpromote.config import SmokeTest, TextSmokeTest
from mlpromote.project_policy import OrganizationalUnits
from mlpromote.versions import ModelVersionArn


class ModelService(Protocol):
    """What the phases need of a service that serves trained model versions."""

    name: str
    # The one IAM action a grant allows on a version: what the applications call.
    invoke_action: str
    pricing_page: str

    def parse_version(self, text: object) -> ModelVersionArn:
        """The version ARN, parsed; InvalidModelVersionArn, saying what is expected, otherwise."""
        ...

    def project_arn(self, project: str) -> str:
        """The project's ARN; UnknownProject when the service has no such project."""
        ...

    def serving_arn(self, version_arn: str) -> str:
        """What the applications call to use the version: what the pointer holds and the grant allows.
        The version ARN itself for Rekognition; the endpoint that serves it for Comprehend. A value that
        is not one of this service's versions is returned as it is."""
        ...

    def versions_served_by(self, project: str, serving_arns: Collection[str]) -> dict[str, str]:
        """serving ARN -> version ARN, for those of `serving_arns` this service can tell are versions of the
        project (by name) (serving_arn's inverse, for pointers read back); the others are left out."""
        ...

    def describe(self, project_arn: str, version_arn: str) -> VersionDescription:
        """The version's status (and units); ModelVersionNotFound when it does not exist."""
        ...

    def status(self, project_arn: str, version_arn: str) -> str: ...

    def list_versions(self, project_arn: str) -> list[VersionDescription]: ...

    def start(self, version_arn: str, min_units: int, max_units: int | None) -> None:
        """Start serving the version; already starting is not an error."""
        ...

    def stop(self, version_arn: str) -> None: ...

    def smoke_test(
        self,
        role_chain: tuple[str, ...],
        version_arn: str,
        test: SmokeTest | TextSmokeTest,
        external_id: str | None,
    ) -> dict[str, float]:
        """Call the version as an application would, through `role_chain`, with every input of the
        project's smoke test: what it found, each name with its best score (0-100)."""
        ...

    def grant_statement(self, version_arn: str, vpc_endpoint_ids: Sequence[str]) -> dict[str, Any]:
        """The access role's policy statement that lets the applications call exactly this version."""
        ...

    def unit_hour_price(self, region: str) -> float | None:
        """USD per inference unit and hour while a version runs, or None when mlpromote has no price there."""
        ...


class CopyingService(Protocol):
    """What copy environments (strategy: copy) need of a service: share one version with an environment's
    accounts, copy it into each (through a role there), and run, stop and delete the copies there.
    A copy keeps its source's project and version names in its account, so (account, version) names it;
    its ARN carries its own creation time, so it is read in the account (`find_copy`), never carried."""

    name: str

    def share_for_copy(
        self,
        project_arn: str,
        version_arn: str,
        environment: str,
        accounts: list[str],
        units: OrganizationalUnits | None = None,
    ) -> None:
        """Let exactly these accounts copy exactly this version (a resource policy on the source: the
        project's, named after the environment, for Rekognition; the version's, with a statement of the
        environment's, for Comprehend); with
        `units`, the accounts of those organizational units instead, named by organization path, so the
        policy is the same size whatever the number of accounts."""
        ...

    def unshare(self, project_arn: str, version_arn: str, environment: str) -> bool:
        """Take back what share_for_copy allowed; False when there was nothing to take back."""
        ...

    def find_copy(
        self, role_arn: str, version_arn: str, create_project: bool = False
    ) -> tuple[str | None, CopyDescription | None]:
        """(the account's project of the version's name, its copy of the version), either None when missing;
        CopyConflict when the account has a version of that name that is not a copy of this one."""
        ...

    def copy(self, role_arn: str, version_arn: str, source_project_arn: str, destination_project_arn: str) -> str:
        """Start copying the version into the account's project; the copy's ARN."""
        ...

    def describe_copy(self, role_arn: str, copy_arn: str) -> CopyDescription | None:
        """The version a pointer names, in its own account (None: no such version)."""
        ...

    def version_named(self, role_arn: str, version_arn: str) -> CopyDescription | None:
        """The account's version with `version_arn`'s project and version names, whatever it is a copy of
        (None: none): what a pointer the plan keeps as a copy of `version_arn` names (mlpromote.plan.Pointing)."""
        ...

    def list_copies(self, role_arn: str, project: str) -> list[CopyDescription]: ...

    def start_copy(self, role_arn: str, copy_arn: str, min_units: int, max_units: int | None) -> None: ...

    def stop_copy(self, role_arn: str, copy_arn: str) -> None: ...

    def delete_copy(self, role_arn: str, copy_arn: str) -> None: ...


def copying_service(name: str = "rekognition") -> CopyingService:
    """The service by name, as model_service: Rekognition copies with PutProjectPolicy and
    CopyProjectVersion, Comprehend with PutResourcePolicy and ImportModel."""
    from mlpromote.services.comprehend import CLASSIFIER, ENTITY_RECOGNIZER
    from mlpromote.services.rekognition import CUSTOM_LABELS

    services: dict[str, CopyingService] = {
        service.name: service for service in (CUSTOM_LABELS, CLASSIFIER, ENTITY_RECOGNIZER)
    }
    return services[name]


def model_service(name: str = "rekognition") -> ModelService:
    """The service by name: a plan's `service`, a ModelVersionArn's `kind` (rekognition,
    document-classifier, entity-recognizer)."""
    from mlpromote.services.comprehend import CLASSIFIER, ENTITY_RECOGNIZER
    from mlpromote.services.rekognition import CUSTOM_LABELS

    services: dict[str, ModelService] = {
        service.name: service for service in (CUSTOM_LABELS, CLASSIFIER, ENTITY_RECOGNIZER)
    }
    return services[name]
