"""Handlers called one at a time, as Lambda would call them, against the emulated accounts."""

from __future__ import annotations

import json
from typing import Any

import boto3

from mlpromote.grants import POLICY_NAME

EXECUTION = "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:test"


def call(emu: Any, function: str, event: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    payload, failed = emu.invoke(function, json.dumps(event).encode())
    return json.loads(payload), failed


def account_view(plan: dict[str, Any]) -> dict[str, Any]:
    """What a Map iteration gets of the plan (the ASL's ItemSelector)."""
    from mlpromote.plan import AccountPlan

    return {field.alias: plan[field.alias] for field in AccountPlan.model_fields.values() if field.alias}


def validated(emu: Any, environment: str, version: str) -> dict[str, Any]:
    request = {"environment": environment, "modelVersionArn": emu.names.arn(version, emu.config)}
    plan, failed = call(
        emu,
        "ValidateAndPlanFunction",
        {"execution": EXECUTION, "requestedAt": "2026-01-01T00:00:00+00:00", "request": request},
    )
    assert not failed, plan
    return plan


def plan_for(emu: Any, environment: str, version: str) -> dict[str, Any]:
    """The plan as the steps after Take the environment see it: validated, then read under the lock."""
    plan, failed = call(
        emu, "TakeEnvironmentFunction", {"execution": EXECUTION, "plan": validated(emu, environment, version)}
    )
    assert not failed, plan
    return plan


def test_the_plan_changes_nothing_and_the_lock_reads_every_account(worlds) -> None:
    with worlds.emulator() as emu:
        before = emu.world()
        plan = validated(emu, "prod", "tools/v2")
        assert emu.world() == before
        taken = plan_for(emu, "prod", "tools/v2")
        assert emu.world() == before
    v1 = emu.names.arn("tools/v1", emu.config)
    assert plan["pointing"] == [{"version": None, "accounts": [worlds.PROD_A, worlds.PROD_B]}]  # read under the lock
    assert taken["pointing"] == [{"version": v1, "accounts": [worlds.PROD_A, worlds.PROD_B]}]
    assert (taken["alreadyServed"], taken["alreadyRunning"], taken["statusAtPlan"]) == (False, True, "RUNNING")
    assert taken["lockedAt"] and plan["lockedAt"] is None
    assert plan["accessRoleName"] == "mlpromote-access-prod"


def test_plan_refuses_with_a_named_error(worlds) -> None:
    with worlds.emulator() as emu:
        answer, failed = call(
            emu,
            "ValidateAndPlanFunction",
            {"execution": EXECUTION, "requestedAt": "x", "request": {"environment": "staging", "modelVersionArn": "a"}},
        )
    assert failed
    assert answer["errorType"] == "UnknownEnvironment"
    assert "known environments: prod, qa" in answer["errorMessage"]


def test_grant_access_adds_one_statement_and_is_idempotent(worlds) -> None:
    with worlds.emulator() as emu:
        plan = plan_for(emu, "prod", "tools/v2")
        first, _ = call(emu, "GrantAccessFunction", {"execution": EXECUTION, "plan": plan})
        second, _ = call(emu, "GrantAccessFunction", {"execution": EXECUTION, "plan": plan})
        document = boto3.client("iam").get_role_policy(RoleName="mlpromote-access-prod", PolicyName=POLICY_NAME)[
            "PolicyDocument"
        ]
        granted = sorted(s["Resource"] for s in document["Statement"])
        world = emu.world()
    assert first["addedByThisExecution"] is True and first["grantedAt"]
    assert second["addedByThisExecution"] is False and second["grantedAt"] is None
    assert granted == sorted([emu.names.arn("tools/v1", emu.config), emu.names.arn("tools/v2", emu.config)])
    assert world["grants"]["prod"] == ["tools/v1", "tools/v2"]


def test_rotate_pointer_writes_the_parameter_and_moves_the_label(worlds) -> None:
    with worlds.emulator() as emu:
        plan = plan_for(emu, "prod", "tools/v2")
        rotation, failed = call(
            emu,
            "RotatePointerFunction",
            {"execution": EXECUTION, "plan": account_view(plan), "accounts": [worlds.PROD_B]},
        )
        world = emu.world()
        from moto.ssm.models import ssm_backends

        labelled = ssm_backends[worlds.PROD_B]["us-east-1"].get_parameter("/mlpromote/tools/model-arn:current")
    assert not failed, rotation
    assert (rotation["switched"], rotation["failed"], rotation["failures"]) == (1, False, [])
    assert world["parameters"]["prod"]["tools"] == {worlds.PROD_A: "tools/v1", worlds.PROD_B: "tools/v2"}
    assert labelled.value == plan["versionArn"]
    assert labelled.version == 2  # the label moved onto the version just written


def test_compensate_puts_the_world_back(worlds) -> None:
    with worlds.emulator() as emu:
        before = emu.world()
        plan = plan_for(emu, "prod", "tools/v2")
        call(emu, "GrantAccessFunction", {"execution": EXECUTION, "plan": plan})
        accounts = [worlds.PROD_A, worlds.PROD_B]
        call(emu, "RotatePointerFunction", {"execution": EXECUTION, "plan": account_view(plan), "accounts": accounts})
        assert emu.world() != before
        report, failed = call(emu, "CompensateFunction", {"execution": EXECUTION, "state": {"plan": plan, "error": {}}})
        after = emu.world()
        again, _ = call(emu, "CompensateFunction", {"execution": EXECUTION, "state": {"plan": plan, "error": {}}})
    assert not failed, report
    assert after == before
    assert sorted(report["restored"]) == [worlds.PROD_A, worlds.PROD_B] and report["revoked"] is True
    assert again["restored"] == [] and again["revoked"] is False
