"""The rehearsal authorizes every AWS call a handler makes as that handler's deployed role
(mlpromote_emulator.authorization): each rule bites in a copy of the stack with one thing taken away,
at exactly that call, answered AccessDenied as AWS answers it, and the world stays as it was (or is
compensated as the workflow does)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlpromote_emulator.project import copy_project
from mlpromote_emulator.runtime import Emulator

REPO = Path(__file__).resolve().parents[2]
ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"


def _stack_copy(directory: Path) -> Path:
    """Every file the rehearsal deploys, as a checkout has them."""
    return copy_project(directory)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} must occur once in {path.name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _run(worlds: Any, stack: Path, *promotions: Any) -> tuple[list[Any], dict[str, Any], dict[str, Any], Any]:
    """(results, world before, world after, the authorizer) of promotions on `stack`."""
    scenario = worlds.scenario(*promotions)
    with Emulator(scenario, repo_root=stack) as emu:
        before = emu.world()
        results = [emu.promote(spec) for spec in scenario.promotions]
        after = emu.world()
    return results, before, after, emu.authorizer


def test_the_deployed_roles_allow_a_whole_promotion_and_every_call_is_checked(worlds: Any) -> None:
    with worlds.emulator() as emu:
        result = emu.promote(worlds.scenario(("prod", "tools/v3")).promotions[0])
        world = emu.world()
        authorizer = emu.authorizer

    assert result.status == "SUCCEEDED", result.as_json()
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v3", PROD_B: "tools/v3"}
    assert authorizer is not None and authorizer.denials == []
    checked = {(c.role.rsplit("/", 1)[-1], c.action) for c in authorizer.checked}
    # The function roles of template.yaml, the target accounts' roles and the access roles all answered.
    assert ("mlpromote-control-start-model", "rekognition:StartProjectVersion") in checked
    assert ("mlpromote-control-grant-access", "iam:PutRolePolicy") in checked
    assert ("mlpromote-control-rotate-pointer", "sts:AssumeRole") in checked
    assert ("mlpromote-parameter-writer", "ssm:PutParameter") in checked
    assert ("mlpromote-smoke-test", "sts:AssumeRole") in checked
    assert ("mlpromote-access-prod", "rekognition:DetectCustomLabels") in checked


def test_a_role_without_a_needed_action_fails_the_promotion_at_that_call(worlds: Any, tmp_path: Path) -> None:
    stack = _stack_copy(tmp_path)
    _edit(
        stack / "template.yaml",
        "              - Sid: StartVersions\n"
        "                Effect: Allow\n"
        "                Action: rekognition:StartProjectVersion\n",
        "              - Sid: StartVersions\n"
        "                Effect: Allow\n"
        "                Action: rekognition:DescribeProjects\n",
    )

    [result], before, after, authorizer = _run(worlds, stack, ("prod", "tools/v3"))

    assert result.status == "FAILED", result.as_json()
    assert "AccessDeniedException" in (result.cause or "")
    assert "rekognition:StartProjectVersion" in (result.cause or "")
    [denial] = authorizer.denials
    assert denial.principal == f"arn:aws:sts::{ML}:assumed-role/mlpromote-control-start-model/StartModelFunction"
    assert (denial.action, denial.resource) == ("rekognition:StartProjectVersion", worlds_version(worlds, "tools/v3"))
    assert "no identity-based policy allows" in denial.reason
    # Denied before moto acted: v3 never started, and the pointers and grants are as they were.
    assert after == before


def test_a_target_role_without_a_needed_action_is_compensated(worlds: Any, tmp_path: Path) -> None:
    stack = _stack_copy(tmp_path)
    _edit(stack / "templates" / "target-account.yaml", "                  - ssm:PutParameter\n", "")

    [result], before, after, authorizer = _run(worlds, stack, ("prod", "tools/v2"))

    assert result.status == "FAILED", result.as_json()
    # A failed rotation's cause is kept short in the state (a fan-out keeps one per account); the
    # denial itself, with its action, is the authorizer's.
    assert str(result.cause).startswith("PutParameter: AccessDeniedException"), result.as_json()
    assert {(d.action, d.principal.split("/")[1]) for d in authorizer.denials} == {
        ("ssm:PutParameter", "mlpromote-parameter-writer")
    }
    assert all(d.resource.endswith(":parameter/mlpromote/tools/model-arn") for d in authorizer.denials)
    # No pointer moved; the compensation took back the new grant.
    assert after["parameters"] == before["parameters"]
    assert after["grants"] == before["grants"]


def test_an_scp_denies_what_the_role_allows(worlds: Any, tmp_path: Path) -> None:
    stack = _stack_copy(tmp_path)
    scp_path = stack / "policies" / "scp" / "ml-account.json"
    scp = json.loads(scp_path.read_text(encoding="utf-8"))
    scp["Statement"].append(
        {"Sid": "RehearsalNoGrants", "Effect": "Deny", "Action": "iam:PutRolePolicy", "Resource": "*"}
    )
    scp_path.write_text(json.dumps(scp), encoding="utf-8")

    [result], before, after, authorizer = _run(worlds, stack, ("prod", "tools/v2"))

    assert result.status == "FAILED", result.as_json()
    [denial] = {(d.action, d.reason) for d in authorizer.denials}
    assert denial[0] == "iam:PutRolePolicy"
    assert "explicit deny in a service control policy" in denial[1]
    assert after == before


def test_a_permissions_boundary_denies_what_the_role_allows(worlds: Any, tmp_path: Path) -> None:
    stack = _stack_copy(tmp_path)
    template = stack / "template.yaml"
    _edit(
        template,
        "      RoleName: mlpromote-control-grant-access\n",
        "      RoleName: mlpromote-control-grant-access\n      PermissionsBoundary: !Ref ReadGrantsOnly\n",
    )
    _edit(
        template,
        "  GrantAccessRole:\n",
        "  ReadGrantsOnly:\n"
        "    Type: AWS::IAM::ManagedPolicy\n"
        "    Properties:\n"
        "      ManagedPolicyName: rehearsal-read-grants-only\n"
        "      PolicyDocument:\n"
        '        Version: "2012-10-17"\n'
        "        Statement:\n"
        "          - Effect: Allow\n"
        "            Action: [iam:GetRolePolicy, iam:ListRolePolicies]\n"
        '            Resource: "*"\n\n'
        "  GrantAccessRole:\n",
    )

    [result], before, after, authorizer = _run(worlds, stack, ("prod", "tools/v2"))

    assert result.status == "FAILED", result.as_json()
    [denial] = {(d.action, d.reason) for d in authorizer.denials}
    assert denial == ("iam:PutRolePolicy", "because no permissions boundary allows the iam:PutRolePolicy action")
    assert after == before


def test_a_trust_policy_refuses_assume_role(worlds: Any, tmp_path: Path) -> None:
    stack = _stack_copy(tmp_path)
    # The parameter writers trust the compensation only, not the rotation.
    _edit(
        stack / "templates" / "target-account.yaml",
        "                - !Sub arn:${AWS::Partition}:iam::${MlAccountId}:role/mlpromote-control-rotate-pointer\n"
        "                - !Sub arn:${AWS::Partition}:iam::${MlAccountId}:role/mlpromote-control-compensate\n",
        "                - !Sub arn:${AWS::Partition}:iam::${MlAccountId}:role/mlpromote-control-compensate\n",
    )

    [result], before, after, authorizer = _run(worlds, stack, ("prod", "tools/v2"))

    assert result.status == "FAILED", result.as_json()
    denials = {(d.principal.split("/")[1], d.action, d.resource) for d in authorizer.denials}
    assert denials == {
        (
            "mlpromote-control-rotate-pointer",
            "sts:AssumeRole",
            f"arn:aws:iam::{account}:role/mlpromote-parameter-writer",
        )
        for account in (PROD_A,)
    } or denials == {
        (
            "mlpromote-control-rotate-pointer",
            "sts:AssumeRole",
            f"arn:aws:iam::{account}:role/mlpromote-parameter-writer",
        )
        for account in (PROD_A, PROD_B)
    }
    assert after["parameters"] == before["parameters"]
    assert after["grants"] == before["grants"]


def test_a_denied_call_is_answered_as_aws_answers_it(worlds: Any) -> None:
    """The code each service uses and botocore's own parse of it: what an adapter sees."""
    import boto3
    from botocore.exceptions import ClientError

    from mlpromote_emulator import authorization, moto_adaptations

    with worlds.emulator() as emu:
        rekognition = boto3.session.Session().client("rekognition", region_name="us-east-1")
        iam = boto3.session.Session().client("iam", region_name="us-east-1")
        answers = {}
        with moto_adaptations.acting_as_control_plane(), authorization.acting_as("PlanFunction", _role("plan")):
            for name, call in (
                ("rekognition", lambda: rekognition.stop_project_version(ProjectVersionArn=_version(worlds))),
                ("iam", lambda: iam.put_role_policy(RoleName="x", PolicyName="y", PolicyDocument="{}")),
            ):
                with pytest.raises(ClientError) as denied:
                    call()
                answers[name] = denied.value.response
        versions = emu.world()["versions"]

    assert answers["rekognition"]["Error"]["Code"] == "AccessDeniedException"
    assert answers["iam"]["Error"]["Code"] == "AccessDenied"
    assert answers["iam"]["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert answers["rekognition"]["Error"]["Message"].startswith(
        f"User: arn:aws:sts::{ML}:assumed-role/mlpromote-control-plan/PlanFunction is not authorized to perform: "
        "rekognition:StopProjectVersion on resource: "
    )
    assert versions["tools/v1"] == "RUNNING"


def _role(short: str) -> str:
    return f"arn:aws:iam::{ML}:role/mlpromote-control-{short}"


def _version(worlds: Any, label: str = "tools/v1") -> str:
    from mlpromote_emulator.world import WorldMap

    scenario = worlds.scenario()
    return WorldMap(scenario).arn(label, scenario.config)


worlds_version = _version
