"""Scenarios: a config, a world, faults to inject, and promotions to rehearse."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlpromote import arns, iam_model
from mlpromote.config import Config, allowed, closest, invalid, parse_config, read_yaml
from mlpromote.errors import InvalidConfig, PromotionError


class InvalidScenario(PromotionError):
    """The scenario file is missing or invalid (its config's problems are InvalidConfig)."""


_LABEL = r"^[a-zA-Z0-9_.\-]{1,255}/[a-zA-Z0-9_.\-]{1,255}$"
VersionLabel = Annotated[str, Field(pattern=_LABEL, description="project/version")]
STATUSES = frozenset(
    {
        "TRAINING_IN_PROGRESS", "TRAINING_COMPLETED", "TRAINING_FAILED", "STARTING", "RUNNING", "FAILED",
        "STOPPING", "STOPPED", "DELETING", "COPYING_IN_PROGRESS", "COPYING_COMPLETED", "COPYING_FAILED",
        "DEPRECATED", "EXPIRED",
    }
)  # fmt: skip
# A Comprehend model version's status (botocore's ModelStatus), or IN_SERVICE: TRAINED, with an endpoint
# in service (what the report says of a version an endpoint serves).
COMPREHEND_STATUSES = frozenset(
    {"SUBMITTED", "TRAINING", "DELETING", "STOP_REQUESTED", "STOPPED", "IN_ERROR", "TRAINED", "TRAINED_WITH_WARNING",
     "IN_SERVICE"}
)  # fmt: skip
# Comprehend model and version names (botocore's ComprehendArnName and VersionName).
_COMPREHEND_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


def _scores(value: object) -> object:
    """Names (score 0.95) or name -> score (0-1, as Comprehend scores)."""
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return dict.fromkeys(value, 0.95)
    if isinstance(value, dict):
        return value
    raise ValueError("give a list of names, or a mapping of name to score (0-1)")


def _labels(value: object) -> object:
    """Names (confidence 95) or name -> confidence: one type to validate, so one message when neither."""
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return dict.fromkeys(value, 95.0)
    if isinstance(value, dict):
        return value
    raise ValueError("give a list of label names, or a mapping of label name to confidence (0-100)")


class VersionSpec(_Model):
    status: str
    # The labels the model finds in any smoke-test image: names (confidence 95) or name -> confidence.
    labels: Annotated[dict[str, Annotated[float, Field(ge=0, le=100)]], BeforeValidator(_labels)] = {}
    # A Comprehend version: the classes (a classifier) or entity types (an entity recognizer) its endpoint
    # finds in any smoke-test text: names (score 0.95) or name -> score (0-1).
    classes: Annotated[dict[str, Annotated[float, Field(ge=0, le=1)]], BeforeValidator(_scores)] = {}
    entities: Annotated[dict[str, Annotated[float, Field(ge=0, le=1)]], BeforeValidator(_scores)] = {}

    @field_validator("status")
    @classmethod
    def _known_status(cls, status: str) -> str:
        if status not in STATUSES | COMPREHEND_STATUSES:
            raise ValueError(
                f"{status!r} is not a Custom Labels status ({', '.join(sorted(STATUSES))}) nor a Comprehend "
                f"one ({', '.join(sorted(COMPREHEND_STATUSES))})"
            )
        return status

    def label_confidences(self) -> dict[str, float]:
        return dict(self.labels)


class AlarmSpec(_Model):
    """A CloudWatch alarm in a target account; `alarmAt` raises it that many simulated seconds into the run."""

    account: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=1, max_length=255)
    alarm_at: float | None = Field(default=None, ge=0, alias="alarmAt")


# What a copy can be in when a scenario starts (DescribeProjectVersions' statuses of a copied version).
CopyStatus = Literal["COPYING_IN_PROGRESS", "COPYING_COMPLETED", "COPYING_FAILED", "RUNNING", "STOPPED", "FAILED"]


OuId = Annotated[str, Field(pattern=r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$", description="an OU id")]


class OrganizationalUnitSpec(_Model):
    """An OU of the world's organization: the accounts directly in it, and its child OUs."""

    accounts: list[Annotated[str, Field(pattern=r"^\d{12}$")]] = []
    children: list[OuId] = []


def unit_accounts(organization: dict[str, OrganizationalUnitSpec], units: list[str]) -> list[str]:
    """The accounts of `units` and their child OUs, recursively, sorted (an OU the organization lacks: none)."""
    found: set[str] = set()
    pending = list(units)
    while pending:
        unit = organization.get(pending.pop())
        if unit is not None:
            found.update(unit.accounts)
            pending.extend(unit.children)
    return sorted(found)


class World(_Model):
    versions: dict[VersionLabel, VersionSpec] = Field(min_length=1)
    live: dict[str, list[VersionLabel]] = {}
    start_seconds: float = Field(default=300, ge=0, le=86400, alias="startSeconds")
    # A stopped version is STOPPING this long before it is STOPPED (a seeded STOPPING one too, from the start).
    stop_seconds: float = Field(default=120, ge=0, le=86400, alias="stopSeconds")
    # A copy (CopyProjectVersion, `strategy: copy` environments) is COPYING_IN_PROGRESS this long.
    copy_seconds: float = Field(default=300, ge=0, le=86400, alias="copySeconds")
    iam_propagation_seconds: float = Field(default=5, ge=0, le=3600, alias="iamPropagationSeconds")
    # IAM is eventually consistent: for this long after a write, GetRolePolicy answers with the
    # document as it was before (0: reads are fresh).
    iam_read_lag_seconds: float = Field(default=0, ge=0, le=3600, alias="iamReadLagSeconds")
    # IAM's quota on a role's trust policy: 2,048 by default, up to 4,096 once the account's "Role trust
    # policy length" quota is raised. CreateRole answers LimitExceeded past it.
    trust_policy_max_chars: int = Field(default=2048, ge=2048, le=4096, alias="trustPolicyMaxChars")
    # Simulated seconds each AWS call of the control plane takes (a round trip): calls one after another
    # add up against each function's Lambda timeout. 0: instant.
    aws_call_seconds: float = Field(default=0, ge=0, le=900, alias="awsCallSeconds")
    start_fails: list[VersionLabel] = Field(default=[], alias="startFails")
    alarms: list[AlarmSpec] = []
    # A drifted world (`mlpromote local drift`). What each environment's access role grants
    # (an environment left out: its live versions)...
    grants: dict[str, list[VersionLabel]] = {}
    # ...and what the parameters point at, per environment, project and account (an account left
    # out: its environment's live version; null: no parameter).
    parameters: dict[str, dict[str, dict[str, VersionLabel | None]]] = {}
    # Copies in target accounts besides the RUNNING ones `live` seeds in a copy environment's accounts:
    # account -> {"project/version": status}, e.g. a STOPPED copy, or a RUNNING one nobody points at.
    copies: dict[str, dict[VersionLabel, CopyStatus]] = {}
    # The organization's OUs (OU id -> its accounts and child OUs), served by Organizations to the
    # management account (organizationReaderRoleArn's) for environments given as organizationalUnits.
    organization: dict[OuId, OrganizationalUnitSpec] = {}

    @model_validator(mode="after")
    def _one_tree(self) -> World:
        parents: dict[str, str] = {}
        owners: dict[str, str] = {}
        for unit, spec in self.organization.items():
            for child in spec.children:
                if child not in self.organization:
                    raise ValueError(f"organization.{unit}.children: {child} is not an OU of world.organization")
                if child in parents:
                    raise ValueError(
                        f"organization: {child} is a child of both {parents[child]} and {unit}; an OU has one parent"
                    )
                parents[child] = unit
            for account in spec.accounts:
                if account in owners:
                    raise ValueError(
                        f"organization: account {account} is in both {owners[account]} and {unit}; "
                        "an account is in one OU"
                    )
                owners[account] = unit
        for unit in self.organization:
            seen = [unit]
            while seen[-1] in parents:
                seen.append(parents[seen[-1]])
                if seen[-1] == unit:
                    raise ValueError(f"organization: {' -> '.join(reversed(seen))} is a cycle; OUs form a tree")
        return self


# The services the control plane calls (the clients layers/mlpromote/aws/ makes), by botocore name; a
# fault on any other service would never fire. A test keeps this equal to the adapters' clients.
CONTROL_PLANE_SERVICES = (
    "cloudwatch", "comprehend", "dynamodb", "events", "iam", "lambda", "organizations", "rekognition", "sns",
    "ssm", "stepfunctions", "sts",
)  # fmt: skip
# Error codes any AWS API may answer with, besides its modelled ones: AWS's common errors
# (https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html) ...
COMMON_ERROR_CODES = frozenset(
    {
        "AccessDeniedException", "ExpiredTokenException", "IncompleteSignature", "InternalFailure",
        "InvalidAction", "InvalidClientTokenId", "InvalidParameterCombination", "InvalidParameterValue",
        "InvalidQueryParameter", "MalformedHttpRequestException", "MalformedQueryString", "MissingAction",
        "MissingAuthenticationToken", "MissingParameter", "NotAuthorized", "OptInRequired",
        "RequestAbortedException", "RequestEntityTooLargeException", "RequestExpired", "RequestTimeoutException",
        "ServiceUnavailable", "ThrottlingException", "UnknownOperationException", "UnrecognizedClientException",
        "ValidationError",
        # ... and the codes the query-protocol services (IAM, STS, SNS) answer a denial and throttling
        # with, which their models do not list.
        "AccessDenied", "Throttling",
    }
)  # fmt: skip


@lru_cache(maxsize=16)
def _service_model(service: str) -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model(service)


@lru_cache(maxsize=16)
def error_codes(service: str) -> frozenset[str]:
    """The codes a fault on `service` may answer with: its modelled errors (the code on the wire, which
    for query services differs from the shape's name), AWS's common errors, and the throttling codes
    botocore's retry handler knows for every service."""
    from botocore.retries.standard import ThrottledRetryableChecker

    modelled = {shape.error_code for shape in _service_model(service).error_shapes}
    throttling = set(getattr(ThrottledRetryableChecker, "_THROTTLED_ERROR_CODES", ()))
    return frozenset(modelled | throttling | COMMON_ERROR_CODES)


class FaultSpec(_Model):
    """An error injected into the control plane's calls of one operation: each name is checked against
    botocore's service models, so a typo is refused instead of never firing."""

    service: str = Field(max_length=40)
    operation: str = Field(max_length=80)
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    error: str = Field(max_length=80)
    count: int = Field(default=1, ge=1, le=1000)

    @field_validator("service")
    @classmethod
    def _known_service(cls, service: str) -> str:
        if service not in CONTROL_PLANE_SERVICES:
            raise ValueError(
                f"{service!r} is not a service the control plane calls; "
                + allowed(service, list(CONTROL_PLANE_SERVICES), "one of (botocore names)")
            )
        return service

    @field_validator("operation")
    @classmethod
    def _known_operation(cls, operation: str, info: ValidationInfo) -> str:
        service = info.data.get("service")
        if service is None:  # refused above
            return operation
        operations = list(_service_model(service).operation_names)
        if operation not in operations:
            raise ValueError(
                f"{operation!r} is not an operation of {service}; "
                + allowed(operation, operations, f"operations in botocore's {service} model")
            )
        return operation

    @field_validator("error")
    @classmethod
    def _known_error(cls, error: str, info: ValidationInfo) -> str:
        service = info.data.get("service")
        if service is None:
            return error
        codes = error_codes(service)
        if error not in codes:
            operation = info.data.get("operation")
            own = (
                sorted(shape.error_code for shape in _service_model(service).operation_model(operation).error_shapes)
                if operation
                else []
            )
            listed = ", ".join(own[:8]) + (", ..." if len(own) > 8 else "")
            raise ValueError(
                f"{error!r} is not an error code {service} answers with; "
                + (f"did you mean {closest(error, sorted(codes))!r}? " if closest(error, sorted(codes)) else "")
                + (f"{operation}'s modelled errors: {listed}; " if own else "")
                + f"or any other of {service}'s or AWS's common errors (ThrottlingException, InternalFailure, ...)"
            )
        return error


class PromotionSpec(_Model):
    environment: str
    version: VersionLabel | None = None
    model_version_arn: str | None = Field(default=None, alias="modelVersionArn")
    rollback: bool = False
    force: bool = False
    reason: str | None = None
    # How the request arrives: StartExecution (console), the REST API's handler (api), or an
    # event on the default bus through the template's rule and input transformer (event).
    via: Literal["console", "api", "event"] = "console"
    # In an environment with requiresApproval: approve (true) or reject (false) once the promotion
    # waits for it, through the API's approval route; absent, nobody decides and it times out. A
    # list decides the gates in the order they come: the environment's, then each wave's with
    # approve: true (rollout); a gate past the list's end times out.
    approve: bool | list[bool] | None = None
    approval_comment: str | None = Field(default=None, min_length=1, max_length=1024, alias="approvalComment")
    # With via: api, the Idempotency-Key header: two requests with one key are one promotion.
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=255, alias="idempotencyKey")
    # Four eyes: who decides (approve:) and who requested; None: the local users
    # arn:<partition>:iam::<mlAccount>:user/local-approver and .../user/local-scenario.
    approver: str | None = Field(default=None, pattern=r"^arn:[\w-]+:(iam|sts)::\d{12}:\S+$")
    requester: str | None = Field(default=None, pattern=r"^arn:[\w-]+:(iam|sts)::\d{12}:\S+$")
    # With rollback, when the config has several projects: which one (as the request's `project`).
    project: str | None = Field(default=None, min_length=1, max_length=255)

    @model_validator(mode="after")
    def _one_version(self) -> PromotionSpec:
        if sum([self.version is not None, self.model_version_arn is not None, self.rollback]) != 1:
            raise ValueError("give one of version (project/version), modelVersionArn or rollback: true")
        if self.project is not None and not self.rollback:
            raise ValueError("project goes with rollback: true; a version or modelVersionArn names its project")
        if self.idempotency_key is not None and self.via != "api":
            raise ValueError("idempotencyKey is a header of the REST API: use it with via: api")
        if self.via == "event" and (self.rollback or self.force):
            raise ValueError(
                "via: event carries environment, modelVersionArn and reason only (the template's input "
                "transformer); use via: console or api for rollback or force"
            )
        return self

    @property
    def title(self) -> str:
        return "rollback" if self.rollback else str(self.version or self.model_version_arn)


class Batch(_Model):
    """Promotions started together (one execution each), to rehearse concurrency."""

    batch: list[PromotionSpec] = Field(min_length=1, max_length=20)


def _promotion_kind(value: object) -> str:
    if isinstance(value, Batch) or (isinstance(value, dict) and "batch" in value):
        return "batch"
    return "promotion"


# A promotions entry is a batch when it has a `batch` key, a promotion otherwise: validated as that one
# only, so a typo in either gives one problem, not one per kind of entry.
Entry = Annotated[
    Annotated[PromotionSpec, Tag("promotion")] | Annotated[Batch, Tag("batch")], Discriminator(_promotion_kind)
]


class Scenario(_Model):
    config: Config
    world: World
    faults: list[FaultSpec] = []
    promotions: list[Entry] = []

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        for environment, labels in self.world.live.items():
            if environment not in self.config.environments:
                raise ValueError(f"world.live.{environment}: no such environment in the config")
            for label in labels:
                if label not in self.world.versions:
                    raise ValueError(f"world.live.{environment}: {label} is not in world.versions")
        targets = set(self.target_accounts())
        for alarm in self.world.alarms:
            if alarm.account not in targets:
                raise ValueError(f"world.alarms: {alarm.account} is not a target account of any environment")
        for environment in self.config.environments:
            size = iam_model.policy_size(iam_model.access_role_trust(self.config, environment))
            if size > self.world.trust_policy_max_chars:
                raise ValueError(
                    f"world.trustPolicyMaxChars: the access role of {environment} has a trust policy of {size} "
                    f"characters, over IAM's {self.world.trust_policy_max_chars} (CreateRole would answer "
                    "LimitExceeded); with the account's 'Role trust policy length' quota raised, set "
                    "trustPolicyMaxChars (at most 4096), or list fewer accounts in the environment"
                )
        for account, copies in self.world.copies.items():
            if account not in targets:
                raise ValueError(f"world.copies.{account}: not a target account of any environment")
            environment = next(n for n in self.config.environments if account in self.accounts_of(n))
            if self.config.environments[environment].strategy != "copy":
                raise ValueError(
                    f"world.copies.{account}: {environment} (its environment) shares the ML account's versions; "
                    "copies belong to environments with strategy: copy"
                )
            for label in copies:
                if label not in self.world.versions:
                    raise ValueError(f"world.copies.{account}: {label} is not in world.versions")
        for label in self.world.start_fails:
            if label not in self.world.versions:
                raise ValueError(f"world.startFails: {label} is not in world.versions")
        for index, entry in enumerate(self.promotions):
            for spec in entry.batch if isinstance(entry, Batch) else [entry]:
                gate = self.config.environments.get(spec.environment)
                if spec.approve is not None and gate is not None:
                    gates = int(gate.requires_approval) + sum(wave.approve for wave in gate.rollout)
                    given = len(spec.approve) if isinstance(spec.approve, list) else 1
                    if not gates:
                        raise ValueError(
                            f"promotions[{index}].approve: {spec.environment} does not require approval "
                            "(config: requiresApproval, or approve: true on a wave of its rollout); leave approve out"
                        )
                    if given > gates:
                        raise ValueError(
                            f"promotions[{index}].approve lists {given} decisions, and {spec.environment} has "
                            f"{gates} approval gate(s) (requiresApproval, then each wave with approve: true): "
                            f"list at most {gates}"
                        )
                if spec.project is not None and spec.project not in self.config.projects:
                    raise ValueError(
                        f"promotions[{index}].project: no project {spec.project!r} in the config; "
                        + allowed(spec.project, list(self.config.projects), "one of")
                    )
        return self

    @model_validator(mode="after")
    def _versions_of_their_service(self) -> Scenario:
        """Each version as its project's service has it: a Custom Labels status and labels, or a
        Comprehend status and classes (a classifier) or entities (an entity recognizer)."""
        for label, spec in self.world.versions.items():
            project_name, version = label.split("/", 1)
            project = self.config.projects.get(project_name)
            where = f"world.versions.{label}"
            if project is None or project.service == "rekognition":
                if spec.status not in STATUSES or spec.classes or spec.entities:
                    raise ValueError(
                        f"{where}: a Custom Labels version has a Custom Labels status "
                        f"({', '.join(sorted(STATUSES))}) and labels"
                    )
                continue
            kind = project.model_kind
            if spec.status not in COMPREHEND_STATUSES or spec.labels:
                raise ValueError(
                    f"{where}: a Comprehend version has a Comprehend status ({', '.join(sorted(COMPREHEND_STATUSES))}) "
                    "and classes or entities, not labels"
                )
            if (kind == "document-classifier" and spec.entities) or (kind == "entity-recognizer" and spec.classes):
                wanted = "classes" if kind == "document-classifier" else "entities"
                raise ValueError(f"{where}: {project_name} is a {kind}: give its {wanted}")
            for part, name in (("model", project_name), ("version", version)):
                if not _COMPREHEND_NAME.fullmatch(name):
                    raise ValueError(
                        f"{where}: {name!r} is not a Comprehend {part} name (1-63 letters, digits and hyphens, "
                        "starting and ending with a letter or digit)"
                    )
        return self

    @model_validator(mode="after")
    def _drifted_world_consistent(self) -> Scenario:
        for environment, labels in self.world.grants.items():
            if environment not in self.config.environments:
                raise ValueError(f"world.grants.{environment}: no such environment in the config")
            for label in labels:
                if label not in self.world.versions:
                    raise ValueError(f"world.grants.{environment}: {label} is not in world.versions")
        for environment, projects in self.world.parameters.items():
            where = f"world.parameters.{environment}"
            if environment not in self.config.environments:
                raise ValueError(f"{where}: no such environment in the config")
            for project, accounts in projects.items():
                if project not in self.config.projects:
                    raise ValueError(f"{where}.{project}: no such project in the config")
                for account, pointed in accounts.items():
                    if account not in self.accounts_of(environment):
                        raise ValueError(f"{where}.{project}.{account}: not an account of {environment}")
                    if pointed is not None and pointed not in self.world.versions:
                        raise ValueError(f"{where}.{project}.{account}: {pointed} is not in world.versions")
                    if pointed is not None and pointed.split("/", 1)[0] != project:
                        raise ValueError(f"{where}.{project}.{account}: {pointed} is not a version of {project}")
        return self

    def accounts_of(self, environment: str) -> list[str]:
        """The environment's accounts when the scenario starts: as listed, or those of its OUs in
        world.organization (sorted, as mlpromote.environments resolves them)."""
        env = self.config.environments[environment]
        if env.by_organization:
            return unit_accounts(self.world.organization, env.organizational_units)
        return list(env.accounts)

    def target_accounts(self) -> list[str]:
        """Every environment's accounts, once each, in the config's order."""
        return list(dict.fromkeys(a for environment in self.config.environments for a in self.accounts_of(environment)))

    def granted(self, environment: str) -> list[str]:
        """The versions the environment's access role grants when the scenario starts."""
        if environment in self.world.grants:
            return list(self.world.grants[environment])
        if self.config.environments[environment].strategy == "copy":
            return []  # each account runs its own copy: nothing is granted across accounts
        return list(self.world.live.get(environment, []))

    def copies(self, environment: str, account: str) -> dict[str, str]:
        """ "project/version" -> status of each copy in a copy environment's account when the scenario
        starts: RUNNING copies of what it points at, and `world.copies`."""
        if self.config.environments[environment].strategy != "copy":
            return {}
        out = {label: "RUNNING" for label in self.pointers(environment, account).values() if label}
        out.update(self.world.copies.get(account, {}))
        return out

    def pointers(self, environment: str, account: str) -> dict[str, str | None]:
        """Project -> the version the account's parameter points at when the scenario starts (None: no parameter)."""
        out: dict[str, str | None] = {}
        for label in self.world.live.get(environment, []):
            if label.split("/", 1)[0] in self.config.projects:
                out[label.split("/", 1)[0]] = label
        for project, accounts in self.world.parameters.get(environment, {}).items():
            if account in accounts:
                out[project] = accounts[account]
        return out


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file: InvalidScenario names every problem and where it is (its
    config's are InvalidConfig)."""
    data = read_yaml(path, "scenario file", error=InvalidScenario)
    return parse_scenario(data, base=path.parent, source=str(path))


def parse_scenario(data: Any, base: Path, source: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise InvalidScenario(f"{source}: expected a mapping with config, world and promotions")
    data = dict(data)
    config = data.get("config")
    if isinstance(config, str):
        config_path = (base / config).resolve()
        data["config"] = parse_config(read_yaml(config_path, "config file"), source=str(config_path))
    elif isinstance(config, dict):
        data["config"] = parse_config(config, source=f"{source}: config")
    elif config is None:
        raise InvalidScenario(f"{source}: config: required key is missing (inline config or a path to one)")
    else:
        raise InvalidScenario(f"{source}: config: give the config inline (a mapping) or a path to its file")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise InvalidScenario(invalid(source, error, Scenario)) from None
    require_rekognition(scenario.config.region, source)
    if any(project.service == "comprehend" for project in scenario.config.projects.values()):
        require_comprehend(scenario.config.region, source)
    return scenario


def require_comprehend(region: str, source: str) -> None:
    """As require_rekognition, for a config with Comprehend projects: Comprehend is in fewer regions
    (Developer Guide, "Guidelines and quotas", Supported Regions; botocore's endpoint data)."""
    import boto3

    partition = arns.partition_of(region)
    offered = boto3.session.Session().get_available_regions("comprehend", partition_name=partition)
    if region not in offered:
        raise InvalidConfig(
            f"{source}: config.region: Amazon Comprehend has no endpoint in {region} (botocore's endpoint data "
            f"lists it in {', '.join(offered) or 'no region of ' + partition}); a deployment there fails at its "
            "first Comprehend call. Promote the Comprehend projects in a region that offers Comprehend"
        )


def require_rekognition(region: str, source: str) -> None:
    """A rehearsal as strict as AWS: where botocore's endpoint data has no Rekognition endpoint (all of
    aws-cn, for one), the control plane's first Rekognition call fails, so no world is seeded there."""
    import boto3

    partition = arns.partition_of(region)
    offered = boto3.session.Session().get_available_regions("rekognition", partition_name=partition)
    if region not in offered:
        where = f"in {partition}: {', '.join(offered)}" if offered else f"in no region of {partition}"
        raise InvalidConfig(
            f"{source}: config.region: Amazon Rekognition has no endpoint in {region} (botocore's endpoint "
            f"data lists it {where}); a deployment there fails at its first Rekognition call. Rehearse and "
            "deploy in a region that offers Rekognition Custom Labels"
        )


def demo_scenario_path() -> Path:
    """The built-in world of `mlpromote demo`."""
    return Path(__file__).with_name("demo.yaml")
