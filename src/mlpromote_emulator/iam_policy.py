"""IAM policy evaluation, shared by the emulator (every AWS call a handler makes) and the authorization
matrix (tools/authorization_matrix.py).

A request is evaluated as AWS's policy evaluation logic says
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an
explicit deny in any policy wins; otherwise the SCPs of the principal's account, the resource policy
(a role's trust policy for sts:AssumeRole; across accounts an empty one where the service has none),
the permissions boundary and the identity policies must each allow it. The evaluation itself is
principalmapper's local simulation (`local_check_authorization_full`); this module builds its inputs
from the templates' roles and caches them per process.
"""

from __future__ import annotations

import collections
import collections.abc
import functools
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlpromote.config import Config
from mlpromote_emulator.cfn import CannotResolve, Stack

FULL_AWS_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
EMPTY_RESOURCE_POLICY: dict[str, Any] = {"Version": "2012-10-17", "Statement": []}
# Where each SCP of policies/scp/ is attached (docs/security.md): "ml" (the ML account), "targets"
# (every target account), "ml-if-private" (the ML account, when an environment sets vpcEndpointIds).
SCP_ATTACHMENTS: dict[str, str] = {
    "consumer-accounts": "targets",
    "model-pointers": "targets",
    "ml-account": "ml",
    "private-model-calls": "ml-if-private",
}

Policies = Sequence[tuple[str, dict[str, Any]]]


@functools.cache
def _principalmapper() -> Any:
    """principalmapper 1.1.5 imports collections.Mapping, gone since Python 3.10."""
    for name in ("Mapping", "MutableMapping"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    from principalmapper.common import Node, Policy
    from principalmapper.querying import query_interface
    from principalmapper.querying.local_policy_simulation import policy_has_matching_statement

    return Node, Policy, query_interface.local_check_authorization_full, policy_has_matching_statement


@dataclass(frozen=True)
class Role:
    """An IAM role (or, as a starting point, any principal) and every policy that applies to it."""

    arn: str
    trust: dict[str, Any]
    policies: Policies
    # aws:PrincipalOrgID in its requests; "" when the account is in no organization.
    org: str = ""
    # aws:PrincipalOrgPaths in its requests (o-.../r-.../ou-.../): multivalued, empty outside an organization.
    org_paths: tuple[str, ...] = ()
    label: str = ""
    # Its permissions boundary: the managed policy's ARN and document.
    boundary: tuple[str, dict[str, Any]] | None = None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def name(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def policy(self, name: str) -> dict[str, Any]:
        return next(document for policy_name, document in self.policies if policy_name == name)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # For a deny, what AWS's message says after "because": which kind of policy refused.
    reason: str = ""


def aws_managed_policy(name: str) -> dict[str, Any]:
    """An AWS managed policy's document, from moto's copy of them."""
    try:
        from mlpromote_emulator.moto_adaptations import aws_managed_policies

        return dict(aws_managed_policies()[name]["Document"])
    except KeyError:
        raise ValueError(f"no AWS managed policy {name!r} in moto's copy") from None


def template_roles(stack: Stack) -> list[Role]:
    """Every AWS::IAM::Role a stack creates, with its inline, attached and standalone policies and
    its permissions boundary."""
    out: dict[str, Role] = {}
    for logical, resource in stack.resources.items():
        if resource["Type"] != "AWS::IAM::Role" or not stack.included(resource):
            continue
        properties = dict(resource.get("Properties", {}))
        policies = [
            (str(stack.resolve(p["PolicyName"])), stack.resolve(p["PolicyDocument"]))
            for p in properties.get("Policies", [])
        ]
        for arn in stack.resolve(properties.get("ManagedPolicyArns", [])):
            policies.append(managed_policy(stack, arn))
        boundary = None
        if "PermissionsBoundary" in properties:
            boundary_arn = str(stack.resolve(properties["PermissionsBoundary"]))
            boundary = (boundary_arn, managed_policy(stack, boundary_arn)[1])
        arn = stack.get_att(logical, "Arn")
        trust = stack.resolve(properties["AssumeRolePolicyDocument"])
        out[logical] = Role(arn=arn, trust=trust, policies=policies, boundary=boundary)
    # AWS::IAM::Policy / ManagedPolicy resources that attach themselves to roles of this template.
    for logical, resource in stack.resources.items():
        if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") or not stack.included(resource):
            continue
        properties = dict(resource.get("Properties", {}))
        document = stack.resolve(properties["PolicyDocument"])
        for role in properties.get("Roles", []):
            target = next((k for k in out if role == {"Ref": k}), None)
            if target is None:
                raise CannotResolve(f"{stack.name}: {logical} attaches to {role!r}, which cannot be placed")
            out[target] = replace(out[target], policies=[*out[target].policies, (logical, document)])
    return list(out.values())


def managed_policy(stack: Stack, arn: str) -> tuple[str, dict[str, Any]]:
    """(name, document) of a managed policy: AWS's (moto's copy) or one the template creates."""
    if arn.split(":")[4:5] == ["aws"]:
        return arn.rsplit("/", 1)[-1], aws_managed_policy(arn.rsplit("/", 1)[-1])
    for logical, resource in stack.resources.items():
        if resource["Type"] == "AWS::IAM::ManagedPolicy" and arn in (stack.ref(logical), _policy_arn(stack, logical)):
            return logical, stack.resolve(resource["Properties"]["PolicyDocument"])
    raise CannotResolve(f"{stack.name}: the managed policy {arn} is neither AWS's nor in the template")


def _policy_arn(stack: Stack, logical: str) -> str:
    properties = stack.resources[logical].get("Properties", {})
    name = stack.resolve(properties.get("ManagedPolicyName", logical))
    return f"arn:{stack.partition}:iam::{stack.account}:policy{properties.get('Path', '/')}{name}"


def load_scps(
    config: Config, scp_dir: Path, targets: list[str] | None = None
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Account -> the SCPs of `scp_dir` that apply to its principals, attached as docs/security.md says.
    `targets`: the target accounts (default: the ones the environments list; an OU environment's are
    the world's to say)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    if targets is None:
        targets = [account for env in config.environments.values() for account in env.accounts]
    private = any(env.vpc_endpoint_ids for env in config.environments.values())
    for path in sorted(scp_dir.glob("*.json")) if scp_dir.is_dir() else []:
        if path.stem not in SCP_ATTACHMENTS:
            raise ValueError(
                f"{path}: nobody knows where this SCP is attached; add it to SCP_ATTACHMENTS in "
                "src/mlpromote_emulator/iam_policy.py (and say so in docs/security.md)"
            )
        document = _scp_document(path)
        where = SCP_ATTACHMENTS[path.stem]
        if where == "ml-if-private" and not private:
            continue
        for account in dict.fromkeys(targets) if where == "targets" else [config.ml_account]:
            out.setdefault(account, []).append((path.stem, document))
    return out


def _scp_document(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return _read_json(path, stat.st_mtime_ns, stat.st_size)


@functools.cache
def _read_json(path: Path, mtime: int, size: int) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


# --- evaluation ----------------------------------------------------------------------------------


def _key(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


_nodes: dict[tuple[str, str], Any] = {}
_policy_objects: dict[tuple[str, str, str], Any] = {}
# A process that rehearses many worlds (make soak) sees many grant documents: start afresh past this.
_CACHE_LIMIT = 20_000


def _policy(owner: str, name: str, document: dict[str, Any]) -> Any:
    key = (owner, name, _key(document))
    if key not in _policy_objects:
        if len(_policy_objects) > _CACHE_LIMIT:
            _policy_objects.clear()
        _policy_objects[key] = _principalmapper()[1](owner, name, document)
    return _policy_objects[key]


def node(role: Role) -> Any:
    """principalmapper's Node for a role, made once per role and set of policies."""
    key = (role.arn, _key([role.trust, list(role.policies), role.boundary]))
    if key not in _nodes:
        if len(_nodes) > _CACHE_LIMIT:
            _nodes.clear()
        node_class = _principalmapper()[0]
        _nodes[key] = node_class(
            arn=role.arn,
            id_value="AROA" + hashlib.sha256(role.arn.encode()).hexdigest()[:17].upper(),
            attached_policies=[_policy(role.arn, name, document) for name, document in role.policies],
            group_memberships=[],
            trust_policy=role.trust,
            instance_profile=None,
            num_access_keys=0,
            active_password=False,
            is_admin=False,
            permissions_boundary=(
                _policy(role.boundary[0], "PermissionsBoundary", role.boundary[1])
                if role.boundary is not None
                else None
            ),
            has_mfa=False,
            tags={},
        )
    return _nodes[key]


def _scp_groups(scps: Policies | None) -> list[list[Any]] | None:
    if not scps:
        return None
    # FullAWSAccess stays attached (AWS's default); the mlpromote SCPs deny on top of it.
    group = [_policy("FullAWSAccess", "FullAWSAccess", FULL_AWS_ACCESS)]
    group += [_policy(f"scp/{name}", name, document) for name, document in scps]
    return [group]


def allowed(
    role: Role,
    action: str,
    resource: str,
    context: Mapping[str, Any],
    resource_policy: dict[str, Any] | None = None,
    resource_owner: str | None = None,
    scps: Policies | None = None,
) -> bool:
    """One request by `role`, evaluated as AWS does (principalmapper's local evaluation)."""
    check = _principalmapper()[2]
    context = _principal_keys(role, context)
    return bool(
        check(
            node(role),
            action,
            resource,
            context,
            resource_policy,
            resource_owner if resource_policy is not None else None,
            _scp_groups(scps),
            None,
        )
    )


def decide(
    role: Role,
    action: str,
    resource: str,
    context: Mapping[str, Any],
    resource_policy: dict[str, Any] | None = None,
    resource_owner: str | None = None,
    scps: Policies | None = None,
) -> Decision:
    """`allowed`, and for a deny the reason AWS's AccessDenied message gives."""
    if allowed(role, action, resource, context, resource_policy, resource_owner, scps):
        return Decision(True)
    matches = _principalmapper()[3]
    keys = _condition_keys(role, context)

    def denies(document: dict[str, Any], effect: str) -> bool:
        return bool(matches(_policy("x", "x", document), effect, action, resource, keys))

    if any(denies(document, "Deny") for _, document in scps or ()):
        return Decision(False, f"with an explicit deny in a service control policy ({_names(scps, 'Deny', denies)})")
    if any(denies(document, "Deny") for _, document in role.policies):
        return Decision(False, "with an explicit deny in an identity-based policy")
    if role.boundary is not None and not denies(role.boundary[1], "Allow"):
        return Decision(False, f"because no permissions boundary allows the {action} action")
    if resource_policy is not None and resource_owner != role.account:
        return Decision(False, f"because no resource-based policy allows the {action} action")
    if action.lower() == "sts:assumerole" and resource_policy is not None:
        return Decision(False, "because the role's trust policy does not allow it")
    return Decision(False, f"because no identity-based policy allows the {action} action")


def _principal_keys(role: Role, context: Mapping[str, Any]) -> dict[str, Any]:
    """The request's keys plus the principal's organization keys (IAM User Guide, "AWS global condition
    context keys": aws:PrincipalOrgID and aws:PrincipalOrgPaths are in every request of a principal in
    an organization, and absent otherwise)."""
    keys = dict(context)
    if role.org:
        keys.setdefault("aws:PrincipalOrgID", role.org)
    if role.org_paths:
        keys.setdefault("aws:PrincipalOrgPaths", list(role.org_paths))
    return keys


def _names(scps: Policies | None, effect: str, denies: Any) -> str:
    return ", ".join(name for name, document in scps or () if denies(document, effect))


def _condition_keys(role: Role, context: Mapping[str, Any]) -> Any:
    from principalmapper.querying.query_interface import _infer_condition_keys, _prepare_condition_context

    prepared = _prepare_condition_context(_principal_keys(role, context))
    prepared.update(_infer_condition_keys(node(role), prepared))
    return prepared
