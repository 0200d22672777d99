"""Validate and plan: refuse a bad request before the first write, and fix what the later steps need.

ASL Task: "Validate and plan" (validate_and_plan).
"""

from __future__ import annotations

from typing import Any

from mlpromote import arns, drift, dryrun, environments, history, project_policy, promotions, resource_policy
from mlpromote.aws import cloudwatch, dynamodb
from mlpromote.clock import stamp
from mlpromote.config import Config
from mlpromote.errors import (
    EnvironmentTooLarge,
    InvalidPromotionRequest,
    NothingToRollBackTo,
    NotVerifiedUpstream,
    PromotionError,
    RollbackAlarmNotFound,
    UnknownProject,
)
from mlpromote.fanout import account_workers, batch_concurrency, for_each_account
from mlpromote.plan import PromotionPlan, PromotionRequest, batched_waves, grouped
from mlpromote.promotions import require_ml_account
from mlpromote.services import ModelService, model_service
from mlpromote.serving import copy_pointing, read_pointers
from mlpromote.versions import RUNNING, ModelVersionArn, require_promotable
from mlpromote.waves import plan_waves


def validate_and_plan(request_input: object, execution: str, requested_at: str, config: Config) -> PromotionPlan:
    """Check the request against the config and the ML account.

    Changes nothing: every refusal of the request happens here, before the first write. What the
    environment serves is read later, under the lock (`take_environment`).
    """
    request = PromotionRequest.parse(request_input)
    environment = config.environment(request.environment)
    # An OU environment's accounts are resolved here, once (sorted ids): the plan and the history
    # record them, and every later step works from the plan's list.
    target_accounts = environments.accounts_of(config, request.environment)
    reader = config.target_roles.parameter_reader
    pointers: dict[str, str | None] | None = None
    if request.rollback:
        project_name = _project_to_roll_back(request, config)
        service = model_service(config.project(project_name).model_kind)
        pointers = read_pointers(
            target_accounts,
            reader,
            config.project(project_name).parameter_name,
            config.workflow.max_concurrency,
            config.partition,
            service,
            project_name,
        )
        target = _rollback_target(request.environment, project_name, pointers, environment.strategy == "copy")
        if environment.strategy == "copy":
            target = _source_version(target, project_name, config)
        version = service.parse_version(target)
    else:
        version = ModelVersionArn.parse(request.model_version_arn)
        service = model_service(version.kind)
    require_ml_account(version, config)
    project = config.project(version.project)
    _require_kind(project.model_kind, version)
    project_arn = service.project_arn(version.project)
    description = service.describe(project_arn, version.arn)
    require_promotable(version.label, description.status)
    units = project_policy.units_of(config, request.environment)
    if (
        environment.strategy == "copy"
        and version.service == "rekognition"
        and not project_policy.fits(version.arn, target_accounts, units)
    ):
        # The config checks it with the longest version ARN a project may have; this is the version's own.
        named = (
            f"{len(environment.organizational_units)} organizational units"
            if units
            else f"{len(target_accounts)} accounts"
        )
        raise EnvironmentTooLarge(
            f"{request.environment}'s project policy on the source project names its {named}, and does not fit "
            f"Rekognition's {project_policy.MAX_CHARS} characters with {version.label}: "
            + ("name fewer OUs (a parent OU covers its children)" if units else "split the environment")
            + ", or use strategy: share"
        )
    if (
        environment.strategy == "copy"
        and version.service == "comprehend"
        and not resource_policy.fits(version.arn, request.environment, target_accounts)
    ):
        raise EnvironmentTooLarge(
            f"{request.environment}'s organizational units hold {len(target_accounts)} accounts; a copy "
            f"environment's accounts are named in a resource policy on the source model version, which Comprehend "
            f"limits to {resource_policy.MAX_CHARS} characters, and these do not fit: split the environment, or use "
            "strategy: share"
        )
    if environment.requires and not request.rollback and not request.force:
        _require_verified_upstream(config, environment.requires, project.parameter_name, version, service)

    # What each account serves is read under the lock (take_environment): read here, it could be
    # stale by then. A rollback reads it here too (its target depends on it), and is refused with
    # EnvironmentChanged if it moved before the lock.
    _require_rollback_alarms(config, request.environment, target_accounts)
    known = pointers or {}
    batch_size = config.workflow.batch_size
    # Decided once, here: the lock, the bakes and the compensation all follow these waves; each wave
    # is batched on its own.
    batches, waves = batched_waves(
        plan_waves(target_accounts, environment.rollout, environment.bake_minutes), batch_size
    )
    plan = PromotionPlan(
        execution=execution,
        requested_at=requested_at,
        planned_at=stamp(),
        reason=request.reason,
        kind="rollback" if request.rollback else "promotion",
        forced=request.force,
        entry_point=request.entry_point,
        requested_by=request.requested_by,
        environment=request.environment,
        project=version.project,
        project_arn=project_arn,
        version_arn=version.arn,
        version_label=version.label,
        service=service.name,
        serving_arn=service.serving_arn(version.arn),
        status_at_plan=description.status,
        ml_account=config.ml_account,
        region=config.region,
        access_role_name=config.access_role_name(request.environment),
        parameter_name=project.parameter_name,
        smoke_test_role_name=config.target_roles.smoke_test,
        parameter_writer_role_name=config.target_roles.parameter_writer,
        parameter_reader_role_name=reader,
        alarm_reader_role_name=config.target_roles.alarm_reader,
        model_reader_role_name=config.target_roles.model_reader,
        model_copier_role_name=config.target_roles.model_copier,
        model_retirer_role_name=config.target_roles.model_retirer,
        strategy=environment.strategy,
        delete_superseded_copies=environment.delete_superseded_copies,
        organization_id=units.organization if units else None,
        organizational_units=list(units.units) if units else [],
        batches=batches,
        pointing=grouped({account: known.get(account) for account in target_accounts}),
        # Decided under the lock, from what take_environment reads there.
        already_served=False,
        already_running=description.status == RUNNING and environment.strategy == "share",
        min_inference_units=project.min_inference_units,
        max_inference_units=project.max_inference_units,
        smoke_test=project.smoke_test,
        retire_superseded=environment.retire_superseded,
        start_poll_seconds=config.workflow.start_poll_seconds,
        start_timeout_seconds=config.workflow.start_timeout_minutes * 60,
        grant_propagation_seconds=config.workflow.grant_propagation_seconds,
        max_concurrency=config.workflow.max_concurrency,
        batch_concurrency=batch_concurrency(config.workflow.max_concurrency, batch_size),
        account_workers=account_workers(config.workflow.max_concurrency, batch_size),
        bake_seconds=environment.bake_minutes * 60,
        waves=waves,
        rollback_alarms=environment.rollback_alarms,
        alarm_poll_seconds=config.workflow.alarm_poll_seconds,
        external_id=environment.external_id,
        vpc_endpoint_ids=environment.vpc_endpoint_ids,
        requires_approval=environment.requires_approval,
        approval_timeout_seconds=environment.approval_timeout_hours * 3600,
    )
    if pointers is not None and environment.strategy == "copy":
        # As take_environment keeps them, so that it sees whether they moved before the lock.
        plan = plan.model_copy(update={"pointing": copy_pointing(pointers, plan)})
    return plan


def dry_run(request: PromotionRequest, config: Config, requested_at: str) -> dict[str, Any]:
    """The dry run (POST /promotions?dryRun=true): the front door's checks and this step's, then
    what the later steps would change (mlpromote.dryrun), or the refusal. Changes nothing."""
    observed = drift.observe(config)
    try:
        promotions.check(request, config)
        promotions.refuse_if_in_progress(request.environment)
        plan = validate_and_plan(request.model_dump(mode="json", by_alias=True), "dry-run", requested_at, config)
    except PromotionError as refusal:
        return dryrun.refused(request, config, observed, refusal)
    return dryrun.changes(config, plan, observed)


def _project_to_roll_back(request: PromotionRequest, config: Config) -> str:
    if request.project:
        config.project(request.project)
        return request.project
    if len(config.projects) == 1:
        return next(iter(config.projects))
    raise InvalidPromotionRequest(
        f"rollback: name the project to roll back (one of {', '.join(sorted(config.projects))}) with project"
    )


def _rollback_target(environment: str, project: str, pointers: dict[str, str | None], copies: bool) -> str:
    """The version to roll back to. A copy environment's accounts each point at their own copy: compared by
    "project/version" (a copy keeps its source's names), the target is then a label (see _source_version)."""
    key = _label if copies else (lambda arn: arn)
    serving = {key(value) if value is not None else None for value in pointers.values()}
    if len(serving) != 1 or None in serving:
        raise NothingToRollBackTo(
            f"{environment}'s accounts do not all serve one version of {project} ({len(serving)} different "
            "values); promote the version you want instead"
        )
    current = str(serving.pop())
    records = [r for r in dynamodb.records(environment) if r.project == project]
    target = history.rollback_target(records, current, key)
    if target is None:
        raise NothingToRollBackTo(
            f"the history of {environment} has no version of {project} before {current}; promote one explicitly"
        )
    return target


def _label(arn: str) -> str:
    try:
        return ModelVersionArn.parse(arn).label
    except PromotionError:
        return arn  # not a version ARN (a drifted pointer): compared as it is


def _source_version(target: str, project: str, config: Config) -> str:
    """The ML account's version a rollback target names: an ARN there as it is; a copy's ARN, or a
    "project/version" label, by its version name in the ML account's project."""
    if target.startswith("arn:") and target.split(":")[4] == config.ml_account:
        return target
    name = _label(target).split("/", 1)[-1]
    service = model_service(config.project(project).model_kind)
    for version in service.list_versions(service.project_arn(project)):
        if ModelVersionArn.parse(version.arn).version == name:
            return version.arn
    raise NothingToRollBackTo(
        f"the history names {_label(target)} as the version to roll back to, and the ML account's project {project} "
        "has no version of that name any more; promote a version explicitly"
    )


def _require_kind(configured: str, version: ModelVersionArn) -> None:
    """The version is of the kind the config says its project is (a Comprehend classifier's name may
    also be an entity recognizer's, or a Custom Labels project's)."""
    if configured != version.kind:
        what = "a Rekognition Custom Labels project" if configured == "rekognition" else f"a Comprehend {configured}"
        raise UnknownProject(
            f"{version.label} is a {version.kind} version, but the config's project {version.project!r} is {what}; "
            "promote a version of the configured kind, or fix the project's service and kind"
        )


def _require_verified_upstream(
    config: Config, upstream: str, parameter: str, version: ModelVersionArn, service: ModelService
) -> None:
    """The version is live in every account of the upstream environment, or was promoted there before."""
    accounts = environments.accounts_of(config, upstream)
    reader = config.target_roles.parameter_reader
    live = read_pointers(
        accounts, reader, parameter, config.workflow.max_concurrency, config.partition, service, version.project
    )
    if all(value == version.arn for value in live.values()):
        return
    if any(r.version == version.arn and r.status == "SUCCEEDED" for r in dynamodb.records(upstream)):
        return
    raise NotVerifiedUpstream(
        f"{version.label} is not live in {upstream} and was never promoted there successfully; promote it to "
        f"{upstream} first, or promote with force: true and a reason (the history records both)"
    )


def _require_rollback_alarms(config: Config, name: str, accounts: list[str]) -> None:
    """Every rollback alarm exists in every account of the environment: the bake reads a missing one
    as not in ALARM, so it would watch nothing there."""
    environment = config.environment(name)
    if not environment.rollback_alarms:
        return
    reader = config.target_roles.alarm_reader
    missing = for_each_account(
        accounts,
        lambda account: cloudwatch.missing_alarms(
            arns.role(config.partition, account, reader), environment.rollback_alarms
        ),
        config.workflow.max_concurrency,
    )
    gaps = [(alarm, account) for account, alarms in missing.items() for alarm in alarms]
    if gaps:
        alarm, account = gaps[0]
        more = f" ({len(gaps) - 1} more missing alarm(s) in {name}'s accounts)" if len(gaps) > 1 else ""
        raise RollbackAlarmNotFound(
            f"rollback alarm {alarm!r} does not exist in account {account}{more}: the bake would watch "
            f"nothing there. Create it in every account of {name}, or take it out of "
            f"environments.{name}.rollbackAlarms"
        )
