"""Scenarios: a config, a world, faults to inject, and promotions to rehearse."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlpromote import arns
from mlpromote.config import Config, describe_validation_error, parse_config, read_yaml
from mlpromote.errors import InvalidConfig

_LABEL = r"^[a-zA-Z0-9_.\-]{1,255}/[a-zA-Z0-9_.\-]{1,255}$"
VersionLabel = Annotated[str, Field(pattern=_LABEL, description="project/version")]
STATUSES = frozenset(
    {
        "TRAINING_IN_PROGRESS", "TRAINING_COMPLETED", "TRAINING_FAILED", "STARTING", "RUNNING", "FAILED",
        "STOPPING", "STOPPED", "DELETING", "COPYING_IN_PROGRESS", "COPYING_COMPLETED", "COPYING_FAILED",
        "DEPRECATED", "EXPIRED",
    }
)  # fmt: skip


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class VersionSpec(_Model):
    status: str
    # The labels the model finds in any smoke-test image: names (confidence 95) or name -> confidence.
    labels: list[str] | dict[str, float] = []

    @field_validator("status")
    @classmethod
    def _known_status(cls, status: str) -> str:
        if status not in STATUSES:
            raise ValueError(f"{status!r} is not a Custom Labels status; one of {', '.join(sorted(STATUSES))}")
        return status

    def label_confidences(self) -> dict[str, float]:
        if isinstance(self.labels, dict):
            return dict(self.labels)
        return dict.fromkeys(self.labels, 95.0)


class AlarmSpec(_Model):
    """A CloudWatch alarm in a target account; `alarmAt` raises it that many simulated seconds into the run."""

    account: str = Field(pattern=r"^\d{12}$")
    name: str = Field(min_length=1, max_length=255)
    alarm_at: float | None = Field(default=None, ge=0, alias="alarmAt")


class World(_Model):
    versions: dict[VersionLabel, VersionSpec] = Field(min_length=1)
    live: dict[str, list[VersionLabel]] = {}
    start_seconds: float = Field(default=300, ge=0, le=86400, alias="startSeconds")
    iam_propagation_seconds: float = Field(default=5, ge=0, le=3600, alias="iamPropagationSeconds")
    start_fails: list[VersionLabel] = Field(default=[], alias="startFails")
    alarms: list[AlarmSpec] = []
    # A drifted world (`mlpromote local drift`). What each environment's access role grants
    # (an environment left out: its live versions)...
    grants: dict[str, list[VersionLabel]] = {}
    # ...and what the parameters point at, per environment, project and account (an account left
    # out: its environment's live version; null: no parameter).
    parameters: dict[str, dict[str, dict[str, VersionLabel | None]]] = {}


class FaultSpec(_Model):
    service: str = Field(pattern=r"^[a-z0-9\-]{2,40}$")
    operation: str = Field(pattern=r"^[A-Z][A-Za-z0-9]{1,80}$")
    account: str | None = Field(default=None, pattern=r"^\d{12}$")
    error: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9.]{1,80}$")
    count: int = Field(default=1, ge=1, le=1000)


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
    # waits for it, through the API's approval route; absent, nobody decides and it times out.
    approve: bool | None = None
    approval_comment: str | None = Field(default=None, min_length=1, max_length=1024, alias="approvalComment")

    @model_validator(mode="after")
    def _one_version(self) -> PromotionSpec:
        if sum([self.version is not None, self.model_version_arn is not None, self.rollback]) != 1:
            raise ValueError("give one of version (project/version), modelVersionArn or rollback: true")
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


class Scenario(_Model):
    config: Config
    world: World
    faults: list[FaultSpec] = []
    promotions: list[PromotionSpec | Batch] = []

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        for environment, labels in self.world.live.items():
            if environment not in self.config.environments:
                raise ValueError(f"world.live.{environment}: no such environment in the config")
            for label in labels:
                if label not in self.world.versions:
                    raise ValueError(f"world.live.{environment}: {label} is not in world.versions")
        targets = {a for env in self.config.environments.values() for a in env.accounts}
        for alarm in self.world.alarms:
            if alarm.account not in targets:
                raise ValueError(f"world.alarms: {alarm.account} is not a target account of any environment")
        for label in self.world.start_fails:
            if label not in self.world.versions:
                raise ValueError(f"world.startFails: {label} is not in world.versions")
        for index, entry in enumerate(self.promotions):
            for spec in entry.batch if isinstance(entry, Batch) else [entry]:
                gate = self.config.environments.get(spec.environment)
                if spec.approve is not None and gate is not None and not gate.requires_approval:
                    raise ValueError(
                        f"promotions[{index}].approve: {spec.environment} does not require approval "
                        "(config: requiresApproval); leave approve out"
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
                    if account not in self.config.environments[environment].accounts:
                        raise ValueError(f"{where}.{project}.{account}: not an account of {environment}")
                    if pointed is not None and pointed not in self.world.versions:
                        raise ValueError(f"{where}.{project}.{account}: {pointed} is not in world.versions")
                    if pointed is not None and pointed.split("/", 1)[0] != project:
                        raise ValueError(f"{where}.{project}.{account}: {pointed} is not a version of {project}")
        return self

    def granted(self, environment: str) -> list[str]:
        """The versions the environment's access role grants when the scenario starts."""
        if environment in self.world.grants:
            return list(self.world.grants[environment])
        return list(self.world.live.get(environment, []))

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
    """Read and validate a scenario file; InvalidConfig names every problem and where it is."""
    data = read_yaml(path, "scenario file")
    return parse_scenario(data, base=path.parent, source=str(path))


def parse_scenario(data: Any, base: Path, source: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise InvalidConfig(f"{source}: expected a mapping with config, world and promotions")
    data = dict(data)
    config = data.get("config")
    if isinstance(config, str):
        config_path = (base / config).resolve()
        data["config"] = parse_config(read_yaml(config_path, "config file"), source=str(config_path))
    elif isinstance(config, dict):
        data["config"] = parse_config(config, source=f"{source}: config")
    elif config is None:
        raise InvalidConfig(f"{source}: config: required key is missing (inline config or a path to one)")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise InvalidConfig(f"{source} is invalid:\n{describe_validation_error(error)}") from None
    require_rekognition(scenario.config.region, source)
    return scenario


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
