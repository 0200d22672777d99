"""Workflow tests: the real state machine and the real handlers on the offline emulator.

Every test asserts the resulting world (parameters per account, grants per environment, version
statuses), not only how the execution ended.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The standard world of tests/conftest.py (the `worlds` fixture).
ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"

# --- helpers ---------------------------------------------------------------------------------


def step_names(result: Any) -> list[str]:
    return [step.name for step in result.steps]


def step_seconds(result: Any, name: str) -> float:
    return next(step["seconds"] for step in result.output["steps"] if step["name"] == name)


def assert_failed(result: Any, error: str) -> None:
    assert result.status == "FAILED", result.as_json()
    assert result.error == error, result.as_json()
    assert result.cause, "a failed promotion says what went wrong"


def assert_succeeded(result: Any) -> None:
    assert result.status == "SUCCEEDED", result.as_json()
    assert result.error is None


def smoke_test_attempts(propagation_seconds: float) -> int:
    """How many tries one account's smoke test makes before IAM lets it through, on the ASL's own
    GrantNotYetEffective retry schedule (tries at 0, 5, 12.5, ... simulated seconds)."""
    asl = json.loads((Path(__file__).parents[2] / "statemachines" / "promote_model.asl.json").read_text())
    task = asl["States"]["Smoke-test from each account"]["ItemProcessor"]["States"]["Smoke-test a batch of accounts"]
    retrier = next(r for r in task["Retry"] if "GrantNotYetEffective" in r["ErrorEquals"])
    elapsed, attempts, delay = 0.0, 1, float(retrier["IntervalSeconds"])
    while elapsed <= propagation_seconds:
        elapsed += min(delay, retrier.get("MaxDelaySeconds", delay))
        delay *= retrier["BackoffRate"]
        attempts += 1
    return attempts


def promoted_v2_to_prod(worlds: Any) -> dict[str, Any]:
    """The standard world after v2 went to prod: both accounts on v2, only v2 granted, v1 stopped."""
    return worlds.expect(
        parameters={"prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}}},
        grants={"prod": ["tools/v2"]},
        versions={"tools/v1": "STOPPED"},
    )


# --- successful promotions -------------------------------------------------------------------


def test_happy_path_v2_to_prod(promote: Any, worlds: Any) -> None:
    (result,), world = promote({"environment": "prod", "version": "tools/v2", "reason": "better recall"})

    assert_succeeded(result)
    assert promote.before == worlds.standard
    assert world == promoted_v2_to_prod(worlds)
    assert world["parameters"]["qa"] == worlds.standard["parameters"]["qa"]
    assert world["grants"]["qa"] == ["tools/v2"]
    output = result.output
    assert output["outcome"] == "PROMOTED"
    assert output["environment"] == "prod"
    assert output["version"] == "tools/v2"
    assert output["reason"] == "better recall"
    assert output["started"] == []
    # What the accounts pointed at before, grouped by version: the output stays small at any scale.
    assert output["from"] == [{"version": "tools/v1", "accounts": [PROD_A, PROD_B]}]
    assert output["granted"] == ["tools/v2"]
    assert output["revoked"] == ["tools/v1"]
    assert output["stopped"] == ["tools/v1"]
    assert output["left"] == []
    assert result.compensation is None
    assert "Compensate" not in step_names(result)


def test_version_already_running_is_not_started(promote: Any, worlds: Any) -> None:
    # v3 already RUNNING, live nowhere: promoting it to qa must not start it.
    (result,), world = promote(("qa", "tools/v3"), world={"versions": {"tools/v3": {"status": "RUNNING"}}})

    assert_succeeded(result)
    assert result.output["started"] == []
    assert "Start the model version" not in step_names(result)
    assert not any(c.operation == "StartProjectVersion" for c in promote.calls)
    assert world == worlds.expect(
        parameters={"qa": {"tools": {QA: "tools/v3"}}},
        grants={"qa": ["tools/v3"]},
        # v2 was live only in qa: retired.
        versions={"tools/v2": "STOPPED", "tools/v3": "RUNNING"},
    )


def test_version_needs_start(promote: Any, worlds: Any) -> None:
    (result,), world = promote(("qa", "tools/v3"), world={"startSeconds": 600})

    assert_succeeded(result)
    assert result.output["started"] == ["tools/v3"]
    assert {"Start the model version", "Check the model status"} <= set(step_names(result))
    assert step_seconds(result, "Start the model version") >= 600
    assert world == worlds.expect(
        parameters={"qa": {"tools": {QA: "tools/v3"}}},
        grants={"qa": ["tools/v3"]},
        # v2 was live only in qa, so it is retired; prod (v1) is untouched.
        versions={"tools/v2": "STOPPED", "tools/v3": "RUNNING"},
    )
    assert result.output["stopped"] == ["tools/v2"]


def test_access_denied_while_grant_propagates_then_success(promote: Any, worlds: Any) -> None:
    (result,), world = promote(("prod", "tools/v2"), world={"iamPropagationSeconds": 20})

    assert_succeeded(result)
    assert world == promoted_v2_to_prod(worlds)
    assert step_seconds(result, "Smoke-test from each account") >= 20
    # At least one AccessDenied try per account before the one that answered.
    tries = sum(1 for c in promote.calls if c.operation == "DetectCustomLabels")
    assert tries >= 2 * 2


def test_superseded_version_live_elsewhere_is_not_stopped(promote: Any, worlds: Any) -> None:
    # v2 is live in qa and prod; promoting v3 to qa supersedes it in qa only.
    (result,), world = promote(
        ("qa", "tools/v3"),
        world={"live": {"prod": ["tools/v2"], "qa": ["tools/v2"]}, "versions": {"tools/v1": {"status": "STOPPED"}}},
    )

    assert_succeeded(result)
    assert result.output["stopped"] == []
    assert result.output["revoked"] == ["tools/v2"]
    (left,) = result.output["left"]
    assert left["version"] == "tools/v2"
    assert left["running"] is True and left["granted"] is False
    assert f"prod/{PROD_A}" in left["why"] and f"prod/{PROD_B}" in left["why"]
    assert world == {
        "parameters": {
            "qa": {"tools": {QA: "tools/v3"}},
            "prod": {"tools": {PROD_A: "tools/v2", PROD_B: "tools/v2"}},
        },
        "grants": {"qa": ["tools/v3"], "prod": ["tools/v2"]},
        "versions": {"tools/v1": "STOPPED", "tools/v2": "RUNNING", "tools/v3": "RUNNING"},
    }


def test_multi_account_environment(promote: Any, worlds: Any) -> None:
    prod_c = "555555555555"
    accounts = [PROD_A, PROD_B, prod_c]
    (result,), world = promote(("prod", "tools/v2"), config={"environments": {"prod": {"accounts": accounts}}})

    assert_succeeded(result)
    assert result.output["from"] == [{"version": "tools/v1", "accounts": sorted(accounts)}]
    # Every account's parameter was written in that account, and the smoke test ran from each.
    writes = {c.account for c in promote.calls if c.operation == "PutParameter"}
    assert writes == set(accounts)
    # The smoke-test role of each account assumed the access role (AssumeRole is recorded in the caller's account).
    assume_from = {c.account for c in promote.calls if c.operation == "AssumeRole"}
    assert set(accounts) <= assume_from
    detects = [c for c in promote.calls if c.operation == "DetectCustomLabels" and c.error is None]
    assert len(detects) >= len(accounts)
    assert world == worlds.merge(
        promoted_v2_to_prod(worlds),
        {"parameters": {"prod": {"tools": {a: "tools/v2" for a in accounts}}}},
    )


def test_transient_faults_are_retried(promote: Any, worlds: Any) -> None:
    faults = [
        {"service": "rekognition", "operation": "DetectCustomLabels", "error": "ThrottlingException", "count": 2},
        {"service": "ssm", "operation": "PutParameter", "error": "ThrottlingException", "count": 2},
    ]
    (result,), world = promote(("prod", "tools/v2"), faults=faults)

    assert_succeeded(result)
    assert world == promoted_v2_to_prod(worlds)
    for operation in ("DetectCustomLabels", "PutParameter"):
        throttled = [c for c in promote.calls if c.operation == operation and c.error == "ThrottlingException"]
        assert len(throttled) == 2, f"both injected {operation} faults were hit, and retried"


# --- failures after the first change: compensated ----------------------------------------------


def test_start_ends_failed(promote: Any, worlds: Any) -> None:
    (result,), world = promote(("qa", "tools/v3"), world={"startFails": ["tools/v3"]})

    assert_failed(result, "ModelStartFailed")
    assert "tools/v3" in result.cause
    # Rekognition leaves a failed start in FAILED; nothing else changed, and no grant was added.
    assert world == worlds.expect(versions={"tools/v3": "FAILED"})
    assert world["grants"] == worlds.standard["grants"]


def test_start_exceeds_the_cap(promote: Any, worlds: Any) -> None:
    (result,), world = promote(
        ("qa", "tools/v3"), config={"workflow": {"startTimeoutMinutes": 1}}, world={"startSeconds": 600}
    )

    assert_failed(result, "ModelStartTimedOut")
    # StopProjectVersion stops a running model only (issue 11 item 9): the compensation waits for the
    # start still under way (ModelStillStarting, retried a minute apart) and stops the version once it
    # is RUNNING, so nothing this promotion started is left running, paid for and unused.
    done = {k: result.compensation.get(k) for k in ("restored", "revoked", "stopped", "leftRunningWhy")}
    assert done == {"restored": [], "revoked": False, "stopped": True, "leftRunningWhy": None}
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    waited = [c for c in promote.calls if c.operation == "StopProjectVersion"]
    assert len(waited) == 1


def test_a_start_that_outlasts_the_compensation_s_wait_is_left_with_why(promote: Any, worlds: Any) -> None:
    # 45 minutes: past the start's cap (1 minute) and the compensation's half hour of waiting.
    (result,), world = promote(
        ("qa", "tools/v3"), config={"workflow": {"startTimeoutMinutes": 1}}, world={"startSeconds": 2700}
    )

    assert_failed(result, "ModelStartTimedOut")
    assert result.compensation["stopped"] is False
    assert result.compensation["leftRunningWhy"].startswith("still STARTING after 30 looks a minute apart")
    # Named in the history as well as the output: drift detection then reports it running, unused.
    assert world == worlds.expect(versions={"tools/v3": "RUNNING"})


def test_smoke_test_label_mismatch_is_compensated(promote: Any, worlds: Any) -> None:
    # v3 finds hammer, but below the smoke test's minConfidence of 50.
    v3 = {"labels": {"hammer": 40.0, "wrench": 90.0}}
    # No IAM propagation delay, so the only DetectCustomLabels call is the one that answers.
    (result,), world = promote(("qa", "tools/v3"), world={"versions": {"tools/v3": v3}, "iamPropagationSeconds": 0})

    assert_failed(result, "SmokeTestFailed")
    assert "hammer" in result.cause
    assert result.output is None
    # The grant is removed and v3, which this promotion started, is stopped again.
    assert result.compensation["revoked"] is True
    assert result.compensation["stopped"] is True
    assert result.compensation["restored"] == []
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
    assert world["grants"]["qa"] == ["tools/v2"]
    # A mismatch fails at once (no retries) and before any pointer moves.
    assert sum(1 for c in promote.calls if c.operation == "DetectCustomLabels") == 1
    assert not any(c.operation == "PutParameter" for c in promote.calls)


def test_propagation_longer_than_the_bound_is_compensated(promote: Any, worlds: Any) -> None:
    (result,), world = promote(
        ("prod", "tools/v2"),
        config={"workflow": {"grantPropagationSeconds": 10}},
        world={"iamPropagationSeconds": 60},
    )

    assert_failed(result, "SmokeTestAccessDenied")
    assert result.compensation["revoked"] is True
    assert result.compensation["stopped"] is False  # v2 was running before; it is live in qa
    assert world == worlds.standard


def test_propagation_within_a_long_configured_bound_succeeds(promote: Any, worlds: Any) -> None:
    (result,), world = promote(
        ("qa", "tools/v1"),
        config={"workflow": {"grantPropagationSeconds": 900}},
        world={"iamPropagationSeconds": 800},
    )

    assert_succeeded(result)
    assert step_seconds(result, "Smoke-test from each account") >= 800
    assert world == worlds.expect(
        parameters={"qa": {"tools": {QA: "tools/v1"}}},
        grants={"qa": ["tools/v1"]},
        versions={"tools/v2": "STOPPED"},  # v2 was live only in qa; v1 stays RUNNING for prod
    )


def test_parallel_smoke_tests_retry_on_their_own_schedule(promote: Any, worlds: Any) -> None:
    accounts = [PROD_A, PROD_B, "555555555555"]
    (result,), world = promote(
        ("prod", "tools/v2"),
        config={"environments": {"prod": {"accounts": accounts}}, "workflow": {"grantPropagationSeconds": 300}},
        world={"iamPropagationSeconds": 120},
    )

    assert_succeeded(result)
    assert world == worlds.merge(
        promoted_v2_to_prod(worlds), {"parameters": {"prod": {"tools": {a: "tools/v2" for a in accounts}}}}
    )
    # Each account tries on its own schedule, as Step Functions retries each Map iteration independently.
    # The emulator's clock jumps when nothing has run for a few real milliseconds; on a loaded
    # machine a Map iteration may start a little late and so need one try fewer. Adding the
    # waits up instead of overlapping them costs a third of the tries, which this still catches.
    tries = sum(1 for c in promote.calls if c.operation == "DetectCustomLabels")
    expected = len(accounts) * smoke_test_attempts(120)
    assert expected - len(accounts) <= tries <= expected


def test_fault_in_second_account_put_parameter_restores_everything(promote: Any, worlds: Any) -> None:
    fault = {"service": "ssm", "operation": "PutParameter", "account": PROD_B, "error": "ParameterLimitExceeded"}
    (result,), world = promote(("prod", "tools/v2"), faults=[fault])

    assert result.status == "FAILED", result.as_json()
    assert result.error == "AwsCallFailed"
    assert "ParameterLimitExceeded" in result.cause
    assert next(c.error for c in promote.calls if c.operation == "PutParameter" and c.account == PROD_B) == (
        "ParameterLimitExceeded"
    )
    assert world == worlds.standard  # both prod parameters back on v1, v2's prod grant removed, v1 RUNNING
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v1", PROD_B: "tools/v1"}
    assert world["grants"]["prod"] == ["tools/v1"]
    assert world["versions"]["tools/v1"] == "RUNNING"


# --- refused before any change ---------------------------------------------------------------

BAD_INPUT_VERSIONS: dict[str, dict[str, Any]] = {
    "other/v1": {"status": "RUNNING", "labels": ["hammer"]},
    "tools/training-failed": {"status": "TRAINING_FAILED"},
    "tools/failed": {"status": "FAILED"},
    "tools/deprecated": {"status": "DEPRECATED"},
    "tools/expired": {"status": "EXPIRED"},
    "tools/deleting": {"status": "DELETING"},
}


class SharedEmulator:
    """One emulator for the checks that must change nothing: each asserts the world is unchanged,
    so they can share it (an emulator costs a second or two to open)."""

    def __init__(self, emu: Any) -> None:
        self.emu = emu
        self.pristine = emu.world()
        self.calls: list[Any] = []

    def arn(self, label: str) -> str:
        return str(self.emu.names.arn(label, self.emu.config))

    def run(self, request: Any) -> Any:
        from mlpromote_emulator import moto_adaptations

        before = self.emu.world()
        first_call = len(moto_adaptations.hooks.calls)
        execution = self.emu.start(request)
        result = self.emu.result(execution, self.emu.wait(execution), str(request), "")
        self.calls = moto_adaptations.hooks.calls[first_call:]
        assert self.emu.world() == before == self.pristine, "the world changed"
        return result

    def refuse(self, request: Any, error: str) -> Any:
        result = self.run(request)
        assert_failed(result, error)
        assert step_names(result) == ["Validate and plan"], "refused by the first step, before any change"
        assert not any(c.operation in WRITES for c in self.calls)
        return result


WRITES = frozenset(
    {"PutParameter", "DeleteParameter", "LabelParameterVersion", "PutRolePolicy", "DeleteRolePolicy"}
    | {"StartProjectVersion", "StopProjectVersion"}
)


@pytest.fixture(scope="class")
def shared(worlds: Any) -> Iterator[SharedEmulator]:
    with worlds.emulator(world={"versions": BAD_INPUT_VERSIONS}) as emu:
        yield SharedEmulator(emu)


class TestChangesNothing:
    def test_promoting_the_served_version_is_a_noop(self, shared: SharedEmulator) -> None:
        result = shared.run({"environment": "prod", "modelVersionArn": shared.arn("tools/v1")})

        assert_succeeded(result)
        assert result.output["outcome"] == "ALREADY_SERVED"
        assert result.output["version"] == "tools/v1"
        assert result.output["from"] == [{"version": "tools/v1", "accounts": [PROD_A, PROD_B]}]
        assert not any(c.operation in WRITES for c in shared.calls)

    def test_unknown_environment(self, shared: SharedEmulator) -> None:
        result = shared.refuse(
            {"environment": "staging", "modelVersionArn": shared.arn("tools/v2")}, "UnknownEnvironment"
        )
        assert "staging" in result.cause

    @pytest.mark.parametrize(
        "arn",
        [
            "not-an-arn",
            f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/v2",  # no timestamp
            f"arn:aws:rekognition:us-east-1:{ML}:project/tools/1700000000000",  # a project, not a version
        ],
    )
    def test_malformed_arn(self, shared: SharedEmulator, arn: str) -> None:
        shared.refuse({"environment": "prod", "modelVersionArn": arn}, "InvalidModelVersionArn")

    def test_arn_from_another_account(self, shared: SharedEmulator) -> None:
        arn = shared.arn("tools/v2").replace(f":{ML}:", ":999999999999:")
        result = shared.refuse({"environment": "prod", "modelVersionArn": arn}, "VersionOutsideMlAccount")
        assert "999999999999" in result.cause

    def test_arn_from_another_region(self, shared: SharedEmulator) -> None:
        arn = shared.arn("tools/v2").replace(":us-east-1:", ":eu-west-1:")
        result = shared.refuse({"environment": "prod", "modelVersionArn": arn}, "VersionOutsideMlAccount")
        assert "eu-west-1" in result.cause

    def test_unknown_project(self, shared: SharedEmulator) -> None:
        result = shared.refuse({"environment": "prod", "modelVersionArn": shared.arn("other/v1")}, "UnknownProject")
        assert "other" in result.cause

    def test_nonexistent_version(self, shared: SharedEmulator) -> None:
        shared.refuse({"environment": "prod", "modelVersionArn": shared.arn("tools/v9")}, "ModelVersionNotFound")

    @pytest.mark.parametrize(
        "label", ["tools/training-failed", "tools/failed", "tools/deprecated", "tools/expired", "tools/deleting"]
    )
    def test_version_not_promotable(self, shared: SharedEmulator, label: str) -> None:
        result = shared.refuse(
            {"environment": "prod", "modelVersionArn": shared.arn(label)}, "ModelVersionNotPromotable"
        )
        assert BAD_INPUT_VERSIONS[label]["status"] in result.cause

    @pytest.mark.parametrize(
        "request_input",
        [
            "promote tools/v2 to prod",
            ["prod", "tools/v2"],
            None,
            {"environment": "prod"},
            {"modelVersionArn": "ARN"},
            {"enviroment": "prod", "modelVersionArn": "ARN"},
            {"environment": "prod", "modelVersionArn": "ARN", "approvedBy": "me"},
        ],
        ids=["string", "list", "null", "missing-arn", "missing-environment", "misspelt-environment", "unknown-key"],
    )
    def test_malformed_console_input(self, shared: SharedEmulator, request_input: Any) -> None:
        request = copy.deepcopy(request_input)
        if isinstance(request, dict) and request.get("modelVersionArn") == "ARN":
            request["modelVersionArn"] = shared.arn("tools/v2")
        result = shared.refuse(request, "InvalidPromotionRequest")
        if isinstance(request, dict) and "enviroment" in request:
            assert "enviroment" in result.cause


def test_promoting_the_served_version_while_it_is_stopped_restarts_it(promote: Any, worlds: Any) -> None:
    (result,), world = promote(("prod", "tools/v1"), world={"versions": {"tools/v1": {"status": "STOPPED"}}})

    assert_succeeded(result)
    assert result.output["outcome"] == "PROMOTED"
    assert result.output["started"] == ["tools/v1"]
    assert world == worlds.expect(versions={"tools/v1": "RUNNING"})


def test_every_account_failing_to_rotate_is_compensated_with_the_first_error(promote: Any, worlds: Any) -> None:
    fault = {"service": "ssm", "operation": "PutParameter", "error": "ParameterLimitExceeded", "count": 2}
    (result,), world = promote(("prod", "tools/v2"), faults=[fault])

    assert_failed(result, "AwsCallFailed")
    assert "ParameterLimitExceeded" in result.cause
    assert [s.status for s in result.steps if s.name == "Compensate"] == ["SUCCEEDED"]
    assert world == worlds.standard


def test_a_failing_compensation_says_so(promote: Any, worlds: Any) -> None:
    # GrantAccess cannot read the policy, and neither can the compensation that follows.
    fault = {"service": "iam", "operation": "GetRolePolicy", "error": "AccessDenied", "count": 2}
    (result,), world = promote(("prod", "tools/v2"), faults=[fault])

    assert_failed(result, "CompensationFailed")
    assert "compensation (AwsCallFailed" in result.cause
    assert "by hand" in result.cause
    assert world == worlds.standard  # nothing had changed yet
