"""The promotion request, and the plan the workflow carries from its first step to its last."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictBool,
    ValidationError,
    model_serializer,
    model_validator,
)

from mlpromote import arns, project_policy
from mlpromote.config import SmokeTest, TargetRoles, TextSmokeTest, describe_validation_error
from mlpromote.errors import InvalidPromotionRequest, PlanSchemaUnsupported
from mlpromote.models import CamelModel
from mlpromote.waves import PlannedWave


class _Model(CamelModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class PromotionRequest(_Model):
    """What a caller asks for: the execution input."""

    environment: str = Field(min_length=1, max_length=40, pattern=r"^[a-zA-Z0-9_\-]+$")
    model_version_arn: str | None = Field(default=None, min_length=1, max_length=2048)
    reason: str | None = Field(default=None, min_length=1, max_length=1024)
    # Promote past the environment's `requires` check; the history records it with the reason.
    force: StrictBool = False
    # Instead of a version: go back to the version the current one replaced.
    rollback: StrictBool = False
    # With rollback, when the config has several projects: which one.
    project: str | None = Field(default=None, min_length=1, max_length=255)
    # Set by the entry point (api, event, cli); the console leaves them out. The history records
    # them; CloudTrail's StartExecution record is the authority on who called.
    entry_point: Literal["console", "api", "event", "cli"] = "console"
    requested_by: str | None = Field(default=None, min_length=1, max_length=2048)

    @model_validator(mode="after")
    def _what_to_promote(self) -> PromotionRequest:
        if self.rollback == (self.model_version_arn is not None):
            raise ValueError("give either modelVersionArn (a version to promote) or rollback: true, not both")
        if self.force and not self.reason:
            raise ValueError("force: true needs a reason, which the history records")
        return self

    @classmethod
    def parse(cls, data: object) -> PromotionRequest:
        if not isinstance(data, dict):
            raise InvalidPromotionRequest(
                'the execution input must be a JSON object like {"environment": "prod", '
                '"modelVersionArn": "arn:aws:rekognition:...", "reason": "..."}'
            )
        try:
            return cls.model_validate(data)
        except ValidationError as error:
            raise InvalidPromotionRequest(
                "the promotion request is invalid:\n" + describe_validation_error(error, model=cls)
            ) from None


class TargetAccount(_Model):
    """One account and what its parameter points at: a view of the plan (PromotionPlan.targets), not
    what the plan carries."""

    account: str
    current: str | None = Field(
        description="the version ARN the account's parameter points at before, as read under the lock (None: "
        "no parameter; before the lock, unknown except for a rollback)"
    )


class Pointing(_Model):
    """The accounts whose parameter points at one version (None: no parameter, or not read yet).

    The plan keeps what each account serves grouped by version: an environment serves one or two
    versions, so the ARN is kept once, not once per account (a thousand accounts with ARNs of a few
    hundred characters would pass Step Functions' 256 KB state quota on their own).
    """

    version: str | None
    accounts: list[str]
    # A copy environment: each of these accounts points at its own copy of `version` (the ML account's
    # version). A copy's ARN names its account and its own creation time, so a group of them by that ARN
    # would be one group per account; what the copy is named (its source's project and version names)
    # finds it in its account when a step needs its ARN (mlpromote.serving.copy_pointing). Left out of
    # the JSON when false, so the plans, records and events of other environments are as before.
    copies: bool = False

    @model_serializer(mode="wrap")
    def _leave_out_false_copies(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self.copies:
            data.pop("copies", None)
        return data


def batches_of(accounts: list[str], size: int) -> list[list[str]]:
    """The accounts, sorted, in batches of `size` (the last one shorter): one Lambda invocation each in
    the fan-out Maps, so the execution's history grows with the batches, not with the accounts."""
    ordered = sorted(accounts)
    return [ordered[i : i + size] for i in range(0, len(ordered), size)]


def grouped(current: dict[str, str | None], copies: Collection[str] = ()) -> list[Pointing]:
    """What each account serves, grouped by version; the groups in a stable order (no pointer first).
    `copies`: the accounts whose `current` is the source of the copy they point at (copy environments)."""
    groups: dict[tuple[str | None, bool], list[str]] = {}
    for account in sorted(current):
        groups.setdefault((current[account], account in copies), []).append(account)
    return [
        Pointing(version=v, accounts=a, copies=c)
        for (v, c), a in sorted(groups.items(), key=lambda item: (item[0][0] or "", item[0][1]))
    ]


class WaveBatches(_Model):
    """One wave of the plan: the batches it switches, by their index in the plan's `batches` (the
    rotation Map's ItemSelector picks each with States.ArrayGetItem, so no account id is kept twice
    in the state), its bake and whether a person decides before it starts."""

    batches: list[int]
    bake_seconds: int = 0
    approve: bool = False


def batched_waves(waves: list[PlannedWave], size: int) -> tuple[list[list[str]], list[WaveBatches]]:
    """The waves' accounts in batches of `size`, each wave batched on its own (a batch never spans two
    waves), and each wave as the indexes of its batches."""
    batches: list[list[str]] = []
    planned = []
    for wave in waves:
        own = batches_of(wave.accounts, size)
        planned.append(
            WaveBatches(
                batches=list(range(len(batches), len(batches) + len(own))),
                bake_seconds=wave.bake_seconds,
                approve=wave.approve,
            )
        )
        batches += own
    return batches, planned


class AccountPlan(_Model):
    """What a per-account step (smoke test, rotation) needs of the plan: everything but the list of
    accounts. Each Map iteration gets this much, so the data a fan-out carries grows with the
    number of accounts, not with its square. The Map's ItemSelector names these fields."""

    environment: str
    version_arn: str
    version_label: str
    # Which ModelService the version belongs to (mlpromote.services.model_service): its ARN's kind.
    service: str = "rekognition"
    # What the applications call (ModelService.serving_arn): the version ARN for Rekognition, the endpoint
    # that serves the version for Comprehend. What the pointer holds and the grant allows. Plans written
    # before it existed are Rekognition's: the version ARN.
    serving_arn: str = ""
    ml_account: str
    # The config's region: the clients' region, and (through its partition) every ARN's first field.
    region: str
    access_role_name: str
    parameter_name: str
    smoke_test_role_name: str
    parameter_writer_role_name: str
    smoke_test: SmokeTest | TextSmokeTest
    grant_propagation_seconds: int
    # The access role's sts:ExternalId, which the smoke test passes when it assumes the role.
    external_id: str | None = None
    # Who asked (PromotionRequest.requested_by): the source identity of the roles the steps assume.
    requested_by: str | None = None
    # "share": the accounts call the ML account's version through the access role; "copy": each account
    # runs its own copy of it (mlpromote.copies), found through the account's model-reader role.
    strategy: Literal["share", "copy"] = "share"
    model_reader_role_name: str = TargetRoles.model_fields["model_reader"].default

    # Accounts one fan-out Lambda does at once (mlpromote.fanout.account_workers).
    account_workers: int = 10

    @model_validator(mode="before")
    @classmethod
    def _serving_arn(cls, data: Any) -> Any:
        if isinstance(data, dict) and not (data.get("servingArn") or data.get("serving_arn")):
            version = data.get("versionArn", data.get("version_arn"))
            if isinstance(version, str):
                return {**data, "servingArn": version}
        return data

    @property
    def partition(self) -> str:
        return arns.partition_of(self.region)

    @property
    def access_role_arn(self) -> str:
        return arns.role(self.partition, self.ml_account, self.access_role_name)

    def parameter_writer_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.parameter_writer_role_name)

    def smoke_test_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.smoke_test_role_name)

    def model_reader_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.model_reader_role_name)


# The plan's schema. Raise it when a change to PromotionPlan would make a plan written before it mean
# something else (a field removed or renamed, a meaning changed), and migrate older plans in
# `_older_schemas`; a new field with a default needs no new version. Each execution invokes the
# function versions it started with, so its own steps always read their own plans; a plan crosses
# releases only where newer code reads it (ReleaseAbandoned reads the history, but hands the plan to
# the execution's own Compensate), and a future step that reads older plans relies on this number.
# Schema 2: `accounts` ([{account, current}]) became `batches` (the accounts, sorted, in batches) and
# `pointing` (what they serve, grouped by version); schema 1 plans read as schema 2.
PLAN_SCHEMA_VERSION = 2
# The batch size a schema 1 plan is read with (it predates workflow.accountsPerBatch).
_SCHEMA_1_BATCH = 25


class PromotionPlan(AccountPlan):
    """Everything later steps need, fixed when the promotion starts so a config change mid-flight
    cannot change what a running promotion does.

    Made in two parts: the request checked against the config and the ML account (Validate and
    plan), then, under the environment's lock (Take the environment), what the environment serves,
    the version's status and, where it matters, its grant: `accounts`, `status_at_plan`,
    `already_served`, `already_running` and `locked_at` are from then.
    """

    # Written by every plan; plans written before it existed are schema 1.
    schema_version: int = PLAN_SCHEMA_VERSION
    execution: str
    requested_at: str
    planned_at: str
    reason: str | None
    kind: str = "promotion"  # or "rollback"
    forced: bool = False
    entry_point: str = "console"
    project: str
    project_arn: str
    status_at_plan: str
    # The environment's accounts, sorted, in batches of workflow.accountsPerBatch: the fan-out Maps run
    # one Lambda invocation per batch.
    batches: list[list[str]]
    # What each account's parameter points at, grouped by version (read under the lock).
    pointing: list[Pointing]
    already_served: bool
    already_running: bool
    # When Take the environment re-read the plan's view of the world under the lock; None before.
    locked_at: str | None = None
    # A lock left by an ended execution that Take the environment recovered.
    took_over_from: str | None = None
    min_inference_units: int
    max_inference_units: int | None
    retire_superseded: bool
    start_poll_seconds: int
    start_timeout_seconds: int
    max_concurrency: int
    # Batches of the fan-out Maps running at once; times account_workers, at most max_concurrency
    # accounts at once (mlpromote.fanout.batch_concurrency).
    batch_concurrency: int = 1
    # The environment's bakeMinutes in seconds: the last wave's bake, unless its rollout says otherwise.
    bake_seconds: int = 0
    # The rollout (mlpromote.waves), fixed in Validate and plan: each wave's batches, bake and approval.
    # A plan written before waves existed has none: it is one wave of every batch (`rollout`).
    waves: list[WaveBatches] = []
    rollback_alarms: list[str] = []
    alarm_poll_seconds: int = 60
    # The grant holds only for calls through these VPC endpoints (none: from anywhere).
    vpc_endpoint_ids: list[str] = []
    requires_approval: bool = False
    approval_timeout_seconds: int = 24 * 3600
    # The same for people, in the config's unit ("24 hours"): the ApprovalTimedOut cause says it.
    approval_timeout: str | None = None
    # The target roles the later steps read through: the pointers of other environments (retirement,
    # compensation) and the rollback alarms (the bake). The defaults are the config's.
    parameter_reader_role_name: str = TargetRoles.model_fields["parameter_reader"].default
    alarm_reader_role_name: str = TargetRoles.model_fields["alarm_reader"].default
    # Copy environments: the target roles that copy, start, stop and delete the copies, and whether the
    # retirement deletes the superseded copies after stopping them.
    model_copier_role_name: str = TargetRoles.model_fields["model_copier"].default
    model_retirer_role_name: str = TargetRoles.model_fields["model_retirer"].default
    delete_superseded_copies: bool = False
    # A copy environment of organizational units: the project policy names these OUs of this organization
    # (mlpromote.project_policy), not the accounts, so its size does not grow with them.
    organization_id: str | None = None
    organizational_units: list[str] = []

    @model_validator(mode="before")
    @classmethod
    def _approval_timeout_for_people(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "approvalTimeout" in data or "approval_timeout" in data:
            return data
        seconds = data.get("approvalTimeoutSeconds", data.get("approval_timeout_seconds", 24 * 3600))
        if not isinstance(seconds, int):
            return data  # the field's own validation says what is wrong
        hours, rest = divmod(seconds, 3600)
        return {
            **data,
            "approvalTimeout": f"{hours} hour{'s' if hours != 1 else ''}" if not rest else f"{seconds} seconds",
        }

    @model_validator(mode="before")
    @classmethod
    def _older_schemas(cls, data: object) -> object:
        """A plan of an older schema reads as this one; one of a newer schema (written by code deployed
        after this version) is refused by name rather than misread."""
        if isinstance(data, dict):
            version = data.get("schemaVersion", data.get("schema_version", 1))
            if not isinstance(version, int) or not 1 <= version <= PLAN_SCHEMA_VERSION:
                raise PlanSchemaUnsupported(
                    f"the plan is of schema {version!r}; this version of mlpromote reads schemas 1 to "
                    f"{PLAN_SCHEMA_VERSION}. It was written by a newer release: run that release's functions "
                    "(the state machine names the versions each execution started with)"
                )
            if version == 1 and isinstance(data.get("accounts"), list):
                targets = [TargetAccount.model_validate(t) for t in data["accounts"]]
                rest = {k: v for k, v in data.items() if k not in ("accounts", "schemaVersion", "schema_version")}
                return {
                    **rest,
                    "schemaVersion": PLAN_SCHEMA_VERSION,
                    "batches": batches_of([t.account for t in targets], _SCHEMA_1_BATCH),
                    "pointing": [g.dump() for g in grouped({t.account: t.current for t in targets})],
                }
        return data

    @property
    def account_ids(self) -> list[str]:
        """Every account of the environment, sorted."""
        return [account for batch in self.batches for account in batch]

    @property
    def current(self) -> dict[str, str | None]:
        """What each account's parameter points at (read under the lock), by account."""
        return {account: group.version for group in self.pointing for account in group.accounts}

    @property
    def on_copies(self) -> set[str]:
        """The accounts whose pointer names their own copy of the version `current` gives them."""
        return {account for group in self.pointing if group.copies for account in group.accounts}

    @property
    def leased_versions(self) -> list[str]:
        """The ML account's versions the accounts point at, which the promotion leases under the lock
        (mlpromote.leases); a copy is its account's, used by nobody else, and leased by no one."""
        return sorted({group.version for group in self.pointing if group.version and not group.copies})

    @property
    def targets(self) -> list[TargetAccount]:
        """Each account and what it points at, sorted by account."""
        current = self.current
        return [TargetAccount(account=a, current=current.get(a)) for a in self.account_ids]

    def with_pointers(self, current: dict[str, str | None], copies: Collection[str] = ()) -> PromotionPlan:
        """The plan with what each account serves, as read (accounts not in `current`: no pointer);
        `copies`: the accounts that point at their own copy of what `current` gives them."""
        pointing = grouped({a: current.get(a) for a in self.account_ids}, copies)
        return self.model_copy(update={"pointing": pointing})

    def parameter_reader_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.parameter_reader_role_name)

    def alarm_reader_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.alarm_reader_role_name)

    def model_copier_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.model_copier_role_name)

    def model_retirer_role_arn(self, account: str) -> str:
        return arns.role(self.partition, account, self.model_retirer_role_name)

    @property
    def copy_units(self) -> project_policy.OrganizationalUnits | None:
        """Who may copy the version, when the environment is organizational units (None: its accounts)."""
        if not self.organizational_units or self.organization_id is None:
            return None
        return project_policy.OrganizationalUnits(
            self.organization_id, tuple(self.organizational_units), self.model_copier_role_name
        )

    @property
    def gated(self) -> bool:
        """A person decides somewhere: at the environment's gate, or before a wave."""
        return self.requires_approval or any(wave.approve for wave in self.waves)

    @property
    def rollout(self) -> list[WaveBatches]:
        """The waves; a plan written before waves existed: one wave of every batch."""
        return self.waves or [WaveBatches(batches=list(range(len(self.batches))), bake_seconds=self.bake_seconds)]

    def wave_accounts(self) -> list[list[str]]:
        """Each wave's accounts, sorted."""
        return [[a for index in wave.batches for a in self.batches[index]] for wave in self.rollout]

    def switched_by(self, wave: int) -> list[str]:
        """The accounts of waves 0..`wave` (0-based): what has switched once that wave has."""
        return [account for accounts in self.wave_accounts()[: wave + 1] for account in accounts]

    def superseded(self) -> list[str]:
        """Versions the environment's accounts pointed at before, other than the promoted one."""
        return sorted({g.version for g in self.pointing if g.version and g.version != self.version_arn})
