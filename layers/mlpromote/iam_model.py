"""The IAM model of a deployment: which role exists where, and whom it trusts.

One source for the templates' generated parts (templates/access-roles.yaml) and for the
emulator, which creates the same roles a deployment would.
"""

from __future__ import annotations

import json
from typing import Any

from mlpromote import arns
from mlpromote import config as config_module
from mlpromote.config import Config, SmokeTest

# The control plane's function roles in the ML account (template.yaml gives them these names).
CONTROL_PLANE_ROLE_PREFIX = "mlpromote-control-"
CONTROL_PLANE_ROLES = {
    "plan": "ValidateAndPlan",
    "start-model": "StartModel",
    "check-model": "CheckModelStatus",
    "confirm-serving": "ConfirmServing",
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
# Who may assume each target-account role: one role per job, each trusted only by the steps doing it.
SMOKE_TEST_CALLERS = ("smoke-test",)
# Read the pointers: the plan (a rollback's environment; upstream's for `requires`), taking the
# environment (what each account serves, read under the lock), the retirement and the compensation
# (is a version still live in another environment?), drift detection, the API's dry run.
PARAMETER_READER_CALLERS = ("plan", "take-environment", "retire", "compensate", "detect-drift", "api")
# Move them: the rotation; the compensation, which reads each account's before it puts it back.
PARAMETER_WRITER_CALLERS = ("rotate-pointer", "compensate")
# Read the rollback alarms: the plan (does each exist in every account?), the bake, the API's dry
# run (the plan's checks).
ALARM_READER_CALLERS = ("plan", "watch-alarms", "api")
# Copy environments (strategy: copy). Copy the version into the account and start the copy: the model
# phase (start, then check). Find the account's copy: the check before the switch, the rotation (the
# pointer names the copy), drift detection, the API's dry run. Stop and delete superseded or failed
# copies: the retirement and the compensation.
MODEL_COPIER_CALLERS = ("start-model", "check-model")
MODEL_READER_CALLERS = ("confirm-serving", "rotate-pointer", "detect-drift", "api")
MODEL_RETIRER_CALLERS = ("retire", "compensate")

# List the accounts of the environments' OUs (templates/organization-reader.yaml, in the management
# account): every step that resolves an OU environment's accounts (mlpromote.environments): the plan,
# the retirement and the compensation (is a version live in another environment?), drift detection,
# the API's dry run (the plan's checks and drift's reads).
ORGANIZATION_READER_CALLERS = ("plan", "retire", "compensate", "detect-drift", "api")
ORGANIZATION_READER_ROLE_NAME = config_module.ORGANIZATION_READER_ROLE_NAME
# TargetRoles field -> the control-plane roles (short names) its role trusts.
TARGET_ROLE_CALLERS: dict[str, tuple[str, ...]] = {
    "smoke_test": SMOKE_TEST_CALLERS,
    "parameter_reader": PARAMETER_READER_CALLERS,
    "parameter_writer": PARAMETER_WRITER_CALLERS,
    "alarm_reader": ALARM_READER_CALLERS,
    "model_copier": MODEL_COPIER_CALLERS,
    "model_reader": MODEL_READER_CALLERS,
    "model_retirer": MODEL_RETIRER_CALLERS,
}


def target_roles_of(short_name: str) -> list[str]:
    """The TargetRoles fields whose roles trust the control-plane role `short_name`: what it may assume."""
    return [role for role, callers in TARGET_ROLE_CALLERS.items() if short_name in callers]


def control_plane_role_arn(partition: str, ml_account: str, short_name: str) -> str:
    return arns.role(partition, ml_account, f"{CONTROL_PLANE_ROLE_PREFIX}{short_name}")


# The target-account roles' callers may pass the promotion's requester on as the session's source
# identity (mlpromote.aws.sessions; IAM User Guide, "Permissions required to set source identity":
# the trust policy must allow sts:SetSourceIdentity). The access roles do not allow it: their trust
# conditions (sts:ExternalId) are not in a SetSourceIdentity request, and a source identity set
# earlier persists through a role chain, so the smoke test's chain (target smoke-test role, then
# the access role) sets none; its sessions are still named after the promotion.
ASSUME_ACTIONS = ["sts:AssumeRole", "sts:SetSourceIdentity"]


def trust_accounts(partition: str, accounts: list[str]) -> dict[str, Any]:
    """Trust the given accounts (any principal there that its own IAM allows to assume the role)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustEnvironmentAccounts",
                "Effect": "Allow",
                "Principal": {"AWS": [arns.account_root(partition, account) for account in accounts]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def trust_organizational_units(organization: str, units: list[str]) -> dict[str, Any]:
    """Trust every principal whose account is in one of the OUs or their child OUs, by organization
    path: the same size for 5 accounts or 5,000, and an account moved into the OU is admitted with
    no redeploy. aws:PrincipalOrgPaths is multivalued, hence ForAnyValue:StringLike; a path is
    o-.../r-.../ou-.../ (each OU from the root down), so `<org>/*/<ou>/*` matches the OU wherever it
    sits and every OU below it (IAM User Guide, "AWS global condition context keys",
    aws:PrincipalOrgPaths, and "Understand the AWS Organizations entity path"). aws:PrincipalOrgID
    pins the organization as well: the path's first element says it, the ID is the documented key."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "TrustEnvironmentOrganizationalUnits",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": organization},
                    "ForAnyValue:StringLike": {
                        "aws:PrincipalOrgPaths": [organization_path(organization, unit) for unit in units]
                    },
                },
            }
        ],
    }


def organization_path(organization: str, unit: str) -> str:
    """The aws:PrincipalOrgPaths pattern of an OU and its child OUs."""
    return arns.organization_path(organization, unit)


def trust_roles(role_arns: list[str], sid: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": sid, "Effect": "Allow", "Principal": {"AWS": role_arns}, "Action": ASSUME_ACTIONS}],
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
    organization = config.organization_of(environment)
    if env.by_organization:
        # An OU environment: by organization path, never by account (the config requires organizationId).
        assert organization is not None
        trust = trust_organizational_units(organization, env.organizational_units)
    else:
        trust = trust_accounts(config.partition, env.accounts)
    conditions: dict[str, dict[str, Any]] = trust["Statement"][0].get("Condition", {})
    if env.consumer_role_arns:
        # In an OU environment the smoke-test role of any account (the trust's org paths say which).
        smoke_accounts = ["*"] if env.by_organization else env.accounts
        smoke_test_roles = [
            arns.role(config.partition, account, config.target_roles.smoke_test) for account in smoke_accounts
        ]
        conditions["ArnLike"] = {"aws:PrincipalArn": list(dict.fromkeys([*env.consumer_role_arns, *smoke_test_roles]))}
    if organization or env.external_id:
        equals: dict[str, str] = {}
        if organization:
            equals["aws:PrincipalOrgID"] = organization
        if env.external_id:
            equals["sts:ExternalId"] = env.external_id
        conditions.setdefault("StringEquals", {}).update(equals)
    if conditions:
        trust["Statement"][0]["Condition"] = conditions
    return trust


def policy_size(document: dict[str, Any]) -> int:
    """The size IAM checks against its limits: the JSON without whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def smoke_test_role_policy(config: Config, account: str = "*") -> dict[str, Any]:
    """In a target account: may assume the access roles of the ML account (accessRolePrefix*, as
    templates/target-account.yaml's AccessRolePrefix), and call its own account's copies (copy
    environments: find the copy, call it on the ML account's smoke-test images), nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AssumeAccessRoles",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": arns.role(config.partition, config.ml_account, f"{config.access_role_prefix}*"),
            },
            *_describe_copies(config, account),
            {
                "Sid": "CallTheLocalCopies",
                "Effect": "Allow",
                "Action": "rekognition:DetectCustomLabels",
                "Resource": _local_versions(config, account),
            },
            {
                "Sid": "CallTheLocalComprehendCopies",
                "Effect": "Allow",
                "Action": ["comprehend:ClassifyDocument", "comprehend:DetectEntities"],
                "Resource": _local_comprehend_endpoints(config, account),
            },
        ],
    }


# Comprehend copies (ImportModel): the account's models of any name, and the endpoints mlpromote names
# (mlpromote.arns.comprehend_endpoint_name).
def _local_comprehend_models(config: Config, account: str) -> list[str]:
    at = f"arn:{config.partition}:comprehend:{config.region}:{account}"
    return [f"{at}:document-classifier/*", f"{at}:entity-recognizer/*"]


def _local_comprehend_endpoints(config: Config, account: str) -> list[str]:
    at = f"arn:{config.partition}:comprehend:{config.region}:{account}"
    prefix = arns.COMPREHEND_ENDPOINT_PREFIX
    return [f"{at}:document-classifier-endpoint/{prefix}*", f"{at}:entity-recognizer-endpoint/{prefix}*"]


def _local_projects(config: Config, account: str) -> str:
    return f"arn:{config.partition}:rekognition:{config.region}:{account}:project/*"


def _local_versions(config: Config, account: str) -> str:
    return f"arn:{config.partition}:rekognition:{config.region}:{account}:project/*/version/*/*"


def _describe_copies(config: Config, account: str) -> list[dict[str, Any]]:
    """Find the account's copies: DescribeProjects is authorized on "*" (Service Authorization Reference),
    DescribeProjectVersions on the project."""
    return [
        {"Sid": "FindProjects", "Effect": "Allow", "Action": "rekognition:DescribeProjects", "Resource": "*"},
        {
            "Sid": "FindCopies",
            "Effect": "Allow",
            "Action": "rekognition:DescribeProjectVersions",
            "Resource": _local_projects(config, account),
        },
        {
            # A Comprehend copy is the account's model of its source's names, and its endpoint.
            "Sid": "FindComprehendCopies",
            "Effect": "Allow",
            "Action": [
                "comprehend:DescribeDocumentClassifier",
                "comprehend:DescribeEntityRecognizer",
                "comprehend:DescribeEndpoint",
            ],
            "Resource": [*_local_comprehend_models(config, account), *_local_comprehend_endpoints(config, account)],
        },
    ]


def model_copier_policy(config: Config, account: str) -> dict[str, Any]:
    """In a target account: create the project, copy a version of the ML account into it, start the copy."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_describe_copies(config, account),
            {
                "Sid": "CopyIntoLocalProjects",
                "Effect": "Allow",
                "Action": ["rekognition:CreateProject", "rekognition:CopyProjectVersion"],
                "Resource": _local_projects(config, account),
            },
            {
                # The source's project policy must allow it too (mlpromote.project_policy).
                "Sid": "CopyFromTheMlAccount",
                "Effect": "Allow",
                "Action": "rekognition:CopyProjectVersion",
                "Resource": _local_versions(config, config.ml_account),
            },
            {
                "Sid": "StartLocalCopies",
                "Effect": "Allow",
                "Action": "rekognition:StartProjectVersion",
                "Resource": _local_versions(config, account),
            },
            {
                # The source version's resource policy must allow it too (mlpromote.resource_policy).
                "Sid": "ImportComprehendModels",
                "Effect": "Allow",
                "Action": "comprehend:ImportModel",
                "Resource": [
                    *_local_comprehend_models(config, account),
                    *_local_comprehend_models(config, config.ml_account),
                ],
            },
            {
                "Sid": "StartLocalComprehendCopies",
                "Effect": "Allow",
                "Action": "comprehend:CreateEndpoint",
                "Resource": [*_local_comprehend_models(config, account), *_local_comprehend_endpoints(config, account)],
            },
        ],
    }


def model_reader_policy(config: Config, account: str) -> dict[str, Any]:
    """In a target account: find the copies and read their status, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_describe_copies(config, account),
            {
                # Drift lists the account's Comprehend copies; List* take no resource.
                "Sid": "ListComprehendCopies",
                "Effect": "Allow",
                "Action": ["comprehend:ListDocumentClassifiers", "comprehend:ListEntityRecognizers"],
                "Resource": "*",
            },
        ],
    }


def model_retirer_policy(config: Config, account: str) -> dict[str, Any]:
    """In a target account: stop and delete copies (the retirement, the compensation)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            *_describe_copies(config, account),
            {
                "Sid": "StopAndDeleteLocalCopies",
                "Effect": "Allow",
                "Action": ["rekognition:StopProjectVersion", "rekognition:DeleteProjectVersion"],
                "Resource": _local_versions(config, account),
            },
            {
                "Sid": "StopAndDeleteLocalComprehendCopies",
                "Effect": "Allow",
                "Action": [
                    "comprehend:DeleteEndpoint",
                    "comprehend:DeleteDocumentClassifier",
                    "comprehend:DeleteEntityRecognizer",
                ],
                "Resource": [*_local_comprehend_models(config, account), *_local_comprehend_endpoints(config, account)],
            },
        ],
    }


def _parameter_arns(config: Config, account: str) -> list[str]:
    # The parameters under parameterPathPrefix, as templates/target-account.yaml's ParameterPathPrefix.
    name = f"{config.parameter_path_prefix.lstrip('/')}/*"
    return [arns.ssm_parameter(config.partition, config.region, account, name)]


# What each pointer adapter call needs (mlpromote.aws.ssm): read_pointer is GetParameter;
# write_pointer is PutParameter and LabelParameterVersion, or DeleteParameter.
READ_POINTER_ACTIONS = ("ssm:GetParameter",)
WRITE_POINTER_ACTIONS = ("ssm:PutParameter", "ssm:LabelParameterVersion", "ssm:DeleteParameter")


def parameter_reader_policy(config: Config, account: str) -> dict[str, Any]:
    """In a target account: read the model pointers, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadModelPointers",
                "Effect": "Allow",
                "Action": list(READ_POINTER_ACTIONS),
                "Resource": _parameter_arns(config, account),
            }
        ],
    }


def parameter_writer_policy(config: Config, account: str) -> dict[str, Any]:
    """In a target account: read and move the model pointers (the compensation compares before it writes)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteModelPointers",
                "Effect": "Allow",
                "Action": [*READ_POINTER_ACTIONS, *WRITE_POINTER_ACTIONS],
                "Resource": _parameter_arns(config, account),
            }
        ],
    }


def alarm_reader_policy() -> dict[str, Any]:
    """In a target account: read alarm states, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # Scoped to alarm ARNs, DescribeAlarms would silently leave out composite alarms: they need "*".
                "Sid": "ReadRollbackAlarms",
                "Effect": "Allow",
                "Action": "cloudwatch:DescribeAlarms",
                "Resource": "*",
            }
        ],
    }


def target_role_policy(config: Config, role: str, account: str) -> dict[str, Any]:
    """The policy of the TargetRoles field `role`'s role in `account`."""
    if role == "smoke_test":
        return smoke_test_role_policy(config, account)
    if role == "model_copier":
        return model_copier_policy(config, account)
    if role == "model_reader":
        return model_reader_policy(config, account)
    if role == "model_retirer":
        return model_retirer_policy(config, account)
    if role == "parameter_reader":
        return parameter_reader_policy(config, account)
    if role == "parameter_writer":
        return parameter_writer_policy(config, account)
    if role == "alarm_reader":
        return alarm_reader_policy()
    raise ValueError(f"no target role {role!r}; one of {', '.join(TARGET_ROLE_CALLERS)}")


# The managed policy every access role carries as its permissions boundary, named after the roles
# (accessRolePrefix + "boundary", as template.yaml's grant writers' iam:PermissionsBoundary condition).
ACCESS_ROLE_BOUNDARY_SUFFIX = "boundary"


def access_role_boundary_name(config: Config) -> str:
    return f"{config.access_role_prefix}{ACCESS_ROLE_BOUNDARY_SUFFIX}"


def access_role_boundary_arn(config: Config) -> str:
    return arns.iam_policy(config.partition, config.ml_account, access_role_boundary_name(config))


def access_role_boundary(config: Config) -> dict[str, Any]:
    """The most an access role may ever do, whatever its inline policies say: call the ML account's
    model versions and read the smoke-test images. A grant written wider by mistake (or by anyone
    who gets to write the access role's policy) is cut back to this."""
    versions = arns.rekognition_version(config.partition, config.region, config.ml_account, "*", "*", 0)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CallModelVersions",
                "Effect": "Allow",
                "Action": "rekognition:DetectCustomLabels",
                "Resource": versions.removesuffix("/0") + "/*",
            },
            *_comprehend_endpoints(config),
            *smoke_test_images_policy(config)["Statement"],
        ],
    }


def _comprehend_endpoints(config: Config) -> list[dict[str, Any]]:
    """With Comprehend projects: calling the endpoints mlpromote creates (arns.comprehend_endpoint_name),
    ClassifyDocument on a classifier's, DetectEntities on an entity recognizer's."""
    kinds = sorted({project.model_kind for project in config.projects.values()} - {"rekognition"})
    actions = {"document-classifier": "comprehend:ClassifyDocument", "entity-recognizer": "comprehend:DetectEntities"}
    at = f"arn:{config.partition}:comprehend:{config.region}:{config.ml_account}"
    return [
        {
            "Sid": "CallComprehendEndpoints" if kind == "document-classifier" else "CallComprehendEntityEndpoints",
            "Effect": "Allow",
            "Action": actions[kind],
            "Resource": f"{at}:{kind}-endpoint/{arns.COMPREHEND_ENDPOINT_PREFIX}*",
        }
        for kind in kinds
    ]


def smoke_test_images_policy(config: Config) -> dict[str, Any]:
    """DetectCustomLabels reads an S3 image with the caller's permissions: the access role's."""
    objects = sorted(
        arns.s3_object(config.partition, bucket, key)
        for project in config.projects.values()
        if isinstance(project.smoke_test, SmokeTest)
        for bucket, key in project.smoke_test.image_locations()
    )
    # Without Custom Labels projects there is no image to read (IAM refuses an empty Resource).
    statements = [{"Sid": "ReadSmokeTestImages", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}]
    return {"Version": "2012-10-17", "Statement": statements if objects else []}


def trust_policy_findings(config: Config, environment: str) -> tuple[str | None, str | None]:
    """(error, warning) about the size of the environment's access-role trust policy: over IAM's
    4,096 characters it cannot be deployed at all; over the default 2,048 it needs the account's
    "Role trust policy length" quota raised first (IAM quotas, IAM User Guide)."""
    name = config.access_role_name(environment)
    size = policy_size(access_role_trust(config, environment))
    if size > TRUST_POLICY_MAX_LIMIT:
        return (
            f"environments.{environment}: the trust policy of {name} would be {size} characters, over IAM's "
            f"{TRUST_POLICY_MAX_LIMIT} even with a raised quota: split the environment, or list fewer "
            "accounts or consumerRoleArns",
            None,
        )
    if size > TRUST_POLICY_DEFAULT_LIMIT:
        return None, (
            f"the trust policy of {name} is {size} characters, over IAM's default {TRUST_POLICY_DEFAULT_LIMIT}: "
            "raise the 'Role trust policy length' quota before deploying"
        )
    return None, None
