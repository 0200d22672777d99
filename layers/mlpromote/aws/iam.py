"""The access role's grant policy in the ML account: read, modify, write."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import unquote

from botocore.exceptions import ClientError

from mlpromote.aws import sessions
from mlpromote.grants import POLICY_NAME, GrantPolicy


def read_grants(role_name: str) -> GrantPolicy:
    try:
        answer = sessions.client("iam").get_role_policy(RoleName=role_name, PolicyName=POLICY_NAME)
    except ClientError as error:
        if sessions.error_code(error) == "NoSuchEntity":
            return GrantPolicy()
        sessions.raise_if_transient(error, f"iam GetRolePolicy {role_name}")
        raise
    document = answer["PolicyDocument"]
    if isinstance(document, str):  # boto3 decodes it; some emulators do not
        document = json.loads(unquote(document))
    return GrantPolicy.from_document(document)


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
        sessions.raise_if_transient(error, f"iam PutRolePolicy {role_name}")
        raise


def update_grants(role_name: str, change: Callable[[GrantPolicy], bool]) -> GrantPolicy:
    """Read the policy, apply `change`, and write it back only if `change` says it changed."""
    policy = read_grants(role_name)
    if change(policy):
        write_grants(role_name, policy)
    return policy
