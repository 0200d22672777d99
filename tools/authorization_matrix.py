"""The authorization matrix: who may do what, by any chain of roles, in a sample deployment.

    .venv/bin/python tools/authorization_matrix.py           # print the matrix (Markdown)
    .venv/bin/python tools/authorization_matrix.py --write   # regenerate docs/security.md's "## Authorization matrix"
    .venv/bin/python tools/authorization_matrix.py --check   # exit 1 when that section is out of date

Every policy comes from where a deployment gets it, never copied by hand: the control plane's
roles from template.yaml, the target-account roles from templates/target-account.yaml (one copy
per target account), the access roles from templates/access-roles.yaml (rendered from the config
by tools/render_access_roles.py), their `mlpromote-grants` policy as the workflow's own
`phases.access.grant_access` and the retirement's revoke write it (against moto's IAM), AWS managed
policies from moto's copy of them, and the SCPs in policies/scp/. !Ref, !Sub and !GetAtt are
resolved for a sample deployment of config/mlpromote.yaml's accounts.

Each cell asks: can this principal, assuming any chain of roles the policies allow (up to
MAX_HOPS), make this call? Every hop is an sts:AssumeRole evaluated as AWS does, the role's trust
policy as the resource policy with the caller's identity policy (both needed across accounts,
the trust alone being enough only when it names the caller itself in the same account), and the
caller's account's SCPs; the last call is evaluated with the last role's policies. Evaluation is
principalmapper's local policy simulation (`local_check_authorization_full`).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO / "layers") not in sys.path:
    sys.path.insert(0, str(REPO / "layers"))

from mlpromote import arns  # noqa: E402
from mlpromote.config import ORGANIZATION_READER_ROLE_NAME, Config, load_config, parse_config  # noqa: E402
from mlpromote_emulator import iam_policy  # noqa: E402
from mlpromote_emulator.cfn import STACK_NAME, Stack, load_template, load_template_text  # noqa: E402
from mlpromote_emulator.iam_policy import (  # noqa: E402
    EMPTY_RESOURCE_POLICY,
    Role,
    aws_managed_policy,
    template_roles,
)

CONFIG_FILE = REPO / "config" / "mlpromote.yaml"
CONTROL_PLANE_TEMPLATE = REPO / "template.yaml"
TARGET_TEMPLATE = REPO / "templates" / "target-account.yaml"
ORGANIZATION_READER_TEMPLATE = REPO / "templates" / "organization-reader.yaml"
ACCESS_ROLES_TEMPLATE = REPO / "templates" / "access-roles.yaml"
SCP_DIR = REPO / "policies" / "scp"
DOC = REPO / "docs" / "security.md"
SECTION = "## Authorization matrix"

MAX_HOPS = 3
# The sample organization: the ML account, every target account and OUTSIDER are members.
SAMPLE_ORG = "o-mlpromote0sample"
OUTSIDER = "999999999999"  # an account of the organization that is in no environment
MANAGEMENT = "101010101010"  # the organization's management account: templates/organization-reader.yaml
# Private connectivity in the hardened sample: the consumers' interface endpoint, and the one the
# smoke test calls through (the config must list both: docs/security.md).
CONSUMER_ENDPOINT = "vpce-0a1b2c3d4e5f60001"
SMOKE_TEST_ENDPOINT = "vpce-0a1b2c3d4e5f60002"
OTHER_ENDPOINT = "vpce-0f0f0f0f0f0f0f0ff"
CONSUMER_ROLE = "vision-app"  # the consumer role the hardened sample lists in consumerRoleArns


# --- the world: principals, their policies, the SCPs ----------------------------------------------


def sampled(roles: list[Role]) -> list[Role]:
    """The template's roles as principals of the sample organization."""
    return [replace(role, org=SAMPLE_ORG) for role in roles]


ADMIN_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def admin(account: str, name: str = "admin", label: str = "", org: str = SAMPLE_ORG) -> Role:
    """A principal that its own account allows everything (AdministratorAccess): the worst case."""
    return Role(
        arn=f"arn:aws:iam::{account}:role/{name}",
        trust=ADMIN_TRUST,
        policies=[("AdministratorAccess", aws_managed_policy("AdministratorAccess"))],
        org=org,
        label=label or f"{name}@{account}",
    )


@dataclass(frozen=True)
class Story:
    """What the workflow did before the matrix is taken: each environment moved from `previous` to `current`."""

    project: str
    project_arn: str
    versions: dict[str, str]  # "v1" -> version ARN
    previous: dict[str, str]  # environment -> "vN"
    current: dict[str, str]
    never_promoted: str  # "vN" that no environment was ever granted


def story(config: Config) -> Story:
    """Environments in config order; the first (qa) moves v2 -> v3, the next (prod) v1 -> v2, and so on:
    each environment's previous version is the current one of the environment after it, and the last
    version is never promoted anywhere."""
    project = sorted(config.projects)[0]
    region, ml = config.region, config.ml_account
    environments = list(config.environments)
    count = len(environments)
    versions = {
        f"v{n}": f"arn:aws:rekognition:{region}:{ml}:project/{project}/version/v{n}/17000000{n:02d}000"
        for n in range(1, count + 3)
    }
    return Story(
        project=project,
        project_arn=f"arn:aws:rekognition:{region}:{ml}:project/{project}/1700000000000",
        versions=versions,
        previous={env: f"v{count - k}" for k, env in enumerate(environments)},
        current={env: f"v{count + 1 - k}" for k, env in enumerate(environments)},
        never_promoted=f"v{count + 2}",
    )


@dataclass
class World:
    """A sample deployment: every role that can be assumed, the principals the matrix starts from,
    the SCPs per account, and the story of promotions behind the grants."""

    name: str
    config: Config
    story: Story
    roles: dict[str, Role]  # ARN -> role; what a chain of AssumeRole can reach
    scps: dict[str, list[tuple[str, dict[str, Any]]]]  # account -> SCPs that apply to its principals
    bucket_owners: dict[str, str]
    functions: dict[str, str] = field(default_factory=dict)  # template.yaml's functions: logical id -> ARN
    _reach: dict[Any, list[tuple[Role, tuple[Role, ...]]]] = field(default_factory=dict, repr=False)

    # -- names

    @property
    def ml(self) -> str:
        return self.config.ml_account

    def version(self, label: str) -> str:
        return self.story.versions[label]

    def current(self, environment: str) -> str:
        return self.version(self.story.current[environment])

    def access_role(self, environment: str) -> Role:
        return self.roles[self.config.access_role_arn(environment)]

    def control_role(self, short: str) -> Role:
        return self.roles[f"arn:aws:iam::{self.ml}:role/mlpromote-control-{short}"]

    def target_role(self, account: str, name: str) -> Role:
        return self.roles[f"arn:aws:iam::{account}:role/{name}"]

    def control_plane_roles(self) -> list[Role]:
        prefix = f"arn:aws:iam::{self.ml}:role/mlpromote-control-"
        return [role for arn, role in self.roles.items() if arn.startswith(prefix)]

    def parameter_arn(self, account: str) -> str:
        name = self.config.project(self.story.project).parameter_name.lstrip("/")
        return f"arn:aws:ssm:{self.config.region}:{account}:parameter/{name}"

    # -- variations, for the mutation tests

    def with_role(self, arn: str, **changes: Any) -> World:
        """This world with one role changed (trust=..., policies=...)."""
        roles = dict(self.roles)
        roles[arn] = replace(roles[arn], **changes)
        return replace(self, roles=roles, _reach={})

    def with_policy(self, arn: str, name: str, document: dict[str, Any] | None) -> World:
        """This world with one of a role's policies replaced (None: removed)."""
        role = self.roles[arn]
        policies = [(n, d) for n, d in role.policies if n != name]
        if document is not None:
            policies.append((name, document))
        return self.with_role(arn, policies=policies)

    def with_scps(self, scps: dict[str, list[tuple[str, dict[str, Any]]]]) -> World:
        return replace(self, scps=scps, _reach={})

    # -- evaluation

    def owner(self, resource: str) -> str | None:
        parts = resource.split(":")
        if len(parts) < 6:
            return None
        if parts[2] == "s3":
            return self.bucket_owners.get(parts[5].split("/", 1)[0])
        return parts[4] or None

    def allowed(self, role: Role, action: str, resource: str, context: Mapping[str, Any]) -> bool:
        """One request by `role`, evaluated as AWS does (mlpromote_emulator.iam_policy)."""
        owner = self.owner(resource)
        resource_policy: dict[str, Any] | None = None
        if action.lower() == "sts:assumerole" and resource in self.roles:
            resource_policy = self.roles[resource].trust
        elif owner and owner != role.account:
            # Rekognition, SSM, IAM, DynamoDB, ... have no resource policy here: across accounts, no access.
            resource_policy = EMPTY_RESOURCE_POLICY
        target = self.roles.get(resource)
        if action.lower() in BOUNDARY_KEYED_ACTIONS and target is not None and target.boundary:
            # IAM puts the target role's permissions boundary in the request (iam:PermissionsBoundary).
            context = {"iam:PermissionsBoundary": target.boundary[0], **context}
        return iam_policy.allowed(role, action, resource, context, resource_policy, owner, self.scps.get(role.account))

    def reachable(self, start: Role, assume_context: Mapping[str, Any]) -> list[tuple[Role, tuple[Role, ...]]]:
        """Every role `start` can become through a chain of sts:AssumeRole, shortest chain first."""
        key = (start.arn, start.label, start.org, tuple(sorted(assume_context.items())))
        if key in self._reach:
            return self._reach[key]
        order: list[tuple[Role, tuple[Role, ...]]] = [(start, ())]
        seen = {start.arn}
        queue = deque(order)
        while queue:
            role, path = queue.popleft()
            if len(path) >= MAX_HOPS:
                continue
            for target in self.roles.values():
                if target.arn in seen:
                    continue
                if self.allowed(role, "sts:AssumeRole", target.arn, assume_context):
                    seen.add(target.arn)
                    entry = (target, (*path, target))
                    order.append(entry)
                    queue.append(entry)
        self._reach[key] = order
        return order

    def evaluate(self, who: Role, request: Request) -> Verdict:
        """Allowed if any role `who` can reach may make the request; the shortest such chain."""
        for role, path in self.reachable(who, request.assume_context):
            if self.allowed(role, request.action, request.resource, request.context):
                return Verdict(True, tuple(r.label or r.name for r in path))
        return Verdict(False, ())


@dataclass(frozen=True)
class Request:
    action: str
    resource: str
    # The request context of the last call (e.g. aws:SourceVpce), and of every AssumeRole on the way
    # (e.g. sts:ExternalId).
    context: Mapping[str, Any] = field(default_factory=dict)
    assume_context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    path: tuple[str, ...]  # for an allow: the roles assumed on the way, in order


# --- building the world from the real sources -------------------------------------------------


def _access_roles_template(config: Config, deployed: bool) -> dict[str, Any]:
    """The committed templates/access-roles.yaml for the deployed config; rendered for any other."""
    if deployed:
        return load_template(ACCESS_ROLES_TEMPLATE)
    sys.path.insert(0, str(REPO / "tools"))
    try:
        import render_access_roles
    finally:
        sys.path.remove(str(REPO / "tools"))
    return load_template_text(render_access_roles.render(config, "the authorization matrix's sample"))


def _grants_as_the_workflow_writes_them(config: Config, access_roles: list[Role], plot: Story) -> list[Role]:
    """Create the access roles in moto's IAM, run the workflow's own grant step for each environment's
    previous and current version and the retirement's revoke of the previous one, and read the roles back."""
    import boto3
    from moto import mock_aws

    from mlpromote.aws import iam as iam_adapter
    from mlpromote.aws import sessions
    from mlpromote.grants import GrantPolicy
    from mlpromote.phases.access import grant_access

    names = {role.name: role for role in access_roles}
    sessions.reset()
    try:
        with mock_aws():
            iam = boto3.client("iam", region_name=config.region)
            for role in access_roles:
                iam.create_role(RoleName=role.name, AssumeRolePolicyDocument=json.dumps(role.trust))
                for name, document in role.policies:
                    iam.put_role_policy(RoleName=role.name, PolicyName=name, PolicyDocument=json.dumps(document))
            for environment in config.environments:
                role_name = config.access_role_name(environment)
                for label in (plot.previous[environment], plot.current[environment]):
                    grant_access(_plan(config, environment, plot.versions[label]))
                # What the retirement (and the compensation) does to the superseded version's grant.
                superseded = plot.versions[plot.previous[environment]]
                iam_adapter.update_grants(role_name, functools.partial(GrantPolicy.revoke, version_arn=superseded))
            out = []
            for name, role in names.items():
                written = [
                    (policy, _document(iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]))
                    for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]
                ]
                trust = _document(iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"])
                out.append(replace(role, trust=trust, policies=written))
            return out
    finally:
        sessions.reset()


def _plan(config: Config, environment: str, version_arn: str) -> Any:
    """The plan `validate_and_plan` makes, as far as the grant step reads it: the plan's fields that
    the environment's config sets are taken from it by name (vpcEndpointIds, ...)."""
    from mlpromote.plan import PromotionPlan

    env = config.environment(environment)
    values: dict[str, Any] = {
        name: getattr(env, name) for name in PromotionPlan.model_fields if name in type(env).model_fields
    }
    values.update(
        environment=environment,
        version_arn=version_arn,
        ml_account=config.ml_account,
        region=config.region,
        access_role_name=config.access_role_name(environment),
    )
    return PromotionPlan.model_construct(**values)


def _document(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        from urllib.parse import unquote

        return dict(json.loads(unquote(value)))
    return dict(value)


def load_scps(config: Config) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    return iam_policy.load_scps(config, SCP_DIR)


def build_world(
    name: str, config: Config, deployed: bool, scps: bool = True, parameters: Mapping[str, str] | None = None
) -> World:
    """The sample deployment of `config`; `parameters` for template.yaml (else its defaults)."""
    region, ml = config.region, config.ml_account
    plot = story(config)
    control = Stack(load_template(CONTROL_PLANE_TEMPLATE), ml, region, parameters=dict(parameters or {}))
    access = Stack(_access_roles_template(config, deployed), ml, region, name=f"{STACK_NAME}-AccessRoles")
    roles: dict[str, Role] = {}
    for role in sampled(template_roles(control)):
        roles[role.arn] = role
    for role in _grants_as_the_workflow_writes_them(config, sampled(template_roles(access)), plot):
        roles[role.arn] = role
    target_template = load_template(TARGET_TEMPLATE)
    for environment, env in config.environments.items():
        for account in env.accounts:
            stack = Stack(target_template, account, region, name="mlpromote-target", parameters={"MlAccountId": ml})
            for role in sampled(template_roles(stack)):
                roles[role.arn] = role
            consumer = admin(account, label=f"admin@{account} ({environment})")
            roles[consumer.arn] = consumer
            for arn in env.consumer_role_arns:
                if arn.split(":")[4] == account and "*" not in arn and "?" not in arn:
                    roles[arn] = admin(account, arn.rsplit("/", 1)[-1], label=f"{arn.rsplit('/', 1)[-1]}@{account}")
    reader = Stack(
        load_template(ORGANIZATION_READER_TEMPLATE),
        MANAGEMENT,
        region,
        name="mlpromote-organization-reader",
        parameters={"MlAccountId": ml},
    )
    for role in sampled(template_roles(reader)):
        roles[role.arn] = role
    for role in (admin(ml, label=f"admin@{ml} (ML)"), admin(OUTSIDER, label=f"admin@{OUTSIDER} (no environment)")):
        roles[role.arn] = role
    for arn, role in list(roles.items()):
        if not role.label:
            roles[arn] = replace(role, label=_label(role, ml))
    buckets = {bucket: ml for project in config.projects.values() for bucket, _ in project.smoke_test.image_locations()}
    return World(
        name=name,
        config=config,
        story=plot,
        roles=roles,
        scps=load_scps(config) if scps else {},
        bucket_owners=buckets,
        functions={
            logical: control.get_att(logical, "Arn")
            for logical, resource in control.resources.items()
            if resource["Type"] == "AWS::Serverless::Function"
        },
    )


def _label(role: Role, ml: str) -> str:
    if role.account == ml:
        return role.name.removeprefix("mlpromote-control-")
    return f"{role.name.removeprefix('mlpromote-')}@{role.account}"


def hardened_config(config: Config) -> Config:
    """The deployed config with every hardening option on: consumerRoleArns, organizationId,
    externalId and vpcEndpointIds."""
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    data["organizationId"] = SAMPLE_ORG
    for name, env in data["environments"].items():
        env["consumerRoleArns"] = [f"arn:aws:iam::{account}:role/{CONSUMER_ROLE}" for account in env["accounts"]]
        env["externalId"] = f"mlpromote-{name}-sample"
        env["vpcEndpointIds"] = [CONSUMER_ENDPOINT, SMOKE_TEST_ENDPOINT]
    return parse_config(data, source="the authorization matrix's hardened sample")


@functools.cache
def deployed_world() -> World:
    return build_world("deployed", load_config(CONFIG_FILE), deployed=True)


@functools.cache
def hardened_world() -> World:
    # The smoke test runs in a VPC of the ML account, calling through SMOKE_TEST_ENDPOINT.
    parameters = {"SmokeTestSubnetIds": "subnet-0a1b2c3d4e5f60001", "SmokeTestSecurityGroupIds": "sg-0a1b2c3d4e5f60001"}
    return build_world("hardened", hardened_config(load_config(CONFIG_FILE)), deployed=False, parameters=parameters)


# --- the cells ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    table: str
    what: str  # the row
    who: str  # the column: a principal's label
    principal: Role
    request: Request
    expected: bool
    # Why the expectation; for an allow the matrix reports as over-broad, the finding.
    note: str = ""
    finding: str = ""
    key: str = ""  # the capability's key, in the control-plane table


@dataclass(frozen=True)
class Result:
    cell: Cell
    verdict: Verdict

    @property
    def ok(self) -> bool:
        return self.verdict.allowed == self.cell.expected


CONSUMERS = "Consumers and target-account roles"
SMOKE_TEST_IMAGES_FINDING = (
    "the access role may read the smoke-test images (DetectCustomLabels reads an S3 image with the caller's "
    "permissions, and the smoke test calls through the access role), and the consumers share that role"
)
CONTROL_PLANE = "Control plane"
HARDENED = "Hardened trust and private connectivity"


def consumer_cells(world: World) -> list[Cell]:
    """For each environment: its consumers may call its current version and nothing else."""
    config, plot, ml = world.config, world.story, world.ml
    scp = bool(world.scps)
    columns: list[tuple[Role, str | None]] = []  # (principal, its environment)
    for environment, env in config.environments.items():
        for account in env.accounts:
            columns.append((world.roles[f"arn:aws:iam::{account}:role/admin"], environment))
        first = env.accounts[0]
        for target_role in type(config.target_roles).model_fields:
            columns.append((world.target_role(first, getattr(config.target_roles, target_role)), environment))
    columns.append((world.roles[f"arn:aws:iam::{OUTSIDER}:role/admin"], None))

    cells: list[Cell] = []
    for who, home in columns:
        is_admin = who.name == "admin"
        is_smoke = who.name == config.target_roles.smoke_test
        is_reader = who.name == config.target_roles.parameter_reader
        is_writer = who.name == config.target_roles.parameter_writer
        is_alarm_reader = who.name == config.target_roles.alarm_reader
        is_copier = who.name == config.target_roles.model_copier
        is_model_reader = who.name == config.target_roles.model_reader
        is_retirer = who.name == config.target_roles.model_retirer

        def cell(
            what: str, request: Request, expected: bool, note: str = "", finding: str = "", who: Role = who
        ) -> None:
            cells.append(Cell(CONSUMERS, what, who.label, who, request, expected, note, finding))

        for environment in config.environments:
            label = plot.current[environment]
            cell(
                f"call {environment}'s version ({plot.project}/{label})",
                Request("rekognition:DetectCustomLabels", world.current(environment)),
                home == environment and (is_admin or is_smoke),
                "through the environment's access role",
            )
        superseded = sorted({plot.previous[e] for e in config.environments} - set(plot.current.values()))
        for label in [*superseded, plot.never_promoted]:
            kind = "a superseded" if label in superseded else "a never-promoted"
            cell(
                f"call {kind} version ({plot.project}/{label})",
                Request("rekognition:DetectCustomLabels", world.version(label)),
                False,
            )
        for environment in config.environments:
            cell(
                f"assume {environment}'s access role",
                Request("sts:AssumeRole", config.access_role_arn(environment)),
                home == environment and (is_admin or is_smoke),
            )
        images = sorted(
            f"arn:aws:s3:::{bucket}/{key}"
            for project in config.projects.values()
            for bucket, key in project.smoke_test.image_locations()
        )
        cell(
            "read the smoke-test images",
            Request("s3:GetObject", images[0]),
            home is not None and (is_admin or is_smoke),
            "the smoke test's job" if is_smoke else "",
            SMOKE_TEST_IMAGES_FINDING if is_admin and home is not None else "",
        )
        # Its own environment's version: the one its access role is granted.
        own = world.current(home or list(config.environments)[-1])
        never = world.version(plot.never_promoted)
        cell("start a version", Request("rekognition:StartProjectVersion", never), False)
        cell("stop its version", Request("rekognition:StopProjectVersion", own), False)
        cell("delete its version", Request("rekognition:DeleteProjectVersion", own), False)
        for environment in config.environments:
            cell(
                f"change {environment}'s grants",
                Request("iam:PutRolePolicy", config.access_role_arn(environment)),
                False,
            )
        cell(
            "assume a control-plane role",
            Request("sts:AssumeRole", f"arn:aws:iam::{ml}:role/mlpromote-control-grant-access"),
            False,
        )
        if home is not None:
            # Copy environments (strategy: copy): a copy in the account, run by mlpromote's copy roles only.
            local = f"arn:aws:rekognition:{config.region}:{who.account}:project/{plot.project}"
            copy = f"{local}/version/{plot.never_promoted}/1700000009000"
            cell(
                "find the copies in its account",
                Request("rekognition:DescribeProjectVersions", f"{local}/1700000000000"),
                is_admin or is_copier or is_model_reader or is_retirer or is_smoke,
                "its job" if is_copier or is_model_reader or is_retirer or is_smoke else "",
            )
            cell(
                "copy the ML account's version into its account",
                Request("rekognition:CopyProjectVersion", world.version(plot.never_promoted)),
                False,
                # At rest no project policy exists: the model phase writes one for the copy's time.
                "its job, only while the source project's policy allows it (during a copy)" if is_copier else "",
            )
            for action, what, job in (
                ("StartProjectVersion", "start a copy in its account", is_copier),
                ("StopProjectVersion", "stop a copy in its account", is_retirer),
                ("DeleteProjectVersion", "delete a copy in its account", is_retirer),
            ):
                if job:
                    cell(what, Request(f"rekognition:{action}", copy), True, "its job")
                elif is_admin:
                    cell(
                        what,
                        Request(f"rekognition:{action}", copy),
                        not scp,
                        "the account's own admin: only an SCP stops it" if not scp else "denied by the SCPs",
                    )
                else:
                    cell(what, Request(f"rekognition:{action}", copy), False)
            cell(
                "call a copy in its account",
                Request("rekognition:DetectCustomLabels", copy),
                is_admin or is_smoke,
                "the smoke test's job (copy environments)" if is_smoke else "",
            )
            pointer = world.parameter_arn(who.account)
            alarms = f"arn:aws:cloudwatch:{config.region}:{who.account}:alarm:HighErrorRate"
            # The applications read their pointer; of mlpromote's roles, only the pointer roles may.
            cell(
                "read its account's pointer",
                Request("ssm:GetParameter", pointer),
                is_admin or is_reader or is_writer,
                "its job" if is_reader or is_writer else "",
            )
            cell(
                "read its account's alarms",
                Request("cloudwatch:DescribeAlarms", alarms),
                is_admin or is_alarm_reader,
                "its job" if is_alarm_reader else "",
            )
            if is_writer:
                cell("write its account's pointer", Request("ssm:PutParameter", pointer), True, "its job")
            elif is_admin:
                cell(
                    "write its account's pointer",
                    Request("ssm:PutParameter", pointer),
                    not scp,
                    "the account's own admin: only an SCP stops it" if not scp else "denied by the SCPs",
                )
            else:
                cell("write its account's pointer", Request("ssm:PutParameter", pointer), False)
    return cells


@dataclass(frozen=True)
class Capability:
    key: str
    label: str
    request: Request


def capabilities(world: World) -> list[Capability]:
    config, ml, region = world.config, world.ml, world.config.region
    environments = list(config.environments)
    prod = environments[-1]
    account = config.environment(prod).accounts[0]
    table = f"arn:aws:dynamodb:{region}:{ml}:table/mlpromote-promotions"
    machine = f"arn:aws:states:{region}:{ml}:stateMachine:mlpromote-promote-model"
    comprehend_model = arns.comprehend_model_version("aws", region, ml, "document-classifier", "tickets", "v1")
    comprehend_endpoint = arns.comprehend_endpoint(comprehend_model)
    return [
        Capability("find-projects", "find projects", Request("rekognition:DescribeProjects", "*")),
        Capability(
            "describe",
            "describe versions",
            Request("rekognition:DescribeProjectVersions", world.story.project_arn),
        ),
        Capability(
            "start",
            "start a version",
            Request("rekognition:StartProjectVersion", world.version(world.story.never_promoted)),
        ),
        Capability("stop", "stop a version", Request("rekognition:StopProjectVersion", world.current(prod))),
        Capability("delete", "delete a version", Request("rekognition:DeleteProjectVersion", world.current(prod))),
        Capability("call", f"call {prod}'s version", Request("rekognition:DetectCustomLabels", world.current(prod))),
        # Comprehend custom models: a sample classifier version of the ML account and the endpoint mlpromote
        # would create for it (mlpromote.arns.comprehend_endpoint).
        Capability("list-comprehend", "list Comprehend models", Request("comprehend:ListDocumentClassifiers", "*")),
        Capability(
            "describe-comprehend",
            "describe a Comprehend model",
            Request("comprehend:DescribeDocumentClassifier", comprehend_model),
        ),
        Capability(
            "describe-endpoint", "describe an endpoint", Request("comprehend:DescribeEndpoint", comprehend_endpoint)
        ),
        Capability("create-endpoint", "create an endpoint", Request("comprehend:CreateEndpoint", comprehend_endpoint)),
        Capability("delete-endpoint", "delete an endpoint", Request("comprehend:DeleteEndpoint", comprehend_endpoint)),
        Capability("read-grants", "read grants", Request("iam:GetRolePolicy", config.access_role_arn(prod))),
        Capability("grants", "write grants", Request("iam:PutRolePolicy", config.access_role_arn(prod))),
        Capability(
            "attach",
            "attach a managed policy to an access role",
            Request("iam:AttachRolePolicy", config.access_role_arn(prod)),
        ),
        Capability(
            "other-roles",
            "change a control-plane role's policy",
            Request("iam:PutRolePolicy", f"arn:aws:iam::{ml}:role/mlpromote-control-plan"),
        ),
        Capability("create-role", "create a role", Request("iam:CreateRole", f"arn:aws:iam::{ml}:role/anything")),
        Capability(
            "assume-access", f"assume {prod}'s access role", Request("sts:AssumeRole", config.access_role_arn(prod))
        ),
        Capability(
            "assume-smoke",
            "assume a target smoke-test role",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.smoke_test}"),
        ),
        Capability(
            "assume-reader",
            "assume a target parameter reader",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.parameter_reader}"),
        ),
        Capability(
            "assume-writer",
            "assume a target parameter writer",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.parameter_writer}"),
        ),
        Capability(
            "assume-alarm-reader",
            "assume a target alarm reader",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.alarm_reader}"),
        ),
        Capability(
            "assume-copier",
            "assume a target model copier",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.model_copier}"),
        ),
        Capability(
            "assume-model-reader",
            "assume a target model reader",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.model_reader}"),
        ),
        Capability(
            "assume-retirer",
            "assume a target model retirer",
            Request("sts:AssumeRole", f"arn:aws:iam::{account}:role/{config.target_roles.model_retirer}"),
        ),
        Capability(
            "share-for-copy",
            "let accounts copy a version (project policy)",
            Request("rekognition:PutProjectPolicy", world.story.project_arn),
        ),
        Capability(
            "unshare",
            "take a project policy back",
            Request("rekognition:DeleteProjectPolicy", world.story.project_arn),
        ),
        Capability(
            "assume-org-reader",
            "assume the organization reader",
            Request("sts:AssumeRole", f"arn:aws:iam::{MANAGEMENT}:role/{ORGANIZATION_READER_ROLE_NAME}"),
        ),
        Capability(
            "list-ous",
            "list an OU's accounts",
            Request("organizations:ListAccountsForParent", "*"),
        ),
        Capability("read-pointer", "read a pointer", Request("ssm:GetParameter", world.parameter_arn(account))),
        Capability("write-pointer", "write a pointer", Request("ssm:PutParameter", world.parameter_arn(account))),
        Capability(
            "read-alarms",
            "read a target account's alarms",
            Request("cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:{region}:{account}:alarm:HighErrorRate"),
        ),
        Capability(
            "lock",
            f"take {prod}'s lock",
            Request("dynamodb:PutItem", table, {"dynamodb:LeadingKeys": [f"LOCK#{prod}"]}),
        ),
        Capability(
            "lease",
            "lease a version",
            Request("dynamodb:UpdateItem", table, {"dynamodb:LeadingKeys": ["LEASE#sample"]}),
        ),
        Capability(
            "history",
            f"read {prod}'s history",
            Request("dynamodb:Query", table, {"dynamodb:LeadingKeys": [f"ENV#{prod}"]}),
        ),
        Capability(
            "approval",
            "write an approval item",
            Request("dynamodb:PutItem", table, {"dynamodb:LeadingKeys": ["APPROVAL#sample"]}),
        ),
        Capability("start-promotion", "start a promotion", Request("states:StartExecution", machine)),
        Capability(
            "read-execution",
            "read an execution",
            Request("states:DescribeExecution", f"arn:aws:states:{region}:{ml}:execution:mlpromote-promote-model:x"),
        ),
        Capability(
            "announce",
            "put events on the default bus",
            Request("events:PutEvents", f"arn:aws:events:{region}:{ml}:event-bus/default"),
        ),
        Capability(
            "notify",
            "publish to the approval topic",
            Request("sns:Publish", f"arn:aws:sns:{region}:{ml}:mlpromote-approvals"),
        ),
        Capability("approve", "resume a waiting promotion", Request("states:SendTaskSuccess", machine)),
        *(
            # A published version: the state machine names each step's version (AutoPublishAlias, Name.Version).
            [Capability("invoke-step", "invoke a step's function", Request("lambda:InvokeFunction", f"{step}:1"))]
            if (step := world.functions.get("ValidateAndPlanFunction"))
            else []
        ),
        *(
            [Capability("invoke-api", "invoke the API's function", Request("lambda:InvokeFunction", api))]
            if (api := world.functions.get("ApiFunction"))
            else []
        ),
    ]


# Each control-plane role's job: the capabilities its function's AWS calls need (layers/mlpromote/phases/
# and the adapters in layers/mlpromote/aws/). Everything else must be denied. In the target accounts
# each job has its own role (mlpromote.iam_model.TARGET_ROLE_CALLERS): the parameter reader reads
# pointers, the parameter writer reads and moves them (the compensation compares before it writes, so
# the rotation, through the same role, may read them too), the alarm reader reads alarms.
JOBS: dict[str, set[str]] = {
    "workflow": {"invoke-step"},
    "plan": {
        "list-comprehend",
        "describe-comprehend",
        "describe-endpoint",
        "find-projects",
        "describe",
        "assume-reader",
        "read-pointer",
        "assume-alarm-reader",
        "read-alarms",
        "history",
        # Environments given as organizationalUnits: their accounts, through the management account's reader.
        "assume-org-reader",
        "list-ous",
    },
    # A version that was STOPPING at plan time: start-model reads it again, check-model starts it once stopped.
    # Copy environments: start-model shares the version (project policy) and copies it through the target
    # accounts' model copiers; check-model starts the copies through them, then takes the policy back.
    # Every step that finds a copy in a target account (through that account's role) starts with
    # DescribeProjects there: find-projects.
    # A Comprehend version is "started" by creating its endpoint, "stopped" by deleting it.
    "start-model": {
        "start",
        "describe",
        "share-for-copy",
        "assume-copier",
        "find-projects",
        "create-endpoint",
        "describe-comprehend",
        "describe-endpoint",
    },
    "check-model": {
        "describe",
        "start",
        "unshare",
        "assume-copier",
        "find-projects",
        "create-endpoint",
        "describe-comprehend",
        "describe-endpoint",
    },
    # The model reader in a target account lists its Comprehend copies (drift): confirm-serving and
    # rotate-pointer, which assume it to find one copy, may list them too, as they may DescribeProjects.
    "confirm-serving": {
        "describe",
        "read-grants",
        "assume-model-reader",
        "find-projects",
        "list-comprehend",
        "describe-comprehend",
        "describe-endpoint",
    },
    "grant-access": {"read-grants", "grants"},
    "smoke-test": {"assume-smoke", "assume-access", "call", "find-projects"},
    "rotate-pointer": {
        "assume-writer",
        "read-pointer",
        "write-pointer",
        "assume-model-reader",
        "find-projects",
        "list-comprehend",
    },
    # Retire and compensate read every other environment's pointers (is the version live there?): an OU
    # environment's accounts through the organization reader.
    # Comprehend pointers name endpoints: the versions listed say which version each serves.
    "retire": {
        "read-grants",
        "grants",
        "stop",
        "assume-reader",
        "read-pointer",
        "lease",
        "read-execution",
        "assume-retirer",
        "find-projects",
        "assume-org-reader",
        "list-ous",
        "list-comprehend",
        "delete-endpoint",
    },
    "compensate": {
        "list-comprehend",
        "describe-comprehend",
        "describe-endpoint",
        "delete-endpoint",
        "read-grants",
        "grants",
        "describe",
        "stop",
        "assume-reader",
        "assume-writer",
        "assume-retirer",
        "unshare",
        "find-projects",
        "read-pointer",
        "write-pointer",
        "lease",
        "read-execution",
        "assume-org-reader",
        "list-ous",
    },
    "take-environment": {
        "list-comprehend",
        "describe-comprehend",
        "describe-endpoint",
        "lock",
        "lease",
        "read-execution",
        "announce",
        "assume-reader",
        "read-pointer",
        "describe",
        "read-grants",
    },
    "record-outcome": {"lock", "lease", "announce"},
    "watch-alarms": {"assume-alarm-reader", "read-alarms"},
    # The dry run (POST /promotions?dryRun=true) reads what the plan step reads, and the grants.
    "api": {
        "list-comprehend",
        "describe-comprehend",
        "describe-endpoint",
        "start-promotion",
        "read-execution",
        "history",
        "approve",
        "find-projects",
        "describe",
        "read-grants",
        "assume-reader",
        "assume-alarm-reader",
        "read-pointer",
        "read-alarms",
        "assume-model-reader",
        "assume-org-reader",
        "list-ous",
    },
    # Closes a record with the execution's real error (DescribeExecution), drops its leases.
    "release-abandoned": {"read-execution", "lease"},
    # A retried request hands a recorded decision to its own task (SendTaskSuccess/Failure).
    "request-approval": {"approval", "notify", "announce", "approve"},
    "detect-drift": {
        "find-projects",
        "describe",
        "read-grants",
        "grants",
        "assume-reader",
        "read-pointer",
        "announce",
        "assume-model-reader",
        "assume-org-reader",
        "list-ous",
        "list-comprehend",
        "describe-comprehend",
        "describe-endpoint",
    },
}
# The only control-plane allows beyond a role's job that mlpromote accepts, each with its reason
# (docs/security.md lists them under "Allowed beyond the job (known)"): capability -> role -> why.
# Keep it tiny: every other allow beyond JOBS fails the matrix (tests/security/test_authorization_matrix.py
# also pins this list, so adding to it takes a change there too).
KNOWN_OVER_BROAD: dict[str, dict[str, str]] = {}


def control_plane_cells(world: World) -> list[Cell]:
    cells = []
    scp = bool(world.scps)
    for role in sorted(world.control_plane_roles(), key=lambda r: r.label):
        job = JOBS.get(role.label, set())
        for capability in capabilities(world):
            finding = KNOWN_OVER_BROAD.get(capability.key, {}).get(role.label, "")
            expected = capability.key in job or bool(finding)
            note = "its job" if capability.key in job else ""
            cells.append(
                Cell(
                    CONTROL_PLANE,
                    capability.label,
                    role.label,
                    role,
                    capability.request,
                    expected,
                    note,
                    finding,
                    capability.key,
                )
            )
    ml_admin = world.roles[f"arn:aws:iam::{world.ml}:role/admin"]
    for capability in capabilities(world):
        in_ml = world.owner(capability.request.resource) in (world.ml, None)
        expected = in_ml and capability.key != "assume-access"
        note = "the ML account's own admin" if expected else ""
        if scp and capability.key in SCP_GUARDED_IN_ML:
            expected, note = False, "denied by the SCPs"
        cells.append(
            Cell(
                CONTROL_PLANE,
                capability.label,
                ml_admin.label,
                ml_admin,
                capability.request,
                expected,
                note,
                key=capability.key,
            )
        )
    return cells


# What the ML account's SCP keeps from everyone but the control plane.
# The IAM actions on a role whose requests carry iam:PermissionsBoundary (the Service Authorization
# Reference's condition keys for IAM).
BOUNDARY_KEYED_ACTIONS = frozenset(
    f"iam:{a}".lower()
    for a in (
        "PutRolePolicy",
        "DeleteRolePolicy",
        "AttachRolePolicy",
        "DetachRolePolicy",
        "CreateRole",
        "PutRolePermissionsBoundary",
        "DeleteRolePermissionsBoundary",
    )
)

SCP_GUARDED_IN_ML = {
    "start",
    "stop",
    "grants",
    "attach",
    "other-roles",
    "approve",
    "create-endpoint",
    "delete-endpoint",
}


def hardened_cells(world: World) -> list[Cell]:
    """Each option of trust hardening and private connectivity, shown to hold: for a principal of
    environment E (O: another one), E's current version through E's access role."""
    config = world.config
    environments = list(config.environments)
    columns: list[tuple[Role, str, bool]] = []  # (principal, its environment, whether E admits it)
    for environment in environments:
        env = config.environment(environment)
        first, last = env.accounts[0], env.accounts[-1]
        listed = world.roles[f"arn:aws:iam::{first}:role/{CONSUMER_ROLE}"]
        columns += [
            (replace(listed, label=f"{CONSUMER_ROLE}@{first} ({environment}, listed)"), environment, True),
            (
                replace(
                    world.roles[f"arn:aws:iam::{first}:role/admin"], label=f"admin@{first} ({environment}, not listed)"
                ),
                environment,
                False,
            ),
            (
                replace(
                    world.roles[f"arn:aws:iam::{last}:role/{CONSUMER_ROLE}"],
                    org="",
                    label=f"{CONSUMER_ROLE}@{last} ({environment}, listed, account left the organization)",
                ),
                environment,
                False,
            ),
        ]
    last_env = environments[-1]
    outsider = world.roles[f"arn:aws:iam::{OUTSIDER}:role/admin"]
    columns.append((replace(outsider, label=f"admin@{OUTSIDER} (no environment; tries {last_env})"), last_env, False))
    smoke = world.control_role("smoke-test")
    for environment in environments:
        columns.append((replace(smoke, label=f"the smoke test, for {environment}"), environment, True))

    cells: list[Cell] = []
    for who, environment, admitted in columns:
        env = config.environment(environment)
        other = next((e for e in environments if e != environment), environment)
        is_smoke = who.arn == smoke.arn
        endpoint = SMOKE_TEST_ENDPOINT if is_smoke else CONSUMER_ENDPOINT
        through = {"aws:SourceVpce": endpoint} if env.vpc_endpoint_ids else {}
        external = {"sts:ExternalId": env.external_id} if env.external_id else {}
        version = world.current(environment)
        rows: list[tuple[str, Request, bool, str]] = [
            (
                "its environment's version, through the endpoint, with the external id",
                Request("rekognition:DetectCustomLabels", version, through, external),
                admitted,
                "",
            ),
            ("… without the external id", Request("rekognition:DetectCustomLabels", version, through, {}), False, ""),
        ]
        if env.vpc_endpoint_ids:
            rows += [
                (
                    "… not through an endpoint",
                    Request("rekognition:DetectCustomLabels", version, {}, external),
                    False,
                    "",
                ),
                (
                    "… through another endpoint",
                    Request("rekognition:DetectCustomLabels", version, {"aws:SourceVpce": OTHER_ENDPOINT}, external),
                    False,
                    "",
                ),
            ]
        if other != environment:
            other_env = config.environment(other)
            rows.append(
                (
                    "another environment's version, with that one's external id",
                    Request(
                        "rekognition:DetectCustomLabels",
                        world.current(other),
                        {"aws:SourceVpce": endpoint} if other_env.vpc_endpoint_ids else {},
                        {"sts:ExternalId": other_env.external_id} if other_env.external_id else {},
                    ),
                    is_smoke,
                    "the smoke test serves every environment" if is_smoke else "",
                )
            )
        for what, request, expected, note in rows:
            cells.append(Cell(HARDENED, what, who.label, who, request, expected, note))
    return cells


def cells(world: World) -> list[Cell]:
    if world.name == "hardened":
        return hardened_cells(world)
    return consumer_cells(world) + control_plane_cells(world)


def evaluate(world: World, selected: Iterable[Cell] | None = None) -> list[Result]:
    return [Result(cell, world.evaluate(cell.principal, cell.request)) for cell in (selected or cells(world))]


def find(results: Iterable[Result], table: str, who: str, what: str) -> Result:
    """The result of the cell whose column starts with `who` and row with `what`."""
    for result in results:
        if result.cell.table == table and result.cell.who.startswith(who) and result.cell.what.startswith(what):
            return result
    raise KeyError(f"no cell {table!r} / {who!r} / {what!r}")


def result(world: World, table: str, who: str, what: str) -> Result:
    """One cell of the world's matrix, evaluated alone."""
    for cell in cells(world):
        if cell.table == table and cell.who.startswith(who) and cell.what.startswith(what):
            return Result(cell, world.evaluate(cell.principal, cell.request))
    raise KeyError(f"no cell {table!r} / {who!r} / {what!r}")


def explain(result: Result) -> str:
    """What a cell that differs from the promise means, and what to do about it."""
    cell, verdict = result.cell, result.verdict
    said = "allow" if verdict.allowed else "deny"
    line = f"[{cell.table}] {cell.who}: {cell.what}: the policies {said} it"
    if verdict.path:
        line += f" (via {' → '.join(verdict.path)})"
    if cell.finding and not verdict.allowed:
        return (
            line + "; it was a known over-broad allow: remove it from KNOWN_OVER_BROAD in tools/authorization_matrix.py"
        )
    if cell.table == CONTROL_PLANE and cell.principal.name.startswith("mlpromote-control-"):
        if cell.who not in JOBS:
            return line + "; a new control-plane role: write its job into JOBS in tools/authorization_matrix.py"
        if verdict.allowed:
            return line + (
                "; beyond the role's job: narrow its policy in template.yaml (or, if this is its job, add it "
                "to JOBS in tools/authorization_matrix.py)"
            )
        return line + "; the role needs it for its job: allow it in template.yaml"
    expected = "allowed" if cell.expected else "denied"
    return line + f"; mlpromote promises it {expected}" + (f" ({cell.note})" if cell.note else "")


# --- rendering -------------------------------------------------------------------------------


def _cell_text(result: Result) -> str:
    verdict = "allow" if result.verdict.allowed else "deny"
    if not result.ok:
        return f"**{verdict}, expected {'allow' if result.cell.expected else 'deny'}**"
    return f"{verdict} (!)" if result.cell.finding else verdict


def table(results: Sequence[Result], title: str) -> str:
    """Rows: what is asked; columns: who asks."""
    chosen = [r for r in results if r.cell.table == title]
    whos = list(dict.fromkeys(r.cell.who for r in chosen))
    whats = list(dict.fromkeys(r.cell.what for r in chosen))
    grid = {(r.cell.what, r.cell.who): _cell_text(r) for r in chosen}
    rows = [["", *whos], *([what, *(grid.get((what, who), "n/a") for who in whos)] for what in whats)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(whos) + 1)]
    lines = [
        "| " + " | ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)) + " |" for row in rows
    ]
    lines.insert(1, "| " + " | ".join("-" * width for width in widths) + " |")
    return "\n".join(lines)


def paths(results: Sequence[Result]) -> list[str]:
    """How each cross-role allow happens: the chain of roles."""
    out = []
    for result in results:
        if result.verdict.allowed and result.verdict.path:
            chain = " → ".join(result.verdict.path)
            out.append(f"- {result.cell.who}: {result.cell.what}: via {chain}")
    return out


def markdown(worlds: Sequence[tuple[World, list[Result]]]) -> str:
    parts = [
        "<!-- Generated by tools/authorization_matrix.py (make authorization-matrix); "
        "tests/security/test_authorization_matrix.py checks it is current. -->",
        "",
        "Who may do what, by any chain of roles, in a sample deployment of `config/mlpromote.yaml`'s accounts, "
        "evaluated with principalmapper's local IAM policy evaluation (`local_check_authorization_full`) over "
        "the policies the templates and the workflow produce, none copied by hand:",
        "",
        "- the control plane's roles from `template.yaml` (!Ref, !Sub, !GetAtt and !If resolved for the sample), "
        "with the AWS managed policies they attach;",
        "- `templates/target-account.yaml`'s smoke-test, parameter-reader, parameter-writer and alarm-reader roles, "
        "in every target account;",
        "- the access roles of `templates/access-roles.yaml`, with the `mlpromote-grants` policy as the workflow's "
        f"grant step and the retirement's revoke write it: {_story_text(worlds[0][0])}",
        "- the SCPs of `policies/scp/`: consumer-accounts and model-pointers on every target account, ml-account "
        "on the ML account, private-model-calls on the ML account when an environment sets vpcEndpointIds "
        "(with AWS's FullAWSAccess beside them).",
        "",
        "Each hop of a chain is an sts:AssumeRole, allowed only when the role's trust policy (the resource "
        "policy) and the caller's identity policy and its account's SCPs allow it; the last call is evaluated "
        "with the last role's policies, across accounts only where a resource policy admits it. The "
        "consumer-side principals (`admin@...`, `vision-app@...`) hold AdministratorAccess in their own "
        "accounts: the worst case. The hardened config adds to the deployed one, for every environment, "
        "`consumerRoleArns` (a `vision-app` role per account), `organizationId`, `externalId` and "
        f"`vpcEndpointIds` (the consumers' {CONSUMER_ENDPOINT} and the smoke test's {SMOKE_TEST_ENDPOINT}, "
        "the smoke test then running in a VPC).",
        "",
        "Cells: `allow`, `deny`, and `allow (!)` for an allow beyond the role's job that is a known exception, "
        "listed below with its reason (the control plane's few are pinned by the tests); a cell the policies "
        "answer differently from what mlpromote promises, an allow beyond a job included, is bold, and fails "
        "`make test`. "
        "Not modelled: session policies, the roles SAM generates (EventBridge's and API Gateway's), resource "
        "policies other than trust policies, and who may invoke the REST API.",
    ]
    for world, results in worlds:
        titles = list(dict.fromkeys(r.cell.table for r in results))
        for title in titles:
            parts += ["", f"### {title} ({world.name} config)", "", table(results, title)]
        chains = paths(results)
        if chains:
            parts += ["", f"Chains behind the allows ({world.name} config):", "", *chains]
    findings: dict[tuple[str, str], list[str]] = {}
    for _, results in worlds:
        for r in results:
            if r.cell.finding:
                findings.setdefault((r.cell.what, r.cell.finding), []).append(r.cell.who)
    if findings:
        parts += ["", "### Allowed beyond the job (known)", ""]
        parts += [f"- {what} ({', '.join(whos)}): {finding}" for (what, finding), whos in findings.items()]
    return "\n".join(parts) + "\n"


def _story_text(world: World) -> str:
    plot = world.story
    moves = ", ".join(
        f"{env} from {plot.project}/{plot.previous[env]} to {plot.project}/{plot.current[env]}"
        for env in world.config.environments
    )
    return f"the workflow promoted {moves}, and retired each superseded version's grant;"


def all_results() -> list[tuple[World, list[Result]]]:
    return [(world, evaluate(world)) for world in (deployed_world(), hardened_world())]


def with_section(document: str, body: str) -> str:
    """`document` with the body of its SECTION replaced (up to the next level-2 heading); appended if absent."""
    lines = document.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        return document.rstrip("\n") + ("\n\n" if document.strip() else "") + SECTION + "\n\n" + body
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    tail = "".join(lines[end:])
    return "".join(lines[: start + 1]) + "\n" + body + ("\n" + tail if tail else "")


def section_of(document: str) -> str | None:
    lines = document.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == SECTION), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[start + 1 : end]).strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help=f"write the matrix into {DOC.relative_to(REPO)}")
    mode.add_argument("--check", action="store_true", help=f"exit 1 when {DOC.relative_to(REPO)} is out of date")
    args = parser.parse_args(argv)
    worlds = all_results()
    body = markdown(worlds)
    failed = [r for _, results in worlds for r in results if not r.ok]
    if args.write:
        current = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Security\n"
        DOC.write_text(with_section(current, body), encoding="utf-8")
        print(f"wrote the authorization matrix into {DOC.relative_to(REPO)}", file=sys.stderr)
    elif args.check:
        committed = section_of(DOC.read_text(encoding="utf-8")) if DOC.exists() else None
        if committed != body:
            print(
                f"{DOC.relative_to(REPO)}: the authorization matrix is out of date; run make authorization-matrix",
                file=sys.stderr,
            )
            return 1
    else:
        sys.stdout.write(body)
    if failed:
        print(f"{len(failed)} cells differ from what mlpromote promises (bold in the tables)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
