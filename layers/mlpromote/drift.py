"""Drift: the world as it is, compared with the world mlpromote's promotions leave behind.

A promotion keeps four things in agreement: each target account's parameter points at a version,
that version is RUNNING, the environment's access role grants it, and every account of the
environment points at the same one. People (and failed clean-ups) can break that agreement
behind mlpromote's back; this module finds where, once per scheduled run:

- PointerToNotRunning: an account's parameter points at a version that is not RUNNING (stopped,
  failed, deleted, or not a version at all): the applications there get errors.
- PointerWithoutGrant: an account's parameter points at a version its environment's access role
  does not grant: the applications there get AccessDenied.
- StaleGrant: the access role grants a version no account of the environment points at: more
  access than anyone needs. With `repairDrift: true` the grant is revoked, unless a promotion
  holds the environment (its new grant is legitimately not pointed at yet).
- IdleVersion: a version is RUNNING but no environment's parameter points at it: it costs its
  inference units every hour for nobody.
Copy environments (strategy: copy) point each account at its own copy: a pointer to a copy that is not
RUNNING is PointerToNotRunning, a RUNNING copy nobody points at is IdleVersion (its detail names the
account), and nothing is granted there, so PointerWithoutGrant does not apply.
- SplitEnvironment: the accounts of one environment point at different versions (or some have
  no parameter at all). An environment none of whose accounts has the parameter was never
  promoted: that is not drift.
- AccountNotServed: an account of an OU environment (organizationalUnits) has no parameter while
  the environment's other accounts point at a version: an account that joined the OU after the
  last promotion. The next promotion serves it.

Reads are one DescribeProjects and a paginated DescribeProjectVersions per project, one
GetRolePolicy per environment, one GetParameter per account and project (through the account's
parameter-reader role, accounts side by side), and, only for an environment with findings, one
GetItem of its lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from pydantic import BaseModel, ConfigDict, Field

from mlpromote import arns, environments, promotion_metrics
from mlpromote.aws import dynamodb, events, iam, ssm
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.clock import now
from mlpromote.config import Config
from mlpromote.errors import AwsError, InvalidModelVersionArn, UnknownProject
from mlpromote.fanout import for_each_account
from mlpromote.grants import GrantPolicy
from mlpromote.models import CamelModel
from mlpromote.observability import logger, metrics
from mlpromote.services import copying_service, model_service
from mlpromote.versions import RUNNING, ModelVersionArn

Kind = Literal[
    "PointerToNotRunning", "PointerWithoutGrant", "StaleGrant", "IdleVersion", "SplitEnvironment", "AccountNotServed"
]
KINDS: tuple[Kind, ...] = (
    "PointerToNotRunning",
    "PointerWithoutGrant",
    "StaleGrant",
    "IdleVersion",
    "SplitEnvironment",
    "AccountNotServed",
)
# What an idle version costs is the service's price (mlpromote.services; for Custom Labels, with its
# source, in mlpromote.services.rekognition). A region without a price gets no figure: its
# IdleVersion findings say so and count inference units instead.
PRICING_PAGE = model_service().pricing_page  # Custom Labels'; each service names its own (ModelService.pricing_page)
DETAIL_TYPE = "Model Promotion Drift Detected"
METRIC = "DriftFindings"
# An EventBridge entry holds at most 256 KB: the event carries the first findings that fit, and the total.
EVENT_FINDINGS_LIMIT = 200
EVENT_FINDINGS_BYTES = 200 * 1024
# How many accounts a detail names before it counts the rest.
_NAMED_ACCOUNTS = 5


class Finding(BaseModel):
    """One disagreement between the world and what the promotions left. Fields that do not apply
    to a kind are None (a StaleGrant has no account; an IdleVersion no environment)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Kind
    environment: str | None = None
    project: str | None = None
    account: str | None = None
    version: str | None = None
    detail: str


class DriftRun(CamelModel):
    """What a run found (and repaired); the DetectDrift function's result."""

    findings: list[Finding]
    counts: dict[str, int]
    repaired: int = 0
    # None when INFERENCE_UNIT_HOUR_USD has no price for the config's region: see idle_inference_units.
    idle_cost_per_hour_usd: float | None = 0.0
    idle_inference_units: int = 0
    published: bool = Field(default=False, description="whether the EventBridge event went out")
    ended_at: str = Field(default_factory=lambda: now().isoformat())

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


@dataclass
class Observed:
    """The world as read: every version of the configured projects, each environment's grants,
    and each environment's parameter values (environment -> project -> account -> value or None)."""

    versions: dict[str, VersionDescription]
    grants: dict[str, list[str]]
    pointers: dict[str, dict[str, dict[str, str | None]]]
    # Environments a promotion holds now: environment -> the execution holding it.
    holders: dict[str, str] = field(default_factory=dict)
    # The ML account: a pointer to another account's version names a copy (strategy: copy).
    ml_account: str | None = None


# --- reading the world ------------------------------------------------------------------------


def observe(config: Config) -> Observed:
    """The world, with every pointer and grant read back as the version it serves: a Comprehend pointer
    or grant names the endpoint (ModelService.serving_arn), which the versions listed here place."""
    versions: dict[str, VersionDescription] = {}
    serves: dict[str, str] = {}  # serving ARN -> version ARN, where they differ
    for name, project in config.projects.items():
        service = model_service(project.model_kind)
        try:
            project_arn = service.project_arn(name)
        except UnknownProject:
            continue  # no versions: whatever points at one of them points at nothing that runs
        for description in service.list_versions(project_arn):
            versions[description.arn] = description
            if (serving := service.serving_arn(description.arn)) != description.arn:
                serves[serving] = description.arn
    copies = read_all_copies(config)
    versions.update(copies)
    for arn in copies:
        # A Comprehend copy's pointer names its endpoint in the copy's account.
        if (serving := model_service(ModelVersionArn.parse(arn).kind).serving_arn(arn)) != arn:
            serves[serving] = arn
    grants = {
        environment: sorted(
            serves.get(arn, arn) for arn in iam.read_grants(config.access_role_name(environment)).granted_versions()
        )
        for environment in config.environments
    }
    pointers = {
        environment: {
            project: {account: serves.get(value, value) if value else value for account, value in accounts.items()}
            for project, accounts in per_project.items()
        }
        for environment, per_project in read_all_pointers(config).items()
    }
    return Observed(versions=versions, grants=grants, pointers=pointers, ml_account=config.ml_account)


def read_all_copies(config: Config) -> dict[str, VersionDescription]:
    """Every version of the configured projects in the accounts of copy environments (strategy: copy),
    through each account's model-reader role: what their pointers name, and what runs there."""
    reader = config.target_roles.model_reader

    def read(account: str) -> list[VersionDescription]:
        role = arns.role(config.partition, account, reader)
        return [
            VersionDescription(arn=copy.arn, status=copy.status, status_message=copy.status_message)
            for name, project in config.projects.items()
            for copy in copying_service(project.model_kind).list_copies(role, name)
        ]

    accounts = [
        account
        for name, env in config.environments.items()
        if env.strategy == "copy"
        for account in environments.accounts_of(config, name, empty_ok=True)
    ]
    found = for_each_account(accounts, read, config.workflow.max_concurrency)
    return {description.arn: description for descriptions in found.values() for description in descriptions}


def read_all_pointers(config: Config) -> dict[str, dict[str, dict[str, str | None]]]:
    """Every project's parameter in every account, one account per thread (each assumes its role once)."""
    reader = config.target_roles.parameter_reader

    def read(account: str) -> dict[str, str | None]:
        role = arns.role(config.partition, account, reader)
        return {name: ssm.read_pointer(role, project.parameter_name) for name, project in config.projects.items()}

    out: dict[str, dict[str, dict[str, str | None]]] = {}
    for environment in config.environments:
        # An OU environment's accounts as they are now (an account that joined since is AccountNotServed).
        accounts = environments.accounts_of(config, environment, empty_ok=True)
        per_account = for_each_account(accounts, read, config.workflow.max_concurrency)
        out[environment] = {
            project: {account: values[project] for account, values in per_account.items()}
            for project in config.projects
        }
    return out


# --- comparing: pure, so every kind is testable without AWS -----------------------------------


def find_drift(config: Config, observed: Observed) -> list[Finding]:
    findings: list[Finding] = []
    referenced: set[str] = set()
    for environment in config.environments:
        role = config.access_role_name(environment)
        granted = set(observed.grants.get(environment, []))
        pointed: set[str] = set()
        for project_name, project in config.projects.items():
            pointers = observed.pointers.get(environment, {}).get(project_name, {})
            values = {value for value in pointers.values() if value is not None}
            if not values:
                continue  # never promoted here
            pointed |= values
            unserved: list[str] = []
            if config.environment(environment).by_organization:
                # An account without the parameter in an OU environment joined the OU after the last
                # promotion: its own kind, and not a split (the next promotion serves it).
                unserved = [account for account, value in pointers.items() if value is None]
                for account in unserved:
                    findings.append(
                        Finding(
                            kind="AccountNotServed",
                            environment=environment,
                            project=project_name,
                            account=account,
                            detail=f"{account} is in the organizational units of {environment} but has no "
                            f"{project.parameter_name}: it joined after the last promotion; promote again to serve it",
                        )
                    )
            # A copy environment's accounts point at their own copies: they agree when the copies have one source.
            same: Any = _label if config.environments[environment].strategy == "copy" else (lambda value: value)
            if len({same(v) if v is not None else None for a, v in pointers.items() if a not in unserved}) > 1:
                findings.append(
                    Finding(
                        kind="SplitEnvironment",
                        environment=environment,
                        project=project_name,
                        detail=f"the accounts of {environment} disagree on {project.parameter_name}: "
                        + _grouped(pointers),
                    )
                )
            for account, value in pointers.items():
                if value is None:
                    continue
                where = f"{project.parameter_name} in {account} points at {_label(value)}"
                not_running = _not_running(observed, value)
                if not_running:
                    findings.append(
                        Finding(
                            kind="PointerToNotRunning",
                            environment=environment,
                            project=project_name,
                            account=account,
                            version=value,
                            detail=f"{where}, which {not_running}; applications there cannot call it",
                        )
                    )
                # A copy environment's accounts call their own copies: nothing is granted across accounts.
                if value not in granted and config.environments[environment].strategy == "share":
                    findings.append(
                        Finding(
                            kind="PointerWithoutGrant",
                            environment=environment,
                            project=project_name,
                            account=account,
                            version=value,
                            detail=f"{where}, which {role} does not grant; applications there get AccessDenied",
                        )
                    )
        referenced |= pointed
        for version in sorted(granted - pointed):
            findings.append(
                Finding(
                    kind="StaleGrant",
                    environment=environment,
                    project=_project(version),
                    version=version,
                    detail=f"{role} grants {_label(version)}, which no account of {environment} points at",
                )
            )
    for arn, description in sorted(observed.versions.items()):
        if description.status != RUNNING or arn in referenced:
            continue
        findings.append(
            Finding(
                kind="IdleVersion",
                project=_project(arn),
                version=arn,
                detail=f"{_label(arn)}{_in_account(config, arn)} is {_running(arn)} but no environment's parameter "
                "points at it: " + _cost_text(config, description) + _granted_by(observed, arn),
            )
        )
    return sorted(findings, key=_order)


def unit_hour_price(region: str, service: str = "rekognition") -> float | None:
    """USD per inference unit and hour in `region` of the service's versions (a Comprehend endpoint's
    inference units), or None when mlpromote has no price for it."""
    return model_service(service).unit_hour_price(region)


def _service_of(arn: str) -> str:
    try:
        return ModelVersionArn.parse(arn).kind
    except InvalidModelVersionArn:
        return "rekognition"


def idle_cost_per_hour(config: Config, description: VersionDescription) -> float | None:
    """What a RUNNING version costs per hour at its minimum inference units (None: no price for the region)."""
    price = unit_hour_price(config.region, _service_of(description.arn))
    return None if price is None else _units(config, description) * price


def _units(config: Config, description: VersionDescription) -> int:
    # DescribeProjectVersions reports MinInferenceUnits for a version that was started; otherwise
    # take what mlpromote starts the project's versions with.
    if description.min_inference_units:
        return description.min_inference_units
    project = config.projects.get(_project(description.arn) or "")
    return project.min_inference_units if project else 1


def _cost_text(config: Config, description: VersionDescription) -> str:
    units = _units(config, description)
    service = _service_of(description.arn)
    price = unit_hour_price(config.region, service)
    most = description.max_inference_units if (description.max_inference_units or 0) > units else None
    if price is None:
        text = (
            f"{units} inference unit{'s' if units != 1 else ''} billed every hour"
            + (f" (up to {most} when auto-scaled)" if most else "")
            + f"; mlpromote has no inference price for {config.region}, see {model_service(service).pricing_page}"
        )
        return text
    text = f"{units} inference unit{'s' if units != 1 else ''} x USD {price:.2f} = USD {units * price:.2f} per hour"
    if most:
        text += f" (up to USD {most * price:.2f} when auto-scaled to {most} units)"
    return text


def _running(arn: str) -> str:
    return "RUNNING" if _service_of(arn) == "rekognition" else "RUNNING (its endpoint is IN_SERVICE)"


def _granted_by(observed: Observed, arn: str) -> str:
    environments = sorted(e for e, granted in observed.grants.items() if arn in granted)
    return f"; granted to {', '.join(environments)}" if environments else ""


def _not_running(observed: Observed, value: str) -> str | None:
    """Why a pointer's target cannot serve ('is STOPPED', 'does not exist ...'), or None when it is RUNNING."""
    try:
        version = ModelVersionArn.parse(value)
    except InvalidModelVersionArn:
        return "is not a model version ARN"
    description = observed.versions.get(version.arn)
    ml_account = _ml_account(observed)
    if description is None and ml_account is not None and version.account != ml_account:
        return f"does not exist in account {version.account}'s project {version.project}"
    if description is None:
        return f"does not exist in the ML account's project {version.project}"
    return None if description.status == RUNNING else f"is {description.status}"


def _ml_account(observed: Observed) -> str | None:
    return observed.ml_account


def _in_account(config: Config, arn: str) -> str:
    """' (the copy in account X)' for a copy environment's copy; '' for the ML account's versions."""
    account = arns.account_of(arn)
    return f" (the copy in account {account})" if account != config.ml_account else ""


def _label(value: str) -> str:
    try:
        return ModelVersionArn.parse(value).label
    except InvalidModelVersionArn:
        return repr(value if len(value) <= 120 else value[:117] + "...")


def _project(value: str) -> str | None:
    try:
        return ModelVersionArn.parse(value).project
    except InvalidModelVersionArn:
        return None


def _grouped(pointers: dict[str, str | None]) -> str:
    """'tools/v1 in 333333333333, 444444444444; tools/v2 in 555555555555; no parameter in 666666666666':
    the value most accounts hold first, accounts without the parameter last."""
    by_value: dict[str | None, list[str]] = {}
    for account, value in pointers.items():
        by_value.setdefault(value, []).append(account)
    parts = []
    for value, accounts in sorted(
        by_value.items(), key=lambda item: (item[0] is None, -len(item[1]), _label(item[0] or ""))
    ):
        named = ", ".join(accounts[:_NAMED_ACCOUNTS])
        if len(accounts) > _NAMED_ACCOUNTS:
            named += f" and {len(accounts) - _NAMED_ACCOUNTS} more"
        parts.append(f"{_label(value) if value is not None else 'no parameter'} in {named}")
    return "; ".join(parts)


def _order(finding: Finding) -> tuple[int, str, str, str, str]:
    return (
        KINDS.index(finding.kind),
        finding.environment or "",
        finding.project or "",
        finding.account or "",
        finding.version or "",
    )


# --- in-flight promotions and repair ----------------------------------------------------------


def with_promotions_in_flight(findings: list[Finding], observed: Observed) -> list[Finding]:
    """Say so on every finding of an environment a promotion holds: it may be that promotion
    between its grant and its switch, or in its bake before the old grant is retired."""
    out = []
    for finding in findings:
        environments = [finding.environment] if finding.environment else _granting(observed, finding.version)
        held = [f"{e} ({observed.holders[e]})" for e in environments if e in observed.holders]
        if held:
            finding = _noted(finding, f"a promotion holds {', '.join(held)}: this may be it, in flight")
        out.append(finding)
    return out


def _granting(observed: Observed, version: str | None) -> list[str]:
    return sorted(e for e, granted in observed.grants.items() if version in granted)


def repair(config: Config, findings: list[Finding], observed: Observed) -> tuple[list[Finding], int]:
    """Revoke the stale grants of environments with `repairDrift: true` that no promotion holds."""
    stale: dict[str, list[str]] = {}
    for finding in findings:
        environment, version = finding.environment, finding.version
        if finding.kind == "StaleGrant" and environment and version and config.environment(environment).repair_drift:
            stale.setdefault(environment, []).append(version)
    outcome: dict[str, str] = {}
    repaired = 0
    for environment, versions in stale.items():
        role = config.access_role_name(environment)
        if environment in observed.holders:
            outcome[environment] = f"not repaired: a promotion holds {environment}; the next run looks again"
            continue

        def revoke(policy: GrantPolicy, versions: list[str] = versions) -> bool:
            return any([policy.revoke(version) for version in versions])

        try:
            iam.update_grants(role, revoke)
        except AwsError as error:
            code = error.code or type(error).__name__
            logger.warning("stale grants not revoked", extra={"environment": environment, "error": str(error)})
            outcome[environment] = f"not repaired: revoking from {role} failed ({code}); the next run tries again"
            continue
        outcome[environment] = f"repaired: revoked from {role}"
        repaired += len(versions)
    out = [
        _noted(f, outcome[f.environment]) if f.kind == "StaleGrant" and f.environment in outcome else f
        for f in findings
    ]
    return out, repaired


def _noted(finding: Finding, note: str) -> Finding:
    return finding.model_copy(update={"detail": f"{finding.detail}; {note}"})


# --- one run: read, compare, repair, report ---------------------------------------------------


def detect_drift(config: Config) -> DriftRun:
    observed = observe(config)
    findings = find_drift(config, observed)
    for environment in sorted({f.environment for f in findings if f.environment} | _idle_granting(findings, observed)):
        holder = dynamodb.lock_holder(environment)
        if holder is not None:
            observed.holders[environment] = str(holder.get("holder", ""))
    findings = with_promotions_in_flight(findings, observed)
    findings, repaired = repair(config, findings, observed)
    run = DriftRun(
        findings=findings,
        counts={kind: sum(1 for f in findings if f.kind == kind) for kind in KINDS},
        repaired=repaired,
        **_idle_totals(config, findings, observed),
    )
    publish_metrics(run)
    if findings:
        run.published = events.publish(DETAIL_TYPE, event_detail(run))
    logger.info("drift detected" if findings else "no drift", extra={"counts": run.counts, "repaired": repaired})
    return run


def _idle_totals(config: Config, findings: list[Finding], observed: Observed) -> dict[str, Any]:
    idle = [
        observed.versions[f.version] for f in findings if f.kind == "IdleVersion" and f.version in observed.versions
    ]
    units = sum(_units(config, description) for description in idle)
    costs = [idle_cost_per_hour(config, description) for description in idle]
    known = [cost for cost in costs if cost is not None]
    # No figure unless every idle version has a price (a partial sum would read as the whole cost).
    cost = sum(known) if len(known) == len(costs) else None
    if not idle and unit_hour_price(config.region) is None:
        cost = None  # as before Comprehend: a region without a price reports no figure, even for nothing idle
    return {"idle_inference_units": units, "idle_cost_per_hour_usd": cost}


def _idle_granting(findings: list[Finding], observed: Observed) -> set[str]:
    return {e for f in findings if f.kind == "IdleVersion" for e in _granting(observed, f.version)}


def publish_metrics(run: DriftRun) -> None:
    """DriftFindings per kind (zero included, so an alarm sees every run), and DriftRepaired."""
    for kind in KINDS:
        with single_metric(
            name=METRIC, unit=MetricUnit.Count, value=run.counts[kind], namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="kind", value=kind)
    metrics.add_metric(name="DriftRepaired", unit=MetricUnit.Count, value=run.repaired)
    # What the idle versions cost (and their units, also where the region has no price): the dashboard's
    # and the idle-cost alarm's figures.
    metrics.add_metric(name=promotion_metrics.IDLE_UNITS, unit=MetricUnit.Count, value=run.idle_inference_units)
    if run.idle_cost_per_hour_usd is not None:
        metrics.add_metric(name=promotion_metrics.IDLE_COST, unit=MetricUnit.NoUnit, value=run.idle_cost_per_hour_usd)


def event_detail(run: DriftRun) -> dict[str, Any]:
    """The event's detail: the counts, and the first findings that fit (`truncated` says if some did not)."""
    shown: list[dict[str, Any]] = []
    size = 0
    for finding in run.findings:
        document = finding.model_dump(mode="json")
        size += len(json.dumps(document))
        if len(shown) >= EVENT_FINDINGS_LIMIT or size > EVENT_FINDINGS_BYTES:
            break
        shown.append(document)
    return {
        "findings": shown,
        "total": len(run.findings),
        "truncated": len(shown) < len(run.findings),
        "counts": run.counts,
        "repaired": run.repaired,
        "idleCostPerHourUsd": run.idle_cost_per_hour_usd,
        "idleInferenceUnits": run.idle_inference_units,
    }
