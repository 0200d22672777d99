"""Every execution finishes on the code and the plan schema it started with.

An execution may wait at the approval gate for up to 720 hours; a deploy in between must not change
what it runs. The state machine names each function's published version (SAM AutoPublishAlias,
`Name.Version` in DefinitionSubstitutions), and running executions keep the definition they started
with. The emulator publishes versions and runs each version's own code, so a redeploy in the middle
of an execution shows what the execution runs.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mlpromote_emulator.project import copy_project

REPO = Path(__file__).resolve().parents[2]
GATED = {"environments": {"prod": {"requiresApproval": True, "approvalTimeoutHours": 2}}}
BROKEN = 'raise RuntimeError("code deployed after the execution started")'


def _checkout(path: Path, unqualified: bool = False, broken: bool = True) -> Path:
    """A copy of the stack. `broken`: its "Check the version still serves" handler fails on any call.
    `unqualified`: the state machine names the functions as it did before versions ($LATEST)."""
    copy_project(path)
    template = (REPO / "template.yaml").read_text(encoding="utf-8")
    if unqualified:
        template = re.sub(r"(\w+FunctionArn): !Ref (\w+Function)\.Version", r"\1: !GetAtt \2.Arn", template)
        assert "!Ref ValidateAndPlanFunction.Version" not in template
    (path / "template.yaml").write_text(template, encoding="utf-8")
    if broken:
        handler = path / "functions" / "confirm_serving" / "app.py"
        text = handler.read_text(encoding="utf-8")
        handler.write_text(text.replace("    plan = PromotionPlan", f"    {BROKEN}\n    plan = PromotionPlan", 1))
        assert BROKEN in handler.read_text(encoding="utf-8")
    return path


def _at_the_gate(emu: Any, version: str) -> str:

    from mlpromote_emulator.scenario import PromotionSpec

    execution = str(emu.start(emu.request_for(PromotionSpec(environment="prod", version=version))))
    emu.wait_at_the_gate(execution)
    return execution


def test_an_execution_waiting_at_the_gate_finishes_on_the_code_it_started_with(worlds: Any, tmp_path: Path) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator(config=GATED) as emu:
        emu.approvals_by_hand = True
        waiting = _at_the_gate(emu, "tools/v2")
        emu.redeploy(_checkout(tmp_path / "after"))
        assert emu.decide(waiting, "approve").status == 200
        old = emu.wait(waiting)
        world = emu.world()
        # A promotion started after the deploy runs the new code: the deploy did take.
        emu.approvals_by_hand = False
        new = emu.promote(PromotionSpec(environment="prod", version="tools/v1", approve=True))

    assert old["status"] == "SUCCEEDED", (old.get("error"), old.get("cause"))
    assert world["parameters"]["prod"]["tools"] == {worlds.PROD_A: "tools/v2", worlds.PROD_B: "tools/v2"}
    assert (new.status, new.error) == ("FAILED", "RuntimeError")
    assert "deployed after the execution started" in (new.cause or "")


def test_functions_named_unqualified_would_resume_on_the_new_code(worlds: Any, tmp_path: Path) -> None:
    """What the versions prevent (the template as it was): the definition names $LATEST, which is
    whatever was deployed last, so the waiting execution resumes on the new code."""
    from mlpromote_emulator.runtime import Emulator

    stack = _checkout(tmp_path / "before", unqualified=True, broken=False)
    with Emulator(worlds.scenario(config=GATED), repo_root=stack) as emu:
        emu.approvals_by_hand = True
        waiting = _at_the_gate(emu, "tools/v2")
        emu.redeploy(_checkout(tmp_path / "after", unqualified=True))
        assert emu.decide(waiting, "approve").status == 200
        ended = emu.wait(waiting)
        world = emu.world()

    assert (ended["status"], ended["error"]) == ("FAILED", "RuntimeError")
    assert world == worlds.standard  # compensated: the new code failed it


def test_a_plan_written_before_schema_versions_is_read_and_a_newer_one_is_refused_by_name() -> None:
    from mlpromote.errors import PlanSchemaUnsupported
    from mlpromote.plan import PLAN_SCHEMA_VERSION, PromotionPlan

    plan = {
        "environment": "prod",
        "versionArn": "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000",
        "versionLabel": "tools/v2",
        "mlAccount": "111111111111",
        "region": "us-east-1",
        "accessRoleName": "mlpromote-access-prod",
        "parameterName": "/mlpromote/tools/model-arn",
        "smokeTestRoleName": "mlpromote-smoke-test",
        "parameterWriterRoleName": "mlpromote-parameter-writer",
        "smokeTest": {"images": ["s3://mlpromote-smoke-111111111111/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        "grantPropagationSeconds": 120,
        "execution": "arn:aws:states:us-east-1:111111111111:execution:mlpromote-promote-model:x",
        "requestedAt": "2026-01-01T00:00:00+00:00",
        "plannedAt": "2026-01-01T00:00:00+00:00",
        "reason": None,
        "project": "tools",
        "projectArn": "arn:aws:rekognition:us-east-1:111111111111:project/tools/1",
        "statusAtPlan": "RUNNING",
        "accounts": [{"account": "333333333333", "current": None}],
        "alreadyServed": False,
        "alreadyRunning": True,
        "minInferenceUnits": 1,
        "maxInferenceUnits": None,
        "retireSuperseded": True,
        "startPollSeconds": 30,
        "startTimeoutSeconds": 1800,
        "maxConcurrency": 10,
    }  # as the plan was written before it carried its schema

    # Schema 1 listed {account, current} per account; it reads as today's batches and pointers.
    read = PromotionPlan.model_validate(plan)
    assert read.dump()["schemaVersion"] == PLAN_SCHEMA_VERSION == 2
    assert (read.batches, read.current) == ([["333333333333"]], {"333333333333": None})
    with pytest.raises(PlanSchemaUnsupported, match="schema 99"):
        PromotionPlan.model_validate({**plan, "schemaVersion": 99})
