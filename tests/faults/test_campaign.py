"""The fault campaign's own parts: the invariant checker on hand-made worlds (a checker that cannot
fail is a defect), how injection points and known bugs are handled, and one injected run.

The whole campaign runs with `make faults`, not here.
"""

from __future__ import annotations

import copy
from typing import Any

import campaign
import pytest
from campaign import FATAL, TRANSIENT, Injection, KnownBug, Outcome, Violation, check_invariants

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"

# The standard world (tests/conftest.py) before and after tools/v3 went to prod.
BEFORE: dict[str, Any] = {
    "parameters": {
        "qa": {"tools": {QA: "tools/v2"}},
        "prod": {"tools": {PROD_A: "tools/v1", PROD_B: "tools/v1"}},
    },
    "grants": {"qa": ["tools/v2"], "prod": ["tools/v1"]},
    "versions": {"tools/v1": "RUNNING", "tools/v2": "RUNNING", "tools/v3": "TRAINING_COMPLETED"},
}
PROMOTED: dict[str, Any] = {
    "parameters": {
        "qa": {"tools": {QA: "tools/v2"}},
        "prod": {"tools": {PROD_A: "tools/v3", PROD_B: "tools/v3"}},
    },
    "grants": {"qa": ["tools/v2"], "prod": ["tools/v3"]},
    "versions": {"tools/v1": "STOPPED", "tools/v2": "RUNNING", "tools/v3": "RUNNING"},
}


def world(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base`; keyword `prod_a="tools/v3"` sets a pointer, `grants_prod=[...]` a grant list,
    `v1="STOPPED"` a version's status."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if key in ("prod_a", "prod_b", "qa"):
            account = {"prod_a": PROD_A, "prod_b": PROD_B, "qa": QA}[key]
            environment = "qa" if key == "qa" else "prod"
            out["parameters"][environment]["tools"][account] = value
        elif key.startswith("grants_"):
            out["grants"][key.removeprefix("grants_")] = value
        else:
            out["versions"][f"tools/{key}"] = value
    return out


def check(after: dict[str, Any], status: str = "SUCCEEDED", transient: bool = False) -> set[str]:
    """The invariants broken (their letters)."""
    violations = check_invariants(
        BEFORE, after, status=status, transient=transient, environment="prod", version="tools/v3"
    )
    assert all(isinstance(v, Violation) and v.detail for v in violations)
    return {v.invariant for v in violations}


# --- every invariant holds where it should ---------------------------------------------------


def test_a_clean_promotion_holds() -> None:
    assert check(PROMOTED) == set()
    assert check(PROMOTED, transient=True) == set()


@pytest.mark.parametrize("status", ["FAILED", "ABORTED", "TIMED_OUT"])
def test_a_compensated_failure_holds(status: str) -> None:
    # Everything put back; v3 was started, then stopped again by the compensation.
    assert check(world(BEFORE, v3="STOPPED"), status=status) == set()


def test_a_version_left_running_and_ungranted_breaks_nothing() -> None:
    # Retirement could not stop v1 (it stays RUNNING, ungranted): wasteful, not inconsistent.
    assert check(world(PROMOTED, v1="RUNNING")) == set()


def test_no_parameter_is_not_a_pointer() -> None:
    after = world(BEFORE)
    after["parameters"]["qa"]["tools"][QA] = None
    after["grants"]["qa"] = []
    before_without = copy.deepcopy(after)
    assert (
        check_invariants(before_without, after, status="FAILED", transient=False, environment="prod", version="x/y")
        == []
    )


# --- and breaks where it should ----------------------------------------------------------------


def test_a_pointer_at_a_version_that_is_not_running() -> None:
    assert check(world(PROMOTED, v3="STARTING")) == {"a"}
    assert check(world(PROMOTED, v3="FAILED")) == {"a"}


def test_a_pointer_at_an_unknown_version() -> None:
    after = world(PROMOTED, prod_b="arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v9/1")
    assert check(after) >= {"a", "f"}


def test_a_pointer_at_an_ungranted_version() -> None:
    assert check(world(PROMOTED, grants_prod=[])) == {"a"}


def test_a_grant_nothing_points_at() -> None:
    # The superseded grant was not revoked (a retirement that failed to revoke).
    assert check(world(PROMOTED, grants_prod=["tools/v1", "tools/v3"])) == {"b"}
    # A grant left in another environment counts too.
    assert check(world(PROMOTED, grants_qa=["tools/v2", "tools/v3"])) == {"b"}


def test_a_stopped_version_still_referenced() -> None:
    # qa still on v2, and v2 stopped (retirement did not see qa's pointer).
    assert check(world(PROMOTED, v2="STOPPED")) == {"a", "c"}
    assert check(world(PROMOTED, v2="STOPPING")) == {"a", "c"}


def test_a_failed_promotion_that_moved_a_pointer() -> None:
    # One account rotated, the compensation did not put it back, the grant kept for it.
    after = world(BEFORE, prod_a="tools/v3", v3="RUNNING", grants_prod=["tools/v1", "tools/v3"])
    assert check(after, status="FAILED") == {"d"}
    violation = next(
        v
        for v in check_invariants(BEFORE, after, status="FAILED", transient=False)
        if v.invariant == "d"  # names the account that moved
    )
    assert f"prod/tools/{PROD_A}: tools/v1 -> tools/v3" in violation.detail


def test_a_failed_promotion_that_moved_another_environment() -> None:
    after = world(BEFORE, qa="tools/v1", grants_qa=["tools/v1"])
    assert check(after, status="FAILED") == {"d"}


def test_a_transient_fault_that_failed_the_promotion() -> None:
    assert check(world(BEFORE, v3="STOPPED"), status="FAILED", transient=True) == {"e"}
    # A non-retryable fault may fail it.
    assert check(world(BEFORE, v3="STOPPED"), status="FAILED", transient=False) == set()


def test_a_success_that_left_an_account_behind() -> None:
    after = world(PROMOTED, prod_b="tools/v1", v1="RUNNING", grants_prod=["tools/v1", "tools/v3"])
    assert check(after) == {"f"}


def test_every_invariant_can_break() -> None:
    broken = (
        check(world(PROMOTED, v3="STARTING"))
        | check(world(PROMOTED, grants_prod=["tools/v1", "tools/v3"]))
        | check(world(PROMOTED, v2="STOPPED"))
        | check(world(BEFORE, prod_a="tools/v3", grants_prod=["tools/v1", "tools/v3"]), status="FAILED")
        | check(world(BEFORE, v3="STOPPED"), status="FAILED", transient=True)
        | check(world(PROMOTED, prod_b="tools/v1", grants_prod=["tools/v1", "tools/v3"], v1="RUNNING"))
        | _copy_invariants_broken()
    )
    assert broken == set(campaign.INVARIANTS)


def _copy_invariants_broken() -> set[str]:
    """A copy environment (prod's accounts run copies): a copy nobody points at still RUNNING (g), and the
    source project's policy left behind (h)."""
    after = {**world(PROMOTED, grants_prod=[]), "copies": {PROD_A: {"tools/v3": "RUNNING", "tools/v1": "RUNNING"}}}
    after["copies"][PROD_B] = {"tools/v3": "RUNNING"}
    violations = check_invariants(
        BEFORE, after, status="SUCCEEDED", transient=False, environment="prod", version="tools/v3",
        policies_left=["CopyThisVersionIntoTheEnvironmentsAccounts"],
    )  # fmt: skip
    return {v.invariant for v in violations}


def test_a_copy_environment_holds_when_each_account_runs_only_the_copy_it_points_at() -> None:
    after = {**world(PROMOTED, grants_prod=[]), "copies": {PROD_A: {"tools/v3": "RUNNING", "tools/v1": "STOPPED"}}}
    after["copies"][PROD_B] = {"tools/v3": "RUNNING"}
    assert check(after) == set()
    assert _copy_invariants_broken() == {"g", "h"}


@pytest.mark.parametrize("state", ["IN_SERVICE", "CREATING"])
def test_a_comprehend_copy_whose_endpoint_serves_or_starts_unpointed_breaks_g(state: str) -> None:
    """A Comprehend copy is reported by its endpoint's status: one IN_SERVICE (or CREATING) that its account
    does not point at costs its inference units, as a RUNNING Custom Labels copy does; TRAINED (no endpoint)
    does not."""
    after = {**world(PROMOTED, grants_prod=[]), "copies": {PROD_A: {"tools/v3": "IN_SERVICE", "tools/v1": state}}}
    after["copies"][PROD_B] = {"tools/v3": "IN_SERVICE", "tools/v1": "TRAINED"}
    violations = check_invariants(BEFORE, after, status="SUCCEEDED", transient=False)
    assert [(v.invariant, v.detail) for v in violations] == [
        ("g", f"the copy of tools/v1 in {PROD_A} is {state}; {PROD_A} points at tools/v3")
    ]


# --- injection points, known bugs, the verdict ---------------------------------------------------


def test_error_codes_by_protocol() -> None:
    def injection(service: str, kind: str) -> Injection:
        return Injection(0, service, "Op", "111111111111", "SomeFunction", kind)

    assert injection("iam", FATAL).error == "AccessDenied"
    assert injection("sts", TRANSIENT).error == "Throttling"
    assert injection("ssm", FATAL).error == "AccessDeniedException"
    assert injection("rekognition", TRANSIENT).error == "ThrottlingException"
    assert injection("dynamodb", TRANSIENT).count == 2
    assert injection("dynamodb", FATAL).count == 1


def test_two_injection_points_per_call() -> None:
    calls = [("iam", "GetRolePolicy", "111111111111", "Grant"), ("ssm", "PutParameter", PROD_A, "Rotate")]
    points = campaign.injections(calls)
    assert [(p.position, p.operation, p.kind) for p in points] == [
        (0, "GetRolePolicy", FATAL),
        (0, "GetRolePolicy", TRANSIENT),
        (1, "PutParameter", FATAL),
        (1, "PutParameter", TRANSIENT),
    ]
    assert points[3].account == PROD_A and points[3].step == "Rotate"


def test_each_point_knows_which_call_of_its_step_service_operation_and_account_it_is() -> None:
    rotate = "RotatePointerFunction"
    calls = [
        ("ssm", "PutParameter", PROD_A, rotate),
        ("ssm", "PutParameter", PROD_B, rotate),
        ("ssm", "PutParameter", PROD_A, "CompensateFunction"),
        ("ssm", "PutParameter", PROD_A, rotate),
    ]
    points = campaign.injections(calls)[::2]
    assert [p.occurrence for p in points] == [0, 0, 0, 1]
    assert str(points[3]).endswith(f"ssm PutParameter in {PROD_A} (call 2 of them), {FATAL} AccessDeniedException x1")


def test_a_point_fires_on_its_call_whatever_the_order_of_the_batch() -> None:
    """The reference rotated 333333333333 then 444444444444; this run the threads went the other way,
    and the point of 333333333333's PutParameter (position 0) still fires on that call, and only there."""
    rotate = "RotatePointerFunction"
    point = campaign.injections([("ssm", "PutParameter", PROD_A, rotate), ("ssm", "PutParameter", PROD_B, rotate)])[0]
    matcher = campaign.StepMatcher(point)
    run = [
        ("ssm", "GetParameter", PROD_A, rotate),
        ("ssm", "PutParameter", PROD_B, rotate),
        ("ssm", "PutParameter", PROD_A, "CompensateFunction"),  # another step's call: not this point
        ("ssm", "PutParameter", PROD_A, rotate),
    ]
    assert [matcher.hit(service, operation, account, step) for service, operation, account, step in run] == [
        False,
        False,
        False,
        True,
    ]


def test_the_second_call_of_a_kind_is_faulted_there_and_a_transient_fault_on_its_retries() -> None:
    check = "CheckModelStatusFunction"
    calls = [("rekognition", "DescribeProjectVersions", "111111111111", check)] * 2
    second = campaign.StepMatcher(campaign.injections(calls)[3])
    assert [second.hit(*calls[0]) for _ in range(4)] == [False, True, True, True]


def test_a_point_that_never_fired_fails_the_campaign_and_is_named() -> None:
    fired = _outcome(FATAL, "Grant", "PutRolePolicy")
    silent = Outcome(
        Injection(9, "ssm", "PutParameter", PROD_A, "RotatePointerFunction", TRANSIENT), status="SUCCEEDED"
    )
    assert silent.held and not silent.fired
    assert campaign.campaign_passed([fired]) and not campaign.campaign_passed([fired, silent])
    assert campaign.unfired([fired, silent]) == [silent]
    text = campaign.report([fired, silent])
    assert "1 never fired in" in text and "#9 RotatePointerFunction: ssm PutParameter in 333333333333" in text


def test_calls_are_attributed_to_the_step_that_made_them() -> None:
    marks = [(0, "Plan"), (0, "Plan"), (3, "Grant"), (5, "Smoke"), (5, "Smoke")]
    assert [campaign._step_at(marks, i) for i in range(7)] == ["Plan"] * 3 + ["Grant"] * 2 + ["Smoke"] * 2


def _outcome(kind: str, step: str, operation: str, *invariants: str) -> Outcome:
    injection = Injection(7, "iam", operation, "111111111111", step, kind)
    return Outcome(
        injection,
        status="SUCCEEDED",
        faulted=[(7, "iam ...")],
        violations=[Violation(i, "made up") for i in invariants],
    )


def test_the_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    bug = KnownBug(FATAL, "Retire", "iam", "PutRolePolicy", "b", "BUG: made up")
    monkeypatch.setattr(campaign, "KNOWN_BUGS", [bug])
    held = _outcome(FATAL, "Grant", "PutRolePolicy")
    known = _outcome(FATAL, "Retire", "PutRolePolicy", "b")
    # The same call in another step, another invariant, or a transient fault: not the known bug.
    other_step = _outcome(FATAL, "Grant", "PutRolePolicy", "b")
    other_invariant = _outcome(FATAL, "Retire", "PutRolePolicy", "b", "d")
    transient = _outcome(TRANSIENT, "Retire", "PutRolePolicy", "b")

    assert held.held and not known.held
    assert known.known_bugs() == [bug]
    assert other_step.known_bugs() == other_invariant.known_bugs() == transient.known_bugs() == []
    assert campaign.campaign_passed([held, known])
    for unexplained in (other_step, other_invariant, transient):
        assert not campaign.campaign_passed([held, known, unexplained])
    # Strict: a known bug that no longer reproduces fails the campaign until its entry is removed.
    assert not campaign.campaign_passed([held])
    assert campaign.fixed_bugs([held]) == [bug]
    assert campaign.campaign_passed([held], check_known=False)

    text = campaign.report([held, known, other_step])
    assert text.splitlines()[0] == "3 injection points, 1 held"
    assert "1 did not hold:" in text and "BUG: made up" in text
    crashed = Outcome(held.injection, crash="Traceback ...\nKeyError: 'x'")
    assert not crashed.held and not campaign.campaign_passed([crashed, known])
    assert "KeyError" in campaign.report([crashed, known])


def test_the_known_bugs_name_real_steps_and_invariants() -> None:
    for bug in campaign.KNOWN_BUGS:
        assert bug.invariant in campaign.INVARIANTS
        assert bug.kind in (FATAL, TRANSIENT)
        assert bug.step.endswith("Function") and bug.reason.startswith("BUG: ")


# --- one real injected run (the campaign runs them all) -----------------------------------------


def test_an_injected_rotation_failure_is_compensated_and_checked() -> None:
    reference = campaign.run_promotion()
    assert campaign.reference_problems(reference) == []
    position = next(i for i, call in enumerate(reference.calls) if call[1] == "PutParameter")
    service, operation, account, step = reference.calls[position]
    outcome = campaign.run_point(Injection(position, service, operation, account, step, FATAL))

    assert outcome.fired
    assert outcome.status == "FAILED" and outcome.error, outcome
    assert outcome.violations == [] and outcome.crash is None


def test_a_comprehend_version_serves_while_in_service_and_is_stopped_once_trained_again() -> None:
    """The comprehend reference's worlds: a version is IN_SERVICE while its endpoint serves it, TRAINED
    otherwise (no endpoint: nothing to call, like a stopped Custom Labels version)."""
    before = {
        "parameters": {"qa": {"tickets": {QA: "tickets/v2"}}},
        "grants": {"qa": ["tickets/v2"]},
        "versions": {"tickets/v2": "IN_SERVICE", "tickets/v3": "TRAINED"},
    }
    promoted = copy.deepcopy(before)
    promoted["parameters"]["qa"]["tickets"][QA] = "tickets/v3"
    promoted["grants"]["qa"] = ["tickets/v3"]
    promoted["versions"] = {"tickets/v2": "TRAINED", "tickets/v3": "IN_SERVICE"}
    assert check_invariants(before, promoted, status="SUCCEEDED", transient=False, environment="qa",
                            version="tickets/v3") == []  # fmt: skip
    endpoint_gone = copy.deepcopy(promoted)
    endpoint_gone["versions"]["tickets/v3"] = "TRAINED"
    broken = check_invariants(before, endpoint_gone, status="SUCCEEDED", transient=False)
    assert {v.invariant for v in broken} == {"a", "c"}


def test_the_comprehend_reference_names_the_calls_of_every_comprehend_step() -> None:
    reference = campaign.REFERENCES["comprehend"]
    assert {("comprehend", "CreateEndpoint"), ("comprehend", "ClassifyDocument"), ("comprehend", "DeleteEndpoint")} <= (
        reference.operations
    )
    data = campaign._scenario_data("comprehend")
    assert data["config"]["projects"]["tickets"]["service"] == "comprehend"
    assert data["world"]["versions"]["tickets/v3"]["status"] == "TRAINED"
