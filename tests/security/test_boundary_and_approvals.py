"""Issue 11 C, evaluated over the deployed policies (the authorization matrix's world, principalmapper):
the access roles' permissions boundary, the grant writers held to roles that carry it, and only the
approval path answering a waiting task. Each test also removes the guard and shows the request go
through, so none of them could pass without it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import authorization_matrix as matrix  # noqa: E402

from mlpromote import iam_model  # noqa: E402
from mlpromote.grants import POLICY_NAME  # noqa: E402

ANYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
GRANT_WRITERS = ("grant-access", "retire", "compensate", "detect-drift")


@pytest.fixture(scope="module")
def deployed() -> matrix.World:
    return matrix.deployed_world()


def _beyond_calling_models(world: matrix.World) -> list[tuple[str, str]]:
    """Requests an access role must never make, none of them kept from it by an SCP."""
    ml, region = world.ml, world.config.region
    return [
        ("rekognition:DeleteProjectVersion", world.current("prod")),
        ("rekognition:DescribeProjectVersions", world.story.project_arn),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ml}:role/admin"),
        ("ssm:PutParameter", f"arn:aws:ssm:{region}:{ml}:parameter/anything"),
        ("dynamodb:DeleteItem", f"arn:aws:dynamodb:{region}:{ml}:table/mlpromote-promotions"),
    ]


def test_every_access_role_carries_the_boundary_of_the_access_roles(deployed: matrix.World) -> None:
    for environment in deployed.config.environments:
        role = deployed.access_role(environment)
        assert role.boundary is not None, environment
        arn, document = role.boundary
        assert arn == iam_model.access_role_boundary_arn(deployed.config)
        assert document == iam_model.access_role_boundary(deployed.config)


def test_the_boundary_cuts_a_grant_written_wider_back_to_calling_models(deployed: matrix.World) -> None:
    access = deployed.access_role("prod")
    widened = deployed.with_policy(access.arn, POLICY_NAME, ANYTHING)
    role = widened.roles[access.arn]

    assert widened.allowed(role, "rekognition:DetectCustomLabels", deployed.current("prod"), {})
    for action, resource in _beyond_calling_models(deployed):
        assert not widened.allowed(role, action, resource, {}), action

    # Without the boundary the same grant would do all of it: the boundary is what stops it.
    unbounded = widened.with_role(access.arn, boundary=None)
    for action, resource in _beyond_calling_models(deployed):
        assert unbounded.allowed(unbounded.roles[access.arn], action, resource, {}), action


@pytest.mark.parametrize("writer", GRANT_WRITERS)
def test_the_grant_writers_write_only_to_roles_that_carry_the_boundary(deployed: matrix.World, writer: str) -> None:
    access = deployed.access_role("prod").arn
    other_boundary = (f"arn:aws:iam::{deployed.ml}:policy/something-wider", ANYTHING)
    for action in ("iam:PutRolePolicy", "iam:DeleteRolePolicy"):
        assert deployed.allowed(deployed.control_role(writer), action, access, {}), action
        # An access-named role without the boundary, or with another one: refused.
        for boundary in (None, other_boundary):
            changed = deployed.with_role(access, boundary=boundary)
            assert not changed.allowed(changed.control_role(writer), action, access, {}), (action, boundary)
    # Reading a grant needs no boundary (iam:GetRolePolicy carries no iam:PermissionsBoundary).
    changed = deployed.with_role(access, boundary=None)
    assert changed.allowed(changed.control_role(writer), "iam:GetRolePolicy", access, {})


def test_the_grant_writers_statements_name_the_boundary_the_access_roles_carry() -> None:
    template = matrix.load_template(REPO / "template.yaml")
    conditions: list[Any] = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for policy in resource["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                if {"iam:PutRolePolicy", "iam:DeleteRolePolicy"} & set(actions):
                    conditions.append(statement.get("Condition"))
    assert len(conditions) == len(GRANT_WRITERS)
    expected = "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/${AccessRolePrefix}" + (
        iam_model.ACCESS_ROLE_BOUNDARY_SUFFIX
    )
    assert all(c == {"ArnEquals": {"iam:PermissionsBoundary": {"Fn::Sub": expected}}} for c in conditions)


def test_only_the_approval_path_answers_a_waiting_task(deployed: matrix.World) -> None:
    machine = f"arn:aws:states:{deployed.config.region}:{deployed.ml}:stateMachine:mlpromote-promote-model"
    in_ml = [role for arn, role in deployed.roles.items() if role.account == deployed.ml]
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
        answering = {role.name for role in in_ml if deployed.allowed(role, action, machine, {})}
        assert answering == {"mlpromote-control-api", "mlpromote-control-request-approval"}, action

    # The ML account's admin (AdministratorAccess) is kept off by the SCP alone.
    admin = deployed.roles[f"arn:aws:iam::{deployed.ml}:role/admin"]
    assert not deployed.allowed(admin, "states:SendTaskSuccess", machine, {})
    assert deployed.with_scps({}).allowed(admin, "states:SendTaskSuccess", machine, {})
