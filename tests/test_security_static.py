"""What the templates and the SCPs promise, read from the files themselves: the control plane's roles
are assumable only by its own services, the SCPs fit and say what docs/security.md says, private
connectivity is off unless asked for, and every scanner suppression says why."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpromote_emulator.runtime import STATE_MACHINE_RESOURCE, load_template

REPO = Path(__file__).resolve().parents[1]
SCP_LIMIT = 5120  # characters, whitespace included (Organizations counts what it is given)
SCPS = sorted((REPO / "policies" / "scp").glob("*.json"))
# The roles templates/target-account.yaml creates in every target account (the config's defaults).
TARGET_ROLE_NAMES = {
    "smoke_test": "mlpromote-smoke-test",
    "parameter_reader": "mlpromote-parameter-reader",
    "parameter_writer": "mlpromote-parameter-writer",
    "alarm_reader": "mlpromote-alarm-reader",
    "model_copier": "mlpromote-model-copier",
    "model_reader": "mlpromote-model-reader",
    "model_retirer": "mlpromote-model-retirer",
}
TEMPLATES = [REPO / "template.yaml", *sorted((REPO / "templates").glob("*.yaml"))]


def _statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _scp(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REPO / "policies" / "scp" / name).read_text())
    return document


# --- SCPs ---------------------------------------------------------------------------------------


def test_there_are_scps() -> None:
    assert {p.name for p in SCPS} >= {
        "consumer-accounts.json",
        "ml-account.json",
        "model-pointers.json",
        "private-model-calls.json",
    }


@pytest.mark.parametrize("path", SCPS, ids=lambda p: p.name)
def test_each_scp_is_valid_fits_as_written_and_minified_and_only_denies(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    minified = json.dumps(document, separators=(",", ":"))

    assert len(text) < SCP_LIMIT, f"{path.name} is {len(text)} characters as written; SCPs allow {SCP_LIMIT}"
    assert len(minified) < SCP_LIMIT
    assert json.loads(minified) == document  # minifying loses nothing
    assert text.isascii()
    assert document["Version"] == "2012-10-17"
    sids = [s["Sid"] for s in _statements(document)]
    assert len(sids) == len(set(sids)) and all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)
    for statement in _statements(document):
        # An SCP never grants: it only takes away. Allow statements would be a mistake here.
        assert statement["Effect"] == "Deny", statement["Sid"]
        assert "Principal" not in statement and "NotAction" not in statement, statement["Sid"]
        for operator, keys in statement.get("Condition", {}).items():
            for key in keys:
                if key.lower() == "aws:principalarn":
                    assert operator in ("ArnNotLike", "ArnLike"), (statement["Sid"], operator)


@pytest.mark.parametrize("path", SCPS, ids=lambda p: p.name)
def test_each_scp_is_documented(path: Path) -> None:
    assert f"policies/scp/{path.name}" in (REPO / "docs" / "security.md").read_text()


def _denies(document: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [s for s in _statements(document) if action in _as_list(s["Action"])]


def test_consumer_accounts_cannot_start_stop_or_delete_any_version() -> None:
    """Nobody there, whatever the model, but the roles that copy, start, stop and delete a copy environment's
    copies (templates/target-account.yaml; trusted only by the control plane's model and retirement steps)."""
    scp = _scp("consumer-accounts.json")
    for action in (
        "CreateProject", "CopyProjectVersion", "StartProjectVersion", "StopProjectVersion", "DeleteProjectVersion"
    ):  # fmt: skip
        [statement] = _denies(scp, f"rekognition:{action}")
        assert statement["Resource"] == "*"
        assert statement["Condition"] == {
            "ArnNotLike": {
                "aws:PrincipalArn": [
                    "arn:*:iam::*:role/mlpromote-model-copier",
                    "arn:*:iam::*:role/mlpromote-model-retirer",
                ]
            }
        }


def test_consumer_accounts_cannot_assume_or_change_mlpromotes_roles_there() -> None:
    scp = _scp("consumer-accounts.json")
    roles = {f"arn:*:iam::*:role/{name}" for name in TARGET_ROLE_NAMES.values()}

    [assume] = _denies(scp, "sts:AssumeRole")
    assert set(_as_list(assume["Resource"])) == roles and "Condition" not in assume
    for action in ("iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DeleteRole"):
        [change] = _denies(scp, action)
        assert set(_as_list(change["Resource"])) == roles
        exempt = change["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        assert all("stacksets-exec" in arn or "StackSetExecutionRole" in arn for arn in exempt)


def test_in_the_ml_account_only_the_control_plane_starts_stops_and_writes_grants() -> None:
    scp = _scp("ml-account.json")
    for action in ("rekognition:StartProjectVersion", "rekognition:StopProjectVersion"):
        [statement] = _denies(scp, action)
        assert statement["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": ["arn:*:iam::*:role/mlpromote-control-*"]}}
    for action in ("iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:UpdateAssumeRolePolicy"):
        on_access_roles = [s for s in _denies(scp, action) if s["Resource"] == "arn:*:iam::*:role/mlpromote-access-*"]
        assert len(on_access_roles) == 1, action
        exempt = on_access_roles[0]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
        assert exempt == ["arn:*:iam::*:role/mlpromote-control-*", "arn:*:iam::*:role/mlpromote-deployer"]


def test_in_the_ml_account_only_the_approval_path_answers_a_waiting_task() -> None:
    # The task token is in the execution history (states:GetExecutionHistory): who holds it is no
    # control, who may send it is. The API answers for the approvers; request-approval only hands a
    # decision the API recorded to the token of a retried task (mlpromote.approvals._forward).
    scp = _scp("ml-account.json")
    for action in ("states:SendTaskSuccess", "states:SendTaskFailure"):
        [statement] = _denies(scp, action)
        assert statement["Resource"] == "*"
        assert statement["Condition"] == {
            "ArnNotLike": {
                "aws:PrincipalArn": [
                    "arn:aws:iam::*:role/mlpromote-control-api",
                    "arn:aws:iam::*:role/mlpromote-control-request-approval",
                ]
            }
        }
    answering = {
        name
        for name, role in _roles(REPO / "template.yaml").items()
        for policy in role.get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
        if "states:SendTaskSuccess" in _as_list(statement["Action"])
    }
    assert {_roles(REPO / "template.yaml")[n]["RoleName"] for n in answering} == {
        "mlpromote-control-api",
        "mlpromote-control-request-approval",
    }


def test_in_the_ml_account_only_the_deployment_changes_the_access_roles_boundary() -> None:
    scp = _scp("ml-account.json")
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeleteRolePermissionsBoundary"):
        [statement] = [s for s in _denies(scp, action) if s["Sid"] == "OnlyTheDeploymentChangesTheAccessRolesBoundary"]
        assert statement["Resource"] == [
            "arn:aws:iam::*:policy/mlpromote-access-boundary",
            "arn:aws:iam::*:role/mlpromote-access-*",
        ]
        assert statement["Condition"] == {
            "ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/mlpromote-deployer"]}
        }


def test_the_state_machine_logs_its_events_without_the_task_token() -> None:
    # With execution data, every TaskScheduled event would log the approval task's input, which
    # carries $$.Task.Token: anyone who reads the log group could resume the promotion.
    template = load_template(REPO / "template.yaml")
    machine = template["Resources"][STATE_MACHINE_RESOURCE]["Properties"]
    assert machine["Logging"]["IncludeExecutionData"] is False
    asl = json.loads((REPO / machine["DefinitionUri"]).read_text())
    waits = [s for s in asl["States"].values() if str(s.get("Resource", "")).endswith(".waitForTaskToken")]
    # The environment's gate, and each wave's (rollout approve: true).
    assert [w["Parameters"]["Payload"]["taskToken.$"] for w in waits] == ["$$.Task.Token"] * 2


def test_only_the_parameter_writer_moves_the_model_pointers() -> None:
    [statement] = _statements(_scp("model-pointers.json"))

    assert {"ssm:PutParameter", "ssm:DeleteParameter", "ssm:LabelParameterVersion"} <= set(statement["Action"])
    assert "arn:*:ssm:*:*:parameter/mlpromote/*" in statement["Resource"]
    exempt = statement["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert "arn:*:iam::*:role/mlpromote-parameter-writer" in exempt
    assert not any("mlpromote-control" in arn or arn.endswith("/*") for arn in exempt)


def test_model_calls_without_an_endpoint_are_denied_to_the_access_roles() -> None:
    [statement] = _statements(_scp("private-model-calls.json"))

    assert statement["Action"] == "rekognition:DetectCustomLabels"
    assert statement["Condition"]["Null"] == {"aws:SourceVpce": "true"}
    assert statement["Condition"]["ArnLike"] == {"aws:PrincipalArn": ["arn:*:iam::*:role/mlpromote-access-*"]}


def test_the_scps_name_the_roles_the_templates_create() -> None:
    from mlpromote import iam_model

    control = _roles(REPO / "template.yaml")
    target = _roles(REPO / "templates" / "target-account.yaml")

    assert iam_model.CONTROL_PLANE_ROLE_PREFIX == "mlpromote-control-"
    assert all(role["RoleName"].startswith("mlpromote-control-") for role in control.values())
    assert {role["RoleName"] for role in target.values()} == set(TARGET_ROLE_NAMES.values())
    assert load_template(REPO / "template.yaml")["Parameters"]["AccessRolePrefix"]["Default"] == "mlpromote-access-"


# --- the control plane's roles -----------------------------------------------------------------


def _roles(path: Path) -> dict[str, dict[str, Any]]:
    resources = load_template(path)["Resources"]
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::IAM::Role"}


def test_every_control_plane_role_is_assumable_only_by_its_service_in_this_account() -> None:
    roles = _roles(REPO / "template.yaml")
    assert len(roles) >= 14
    for name, role in roles.items():
        [statement] = _statements(role["AssumeRolePolicyDocument"])
        assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole", name
        assert set(statement["Principal"]) == {"Service"}, f"{name}: only an AWS service may assume it"
        service = statement["Principal"]["Service"]
        assert service in ("lambda.amazonaws.com", "states.amazonaws.com"), name
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}, name
        assert role["RoleName"].startswith("mlpromote-control-"), name


def test_the_state_machine_role_is_assumable_only_for_this_state_machine() -> None:
    template = load_template(REPO / "template.yaml")
    machine = template["Resources"][STATE_MACHINE_RESOURCE]["Properties"]
    role_id = machine["Role"]["Fn::GetAtt"][0]
    [statement] = _statements(template["Resources"][role_id]["Properties"]["AssumeRolePolicyDocument"])

    assert statement["Principal"] == {"Service": "states.amazonaws.com"}
    source = statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source.endswith(f":stateMachine:{machine['Name']}")
    assert "Policies" not in machine  # SAM refuses Role and Policies together


def test_the_state_machine_may_invoke_exactly_the_functions_its_tasks_name() -> None:
    template = load_template(REPO / "template.yaml")
    machine = template["Resources"][STATE_MACHINE_RESOURCE]["Properties"]
    named = {value["Ref"].split(".")[0] for value in machine["DefinitionSubstitutions"].values()}
    role = template["Resources"][machine["Role"]["Fn::GetAtt"][0]]["Properties"]
    [invoke] = [
        s for p in role["Policies"] for s in _statements(p["PolicyDocument"]) if s["Action"] == "lambda:InvokeFunction"
    ]

    # Every published version of each ("<arn>:*"): the versions running executions name stay invocable.
    allowed = {resource["Fn::Sub"].removeprefix("${").removesuffix(".Arn}:*") for resource in invoke["Resource"]}
    assert allowed == named, "add the function to WorkflowRole's InvokeTheSteps (or remove it there)"


# --- the target accounts' roles: one per job, trusted by the control-plane roles doing it ---------


def _target_roles_by_name() -> dict[str, dict[str, Any]]:
    return {role["RoleName"]: role for role in _roles(REPO / "templates" / "target-account.yaml").values()}


def _actions(document: dict[str, Any]) -> set[str]:
    return {action for s in _statements(document) if s["Effect"] == "Allow" for action in _as_list(s["Action"])}


def test_the_target_roles_are_the_config_defaults() -> None:
    from mlpromote.config import TargetRoles

    assert TargetRoles().model_dump() == TARGET_ROLE_NAMES


@pytest.mark.parametrize("field", list(TARGET_ROLE_NAMES))
def test_each_target_role_is_trusted_and_allowed_as_iam_model_says(field: str) -> None:
    """templates/target-account.yaml is written by hand: it must trust exactly iam_model's callers and
    allow exactly the actions of iam_model's policy (which the emulator creates)."""
    from mlpromote import iam_model
    from mlpromote.config import load_config

    role = _target_roles_by_name()[TARGET_ROLE_NAMES[field]]
    [trust] = _statements(role["AssumeRolePolicyDocument"])
    trusted = [entry["Fn::Sub"] for entry in _as_list(trust["Principal"]["AWS"])]
    assert trust["Effect"] == "Allow" and trust["Action"] == iam_model.ASSUME_ACTIONS and "Condition" not in trust
    assert trusted == [
        f"arn:${{AWS::Partition}}:iam::${{MlAccountId}}:role/{iam_model.CONTROL_PLANE_ROLE_PREFIX}{short}"
        for short in iam_model.TARGET_ROLE_CALLERS[field]
    ]
    config = load_config(REPO / "config" / "mlpromote.yaml")
    [policy] = role["Policies"]
    assert _actions(policy["PolicyDocument"]) == _actions(iam_model.target_role_policy(config, field, "333333333333"))


def test_each_control_plane_role_may_assume_exactly_the_target_roles_that_trust_it() -> None:
    from mlpromote import iam_model

    for role in _roles(REPO / "template.yaml").values():
        short = role["RoleName"].removeprefix(iam_model.CONTROL_PLANE_ROLE_PREFIX)
        assumable = {
            resource["Fn::Sub"] if isinstance(resource, dict) else resource
            for policy in role.get("Policies", [])
            for s in _statements(policy["PolicyDocument"])
            if "sts:AssumeRole" in _as_list(s["Action"])
            for resource in _as_list(s["Resource"])
        }
        expected = {
            f"arn:${{AWS::Partition}}:iam::*:role/{TARGET_ROLE_NAMES[field]}"
            for field in iam_model.target_roles_of(short)
        }
        if short in iam_model.ORGANIZATION_READER_CALLERS:
            expected.add(f"arn:${{AWS::Partition}}:iam::*:role/{iam_model.ORGANIZATION_READER_ROLE_NAME}")
        assert assumable == expected, f"{role['RoleName']} may assume {sorted(assumable)}; it uses {sorted(expected)}"


# --- private connectivity: nothing unless asked for ---------------------------------------------


def test_the_target_accounts_endpoints_exist_only_with_a_vpc_and_admit_only_mlpromote() -> None:
    template = load_template(REPO / "templates" / "target-account.yaml")
    parameters, resources = template["Parameters"], template["Resources"]
    endpoints = {name: r for name, r in resources.items() if r["Type"] == "AWS::EC2::VPCEndpoint"}

    assert parameters["EndpointVpcId"]["Default"] == ""
    assert template["Conditions"]["CreateEndpoints"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "EndpointVpcId"}, ""]}]}
    assert set(endpoints) == {"RekognitionEndpoint", "StsEndpoint"}
    for name, endpoint in endpoints.items():
        assert endpoint["Condition"] in ("CreateEndpoints", "CreateStsEndpointToo"), name
        properties = endpoint["Properties"]
        assert properties["VpcEndpointType"] == "Interface" and properties["PrivateDnsEnabled"] is True
        [statement] = _statements(properties["PolicyDocument"])
        assert statement["Effect"] == "Allow" and "*" not in _as_list(statement["Action"]), name
        assert "aws:PrincipalAccount" in statement["Condition"]["StringEquals"], name
    rekognition = endpoints["RekognitionEndpoint"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert rekognition["Action"] == "rekognition:DetectCustomLabels"
    assert "${MlAccountId}:project/*/version/*/*" in rekognition["Resource"]["Fn::Sub"]
    sts = endpoints["StsEndpoint"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert sts["Action"] == "sts:AssumeRole" and sts["Resource"]["Fn::Sub"].endswith(":role/${AccessRolePrefix}*")


def test_the_smoke_test_runs_in_a_vpc_only_when_given_subnets() -> None:
    template = load_template(REPO / "template.yaml")
    function = template["Resources"]["SmokeTestFunction"]["Properties"]

    assert template["Parameters"]["SmokeTestSubnetIds"]["Default"] == ""
    assert function["VpcConfig"]["Fn::If"][0] == "SmokeTestInVpc"
    assert function["VpcConfig"]["Fn::If"][2] == {"Ref": "AWS::NoValue"}


# --- suppressions --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_every_scanner_suppression_says_why(path: Path) -> None:
    for name, resource in load_template(path)["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert re.fullmatch(r"CKV2?_AWS_\d+", skip["id"]), (name, skip)
            assert len(skip.get("comment", "").split()) >= 8, f"{name}: say why {skip['id']} does not apply"


# --- the policy export make policy-lint lints -----------------------------------------------------


def test_the_policy_export_covers_every_role_endpoint_scp_and_the_written_grants() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("mlpromote_tools_policies", REPO / "tools" / "policies.py")
    assert spec is not None and spec.loader is not None
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)

    policies = tools.all_policies()

    for path in TEMPLATES:
        for name, resource in load_template(path)["Resources"].items():
            if resource["Type"] in ("AWS::IAM::Role", "AWS::EC2::VPCEndpoint"):
                assert any(key.startswith(f"{path.stem}.{name}.") for key in policies), (path.name, name)
    assert {f"scp.{p.stem}" for p in SCPS} <= set(policies)
    private = policies["grants.access-role-inline-vpce"]["Statement"]
    assert all(s["Condition"]["StringEquals"]["aws:SourceVpce"] for s in private)
    assert "Condition" not in policies["grants.access-role-inline"]["Statement"][0]
    assert not any("Fn::" in json.dumps(p) or '"Ref"' in json.dumps(p) for p in policies.values()), "unresolved"


CHECKOV_CONFIG = REPO / ".checkov.yaml"


def _checks_skipped_everywhere() -> dict[str, str]:
    """.checkov.yaml's skip-check ids, each with the comment lines right above it."""
    reasons: dict[str, str] = {}
    comment: list[str] = []
    for line in CHECKOV_CONFIG.read_text().splitlines():
        stripped = line.strip()
        if line.startswith("  #"):
            comment.append(stripped.lstrip("# "))
        elif stripped.startswith("- "):
            reasons[stripped[2:]] = " ".join(comment)
            comment = []
        else:
            comment = []
    assert list(reasons) == yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"]
    return reasons


def test_checks_skipped_for_every_function_are_in_checkov_yaml_each_with_its_reason() -> None:
    reasons = _checks_skipped_everywhere()
    assert reasons, "no check skipped everywhere: then .checkov.yaml has no reason to exist"
    for check, reason in reasons.items():
        assert re.fullmatch(r"CKV2?_AWS_\d+", check), check
        assert f"({check})" in reason, f".checkov.yaml: name {check} in the comment that says why it is skipped"
        assert len(reason.split()) >= 15, f".checkov.yaml: say why {check} does not apply to any function"
    assert "--config-file .checkov.yaml" in (REPO / "make" / "security.mk").read_text()


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_no_resource_repeats_a_skip_that_checkov_yaml_makes_for_every_function(path: Path) -> None:
    everywhere = set(_checks_skipped_everywhere())
    repeated = [
        (name, skip["id"])
        for name, resource in load_template(path)["Resources"].items()
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", [])
        if skip["id"] in everywhere
    ]
    assert repeated == []


def test_the_organization_reader_is_trusted_by_exactly_iam_models_callers_and_only_lists() -> None:
    """templates/organization-reader.yaml is written by hand: it trusts the control-plane roles that
    resolve an OU environment's accounts (and template.yaml lets exactly those assume it), and may only
    list OUs' accounts and child OUs."""
    from mlpromote import iam_model

    [role] = _roles(REPO / "templates" / "organization-reader.yaml").values()
    assert role["RoleName"] == iam_model.ORGANIZATION_READER_ROLE_NAME
    [trust] = _statements(role["AssumeRolePolicyDocument"])
    trusted = [entry["Fn::Sub"] for entry in _as_list(trust["Principal"]["AWS"])]
    assert trust["Action"] == iam_model.ASSUME_ACTIONS and "Condition" not in trust
    assert trusted == [
        f"arn:${{AWS::Partition}}:iam::${{MlAccountId}}:role/{iam_model.CONTROL_PLANE_ROLE_PREFIX}{short}"
        for short in iam_model.ORGANIZATION_READER_CALLERS
    ]
    [policy] = role["Policies"]
    assert _actions(policy["PolicyDocument"]) == {
        "organizations:ListAccountsForParent",
        "organizations:ListOrganizationalUnitsForParent",
    }
