"""The IAM model of a deployment: which role exists where, and whom it trusts.

One source for the templates' generated parts (templates/access-roles.yaml) and for the
emulator, which creates the same roles a deployment would.
"""

from __future__ import annotations

import json
from typing import Any

from mlpromote.config import Config

# The control plane's function roles in the ML account (template.yaml gives them these names).
CONTROL_PLANE_ROLE_PREFIX = "mlpromote-control-"
CONTROL_PLANE_ROLES = {
    "plan": "ValidateAndPlan",
    "start-model": "StartModel",
    "check-model": "CheckModelStatus",
    "grant-access": "GrantAccess",
    "smoke-test": "SmokeTest",
    "rotate-pointer": "RotatePointer",
    "retire": "RetireSuperseded",
    "compensate": "Compensate",
    "take-environment": "TakeEnvironment",
    "record-outcome": "RecordOutcome",
    "watch-alarms": "WatchAlarms",
    "api": "Api",
    "release-abandoned": "ReleaseAbandoned",
    "request-approval": "RequestApproval",
    "detect-drift": "DetectDrift",
}
# Who may assume each target-account role.
SMOKE_TEST_CALLERS = ("smoke-test",)
PARAMETER_WRITER_CALLERS = ("plan", "rotate-pointer", "retire", "compensate", "watch-alarms", "detect-drift")


def control_plane_role_arn(ml_account: str, short_name: str) -> str:
    return f"arn:aws:iam::{ml_account}:role/{CONTROL_PLANE_ROLE_PREFIX}{short_name}"


def trust_accounts(accounts: list[str]) -> dict[str, Any]:
    """Trust the given accounts (any principal there that its own IAM allows to assume the role)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustEnvironmentAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{account}:root" for account in accounts]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def trust_roles(role_arns: list[str], sid: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Principal": {"AWS": role_arns}, "Action": "sts:AssumeRole"}],
    }


# IAM's default quota for a role's trust policy (adjustable up to 4,096 through Service Quotas).
TRUST_POLICY_DEFAULT_LIMIT = 2048
TRUST_POLICY_MAX_LIMIT = 4096


def access_role_trust(config: Config, environment: str) -> dict[str, Any]:
    """The environment's accounts, narrowed by whatever the config asks for (docs/security.md).

    - consumerRoleArns: only those roles (aws:PrincipalArn), plus mlpromote's own smoke-test role in
      each account, which the smoke test assumes the access role from;
    - organizationId (the environment's, else the top-level one): only principals of that organization;
    - externalId: only callers that pass it (the smoke test passes it too).
    """
    env = config.environment(environment)
    trust = trust_accounts(env.accounts)
    conditions: dict[str, dict[str, Any]] = {}
    if env.consumer_role_arns:
        smoke_test_roles = [f"arn:aws:iam::{account}:role/{config.target_roles.smoke_test}" for account in env.accounts]
        conditions["ArnLike"] = {"aws:PrincipalArn": list(dict.fromkeys([*env.consumer_role_arns, *smoke_test_roles]))}
    organization = config.organization_of(environment)
    if organization or env.external_id:
        equals: dict[str, str] = {}
        if organization:
            equals["aws:PrincipalOrgID"] = organization
        if env.external_id:
            equals["sts:ExternalId"] = env.external_id
        conditions["StringEquals"] = equals
    if conditions:
        trust["Statement"][0]["Condition"] = conditions
    return trust


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM checks against its limits: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def smoke_test_role_policy(config: Config) -> dict[str, Any]:
    """In a target account: may assume the access roles of the ML account, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeAccessRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": sorted(config.access_role_arn(name) for name in config.environments),
            }
        ],
    }


def parameter_writer_policy(config: Config, account: str) -> dict[str, Any]:
    names = sorted({project.parameter_name.lstrip("/") for project in config.projects.values()})
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteModelPointers",
                "Effect": "Allow",
                "Action": [
                    "ssm:GetParameter",
                    "ssm:PutParameter",
                    "ssm:LabelParameterVersion",
                    "ssm:DeleteParameter",
                ],
                "Resource": [f"arn:aws:ssm:{config.region}:{account}:parameter/{name}" for name in names],
            },
            {
                # The bake reads the rollback alarms through this role too. Scoped to alarm ARNs,
                # DescribeAlarms would silently leave out composite alarms: they need "*".
                "Sid": "ReadRollbackAlarms",
                "Effect": "Allow",
                "Action": "cloudwatch:DescribeAlarms",
                "Resource": "*",
            },
        ],
    }


def smoke_test_images_policy(config: Config) -> dict[str, Any]:
    """DetectCustomLabels reads an S3 image with the caller's permissions: the access role's."""
    objects = sorted(
        f"arn:aws:s3:::{bucket}/{key}"
        for project in config.projects.values()
        for bucket, key in project.smoke_test.image_locations()
    )
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "ReadSmokeTestImages", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}],
    }
