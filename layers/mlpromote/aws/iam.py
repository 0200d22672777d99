"""The access role's grant policy in the ML account: read, modify, write."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.grants import POLICY_NAME, GrantPolicy, policy_size


def read_grants(role_name: str, with_other_policies: bool = False) -> GrantPolicy:
    """The role's grants. `with_other_policies`: also the size of its other inline policies, which IAM
    counts with this one against its 10,240 characters (a writer that adds must know them)."""
    document = _inline_policy(role_name, POLICY_NAME)
    policy = GrantPolicy.from_document(document)
    if with_other_policies:
        others = [name for name in _inline_policy_names(role_name) if name != POLICY_NAME]
        policy.others = tuple(others)
        policy.others_size = sum(policy_size(_inline_policy(role_name, name) or {}) for name in others)
    return policy


def _inline_policy(role_name: str, policy_name: str) -> dict[str, Any] | None:
    try:
        answer = sessions.client("iam").get_role_policy(RoleName=role_name, PolicyName=policy_name)
    except ClientError as error:
        if sessions.error_code(error) == "NoSuchEntity":
            return None
        raise sessions.translated(error, f"iam GetRolePolicy {role_name}") from error
    document = answer["PolicyDocument"]
    if isinstance(document, str):  # boto3 decodes it; some emulators do not
        document = json.loads(unquote(document))
    return dict(document)


def _inline_policy_names(role_name: str) -> list[str]:
    names: list[str] = []
    try:
        for page in sessions.client("iam").get_paginator("list_role_policies").paginate(RoleName=role_name):
            names.extend(page["PolicyNames"])
    except ClientError as error:
        raise sessions.translated(error, f"iam ListRolePolicies {role_name}") from error
    return names


def write_grants(role_name: str, policy: GrantPolicy) -> None:
    iam = sessions.client("iam")
    try:
        if policy.statements:
            iam.put_role_policy(
                RoleName=role_name, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(policy.document())
            )
        else:
            # IAM rejects a policy with no statements: no grants means no policy.
            iam.delete_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    except ClientError as error:
        if sessions.error_code(error) == "NoSuchEntity" and not policy.statements:
            return
        raise sessions.translated(error, f"iam PutRolePolicy {role_name}") from error


def update_grants(
    role_name: str, change: Callable[[GrantPolicy], bool], with_other_policies: bool = False
) -> GrantPolicy:
    """Read the policy, apply `change`, and write it back only if `change` says it changed.
    `with_other_policies`: the change may add, so it must know the role's other inline policies."""
    policy = read_grants(role_name, with_other_policies)
    if change(policy):
        write_grants(role_name, policy)
    return policy
