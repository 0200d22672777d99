"""Step Functions' quotas and Lambda's error reports, as the rehearsal enforces them (docs/emulator.md).

The first tests run small state machines on moto's interpreter with the adaptations installed; the
last ones run the real workflow on the emulator.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from mlpromote_emulator import moto_adaptations as adapt

REGION = "us-east-1"
ROLE = "arn:aws:iam::111111111111:role/sfn"
# 150,000 bytes each: one branch's output is within the 256 KB quota, the Parallel state's two are not.
BIG_BRANCH = {"StartAt": "Big", "States": {"Big": {"Type": "Pass", "Result": "x" * 150_000, "End": True}}}


@pytest.fixture
def sfn() -> Any:
    import logging

    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    adapt.install()
    adapt.set_default_account("111111111111")
    adapt.hooks.faults, adapt.hooks.calls = [], []
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}):
        yield boto3.client("stepfunctions", region_name=REGION)
    adapt.hooks.history_event_quota = 25_000
    adapt.set_default_account("123456789012")


def _run(sfn: Any, definition: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    import time

    arn = sfn.create_state_machine(name="m", definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, name="e", input="{}")["executionArn"]
    for _ in range(12_000):
        description = sfn.describe_execution(executionArn=execution)
        if description["status"] != "RUNNING":
            break
        time.sleep(0.01)
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution):
        events.extend(page["events"])
    return description, events


def _caught_by_states_all(body: dict[str, Any]) -> dict[str, Any]:
    """`body` (a Parallel state) with a Catch on States.ALL that would end the execution in success."""
    return {
        "StartAt": "Body",
        "States": {
            "Body": {**body, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
            "Caught": {"Type": "Succeed"},
        },
    }


def test_a_state_output_past_256_kb_fails_the_execution_and_no_catch_of_states_all_sees_it(sfn: Any) -> None:
    definition = _caught_by_states_all({"Type": "Parallel", "Branches": [BIG_BRANCH, BIG_BRANCH]})

    description, events = _run(sfn, definition)

    assert description["status"] == "FAILED"
    assert description["error"] == "States.DataLimitExceeded"
    assert not any(e["type"] == "SucceedStateEntered" for e in events)


def test_an_error_named_in_a_catch_is_still_caught(sfn: Any) -> None:
    failing = {"StartAt": "Fail", "States": {"Fail": {"Type": "Fail", "Error": "Boom", "Cause": "x"}}}
    definition = _caught_by_states_all({"Type": "Parallel", "Branches": [failing]})

    description, _ = _run(sfn, definition)

    assert description["status"] == "SUCCEEDED"


def test_the_history_quota_is_step_functions_25000_events() -> None:
    assert adapt.Hooks().history_event_quota == 25_000


def test_an_execution_fails_at_its_last_history_event_of_the_quota_whatever_catches_it(sfn: Any) -> None:
    # 25,000 events take minutes on a busy machine; the rule is the same at any quota.
    adapt.hooks.history_event_quota = 300
    spin = {
        "StartAt": "Spin",
        "States": {
            "Spin": {"Type": "Pass", "Next": "Again?"},
            "Again?": {"Type": "Choice", "Choices": [{"Variable": "$", "IsPresent": True, "Next": "Spin"}]},
        },
    }
    definition = _caught_by_states_all({"Type": "Parallel", "Branches": [spin]})

    description, events = _run(sfn, definition)

    assert description["status"] == "FAILED"
    assert description["error"] == "States.Runtime"
    assert description["cause"] == "The execution reached the maximum number of history events (300)."
    assert len(events) == 300
    assert events[-1]["type"] == "ExecutionFailed" and events[-1]["id"] == 300
    assert events[-1]["executionFailedEventDetails"]["cause"] == description["cause"]


# --- Lambda, as Step Functions sees it, on the real workflow ---------------------------------


def _failures(emu: Any, execution: str) -> list[dict[str, Any]]:
    return [
        e["lambdaFunctionFailedEventDetails"] for e in emu.history(execution) if e["type"] == "LambdaFunctionFailed"
    ]


def test_a_function_error_s_cause_is_the_python_runtime_s_error_document(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    with worlds.emulator() as emu:
        emu.inject(
            worlds.scenario(
                faults=[{"service": "iam", "operation": "PutRolePolicy", "error": "MalformedPolicyDocument"}]
            ).faults
        )
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        [failure] = _failures(emu, result.execution_arn)

    assert failure["error"] == "AwsCallFailed"
    cause = json.loads(failure["cause"])
    assert set(cause) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    assert cause["errorType"] == "AwsCallFailed" and "MalformedPolicyDocument" in cause["errorMessage"]
    assert cause["stackTrace"] and all(line.startswith("  File ") for line in cause["stackTrace"])
    assert not any("mlpromote_emulator" in line for line in cause["stackTrace"])  # the handler's frames only
    assert result.error == "AwsCallFailed" and "MalformedPolicyDocument" in (result.cause or "")


def test_each_function_runs_with_its_timeout_from_the_template(worlds: Any) -> None:
    with worlds.emulator() as emu:
        timeouts = dict(emu.timeouts)
    assert timeouts["ValidateAndPlanFunction"] == 120  # Globals.Function.Timeout
    assert timeouts["ApiFunction"] == 29  # its own Timeout


def test_a_handler_that_runs_past_its_timeout_fails_with_sandbox_timedout(worlds: Any) -> None:
    from mlpromote_emulator.scenario import PromotionSpec

    # Validate and plan makes two calls one after the other (DescribeProjects, DescribeProjectVersions):
    # 2 x 61 s is past its 120 s.
    with worlds.emulator(world={"awsCallSeconds": 61}) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        failures = _failures(emu, result.execution_arn)
        world = emu.world()

    assert result.status == "FAILED" and result.error == "Sandbox.Timedout", result.as_json()
    assert failures and {f["error"] for f in failures} == {"Sandbox.Timedout"}
    assert "Task timed out after 120.00 seconds" in json.loads(failures[0]["cause"])["errorMessage"]
    assert world == worlds.standard
