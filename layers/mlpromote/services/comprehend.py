"""Amazon Comprehend custom models as a ModelService: versions of a document classifier or an entity
recognizer, served by a real-time endpoint that mlpromote creates with the project's inference units,
called with ClassifyDocument or DetectEntities.

A Comprehend model version does not run by itself: "starting" it creates its endpoint and "stopping" it
deletes that endpoint. The endpoint's name is derived from the version's ARN (mlpromote.arns), so every
step finds the same endpoint without storing it, and the pointer and the grant name the endpoint's ARN.
The version's status, for the workflow, is the endpoint's, in the workflow's words: no endpoint STOPPED,
CREATING or UPDATING STARTING, IN_SERVICE RUNNING, DELETING STOPPING, FAILED FAILED; a model not
TRAINED (or TRAINED_WITH_WARNING) is not promotable, and says why.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from mlpromote import arns, grants, resource_policy
from mlpromote.aws import comprehend
from mlpromote.aws.rekognition import CopyDescription, VersionDescription
from mlpromote.config import SmokeTest, TextSmokeTest
from mlpromote.errors import CopiesBusy, CopyConflict, InvalidModelVersionArn, UnknownProject
from mlpromote.project_policy import OrganizationalUnits
from mlpromote.versions import ModelVersionArn

# A trained model's endpoint status, in the words the workflow uses for every service.
_ENDPOINT_STATUS = {
    "CREATING": "STARTING",
    "UPDATING": "STARTING",
    "IN_SERVICE": "RUNNING",
    "DELETING": "STOPPING",
    "FAILED": "FAILED",
}
# A model that cannot serve, in the same words (require_promotable explains each).
_MODEL_STATUS = {
    "SUBMITTED": "TRAINING_IN_PROGRESS",
    "TRAINING": "TRAINING_IN_PROGRESS",
    "STOP_REQUESTED": "TRAINING_FAILED",
    "STOPPED": "TRAINING_FAILED",
    "IN_ERROR": "TRAINING_FAILED",
    "DELETING": "DELETING",
}
TRAINED = frozenset({"TRAINED", "TRAINED_WITH_WARNING"})
# An imported model (a copy, strategy: copy) in the words the copy phases use for every service: it is
# SUBMITTED or TRAINING while ImportModel copies it, then TRAINED (ImportModel: "This model is fully
# trained and ready for inference", Comprehend guide, "Copying custom models between AWS accounts").
_IMPORT_STATUS = {
    "SUBMITTED": "COPYING_IN_PROGRESS",
    "TRAINING": "COPYING_IN_PROGRESS",
    "IN_ERROR": "COPYING_FAILED",
    "STOP_REQUESTED": "COPYING_FAILED",
    "STOPPED": "COPYING_FAILED",
    "DELETING": "DELETING",
}

# USD per inference unit and hour while an endpoint exists, traffic or not: USD 0.0005 per inference
# unit and second (USD 1.80 an hour), billed from the endpoint's creation to its deletion. Source: the
# Amazon Comprehend pricing page (https://aws.amazon.com/comprehend/pricing/, "Custom Comprehend":
# "you are charged from the time that you start your endpoint until it is deleted"), whose figure the
# stored copy shows only in part; the per-second price is as CloudZero's guide quotes it
# (https://www.cloudzero.com/blog/amazon-comprehend-pricing/), checked 2026-11-30 for US East
# (N. Virginia). No other region's price could be confirmed: those get no figure (None), as for
# Rekognition, and drift counts inference units instead.
ENDPOINT_UNIT_HOUR_USD: dict[str, float] = {"us-east-1": 0.0005 * 3600}


class ComprehendCustomModel:
    pricing_page = "https://aws.amazon.com/comprehend/pricing/"

    def __init__(self, kind: str, invoke_action: str) -> None:
        self.name = kind
        self.kind = kind
        self.invoke_action = invoke_action

    def parse_version(self, text: object) -> ModelVersionArn:
        return ModelVersionArn.parse(text)

    def project_arn(self, project: str) -> str:
        # Comprehend has no project: the versions share the model's name, and its unversioned ARN stands
        # for them. Read as Rekognition's is (one call), so a name Comprehend does not have is refused here.
        models = comprehend.list_models(self.kind, project)
        if not models:
            raise UnknownProject(
                f"project {project!r} is in the config but Comprehend has no {self.kind} of that name in the ML "
                "account; check the project name, its kind, and the config's mlAccount and region"
            )
        return models[0].arn.split("/version/", 1)[0]

    def serving_arn(self, version_arn: str) -> str:
        try:
            version = ModelVersionArn.parse(version_arn)
        except InvalidModelVersionArn:
            return version_arn  # not a version (a raw pointer value): it names itself
        return arns.comprehend_endpoint(version.arn) if version.kind == self.kind else version_arn

    def versions_served_by(self, project: str, serving_arns: Collection[str]) -> dict[str, str]:
        wanted = set(serving_arns)
        if not wanted:
            return {}
        # A copy environment's pointer names the endpoint of the account's own copy, which keeps its
        # source's names (ImportModel with the same ModelName and VersionName): placed by the ML account's
        # versions in the pointer's account, with no call there.
        accounts = {arns.account_of(arn) for arn in wanted if arn.startswith("arn:") and arn.count(":") >= 5}
        endpoints: dict[str, str] = {}
        for model in comprehend.list_models(self.kind, project):
            for account in accounts:
                local = _in_account(model.arn, account)
                endpoints[arns.comprehend_endpoint(local)] = local
        return {arn: endpoints[arn] for arn in wanted if arn in endpoints}

    def describe(self, project_arn: str, version_arn: str) -> VersionDescription:
        model = comprehend.describe_model(version_arn)
        if model.status not in TRAINED:
            return VersionDescription(version_arn, _MODEL_STATUS.get(model.status, model.status), model.message)
        endpoint = comprehend.describe_endpoint(arns.comprehend_endpoint(version_arn))
        if endpoint is None:
            return VersionDescription(version_arn, "STOPPED", "")
        return VersionDescription(
            version_arn,
            _ENDPOINT_STATUS.get(endpoint.status, endpoint.status),
            endpoint.message,
            min_inference_units=endpoint.desired_inference_units,
        )

    def status(self, project_arn: str, version_arn: str) -> str:
        return self.describe(project_arn, version_arn).status

    def list_versions(self, project_arn: str) -> list[VersionDescription]:
        name = project_arn.rsplit("/", 1)[-1]
        return [self.describe(project_arn, model.arn) for model in comprehend.list_models(self.kind, name)]

    def start(self, version_arn: str, min_units: int, max_units: int | None) -> None:
        comprehend.create_endpoint(arns.comprehend_endpoint_name(version_arn), version_arn, min_units)

    def stop(self, version_arn: str) -> None:
        comprehend.delete_endpoint(arns.comprehend_endpoint(version_arn))

    def smoke_test(
        self,
        role_chain: tuple[str, ...],
        version_arn: str,
        test: SmokeTest | TextSmokeTest,
        external_id: str | None,
    ) -> dict[str, float]:
        assert isinstance(test, TextSmokeTest)  # the config gives a Comprehend project a text smoke test
        call = comprehend.classify if self.kind == comprehend.CLASSIFIER else comprehend.detect_entities
        endpoint = arns.comprehend_endpoint(version_arn)
        seen: dict[str, float] = {}
        for text in test.texts:
            for name, score in call(role_chain, endpoint, text, external_id).items():
                seen[name] = max(seen.get(name, 0.0), score * 100)
        return seen

    def grant_statement(self, version_arn: str, vpc_endpoint_ids: Sequence[str]) -> dict[str, Any]:
        return grants.statement_for(arns.comprehend_endpoint(version_arn), vpc_endpoint_ids, self.invoke_action)

    def unit_hour_price(self, region: str) -> float | None:
        return ENDPOINT_UNIT_HOUR_USD.get(region)

    # --- copies (strategy: copy): PutResourcePolicy on the source, ImportModel in each account ------
    # A copy is the account's model of the source's name and version (ImportModel's ModelName and
    # VersionName), so its ARN is known without a call; "starting" it creates its endpoint there (named
    # after the copy's ARN), "stopping" deletes that endpoint, "deleting" deletes the imported model.

    def share_for_copy(
        self,
        project_arn: str,
        version_arn: str,
        environment: str,
        accounts: list[str],
        units: OrganizationalUnits | None = None,
    ) -> None:
        # Named by account even for an OU environment: a version's one resource policy holds 20,000
        # characters, about 1,300 accounts (mlpromote.resource_policy), checked by the plan.
        new = resource_policy.statement(version_arn, environment, accounts)
        comprehend.update_resource_policy(
            version_arn, lambda document: resource_policy.with_statement(document, new), resource_policy.text
        )

    def unshare(self, project_arn: str, version_arn: str, environment: str) -> bool:
        return comprehend.update_resource_policy(
            version_arn,
            lambda document: resource_policy.without_statement(document, environment) if document else None,
            resource_policy.text,
        )

    def find_copy(
        self, role_arn: str, version_arn: str, create_project: bool = False
    ) -> tuple[str | None, CopyDescription | None]:
        # Comprehend has no project to create: the copy's model name is its project.
        local = _in_account(version_arn, arns.account_of(role_arn))
        project = local.split("/version/", 1)[0]
        model = comprehend.describe_model_as((role_arn,), local)
        if model is None:
            return project, None
        if model.source_arn != version_arn:
            version = ModelVersionArn.parse(version_arn)
            raise CopyConflict(
                f"account {arns.account_of(role_arn)}: Comprehend has a {self.kind} {version.project} version "
                f"{version.version} there that is not an import of {version_arn} "
                f"({model.source_arn or 'not an import at all'}); delete that version, then promote again"
            )
        return project, self._copy((role_arn,), model)

    def _copy(self, chain: tuple[str, ...], model: comprehend.LocalModel) -> CopyDescription:
        if model.status not in TRAINED:
            status = _IMPORT_STATUS.get(model.status, model.status)
            return CopyDescription(model.arn, status, model.message, model.source_arn, model.submitted)
        endpoint = comprehend.describe_endpoint_as(chain, arns.comprehend_endpoint(model.arn))
        if endpoint is None:
            return CopyDescription(model.arn, "STOPPED", "", model.source_arn, model.submitted)
        status = _ENDPOINT_STATUS.get(endpoint.status, endpoint.status)
        return CopyDescription(model.arn, status, endpoint.message, model.source_arn, model.submitted)

    def copy(self, role_arn: str, version_arn: str, source_project_arn: str, destination_project_arn: str) -> str:
        version = ModelVersionArn.parse(version_arn)
        return comprehend.import_model((role_arn,), version_arn, version.project, version.version)

    def describe_copy(self, role_arn: str, copy_arn: str) -> CopyDescription | None:
        model = comprehend.describe_model_as((role_arn,), copy_arn)
        return self._copy((role_arn,), model) if model is not None else None

    def version_named(self, role_arn: str, version_arn: str) -> CopyDescription | None:
        model = comprehend.describe_model_as((role_arn,), _in_account(version_arn, arns.account_of(role_arn)))
        return self._copy((role_arn,), model) if model is not None else None

    def list_copies(self, role_arn: str, project: str) -> list[CopyDescription]:
        chain = (role_arn,)
        return [self._copy(chain, m) for m in comprehend.list_models_as(chain, self.kind, project) if m.source_arn]

    def start_copy(self, role_arn: str, copy_arn: str, min_units: int, max_units: int | None) -> None:
        comprehend.create_endpoint_as((role_arn,), arns.comprehend_endpoint_name(copy_arn), copy_arn, min_units)

    def stop_copy(self, role_arn: str, copy_arn: str) -> None:
        comprehend.delete_endpoint_as((role_arn,), arns.comprehend_endpoint(copy_arn))

    def delete_copy(self, role_arn: str, copy_arn: str) -> None:
        # A model is not deleted while an endpoint uses it (DeleteDocumentClassifier: ResourceInUseException):
        # an endpoint left FAILED goes first, and the step runs again once it is gone (CopiesBusy).
        chain = (role_arn,)
        endpoint = comprehend.describe_endpoint_as(chain, arns.comprehend_endpoint(copy_arn))
        if endpoint is not None:
            if endpoint.status != "DELETING":
                comprehend.delete_endpoint_as(chain, endpoint.arn)
            raise CopiesBusy(
                f"account {arns.account_of(role_arn)}: the endpoint of {copy_arn} is being deleted; the import is "
                "deleted once it is gone"
            )
        comprehend.delete_model_as(chain, copy_arn)


def _in_account(version_arn: str, account: str) -> str:
    """The same model version's ARN in another account (a copy keeps its source's names)."""
    head = version_arn.split(":", 5)
    return ":".join([*head[:4], account, head[5]])


CLASSIFIER = ComprehendCustomModel(comprehend.CLASSIFIER, "comprehend:ClassifyDocument")
ENTITY_RECOGNIZER = ComprehendCustomModel(comprehend.ENTITY_RECOGNIZER, "comprehend:DetectEntities")
