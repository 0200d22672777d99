"""The mlpromote config: which environments exist, which accounts they span, which projects move.

Users write this file (YAML). Every problem is reported with its path in the file and what to fix.
"""

from __future__ import annotations

import difflib
import os
import re
from functools import lru_cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mlpromote import arns, fanout, quotas, waves
from mlpromote.errors import InvalidConfig, PromotionError, UnknownEnvironment, UnknownProject
from mlpromote.models import CamelModel

CONFIG_FILE_ENV = "MLPROMOTE_CONFIG_FILE"
MAX_FILE_BYTES = 1024 * 1024
# The config layer puts the file here in the deployed Lambdas.
DEFAULT_CONFIG_FILE = "/opt/mlpromote.yaml"
# The templates' defaults for their ParameterPathPrefix (without the leading slash) and AccessRolePrefix.
DEFAULT_PARAMETER_PATH_PREFIX = "/mlpromote"
DEFAULT_ACCESS_ROLE_PREFIX = "mlpromote-access-"
# templates/organization-reader.yaml's role: template.yaml lets the control plane assume it by this name.
ORGANIZATION_READER_ROLE_NAME = "mlpromote-organization-reader"
# The most accounts one environment may have: what the workflow's state and history hold within half
# of Step Functions' quotas (128 KB per state, 12,500 history events), every account failing included
# (tests/workflow/test_thousand_accounts.py; README "Scale"). An environment that lists its accounts
# is capped lower by its access role's trust policy (mlpromote.iam_model.trust_policy_findings).
MAX_ACCOUNTS_PER_ENVIRONMENT = 1_500

AccountId = Annotated[str, Field(pattern=r"^[0-9]{12}$", description="a 12-digit AWS account id")]
_NAME = r"^[a-zA-Z0-9_.\-]{1,255}$"
_ROLE_NAME = r"^[A-Za-z0-9_+=,.@-]{1,64}$"
IAM_ROLE_NAME_MAX = 64
# SSM's rules for parameter names (Systems Manager User Guide, "Requirements and constraints for
# parameter names": https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-parameter-name-constraints.html,
# and PutParameter's Name in the API reference): each level is letters, digits and _ . - only, levels
# are separated by /; a name in a hierarchy is fully qualified, with a leading /; at most 15 levels;
# no "aws" or "ssm" prefix (case-insensitive); at most 1011 characters counting the ARN before the
# name ("arn:aws:ssm:us-east-2:111122223333:parameter/" counts 45 of them).
_PARAMETER_NAME = re.compile(r"^/?[a-zA-Z0-9_.\-]+(/[a-zA-Z0-9_.\-]+)*$")
SSM_MAX_LEVELS = 15
SSM_MAX_NAME_WITH_ARN = 1011


def _ssm_path_problem(name: str, key: str) -> str | None:
    """What is wrong with `name` as a hierarchical SSM name (a parameter's, or a path's), if anything."""
    if not _PARAMETER_NAME.match(name):
        return f"{_shorten(repr(name))} is not a valid SSM name: levels of letters, digits and . - _ separated by /"
    if name.lstrip("/").lower().startswith(("aws", "ssm")):
        return f"{_shorten(repr(name))}: SSM reserves names that begin with 'aws' or 'ssm' (any case)"
    if not name.startswith("/"):
        return (
            f"{_shorten(repr(name), 80)} has no leading /: SSM requires one on hierarchical names like {key}; "
            f"write '/{_shorten(name, 80)}'"
        )
    # Not SSM's rule but ours: a level named . or .. reads as a path that leaves parameterPathPrefix,
    # though IAM and SSM take it literally.
    if any(level in (".", "..") for level in name.split("/")):
        return f"{_shorten(repr(name))} is not a valid SSM name here: no level may be . or .."
    return None


_S3_URI = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])/(?P<key>[^\x00-\x1f]{1,1024})$")
# Trust hardening and private connectivity (docs/security.md).
# A role ARN, with an optional path; `*` and `?` (ArnLike wildcards) only in the path and name.
_CONSUMER_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>[0-9]{12}):role/[\w+=,.@/*?-]{1,512}$", re.ASCII
)
_ORGANIZATION_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
# An OU id (Organizations API Reference, OrganizationalUnit.Id): ou-, the 4-32 characters of its
# root's id, -, and 8-32 more.
_OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
# The role drift detection and the plan list the OUs through, in the management account or a
# delegated administrator (templates/organization-reader.yaml).
_READER_ROLE_ARN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov):iam::(?P<account>[0-9]{12}):role/[\w+=,.@/-]{1,512}$"
)
# sts:AssumeRole's ExternalId: 2 to 1224 characters of [\w+=,.@:/-].
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)
_VPC_ENDPOINT_ID = re.compile(r"^vpce-[0-9a-f]{8,17}$")


def _consumer_role_arn(arn: str) -> str:
    if not _CONSUMER_ROLE_ARN.match(arn):
        raise ValueError(
            f"{_shorten(repr(arn))} is not an IAM role ARN; write arn:aws:iam::<account>:role/<name> with one of "
            "this environment's accounts (* and ? may stand for parts of the name; arn:aws-cn: in China, "
            "arn:aws-us-gov: in GovCloud)"
        )
    return arn


def _known_region(region: str) -> str:
    arns.partition_of(region)  # UnknownRegion (a ValueError) names the closest known regions
    return region


def _vpc_endpoint_id(endpoint: str) -> str:
    if not _VPC_ENDPOINT_ID.match(endpoint):
        raise ValueError(
            f"{_shorten(repr(endpoint))} is not a VPC endpoint id: vpce- and 8 to 17 hex digits "
            "(aws ec2 describe-vpc-endpoints --query 'VpcEndpoints[].VpcEndpointId')"
        )
    return endpoint


def _organization_id(value: str | None) -> str | None:
    if value is not None and not _ORGANIZATION_ID.match(value):
        raise ValueError(
            f"{_shorten(repr(value))} is not an AWS Organizations id: it is o- and 10 to 32 lowercase letters or "
            "digits (aws organizations describe-organization --query Organization.Id)"
        )
    return value


def _ou_id(value: str) -> str:
    if not _OU_ID.match(value):
        raise ValueError(
            f"{_shorten(repr(value))} is not an organizational unit id: ou-, 4 to 32 lowercase letters or digits, "
            "-, and 8 to 32 more, e.g. ou-ab12-cd34ef56 (aws organizations list-organizational-units-for-parent)"
        )
    return value


def _reader_role_arn(value: str | None) -> str | None:
    if value is not None and not _READER_ROLE_ARN.match(value):
        raise ValueError(
            f"{_shorten(repr(value))} is not an IAM role ARN; write arn:aws:iam::<management account>:role/<name>, "
            "the role templates/organization-reader.yaml creates (arn:aws-cn: in China, arn:aws-us-gov: in GovCloud)"
        )
    return value


class _Model(CamelModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def _valid_parameter_name(name: str) -> str:
    problem = _ssm_path_problem(name, "parameterName")
    if problem:
        raise ValueError(problem)
    levels = name.count("/")
    if levels > SSM_MAX_LEVELS:
        raise ValueError(f"{_shorten(repr(name))} has {levels} levels; SSM allows at most {SSM_MAX_LEVELS}")
    return name


class SmokeTest(_Model):
    images: list[str] = Field(min_length=1, max_length=10)
    expect_labels: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(min_length=1)
    min_confidence: float = Field(default=50, ge=0, le=100)

    @field_validator("images")
    @classmethod
    def _s3_uris(cls, images: list[str]) -> list[str]:
        for image in images:
            if not _S3_URI.match(image):
                raise ValueError(f"{image!r} is not an s3://bucket/key URI of an image in the ML account")
        return images

    @property
    def expected(self) -> list[str]:
        """The names the model must find, each in at least one input."""
        return list(self.expect_labels)

    @property
    def min_percent(self) -> float:
        """The lowest score (0-100) that counts as found."""
        return self.min_confidence

    @property
    def inputs(self) -> str:
        return ", ".join(self.images)

    def image_locations(self) -> list[tuple[str, str]]:
        """(bucket, key) of each image."""
        out = []
        for image in self.images:
            match = _S3_URI.match(image)
            assert match is not None  # checked by the validator
            out.append((match["bucket"], match["key"]))
        return out


class Project(_Model):
    # A project without `service` is a Rekognition Custom Labels project, as before `service` existed.
    service: Literal["rekognition"] = "rekognition"
    parameter_name: str = Field(min_length=1, max_length=SSM_MAX_NAME_WITH_ARN)
    min_inference_units: StrictInt = Field(default=1, ge=1, le=1000)
    max_inference_units: StrictInt | None = Field(default=None, ge=1, le=1000)
    smoke_test: SmokeTest

    @field_validator("parameter_name")
    @classmethod
    def _parameter_name(cls, name: str) -> str:
        return _valid_parameter_name(name)

    @property
    def model_kind(self) -> str:
        return "rekognition"

    @model_validator(mode="after")
    def _units(self) -> Project:
        if self.max_inference_units is not None and self.max_inference_units < self.min_inference_units:
            raise ValueError(
                f"maxInferenceUnits ({self.max_inference_units}) is below minInferenceUnits "
                f"({self.min_inference_units}); raise it or leave it out"
            )
        return self


# ClassifyDocument and DetectEntities on a custom endpoint take at most 10,000 bytes of UTF-8 text in
# one call (Amazon Comprehend Developer Guide, "Guidelines and quotas", real-time analysis for custom
# classification and custom entity recognition).
COMPREHEND_TEXT_MAX_BYTES = 10_000


class TextSmokeTest(_Model):
    """A Comprehend project's smoke test: texts sent to the endpoint, and the classes (a classifier) or
    entity types (an entity recognizer) it must find, each in at least one text, at `minScore` (0-1, as
    Comprehend scores)."""

    texts: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1, max_length=10)
    expect_classes: list[Annotated[str, Field(min_length=1, max_length=5000)]] = []
    expect_entities: list[Annotated[str, Field(min_length=1, max_length=5000)]] = []
    min_score: float = Field(default=0.5, ge=0, le=1)

    @field_validator("texts")
    @classmethod
    def _within_the_limit(cls, texts: list[str]) -> list[str]:
        for index, text in enumerate(texts):
            size = len(text.encode())
            if size > COMPREHEND_TEXT_MAX_BYTES:
                raise ValueError(
                    f"text {index} is {size} bytes of UTF-8; Comprehend's real-time endpoints take at most "
                    f"{COMPREHEND_TEXT_MAX_BYTES}: shorten it"
                )
        return texts

    @model_validator(mode="after")
    def _one_expectation(self) -> TextSmokeTest:
        if bool(self.expect_classes) == bool(self.expect_entities):
            raise ValueError(
                "give expectClasses (a document classifier) or expectEntities (an entity recognizer): one of them"
            )
        return self

    @property
    def expected(self) -> list[str]:
        return list(self.expect_classes or self.expect_entities)

    @property
    def min_percent(self) -> float:
        return self.min_score * 100

    @property
    def inputs(self) -> str:
        return f"{len(self.texts)} text{'s' if len(self.texts) != 1 else ''}"


class ComprehendProject(_Model):
    """An Amazon Comprehend custom model (a document classifier or an entity recognizer) whose versions
    mlpromote promotes: each served by a real-time endpoint with `inferenceUnits`."""

    service: Literal["comprehend"]
    kind: Literal["classifier", "entity-recognizer"]
    parameter_name: str = Field(min_length=1, max_length=SSM_MAX_NAME_WITH_ARN)
    # CreateEndpoint's DesiredInferenceUnits: 1 to 10, each unit 100 characters a second (Comprehend Developer
    # Guide, "Using Amazon Comprehend endpoints": https://docs.aws.amazon.com/comprehend/latest/dg/using-endpoints.html).
    inference_units: StrictInt = Field(default=1, ge=1, le=10)
    smoke_test: TextSmokeTest

    _parameter_name = field_validator("parameter_name")(classmethod(lambda cls, name: _valid_parameter_name(name)))

    @model_validator(mode="after")
    def _expectation_fits_the_kind(self) -> ComprehendProject:
        if self.kind == "classifier" and not self.smoke_test.expect_classes:
            raise ValueError("a classifier's smokeTest names expectClasses (the classes it must find)")
        if self.kind == "entity-recognizer" and not self.smoke_test.expect_entities:
            raise ValueError("an entity recognizer's smokeTest names expectEntities (the entity types it must find)")
        return self

    @property
    def model_kind(self) -> str:
        """The kind as it appears in the model's ARN."""
        return "document-classifier" if self.kind == "classifier" else "entity-recognizer"

    @property
    def min_inference_units(self) -> int:
        return self.inference_units

    @property
    def max_inference_units(self) -> int | None:
        return None


def _project_service(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("service", "rekognition"))
    return str(getattr(value, "service", "rekognition"))


AnyProject = Annotated[
    Annotated[Project, Tag("rekognition")] | Annotated[ComprehendProject, Tag("comprehend")],
    Discriminator(
        _project_service,
        custom_error_type="unknown_service",
        custom_error_message="service is rekognition (the default) or comprehend",
    ),
]


def _approver_pattern(value: str) -> str:
    if not value.startswith("arn:") or len(value.split(":", 5)) < 6:
        raise ValueError(
            f"{value!r} is not an IAM principal ARN pattern; write e.g. arn:aws:iam::111111111111:role/Releasers "
            "or arn:aws:sts::111111111111:assumed-role/Releasers/*"
        )
    return value


class Wave(_Model):
    """One wave of an environment's rollout (mlpromote.waves): a cumulative target, in accounts or
    percent of the environment, an optional bake after it, and an optional approval before it."""

    accounts: StrictInt | None = Field(default=None, ge=1)
    percent: StrictInt | StrictFloat | None = Field(default=None, gt=0, le=100)
    # After this wave switched: watch the environment's rollbackAlarms this long, in this wave's
    # accounts and the ones switched before. The last wave's default is the environment's bakeMinutes.
    bake_minutes: StrictInt | None = Field(default=None, ge=0, le=1440)
    # Wait for a person's decision (the approval gate's machinery) before this wave starts.
    approve: StrictBool = False


class Environment(_Model):
    # An environment lists its accounts, or names organizational units whose accounts (recursively)
    # the plan resolves at promotion time (mlpromote.environments): one or the other. Listed accounts
    # are also capped by the access role's trust policy (iam_model.trust_policy_findings).
    # (organizationalUnits first, so that an empty `accounts` can say what else would do.)
    organizational_units: list[Annotated[str, AfterValidator(_ou_id)]] = Field(default=[], max_length=100)
    accounts: list[AccountId] = Field(default=[], max_length=MAX_ACCOUNTS_PER_ENVIRONMENT)
    access_role_name: str | None = Field(default=None, pattern=_ROLE_NAME)
    retire_superseded: StrictBool = True
    # A version reaches this environment only after it was live in (or promoted to) this one.
    requires: str | None = None
    # After the switch, watch these CloudWatch alarms (in every account) for this long; one in
    # ALARM puts the environment back on the version it replaced.
    bake_minutes: StrictInt = Field(default=0, ge=0, le=1440)
    rollback_alarms: list[Annotated[str, Field(min_length=1, max_length=255)]] = Field(default=[], max_length=100)
    # A person approves (or rejects) after the smoke test, before any pointer moves. Nobody deciding
    # within approvalTimeoutHours counts as a rejection: the promotion is compensated.
    requires_approval: StrictBool = False
    approval_timeout_hours: StrictInt = Field(default=24, ge=1, le=720)
    # Four eyes: only principals matching one of these IAM ARN patterns (* and ?, as ArnLike) may
    # decide; empty, anyone the API lets in may. separateApprover: never the requester themself.
    approvers: list[Annotated[str, AfterValidator(_approver_pattern)]] = Field(default=[], max_length=100)
    separate_approver: StrictBool = False
    # Drift detection (mlpromote.drift) revokes this environment's stale grants itself, unless a
    # promotion holds the environment.
    repair_drift: StrictBool = False
    # Trust hardening (docs/security.md): the access role admits only the environment's accounts, and
    # of those only these roles (and mlpromote's own smoke-test role), only from this organization
    # (overrides the top-level organizationId), only with this external id.
    consumer_role_arns: list[Annotated[str, AfterValidator(_consumer_role_arn)]] = Field(default=[], max_length=100)
    organization_id: str | None = None
    external_id: str | None = None
    # Private connectivity: the grants hold only for DetectCustomLabels calls through these interface
    # endpoints (aws:SourceVpce), including the one the smoke test calls through.
    vpc_endpoint_ids: list[Annotated[str, AfterValidator(_vpc_endpoint_id)]] = Field(default=[], max_length=50)
    # Switch the accounts in waves (mlpromote.waves); absent, one wave of every account.
    rollout: list[Wave] = Field(default=[], max_length=20)
    # How the accounts get the model (README "Share or copy"): `share` calls the ML account's version
    # through the access role; `copy` runs a copy of it in each account (CopyProjectVersion), called there.
    strategy: Literal["share", "copy"] = "share"
    # A copy environment's retirement stops the superseded copies; with this, it deletes them too.
    delete_superseded_copies: StrictBool = False

    @model_validator(mode="after")
    def _copies_need_the_copy_strategy(self) -> Environment:
        if self.delete_superseded_copies and self.strategy != "copy":
            raise ValueError(
                "deleteSupersededCopies deletes the copies a copy environment's accounts ran; this environment "
                "shares the ML account's versions: set strategy: copy, or leave deleteSupersededCopies out"
            )
        if self.strategy == "copy":
            hardening = [
                key
                for key, value in (
                    ("consumerRoleArns", self.consumer_role_arns),
                    ("externalId", self.external_id),
                    ("vpcEndpointIds", self.vpc_endpoint_ids),
                )
                if value
            ]
            if hardening:
                raise ValueError(
                    f"{', '.join(hardening)} harden the access role, which a copy environment does not use (each "
                    "account calls its own copy): leave them out, or use strategy: share"
                )
        return self

    @field_validator("organization_id")
    @classmethod
    def _organization(cls, value: str | None) -> str | None:
        return _organization_id(value)

    @field_validator("external_id")
    @classmethod
    def _external_id(cls, value: str | None) -> str | None:
        if value is not None and not _EXTERNAL_ID.match(value):
            raise ValueError(
                f"an external id is 2 to 1224 characters, each a letter, digit or one of + = , . @ : / - _ "
                f"(no spaces); this one has {len(value)} characters"
                + (", some of them not allowed" if 2 <= len(value) <= 1224 else "")
            )
        return value

    @field_validator("vpc_endpoint_ids")
    @classmethod
    def _endpoints(cls, ids: list[str]) -> list[str]:
        if len(set(ids)) != len(ids):
            raise ValueError("a VPC endpoint is listed twice; list each endpoint once")
        return ids

    @model_validator(mode="after")
    def _accounts_or_units(self) -> Environment:
        if self.accounts and self.organizational_units:
            raise ValueError(
                "give accounts or organizationalUnits, not both: an environment is a list of accounts, or the "
                "accounts of its organizational units"
            )
        if not self.accounts and not self.organizational_units:
            raise ValueError(
                "no accounts: list the target accounts in accounts, or name organizational units in organizationalUnits"
            )
        if len(set(self.organizational_units)) != len(self.organizational_units):
            raise ValueError("organizationalUnits lists an OU twice; list each OU once")
        return self

    @property
    def by_organization(self) -> bool:
        """The environment's accounts are those of its OUs, resolved at promotion time."""
        return bool(self.organizational_units)

    @model_validator(mode="after")
    def _four_eyes_need_the_gate(self) -> Environment:
        if (self.approvers or self.separate_approver) and not (self.requires_approval or self.wave_approvals):
            raise ValueError(
                "approvers and separateApprover say who decides at the approval gate; "
                "set requiresApproval: true (or approve: true on a wave of the rollout), or leave them out"
            )
        return self

    @property
    def wave_approvals(self) -> bool:
        return any(wave.approve for wave in self.rollout)

    @model_validator(mode="after")
    def _rollout(self) -> Environment:
        problem = waves.rollout_problem(self.rollout, len(self.accounts))
        if problem:
            raise ValueError(problem)
        for index, wave in enumerate(self.rollout):
            if wave.bake_minutes and not self.rollback_alarms:
                raise ValueError(
                    f"rollout[{index}].bakeMinutes ({wave.bake_minutes}) watches the environment's rollbackAlarms "
                    "after that wave, and none are listed: list the CloudWatch alarms to watch in rollbackAlarms, "
                    "or leave the wave's bakeMinutes out"
                )
        return self

    @property
    def bakes(self) -> list[int]:
        """The bake after each wave of the rollout, in minutes (one wave without a rollout)."""
        if not self.rollout:
            return [self.bake_minutes]
        last = len(self.rollout) - 1
        return [
            w.bake_minutes if w.bake_minutes is not None else (self.bake_minutes if i == last else 0)
            for i, w in enumerate(self.rollout)
        ]

    @model_validator(mode="after")
    def _consumers_in_accounts(self) -> Environment:
        for index, arn in enumerate(self.consumer_role_arns):
            match = _CONSUMER_ROLE_ARN.match(arn)
            assert match is not None  # checked item by item
            # An OU environment's accounts are known at promotion time only; its trust admits the OUs'
            # accounts alone (aws:PrincipalOrgPaths), whatever consumerRoleArns says.
            if self.accounts and match["account"] not in self.accounts:
                listed = ", ".join(self.accounts[:3]) + (", ..." if len(self.accounts) > 3 else "")
                raise ValueError(
                    f"consumerRoleArns[{index}] is a role of account {match['account']}, not of this "
                    f"environment's accounts ({listed}): name a role of one of them, or add its account"
                )
        if len(set(self.consumer_role_arns)) != len(self.consumer_role_arns):
            raise ValueError("consumerRoleArns lists a role twice; list each role once")
        return self

    @model_validator(mode="after")
    def _bake_needs_alarms(self) -> Environment:
        if self.rollback_alarms and not any(self.bakes):
            raise ValueError(
                "rollbackAlarms are watched for bakeMinutes after the switch: set bakeMinutes too"
                + (" (or a wave's bakeMinutes)" if self.rollout else "")
            )
        if self.bake_minutes and not self.rollback_alarms:
            raise ValueError(
                f"bakeMinutes ({self.bake_minutes}) watches rollbackAlarms after the switch, and none are listed: "
                "list the CloudWatch alarms to watch in rollbackAlarms, or leave bakeMinutes out"
            )
        return self

    @field_validator("accounts")
    @classmethod
    def _distinct(cls, accounts: list[str], info: ValidationInfo) -> list[str]:
        if not accounts and not info.data.get("organizational_units"):
            raise ValueError("needs at least 1 entry: list the target accounts, or name organizationalUnits instead")
        seen: set[str] = set()
        for account in accounts:
            if account in seen:
                raise ValueError(f"account {account} is listed twice; list each account once")
            seen.add(account)
        return accounts


class TargetRoles(_Model):
    """Roles the target-account template creates in every target account, one per job
    (mlpromote.iam_model says which control-plane roles may assume each)."""

    smoke_test: str = Field(default="mlpromote-smoke-test", pattern=_ROLE_NAME)
    # Reads the model pointers (the plan, the retirement's and the compensation's look at other
    # environments, drift detection).
    parameter_reader: str = Field(default="mlpromote-parameter-reader", pattern=_ROLE_NAME)
    # Reads and moves them (the rotation, the compensation).
    parameter_writer: str = Field(default="mlpromote-parameter-writer", pattern=_ROLE_NAME)
    # Reads the rollback alarms' states (the bake).
    alarm_reader: str = Field(default="mlpromote-alarm-reader", pattern=_ROLE_NAME)
    # Copy environments (strategy: copy): create the project, copy the version and start the copy (the
    # model phase); describe the copies (the switch, drift); stop and delete them (retire, compensate).
    model_copier: str = Field(default="mlpromote-model-copier", pattern=_ROLE_NAME)
    model_reader: str = Field(default="mlpromote-model-reader", pattern=_ROLE_NAME)
    model_retirer: str = Field(default="mlpromote-model-retirer", pattern=_ROLE_NAME)

    @model_validator(mode="after")
    def _one_role_per_job(self) -> TargetRoles:
        names = self.model_dump(by_alias=True)
        for key, name in names.items():
            same = [other for other, value in names.items() if value == name and other != key]
            if same:
                raise ValueError(
                    f"{key} and {same[0]} are both {name!r}: each target role has its own job and policy; "
                    "give each its own name (as templates/target-account.yaml creates them)"
                )
        return self


class Workflow(_Model):
    """Timing of the workflow. Defaults suit real AWS; scenarios rarely change them."""

    start_poll_seconds: int = Field(default=30, ge=5, le=3600)
    start_timeout_minutes: int = Field(default=30, ge=1, le=1440)
    grant_propagation_seconds: int = Field(default=120, ge=0, le=900)
    max_concurrency: int = Field(default=10, ge=1, le=40)
    alarm_poll_seconds: int = Field(default=60, ge=10, le=3600)
    # Accounts per Lambda invocation of the fan-out Maps (smoke test, rotation). Default: 25, or fewer
    # when maxConcurrency is low, so that a batch takes at most MAX_ROUNDS_PER_BATCH rounds of calls.
    accounts_per_batch: int | None = Field(default=None, ge=1, le=100)

    @model_validator(mode="after")
    def _batches_fit_the_timeout(self) -> Workflow:
        if self.accounts_per_batch is None:
            return self
        taken = fanout.rounds(self.max_concurrency, self.accounts_per_batch)
        if taken > fanout.MAX_ROUNDS_PER_BATCH:
            raise ValueError(
                f"accountsPerBatch {self.accounts_per_batch} with maxConcurrency {self.max_concurrency} makes each "
                f"batch's Lambda call its accounts in {taken} rounds, one after another; at most "
                f"{fanout.MAX_ROUNDS_PER_BATCH} fit its timeout. Set accountsPerBatch <= "
                f"{fanout.MAX_ROUNDS_PER_BATCH * self.max_concurrency} or raise maxConcurrency"
            )
        return self

    @property
    def batch_size(self) -> int:
        """Accounts per fan-out batch: the config's, or the default for its maxConcurrency."""
        return self.accounts_per_batch or fanout.default_accounts_per_batch(self.max_concurrency)


class Config(_Model):
    # Any region of the aws, aws-cn and aws-us-gov partitions (botocore's partition data).
    region: Annotated[str, Field(max_length=64), AfterValidator(_known_region)]
    ml_account: AccountId
    environments: dict[Annotated[str, Field(pattern=r"^[a-zA-Z0-9_\-]{1,40}$")], Environment] = Field(min_length=1)
    projects: dict[Annotated[str, Field(pattern=_NAME)], AnyProject] = Field(min_length=1)
    target_roles: TargetRoles = Field(default_factory=TargetRoles)
    workflow: Workflow = Field(default_factory=Workflow)
    # The organization every environment's access role is restricted to (aws:PrincipalOrgID), unless
    # the environment names its own.
    organization_id: str | None = None
    # The read-only role in the management (or a delegated administrator) account that lists the
    # accounts of the environments' organizational units (templates/organization-reader.yaml).
    organization_reader_role_arn: str | None = None
    # Names the config shares with the templates, which take them as parameters: the target accounts'
    # parameter roles may touch only parameters under ParameterPathPrefix (written there without the
    # leading slash), and the control plane may write grants only on AccessRolePrefix* roles.
    parameter_path_prefix: str = DEFAULT_PARAMETER_PATH_PREFIX
    access_role_prefix: str = Field(
        default=DEFAULT_ACCESS_ROLE_PREFIX, pattern=rf"^[A-Za-z0-9_+=,.@-]{{1,{IAM_ROLE_NAME_MAX - 1}}}$"
    )

    @field_validator("organization_id")
    @classmethod
    def _organization(cls, value: str | None) -> str | None:
        return _organization_id(value)

    @field_validator("organization_reader_role_arn")
    @classmethod
    def _reader(cls, value: str | None) -> str | None:
        return _reader_role_arn(value)

    @model_validator(mode="after")
    def _units_need_the_organization(self) -> Config:
        for name, env in self.environments.items():
            if not env.by_organization:
                continue
            if self.organization_reader_role_arn is None:
                raise ValueError(
                    f"environments.{name}.organizationalUnits: set organizationReaderRoleArn, the role "
                    "(templates/organization-reader.yaml, in the management or a delegated administrator account) "
                    "the plan lists the OUs' accounts through"
                )
            if self.organization_of(name) is None:
                raise ValueError(
                    f"environments.{name}.organizationalUnits: set organizationId (the top-level one or the "
                    "environment's): the access role admits the OUs' accounts by aws:PrincipalOrgID and "
                    "aws:PrincipalOrgPaths (aws organizations describe-organization --query Organization.Id)"
                )
        reader = self.organization_reader_role_arn
        if reader is not None:
            match = _READER_ROLE_ARN.match(reader)
            assert match is not None  # checked by the field validator
            name = match[0].rsplit("/", 1)[-1]
            if name != ORGANIZATION_READER_ROLE_NAME:
                raise ValueError(
                    f"organizationReaderRoleArn names {name!r}; the control plane (template.yaml) may assume only "
                    f"{ORGANIZATION_READER_ROLE_NAME}, the role templates/organization-reader.yaml creates"
                )
            if match["partition"] != self.partition:
                raise ValueError(
                    f"organizationReaderRoleArn is a role of the {match['partition']} partition, but region "
                    f"{self.region} is in {self.partition}: write arn:{self.partition}:iam::<account>:role/<name>"
                )
        return self

    @field_validator("parameter_path_prefix")
    @classmethod
    def _parameter_path_prefix(cls, prefix: str) -> str:
        problem = _ssm_path_problem(prefix, "parameterPathPrefix")
        if problem:
            raise ValueError(problem)
        # A parameter lives at least one level below the prefix.
        if prefix.count("/") > SSM_MAX_LEVELS - 1:
            raise ValueError(
                f"{_shorten(repr(prefix))} has {prefix.count('/')} levels; SSM allows {SSM_MAX_LEVELS} in a "
                f"parameter's name, so the prefix may have at most {SSM_MAX_LEVELS - 1}"
            )
        return prefix

    @model_validator(mode="after")
    def _copies_fit_the_project_policy(self) -> Config:
        """A copy environment's accounts (or, for an environment of organizational units, its OUs) are named in
        one project policy on the source project, which holds 2,000 characters (mlpromote.project_policy):
        checked with the longest version ARN a project may have."""
        from mlpromote import project_policy

        for name, env in self.environments.items():
            if env.strategy != "copy":
                continue
            # A Comprehend project's copies are shared by a resource policy instead (_copies_fit_the_resource_policy).
            for project in (p for p, spec in self.projects.items() if spec.service == "rekognition"):
                longest_name = "v" * project_policy.LONGEST_VERSION_NAME
                longest = arns.rekognition_version(
                    self.partition, self.region, self.ml_account, project, longest_name, 10**13
                )
                units = project_policy.units_of(self, name)
                if units is not None and not project_policy.fits(longest, [], units):
                    raise ValueError(
                        f"environments.{name}: a copy environment's organizational units are named in a project "
                        f"policy on the source project, which Rekognition limits to {project_policy.MAX_CHARS} "
                        f"characters; {len(units.units)} OUs do not fit with project {project!r}'s version ARNs: "
                        "name fewer OUs (a parent OU covers its children), or split the environment"
                    )
                if units is None and not project_policy.fits(longest, env.accounts):
                    raise ValueError(
                        f"environments.{name}: a copy environment's accounts are named in a project policy on the "
                        f"source project, which Rekognition limits to {project_policy.MAX_CHARS} characters; "
                        f"{len(env.accounts)} accounts do not fit with project {project!r}'s version ARNs: "
                        "split the environment, or use strategy: share"
                    )
        return self

    @model_validator(mode="after")
    def _copies_fit_the_resource_policy(self) -> Config:
        """A Comprehend project's copy environment's accounts are named in one resource policy on the source
        version, which holds 20,000 characters (mlpromote.resource_policy): checked with the longest version ARN
        (model and version names of 63 characters)."""
        from mlpromote import resource_policy

        for name, env in self.environments.items():
            for project, spec in self.projects.items():
                if env.strategy != "copy" or spec.service == "rekognition":
                    continue
                longest = arns.comprehend_model_version(
                    self.partition, self.region, self.ml_account, spec.model_kind, "n" * 63, "v" * 63
                )
                if not resource_policy.fits(longest, name, env.accounts):
                    raise ValueError(
                        f"environments.{name}: a copy environment's accounts are named in a resource policy on the "
                        f"source model version, which Comprehend limits to {resource_policy.MAX_CHARS} characters; "
                        f"{len(env.accounts)} accounts do not fit with project {project!r}: split the environment, "
                        "or use strategy: share"
                    )
        return self

    @model_validator(mode="after")
    def _names_fit_the_templates(self) -> Config:
        prefix = self.parameter_path_prefix
        before_name = len(f"arn:{arns.partition_of(self.region)}:ssm:{self.region}:{self.ml_account}:parameter")
        for name, project in self.projects.items():
            parameter = project.parameter_name
            if not parameter.startswith(prefix + "/"):
                # The target accounts' parameter roles may touch only parameter/<ParameterPathPrefix>/*.
                raise ValueError(
                    f"projects.{name}.parameterName {_shorten(repr(parameter), 60)} is outside parameterPathPrefix "
                    f"{prefix!r}, the only path the stacks' roles may touch: move it or change the prefix"
                )
            if before_name + len(parameter) > SSM_MAX_NAME_WITH_ARN:
                raise ValueError(
                    f"projects.{name}.parameterName is {len(parameter)} characters; SSM allows "
                    f"{SSM_MAX_NAME_WITH_ARN - before_name} in {self.region} ({SSM_MAX_NAME_WITH_ARN} with the "
                    "parameter's ARN): shorten it"
                )
        for name, env in self.environments.items():
            role = self.access_role_name(name)
            if env.access_role_name is None and len(role) > IAM_ROLE_NAME_MAX:
                raise ValueError(
                    f"environments.{name}: accessRolePrefix + {name!r} makes a {len(role)}-character role name; "
                    f"IAM allows {IAM_ROLE_NAME_MAX}: shorten the prefix, or set accessRoleName"
                )
            if not role.startswith(self.access_role_prefix):
                # template.yaml lets the control plane write grants only on AccessRolePrefix* roles, and
                # the target accounts' smoke-test roles (and STS endpoints) assume only those.
                raise ValueError(
                    f"environments.{name}.accessRoleName {role!r} does not start with accessRolePrefix "
                    f"{self.access_role_prefix!r}: template.yaml's roles may write grants only on those; rename it"
                )
        return self

    @model_validator(mode="after")
    def _promotions_fit_the_history_quota(self) -> Config:
        """The start's and the bake's polling, and the fan-out, within Step Functions' 25,000 history
        events (mlpromote.quotas): past them an execution fails where no Catch compensates it."""
        flow = self.workflow
        for name, env in self.environments.items():
            # An OU environment's size is known at promotion time: the plan checks it then (mlpromote.environments).
            problem = quotas.environment_history_problem(len(env.accounts) or 1, env.bakes, flow)
            if problem:
                raise ValueError(f"environments.{name}: {problem}")
        return self

    @model_validator(mode="after")
    def _promotion_path(self) -> Config:
        for name, env in self.environments.items():
            seen = [name]
            upstream = env.requires
            while upstream is not None:
                if upstream not in self.environments:
                    raise ValueError(f"environments.{name}.requires: no environment {upstream!r} in the config")
                if upstream in seen:
                    raise ValueError(f"environments.{name}.requires makes a cycle: {' -> '.join([*seen, upstream])}")
                seen.append(upstream)
                upstream = self.environments[upstream].requires
        return self

    @model_validator(mode="after")
    def _private_calls_are_rekognition_only(self) -> Config:
        """vpcEndpointIds make every grant hold only through those endpoints, and templates/target-account.yaml
        creates Rekognition's (and STS's), not Comprehend's: a Comprehend smoke test would be denied."""
        comprehend = sorted(name for name, project in self.projects.items() if project.service == "comprehend")
        private = sorted(name for name, environment in self.environments.items() if environment.vpc_endpoint_ids)
        if comprehend and private:
            raise ValueError(
                f"environments {', '.join(private)} have vpcEndpointIds, but projects {', '.join(comprehend)} are "
                "Comprehend's: private connectivity covers Rekognition only (the target-account template creates "
                "no Comprehend endpoint). Leave vpcEndpointIds out, or promote the Comprehend projects with a "
                "config of their own"
            )
        return self

    @model_validator(mode="after")
    def _consumers_in_partition(self) -> Config:
        for name, env in self.environments.items():
            for index, arn in enumerate(env.consumer_role_arns):
                match = _CONSUMER_ROLE_ARN.match(arn)
                assert match is not None  # checked item by item
                if match["partition"] != self.partition:
                    raise ValueError(
                        f"environments.{name}.consumerRoleArns[{index}] is a role of the {match['partition']} "
                        f"partition, but region {self.region} is in {self.partition}: write "
                        f"arn:{self.partition}:iam::<account>:role/<name>"
                    )
        return self

    @model_validator(mode="after")
    def _accounts_belong_to_one_environment(self) -> Config:
        owner: dict[str, str] = {}
        for name, env in self.environments.items():
            if self.ml_account in env.accounts:
                raise ValueError(
                    f"environments.{name}.accounts lists the ML account {self.ml_account}; "
                    "target accounts are where the applications run, not the ML account"
                )
            for account in env.accounts:
                if account in owner:
                    raise ValueError(
                        f"account {account} is in both environments.{owner[account]} and "
                        f"environments.{name}; a project's parameter has one name in every environment, "
                        "so each target account belongs to exactly one environment"
                    )
                owner[account] = name
        return self

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            raise UnknownEnvironment(
                f"environment {name!r} is not in the config; known environments: {', '.join(sorted(self.environments))}"
            ) from None

    def project(self, name: str) -> Project | ComprehendProject:
        try:
            return self.projects[name]
        except KeyError:
            raise UnknownProject(
                f"project {name!r} is not in the config; known projects: {', '.join(sorted(self.projects))}. "
                "Add it under projects: to promote its versions"
            ) from None

    def access_role_name(self, environment: str) -> str:
        return self.environment(environment).access_role_name or f"{self.access_role_prefix}{environment}"

    def access_role_arn(self, environment: str) -> str:
        return arns.role(self.partition, self.ml_account, self.access_role_name(environment))

    @property
    def partition(self) -> str:
        """The partition of the config's region (aws, aws-cn, aws-us-gov): every ARN starts with it."""
        return arns.partition_of(self.region)

    def organization_of(self, environment: str) -> str | None:
        """The organization the environment's access role admits callers from, if any."""
        return self.environment(environment).organization_id or self.organization_id


def _unwrap(annotation: Any) -> Any:
    """X for Annotated[X, ...] and for X | None: the type a value is validated as."""
    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation) and type(None) in get_args(annotation) and len(get_args(annotation)) == 2:
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType)


def _union_member(union: Any, label: object) -> Any:
    """The member of a union that pydantic names `label` in an error's location: a Tag, a class name,
    or a validator wrapper around one (`function-after[_check(), Name]`); None if none matches."""
    for member in get_args(union):
        base, tags = member, []
        if get_origin(member) is Annotated:
            base, *metadata = get_args(member)
            tags = [item.tag for item in metadata if isinstance(item, Tag)]
        name = getattr(_unwrap(base), "__name__", None)
        if label in tags or (name and isinstance(label, str) and (label == name or label.endswith(f" {name}]"))):
            return base
    return None


def _field(model: type[BaseModel], key: object) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field.annotation
    return None


# How pydantic names a validator around a type in an error's location: `function-after[_check(), Name]`.
_VALIDATOR_WRAPPER = re.compile(r"^function-(after|before|wrap|plain)\[.*\]$")


def _follow(
    model: type[BaseModel] | None, loc: tuple[int | str, ...]
) -> tuple[list[int | str], type[BaseModel] | None]:
    """Follow an error's location through the model: the keys the user wrote (union members and
    validator wrappers, which pydantic adds to the location, left out), and the model whose key the
    last one is, if it is one."""
    keys: list[int | str] = []
    current: Any = model
    owner: type[BaseModel] | None = None
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, str) and _VALIDATOR_WRAPPER.match(part):
            continue  # a validator wrapper, not a key
        if _is_union(current):
            current = _union_member(current, part)  # a union member's label, not a key
            continue
        keys.append(part)
        owner = current if isinstance(current, type) and issubclass(current, BaseModel) else None
        if owner is not None:
            current = _field(owner, part)
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        elif get_origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        else:
            current = None
    return keys, owner


def _location(keys: list[int | str]) -> str:
    out = ""
    for part in keys:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _shorten(text: str, limit: int = 200) -> str:
    """A huge bad value must not become a huge message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def closest(given: str, choices: list[str]) -> str | None:
    """The choice `given` is most likely a typo of (difflib), if any is close."""
    close = difflib.get_close_matches(given, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def allowed(given: str, choices: list[str], what: str) -> str:
    """What to write instead of `given`: the closest of `choices`, and all of them if they are few."""
    close = closest(given, choices)
    hint = f"did you mean {close!r}? " if close else ""
    if len(choices) <= 25:
        return f"{hint}{what}: {', '.join(sorted(choices))}"
    return f"{hint}{len(choices)} {what}"


def _key_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def describe_validation_error(error: ValidationError, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """One line per problem: where in the file, and what is wrong. With the model that was validated,
    an unknown key gets the keys allowed there and the closest one; a misspelt required key is one
    problem (the unknown key), not two."""
    problems = [(problem, *_follow(model, problem["loc"])) for problem in error.errors()]
    missing = {tuple(keys) for problem, keys, _ in problems if problem["type"] == "missing"}
    # Required keys that an unknown key next to them is a misspelling of.
    misspelt: dict[tuple[int | str, ...], str] = {}
    for problem, keys, owner in problems:
        if problem["type"] == "extra_forbidden" and owner is not None and keys:
            meant = closest(str(keys[-1]), _key_names(owner))
            if meant is not None and (*keys[:-1], meant) in missing:
                misspelt[tuple(keys)] = meant
    lines: list[str] = []
    for problem, keys, owner in problems:
        message = _shorten(problem["msg"].removeprefix("Value error, "), 400)
        if problem["type"] == "extra_forbidden":
            key = _shorten(str(keys[-1]) if keys else "", 80)
            message = f"unknown key {key!r}"
            if owner is not None:
                message += "; " + allowed(key, _key_names(owner), "allowed keys here")
                if tuple(keys) in misspelt:
                    message += f" ({misspelt[tuple(keys)]} is required)"
            else:
                message += "; check its spelling against the config reference in the README"
        elif problem["type"] == "missing":
            if any((*other[:-1], meant) == tuple(keys) for other, meant in misspelt.items()):
                continue  # said with the misspelling
            message = "required key is missing"
        elif problem["type"] == "string_pattern_mismatch":
            message = f"{_shorten(repr(problem.get('input')))} does not match {problem['ctx']['pattern']}"
            if problem["ctx"]["pattern"] == _ACCOUNT_PATTERN:
                message = f"{_shorten(repr(problem.get('input')))} is not an account id: 12 digits, in quotes"
        elif problem["type"] in _PLAIN:
            message = _PLAIN[problem["type"]](problem)
        where = ".".join(part for part in (prefix, _location(keys)) if part)
        line = f"{where}: {message}" if where else message
        if line not in lines:
            lines.append(line)
    return "\n".join(lines)


_ACCOUNT_PATTERN = r"^[0-9]{12}$"


def _a_number_where_text_belongs(problem: Any) -> str:
    value = problem.get("input")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{_shorten(repr(value))} is not text; write a string"
    # YAML reads unquoted digits as a number (and an account id's leading zeros are lost with it).
    return f'{value} is read as a number; quote it: "{value}"'


# pydantic's wording for common mistakes, said the way the config file is written.
_PLAIN: dict[str, Any] = {
    "string_type": _a_number_where_text_belongs,
    "int_type": lambda p: f"{_shorten(repr(p.get('input')))} is not a whole number",
    "int_parsing": lambda p: f"{_shorten(repr(p.get('input')))} is not a whole number",
    "int_from_float": lambda p: f"{p.get('input')} is not a whole number",
    "bool_type": lambda p: f"{_shorten(repr(p.get('input')))} is not true or false",
    "bool_parsing": lambda p: f"{_shorten(repr(p.get('input')))} is not true or false",
    "dict_type": lambda p: "expected a mapping (key: value lines)",
    "list_type": lambda p: "expected a list ([a, b] or one '- item' per line)",
    "too_short": lambda p: (
        f"needs at least {p['ctx'].get('min_length')} entr{'y' if p['ctx'].get('min_length') == 1 else 'ies'}"
    ),
    "too_long": lambda p: f"has more than {p['ctx'].get('max_length')} entries",
}


def invalid(source: str, error: ValidationError, model: type[BaseModel]) -> str:
    """`source: problem` for one problem (one line on a terminal), a list under a heading for several."""
    described = describe_validation_error(error, model=model)
    return f"{source}: {described}" if "\n" not in described else f"{source} is invalid:\n{described}"


def parse_config(data: Any, source: str = "config") -> Config:
    if not isinstance(data, dict):
        raise InvalidConfig(f"{source}: expected a mapping with region, mlAccount, environments and projects")
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        raise InvalidConfig(invalid(source, error, Config)) from None


@lru_cache(maxsize=1)
def _unique_key_loader() -> type[Any]:
    """yaml.SafeLoader, except that a key repeated in one mapping is an error: YAML parsers keep the
    last value silently, so a duplicated key would hide a typo or an edit made in the wrong place."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *defaults`: keys written next to it override the merged ones, by design
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    if key in seen:
                        raise DuplicateKey(key, seen[key], line)
                    seen[key] = line
                except TypeError:
                    continue  # an unhashable key: SafeLoader refuses it with its own message
            return super().construct_mapping(node, deep=deep)

    return UniqueKeyLoader


class DuplicateKey(Exception):
    def __init__(self, key: object, first: int, again: int) -> None:
        super().__init__(
            f"key {_shorten(repr(key), 80)} appears twice in one mapping (line {first} and line {again}); "
            "YAML would keep only the last one: remove or rename one of them"
        )


def read_yaml(path: Path, what: str, error: type[PromotionError] = InvalidConfig) -> Any:
    """The YAML document in `path`, bounded in size, with duplicate keys refused; any problem is `error`."""
    import yaml  # only the functions that read the config file need a YAML parser

    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)  # bounded: a path may name /dev/zero or a huge file
        if len(raw) > MAX_FILE_BYTES:
            raise error(f"{what} {path} is larger than {MAX_FILE_BYTES // 1024} KiB; is it the right file?")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise error(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{what} {path} cannot be read: {problem}") from None
    try:
        data = yaml.load(text, Loader=_unique_key_loader())  # a SafeLoader: no Python objects
    except DuplicateKey as problem:
        raise error(f"{what} {path}: {problem}") from None
    except yaml.YAMLError as problem:
        raise error(f"{what} {path} is not valid YAML: {problem}") from None
    except RecursionError:
        raise error(f"{what} {path} nests too deeply to be a {what.split()[0]}") from None
    if data is None:
        raise error(f"{what} {path} is empty")
    return data


def load_config(path: Path) -> Config:
    return parse_config(read_yaml(path, "config file"), source=str(path))


@lru_cache(maxsize=4)
def _cached_config(path: str, mtime: float) -> Config:
    return load_config(Path(path))


def deployed_config(path: str) -> Config:
    """The config the Lambdas run with, from `path` (the handler layer names it: mlpromote.handler),
    read again only when the file changes."""
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        raise InvalidConfig(
            f"config file {path} does not exist; set {CONFIG_FILE_ENV} or deploy the config layer"
        ) from None
    return _cached_config(path, mtime)
