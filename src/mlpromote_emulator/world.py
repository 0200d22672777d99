"""The multi-account world of a scenario: seeded as a deployment would leave it, and read back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from mlpromote import arns, iam_model
from mlpromote.config import Config, SmokeTest
from mlpromote.errors import PromotionError
from mlpromote.grants import POLICY_NAME, GrantPolicy
from mlpromote.services import model_service
from mlpromote.versions import ModelVersionArn
from mlpromote_emulator import comprehend
from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.cfn import NO_VALUE, Stack
from mlpromote_emulator.iam_policy import aws_managed_policy
from mlpromote_emulator.scenario import Scenario, VersionSpec

PROJECT_CREATED = 1_700_000_000_000
STATE_MACHINE_ROLE = "mlpromote-state-machine"


def version_arn(config: Config, label: str, index: int = 0) -> str:
    project, version = label.split("/", 1)
    configured = config.projects.get(project)
    if configured is not None and configured.service == "comprehend":
        return arns.comprehend_model_version(
            config.partition, config.region, config.ml_account, configured.model_kind, project, version
        )
    created = PROJECT_CREATED + 1000 * (index + 1)
    return arns.rekognition_version(config.partition, config.region, config.ml_account, project, version, created)


def project_arn(config: Config, project: str, account: str | None = None) -> str:
    """The project in the ML account, or of that name in a target account (a copy environment's)."""
    return arns.rekognition_project(
        config.partition, config.region, account or config.ml_account, project, PROJECT_CREATED
    )


def copy_arn(config: Config, account: str, source_arn: str) -> str:
    """A copy a scenario seeds in a target account: the source's names, its own creation time (a Comprehend
    import: the source's names, in the account)."""
    source = ModelVersionArn.parse(source_arn)
    if source.service == "comprehend":
        head = source_arn.split(":", 5)
        return ":".join([*head[:4], account, head[5]])
    created = int(source_arn.rsplit("/", 1)[1]) + 500_000
    return arns.rekognition_version(config.partition, config.region, account, source.project, source.version, created)


def serving_arn(config: Config, label: str, arn: str) -> str:
    """What the applications call for the version: the version itself, or its Comprehend endpoint."""
    configured = config.projects.get(label.split("/", 1)[0])
    return model_service(configured.model_kind).serving_arn(arn) if configured is not None else arn


class WorldMap:
    """Names in the scenario (project/version) to ARNs and back."""

    def __init__(self, scenario: Scenario) -> None:
        config = scenario.config
        self.arn_of = {label: version_arn(config, label, i) for i, label in enumerate(scenario.world.versions)}
        self.label_of = {arn: label for label, arn in self.arn_of.items()}
        self.ml_account = config.ml_account
        # A Comprehend version's pointer and grant name its endpoint: read back as the version.
        self.serving_of = {label: serving_arn(config, label, arn) for label, arn in self.arn_of.items()}
        self.label_of.update({arn: label for label, arn in self.serving_of.items()})
        self._config = config

    def arn(self, label: str, config: Config) -> str:
        # A version the world does not have still gets a well-formed ARN: promoting it must fail cleanly.
        return self.arn_of.get(label) or version_arn(config, label, 999)

    def serving(self, label: str, config: Config) -> str:
        """What a pointer to the version holds."""
        return self.serving_of.get(label) or serving_arn(config, label, self.arn(label, config))

    def label(self, arn: str | None) -> str | None:
        if arn is None:
            return None
        if arn not in self.label_of and arn.startswith("arn:") and arn.split(":")[4] != self.ml_account:
            # A copy in a target account (strategy: copy) keeps its source's project and version names.
            try:
                return ModelVersionArn.parse(arn).label
            except PromotionError:
                return self._local_endpoint_label(arn) or arn
        return self.label_of.get(arn, arn)

    def _local_endpoint_label(self, arn: str) -> str | None:
        """A Comprehend copy's endpoint in a target account: the label of the version it is an import of."""
        account = arn.split(":")[4]
        for label, source in self.arn_of.items():
            if ModelVersionArn.parse(source).service == "comprehend":
                local = copy_arn(self._config, account, source)
                if serving_arn(self._config, label, local) == arn:
                    self.label_of[arn] = label
                    return label
        return None


def _in_account(account: str, region: str, service: str) -> Any:
    """A client acting in another account, as an administrator who deploys stacks there would: the admin
    role assumed once per account of the world (`seed` starts afresh), each service's client made once
    (a boto3 client takes tens of milliseconds to make, and a world may have a thousand accounts)."""
    if (account, region) not in _admins:
        if region not in _admin_sts:
            _admin_sts[region] = boto3.client("sts", region_name=region)
        credentials = _admin_sts[region].assume_role(
            RoleArn=arns.role(arns.partition_of(region), account, "OrganizationAccountAccessRole"),
            RoleSessionName="emulator-seed",
        )["Credentials"]
        _admins[(account, region)] = (credentials, {})
    credentials, clients = _admins[(account, region)]
    if service not in clients:
        clients[service] = boto3.client(
            service,
            region_name=region,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
    return clients[service]


# The admin role's credentials and clients in each (account, region), and STS, for the world being seeded.
_admins: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
_admin_sts: dict[str, Any] = {}


def _bucket_location(region: str) -> dict[str, Any]:
    """S3 creates a bucket in us-east-1 unless told otherwise, and refuses a request sent to another
    region without a matching LocationConstraint (IllegalLocationConstraintException); naming
    us-east-1 as the constraint is refused too (InvalidLocationConstraint)."""
    return {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}


def _create_role(
    iam: Any, name: str, trust: dict[str, Any], policy: dict[str, Any] | None = None, boundary: str | None = None
) -> str:
    extra = {"PermissionsBoundary": boundary} if boundary else {}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **extra)["Role"]["Arn"]
    if policy:
        iam.put_role_policy(RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(policy))
    return str(arn)


@dataclass
class IamStacks:
    """The stacks whose roles a deployment creates: template.yaml's in the ML account, the rendered
    access roles there, templates/target-account.yaml in each target account."""

    control: Stack
    access_roles: Stack
    targets: dict[str, Stack]
    # templates/organization-reader.yaml in the management account, with environments given as OUs.
    organization_reader: Stack | None = None
    # Filled by `deploy_roles`: role ARN -> the AWS managed policies attached to it (moto loads none).
    aws_managed: dict[str, list[tuple[str, dict[str, Any]]]] = field(default_factory=dict)


def deploy_roles(iam: Any, stack: Stack, aws_managed: dict[str, list[tuple[str, dict[str, Any]]]]) -> None:
    """Create a stack's managed policies and roles as CloudFormation would: trust, inline policies,
    attached policies, permissions boundary."""
    policies: dict[str, str] = {}
    for logical, resource in stack.resources.items():
        if resource["Type"] != "AWS::IAM::ManagedPolicy" or not stack.included(resource):
            continue
        properties = resource["Properties"]
        created = iam.create_policy(
            PolicyName=stack.resolve(properties.get("ManagedPolicyName", logical)),
            Path=properties.get("Path", "/"),
            PolicyDocument=json.dumps(stack.resolve(properties["PolicyDocument"])),
        )
        policies[logical] = created["Policy"]["Arn"]
    for logical, resource in stack.resources.items():
        if resource["Type"] != "AWS::IAM::Role" or not stack.included(resource):
            continue
        properties = resource["Properties"]
        extra = {"Path": properties["Path"]} if "Path" in properties else {}
        if "PermissionsBoundary" in properties:
            boundary = _policy_arn(stack, properties["PermissionsBoundary"], policies)
            if boundary is not None:
                extra["PermissionsBoundary"] = boundary
        role = iam.create_role(
            RoleName=stack.ref(logical),
            AssumeRolePolicyDocument=json.dumps(stack.resolve(properties["AssumeRolePolicyDocument"])),
            **extra,
        )["Role"]
        for policy in properties.get("Policies", []):
            iam.put_role_policy(
                RoleName=role["RoleName"],
                PolicyName=stack.resolve(policy["PolicyName"]),
                PolicyDocument=json.dumps(stack.resolve(policy["PolicyDocument"])),
            )
        for arn in properties.get("ManagedPolicyArns", []):
            resolved = _policy_arn(stack, arn, policies)
            if resolved is None:
                continue
            if resolved.split(":")[4] == "aws":
                name = resolved.rsplit("/", 1)[-1]
                aws_managed.setdefault(role["Arn"], []).append((name, aws_managed_policy(name)))
            else:
                iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=resolved)


def _policy_arn(stack: Stack, value: Any, created: dict[str, str]) -> str | None:
    """The ARN of a managed policy the template names (None: AWS::NoValue)."""
    if isinstance(value, dict) and value.get("Ref") in created:
        return created[value["Ref"]]
    resolved = stack.resolve(value)
    return None if resolved is NO_VALUE else str(resolved)


def seed(scenario: Scenario, names: WorldMap, stacks: IamStacks) -> None:
    config, world = scenario.config, scenario.world
    region = config.region
    _admins.clear()  # a new world: nobody has assumed anything in it yet
    _admin_sts.clear()
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    org_admin_trust = iam_model.trust_accounts(config.partition, [config.ml_account])

    # ML account: control-plane roles, access roles with the grants the live versions need, images, versions.
    iam = boto3.client("iam", region_name=region)
    deploy_roles(iam, stacks.control, stacks.aws_managed)
    _create_role(iam, STATE_MACHINE_ROLE, lambda_trust)
    deploy_roles(iam, stacks.access_roles, stacks.aws_managed)
    for environment in config.environments:
        name = config.access_role_name(environment)
        policy = GrantPolicy()
        for label in scenario.granted(environment):
            kind = (
                config.projects[label.split("/", 1)[0]].model_kind if label.split("/", 1)[0] in config.projects else ""
            )
            service = model_service(kind or "rekognition")
            policy.add(service.grant_statement(names.arn(label, config), ()))
        if policy.statements:
            iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy.document()))
    # The live grants existed long before the scenario starts.
    adapt.backdate_grants(config.ml_account, 86_400)

    s3 = boto3.client("s3", region_name=region)
    buckets: set[str] = set()
    for project in config.projects.values():
        if not isinstance(project.smoke_test, SmokeTest):
            continue  # a Comprehend project's smoke test sends texts
        for bucket, key in project.smoke_test.image_locations():
            if bucket not in buckets:
                s3.create_bucket(Bucket=bucket, **_bucket_location(region))
                buckets.add(bucket)
            s3.put_object(Bucket=bucket, Key=key, Body=b"\xff\xd8\xff\xe0 emulated smoke-test image")

    for label, spec in world.versions.items():
        project_name, version_name = label.split("/", 1)
        configured = config.projects.get(project_name)
        if configured is not None and configured.service == "comprehend":
            _seed_comprehend(scenario, names, label, spec)
            continue
        adapt.seed_custom_labels(
            config.ml_account,
            region,
            project_name,
            project_arn(config, project_name),
            adapt.CustomLabelsVersion(
                arn=names.arn(label, config),
                project=project_name,
                name=version_name,
                status=spec.status,
                labels=spec.label_confidences(),
                start_seconds=world.start_seconds,
                fails_on_start=label in world.start_fails,
                stop_seconds=world.stop_seconds,
                stopping_since=datetime.now(UTC) if spec.status == "STOPPING" else None,
                copy_seconds=world.copy_seconds,
            ),
        )

    seed_organization(scenario, stacks, org_admin_trust)

    # Target accounts: what templates/target-account.yaml creates, and the live pointers.
    deployed: set[str] = set()
    for environment in config.environments:
        for account in scenario.accounts_of(environment):
            _admin_role(account, region, org_admin_trust)
            if account not in deployed:
                deploy_roles(_in_account(account, region, "iam"), stacks.targets[account], stacks.aws_managed)
                deployed.add(account)
            for alarm in world.alarms:
                if alarm.account == account:
                    cloudwatch = _in_account(account, region, "cloudwatch")
                    cloudwatch.put_metric_alarm(
                        AlarmName=alarm.name,
                        MetricName="Errors",
                        Namespace="App",
                        Statistic="Sum",
                        Period=60,
                        EvaluationPeriods=1,
                        Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold",
                    )
                    cloudwatch.set_alarm_state(AlarmName=alarm.name, StateValue="OK", StateReason="seeded")
            # The bucket templates/target-account.yaml creates for CopyProjectVersion's output.
            _in_account(account, region, "s3").create_bucket(
                Bucket=arns.copy_output_bucket(account, region), **_bucket_location(region)
            )
            _seed_copies(scenario, names, environment, account)
            for project_name, pointed in scenario.pointers(environment, account).items():
                if pointed is None:
                    continue
                ssm = _in_account(account, region, "ssm")
                name = config.projects[project_name].parameter_name
                value = names.serving(pointed, config)
                if config.environments[environment].strategy == "copy":
                    # A copy environment points at the account's copy (a Comprehend copy: its endpoint).
                    value = serving_arn(config, pointed, copy_arn(config, account, names.arn(pointed, config)))
                put = ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
                ssm.label_parameter_version(Name=name, ParameterVersion=put["Version"], Labels=["current"])


def _seed_copies(scenario: Scenario, names: WorldMap, environment: str, account: str) -> None:
    """A copy environment's account: RUNNING copies of what it points at, and `world.copies`, made a day
    before the scenario starts (a compensation deletes only copies made after its promotion's lock)."""
    config, world = scenario.config, scenario.world
    made = datetime.now(UTC) - timedelta(days=1)
    for label, status in scenario.copies(environment, account).items():
        source = names.arn(label, config)
        project_name, version_name = label.split("/", 1)
        arn = copy_arn(config, account, source)
        names.label_of[arn] = label
        spec = world.versions[label]
        if config.projects[project_name].service == "comprehend":
            _seed_comprehend_copy(scenario, account, label, source, arn, status, made)
            continue
        adapt.seed_custom_labels(
            account,
            config.region,
            project_name,
            project_arn(config, project_name, account),
            adapt.CustomLabelsVersion(
                arn=arn,
                project=project_name,
                name=version_name,
                status=status,
                labels=spec.label_confidences(),
                start_seconds=world.start_seconds,
                stop_seconds=world.stop_seconds,
                copy_seconds=world.copy_seconds,
                copying_since=datetime.now(UTC) if status == "COPYING_IN_PROGRESS" else None,
                source_arn=source,
                created=made,
            ),
        )


# A seeded copy's status (scenario.CopyStatus, in Custom Labels' words) as a Comprehend import: the model's
# status, and the endpoint's if it has one.
_COMPREHEND_COPY = {
    "COPYING_IN_PROGRESS": ("SUBMITTED", None),
    "COPYING_COMPLETED": ("TRAINED", None),
    "COPYING_FAILED": ("IN_ERROR", None),
    "STOPPED": ("TRAINED", None),
    "RUNNING": ("TRAINED", "IN_SERVICE"),
    "FAILED": ("TRAINED", "FAILED"),
}


def _seed_comprehend_copy(
    scenario: Scenario, account: str, label: str, source: str, arn: str, status: str, made: datetime
) -> None:
    """A Comprehend import of `source` in a copy environment's account, with its endpoint if it runs."""
    config, world = scenario.config, scenario.world
    project_name, version_name = label.split("/", 1)
    project = config.projects[project_name]
    spec = world.versions[label]
    store = adapt.comprehend_store(account, config.region)
    store.create_seconds, store.delete_seconds = world.start_seconds, world.stop_seconds
    store.import_seconds = world.copy_seconds
    model_status, endpoint_status = _COMPREHEND_COPY[status]
    model = comprehend.Model(
        arn=arn,
        kind=project.model_kind,
        name=project_name,
        version=version_name,
        status=model_status,
        finds=dict(spec.classes or spec.entities),
        source_arn=source,
        submitted=made,
        ready_at=datetime.now(UTC) + timedelta(seconds=world.copy_seconds) if model_status == "SUBMITTED" else None,
    )
    endpoint = None
    if endpoint_status is not None:
        endpoint = comprehend.Endpoint(
            arn=serving_arn(config, label, arn),
            name=arns.comprehend_endpoint_name(arn),
            model_arn=arn,
            units=project.min_inference_units,
            create_seconds=world.start_seconds,
            delete_seconds=world.stop_seconds,
            status=endpoint_status,
        )
    adapt.seed_comprehend(account, config.region, model, endpoint)


def seed_organization(scenario: Scenario, stacks: IamStacks, org_admin_trust: dict[str, Any]) -> None:
    """The world's organization (world.organization), served by Organizations to the management account,
    whose reader role (templates/organization-reader.yaml) the config names."""
    config = scenario.config
    reader = config.organization_reader_role_arn
    if reader is None or stacks.organization_reader is None:
        return
    management = reader.split(":")[4]
    organization = config.organization_id or next(
        (config.organization_of(e) for e, env in config.environments.items() if env.by_organization), None
    )
    adapt.seed_organization(
        adapt.Organization(
            id=organization or "o-emulated000",
            management_account=management,
            units={unit: list(spec.accounts) for unit, spec in scenario.world.organization.items()},
            children={unit: list(spec.children) for unit, spec in scenario.world.organization.items()},
        )
    )
    if management != config.ml_account:
        _admin_role(management, config.region, org_admin_trust)
    iam = boto3.client("iam") if management == config.ml_account else _in_account(management, config.region, "iam")
    deploy_roles(iam, stacks.organization_reader, stacks.aws_managed)


def deploy_target_account(scenario: Scenario, stacks: IamStacks, account: str) -> None:
    """What templates/target-account.yaml creates in an account that joins an OU environment (the
    StackSet's automatic deployment does it on AWS)."""
    config = scenario.config
    _admin_role(account, config.region, iam_model.trust_accounts(config.partition, [config.ml_account]))
    deploy_roles(_in_account(account, config.region, "iam"), stacks.targets[account], stacks.aws_managed)
    # The bucket the template creates for CopyProjectVersion's output.
    _in_account(account, config.region, "s3").create_bucket(
        Bucket=arns.copy_output_bucket(account, config.region), **_bucket_location(config.region)
    )


def environment_accounts(scenario: Scenario, environment: str) -> list[str]:
    """The environment's accounts now: as listed, or those of its OUs in the emulated organization
    (accounts may have joined since the scenario started)."""
    env = scenario.config.environments[environment]
    if not env.by_organization:
        return list(env.accounts)
    return adapt.unit_accounts(env.organizational_units)


def _seed_comprehend(scenario: Scenario, names: WorldMap, label: str, spec: VersionSpec) -> None:
    """A Comprehend model version; IN_SERVICE: TRAINED, with its endpoint in service (created long ago)."""
    config, world = scenario.config, scenario.world
    project_name, version_name = label.split("/", 1)
    project = config.projects[project_name]
    arn = names.arn(label, config)
    store = adapt.comprehend_store(config.ml_account, config.region)
    store.create_seconds, store.delete_seconds = world.start_seconds, world.stop_seconds
    store.import_seconds = world.copy_seconds
    if label in world.start_fails:
        store.failing.add(arn)
    model = comprehend.Model(
        arn=arn,
        kind=project.model_kind,
        name=project_name,
        version=version_name,
        status="TRAINED" if spec.status == "IN_SERVICE" else spec.status,
        finds=dict(spec.classes or spec.entities),
    )
    endpoint = None
    if spec.status == "IN_SERVICE":
        endpoint = comprehend.Endpoint(
            arn=names.serving(label, config),
            name=arns.comprehend_endpoint_name(arn),
            model_arn=arn,
            units=project.min_inference_units,
            create_seconds=world.start_seconds,
            delete_seconds=world.stop_seconds,
            status="IN_SERVICE",
        )
    adapt.seed_comprehend(config.ml_account, config.region, model, endpoint)


def schedule_alarms(scenario: Scenario) -> None:
    """Raise each alarm with an `alarmAt` that many simulated seconds from now."""
    start = datetime.now(UTC)
    region = scenario.config.region
    for alarm in scenario.world.alarms:
        if alarm.alarm_at is None:
            continue

        def raise_alarm(account: str = alarm.account, name: str = alarm.name) -> None:
            adapt.set_alarm_state(account, region, name, "ALARM", "raised by the scenario (world.alarms.alarmAt)")

        adapt.hooks.scheduled.append((start + timedelta(seconds=alarm.alarm_at), raise_alarm))


def _admin_role(account: str, region: str, trust: dict[str, Any]) -> None:
    """The organization's admin role, which the emulator uses to deploy into a target account."""
    adapt.ensure_role(account, arns.partition_of(region), "OrganizationAccountAccessRole", trust)


def observe(scenario: Scenario, names: WorldMap) -> dict[str, Any]:
    """The world as the report shows it: pointers, grants and version states, by scenario name."""
    config = scenario.config
    parameters: dict[str, dict[str, dict[str, str | None]]] = {}
    copies: dict[str, dict[str, str]] = {}
    for environment, env in config.environments.items():
        if env.strategy == "copy":
            for account in environment_accounts(scenario, environment):
                found = adapt.custom_labels_versions(account, config.region)
                for version in found.values():
                    if version.source_arn:
                        names.label_of.setdefault(version.arn, str(names.label(version.source_arn)))
                copies[account] = {
                    str(names.label(v.source_arn)): v.current_status()
                    for v in sorted(found.values(), key=lambda v: v.arn)
                    if v.source_arn
                }
                if any(project.service == "comprehend" for project in config.projects.values()):
                    # A Comprehend import: its endpoint's status while it has one (IN_SERVICE, CREATING,
                    # DELETING, FAILED), else its model's (TRAINED; SUBMITTED while importing).
                    store = adapt.comprehend_store(account, config.region)
                    endpoints = {e.model_arn: e.current_status() for e in store.list_endpoints(None, None)}
                    for arn, model in sorted(store.models.items()):
                        if model.source_arn:
                            copies[account][str(names.label(model.source_arn))] = endpoints.get(
                                arn, model.current_status()
                            )
        for project_name, project in config.projects.items():
            per_account: dict[str, str | None] = {}
            for account in environment_accounts(scenario, environment):
                per_account[account] = names.label(
                    adapt.parameter_value(account, config.region, project.parameter_name)
                )
            parameters.setdefault(environment, {})[project_name] = per_account
    grants: dict[str, list[str]] = {}
    for environment in config.environments:
        document = adapt.inline_policy(
            config.ml_account, config.partition, config.access_role_name(environment), POLICY_NAME
        )
        granted = GrantPolicy.from_document(document).granted_versions()
        grants[environment] = sorted(str(names.label(arn)) for arn in granted)
    versions = {
        str(names.label(arn)): version.current_status()
        for arn, version in adapt.custom_labels_versions(config.ml_account, config.region).items()
    }
    if any(project.service == "comprehend" for project in config.projects.values()):
        # A Comprehend version is IN_SERVICE while an endpoint serves it, else its model's status (TRAINED).
        store = adapt.comprehend_store(config.ml_account, config.region)
        serving = {e.model_arn for e in store.list_endpoints(None, "IN_SERVICE")}
        for arn, model in store.models.items():
            versions[str(names.label(arn))] = "IN_SERVICE" if arn in serving else model.current_status()
    world = {"parameters": parameters, "grants": grants, "versions": dict(sorted(versions.items()))}
    if any(env.strategy == "copy" for env in config.environments.values()):
        # "project/version" -> status of each copy in each account of a copy environment.
        world["copies"] = copies
    return world
