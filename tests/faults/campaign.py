"""Fault-injection campaign (issue 4, item 6): `make faults`.

Two reference promotions, one per model service, each through every kind of step (plan, start, poll,
grant, smoke test, rotate, retire): `rekognition`, tools/v3 (TRAINING_COMPLETED) to prod in
tests/conftest.py's standard world; `comprehend`, tickets/v3 (TRAINED, a document classifier) to qa
in the same world with a Comprehend project (its start creates an endpoint, its retirement deletes
v2's; qa, one account, keeps its cost down). Each runs once on the emulator, and every AWS call the
control plane makes is recorded. Then, for each call k, a fresh emulator reruns it
twice: once with a non-retryable error injected into that call (AccessDenied), once with a
transient one (throttling, twice). After every run the invariants of `check_invariants` must hold.

A call is found again by what it is, not by its position: the n-th call of the same step (the
function that made it), service, operation and account. The fan-out calls accounts side by side
(threads in one Lambda), so the calls of a batch come in another order from run to run; a position
would miss them.

Prints `N injection points, N held` (one injection point = one call and one fault kind) and every
point that did not hold or whose fault never fired (a point that never fires tests nothing, and
fails the campaign). Exits 1 if any, except those a `KNOWN_BUGS` entry
explains (a product bug already reported, like pytest's xfail(strict=True)): those are listed, and
an entry that no longer reproduces fails the campaign until it is removed. (An AccessDenied on
DetectCustomLabels right after the grant is IAM propagating, which the workflow retries: fine.)
Run from the repository root:

    .venv/bin/python -m tests.faults.campaign [--workers 2]

The checker imports nothing from the emulator, so `tests/faults/test_campaign.py` can test it on
hand-made worlds.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import multiprocessing
import os
import sys
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENVIRONMENT = "prod"
VERSION = "tools/v3"
# The reference run must reach every kind of step: these calls prove it did.
REFERENCE_OPERATIONS = frozenset(
    {
        ("rekognition", "DescribeProjectVersions"),  # plan, then the status checks
        ("ssm", "GetParameter"),  # under the lock: what each account points at
        ("rekognition", "StartProjectVersion"),  # start
        ("iam", "PutRolePolicy"),  # grant (and the revoke when retiring)
        ("rekognition", "DetectCustomLabels"),  # smoke test
        ("ssm", "PutParameter"),  # rotate
        ("ssm", "LabelParameterVersion"),  # rotate
        ("rekognition", "StopProjectVersion"),  # retire
    }
)
# The copy strategy's reference run (--reference copy): prod a copy environment that deletes superseded
# copies; the same promotion copies v3 into each account, starts the copies, smoke-tests and points
# there, stops and deletes v1's copies. These calls prove it reached every kind of copy step.
COPY_CONFIG = {"environments": {ENVIRONMENT: {"strategy": "copy", "deleteSupersededCopies": True}}}
# Short copies and starts: fewer status polls (each a few calls per account), so fewer injection points
# that only repeat a poll; every kind of call is still made.
COPY_WORLD = {"copySeconds": 60, "startSeconds": 60}
COPY_REFERENCE_OPERATIONS = frozenset(
    {
        ("rekognition", "PutProjectPolicy"),  # share v3 with prod's accounts
        ("rekognition", "CopyProjectVersion"),  # copy it into each
        ("rekognition", "DeleteProjectPolicy"),  # the copies are done
        ("rekognition", "StartProjectVersion"),  # start each copy
        ("rekognition", "DetectCustomLabels"),  # smoke-test each copy where it runs
        ("ssm", "PutParameter"),  # point each account at its copy
        ("rekognition", "StopProjectVersion"),  # retire v1's copies
        ("rekognition", "DeleteProjectVersion"),  # and delete them (deleteSupersededCopies)
    }
)

# The same for a Comprehend project (--reference comprehend-copy): prod's accounts import tickets/v3 (a
# resource policy on it allows them), create an endpoint each, are smoke-tested and pointed there; v1's
# endpoints and imports are deleted.
COMPREHEND_COPY_REFERENCE_OPERATIONS = frozenset(
    {
        ("comprehend", "PutResourcePolicy"),  # share v3 with prod's accounts
        ("comprehend", "ImportModel"),  # import it into each
        ("comprehend", "DeleteResourcePolicy"),  # the imports are done
        ("comprehend", "CreateEndpoint"),  # an endpoint for each import
        ("comprehend", "ClassifyDocument"),  # smoke-test each where it runs
        ("ssm", "PutParameter"),  # point each account at its endpoint
        ("comprehend", "DeleteEndpoint"),  # retire v1's endpoints
        ("comprehend", "DeleteDocumentClassifier"),  # and its imports (deleteSupersededCopies)
    }
)


@dataclass(frozen=True)
class Reference:
    """A reference promotion: the world it starts from, what it promotes, and the calls that prove it ran
    every kind of step."""

    name: str
    environment: str
    version: str
    operations: frozenset[tuple[str, str]]


REFERENCES = {
    "rekognition": Reference("rekognition", ENVIRONMENT, VERSION, REFERENCE_OPERATIONS),
    "copy": Reference("copy", ENVIRONMENT, VERSION, COPY_REFERENCE_OPERATIONS),
    "comprehend": Reference(
        "comprehend",
        "qa",
        "tickets/v3",
        frozenset(
            {
                ("comprehend", "DescribeDocumentClassifier"),  # plan, then the status checks
                ("comprehend", "ListDocumentClassifiers"),  # under the lock: which version each endpoint serves
                ("ssm", "GetParameter"),
                ("comprehend", "CreateEndpoint"),  # start
                ("comprehend", "DescribeEndpoint"),  # the status checks
                ("iam", "PutRolePolicy"),
                ("comprehend", "ClassifyDocument"),  # smoke test
                ("ssm", "PutParameter"),
                ("ssm", "LabelParameterVersion"),
                ("comprehend", "DeleteEndpoint"),  # retire
            }
        ),
    ),
    # After comprehend: its points are the calls only a Comprehend copy environment makes.
    "comprehend-copy": Reference("comprehend-copy", ENVIRONMENT, "tickets/v3", COMPREHEND_COPY_REFERENCE_OPERATIONS),
}
# iam and sts speak the query protocol (error codes without the Exception suffix); the rest JSON.
QUERY_SERVICES = frozenset({"iam", "sts"})
FATAL, TRANSIENT = "non-retryable", "transient"
TRANSIENT_COUNT = 2
# Runs of one injection point until its fault fires (see run_point).
MAX_ATTEMPTS = 4
INVARIANTS = {
    "a": "every parameter points at a RUNNING version its environment's access role grants",
    "b": "no access role grants a version its environment does not point at (promotion ended)",
    "c": "no version is stopped while a parameter references it",
    "d": "a failed promotion leaves every parameter as it was before",
    "e": "a transient fault never fails the promotion",
    "f": "a successful promotion leaves every account of the environment on the promoted version",
    "g": "no copy runs in an account of a copy environment but the one its parameter points at",
    "h": "no project policy is left on the source project once the promotion has ended",
}
STOPPED_STATES = frozenset({"STOPPED", "STOPPING", "TRAINED"})  # TRAINED: a Comprehend version without endpoint
# What the report calls a version that serves: Custom Labels' RUNNING, a Comprehend version's IN_SERVICE.
SERVING_STATES = frozenset({"RUNNING", "IN_SERVICE"})


# --- the invariants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    invariant: str  # a key of INVARIANTS
    detail: str

    def __str__(self) -> str:
        return f"({self.invariant}) {self.detail}"


def _pointers(world: dict[str, Any]) -> Iterable[tuple[str, str, str, str | None]]:
    """(environment, project, account, version label or None) of every parameter."""
    for environment, projects in sorted(world.get("parameters", {}).items()):
        for project, accounts in sorted(projects.items()):
            for account, label in sorted(accounts.items()):
                yield environment, project, account, label


def check_invariants(
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    status: str,
    transient: bool,
    environment: str | None = None,
    version: str | None = None,
    reported_granted: frozenset[str] = frozenset(),
    reported_running: frozenset[str] = frozenset(),
    policies_left: Sequence[str] = (),
) -> list[Violation]:
    """Every invariant the world `after` an ended promotion breaks (empty: all held).

    Worlds are `Emulator.world()` documents: {"parameters": {env: {project: {account: label}}},
    "grants": {env: [label]}, "versions": {label: status}}. `status` is the execution's status;
    `transient` says the injected fault was a transient one; `environment` and `version` name the
    promotion (for f). `reported_granted`: versions the promotion's output lists as left granted
    in `environment`, with why: the retirement never undoes a promotion (README, step 6), so a
    revoke that failed is reported rather than hidden, and (b) accepts exactly those; `reported_running`
    the same for copies left running (g). `policies_left`: the project policies on the source project.
    """
    out: list[Violation] = []
    versions: dict[str, str] = after.get("versions", {})
    grants: dict[str, list[str]] = after.get("grants", {})
    # A copy environment's accounts ("copies": {account: {label: status}}) serve their own copies, granted nothing.
    copies: dict[str, dict[str, str]] = after.get("copies", {})
    pointed: dict[str, set[str]] = {}
    for env, project, account, label in _pointers(after):
        where = f"{env}/{project}/{account}"
        if label is None:
            continue  # no parameter: nothing to serve (d and f catch a parameter that went missing)
        pointed.setdefault(env, set()).add(label)
        if account in copies:
            state = copies[account].get(label)
            what = f"its copy of {label}, which is {state or 'missing'}"
        else:
            state = versions.get(label)
            what = f"{label}, which is {state or 'unknown'}"
        if state not in SERVING_STATES:
            out.append(Violation("a", f"{where} points at {what}"))
        if account not in copies and label not in grants.get(env, []):
            out.append(Violation("a", f"{where} points at {label}, which the {env} access role does not grant"))
        if state in STOPPED_STATES:
            out.append(Violation("c", f"{label} is {state} while {where} references it"))
    served = {account: label for _, _, account, label in _pointers(after)}
    for account, held in sorted(copies.items()):
        for label, state in sorted(held.items()):
            running = ("RUNNING", "STARTING", "IN_SERVICE", "CREATING")  # a Comprehend copy's endpoint, too
            if state in running and label != served.get(account) and label not in reported_running:
                out.append(Violation("g", f"the copy of {label} in {account} is {state}; {account} points at "
                                          f"{served.get(account)}"))  # fmt: skip
    for env, granted in sorted(grants.items()):
        for label in granted:
            if label not in pointed.get(env, set()) and not (env == environment and label in reported_granted):
                out.append(Violation("b", f"the {env} access role grants {label}, which no {env} parameter points at"))
    succeeded = status == "SUCCEEDED"
    if not succeeded and after.get("parameters") != before.get("parameters"):
        changed = [
            f"{env}/{project}/{account}: {label} -> {_pointer(after, env, project, account)}"
            for env, project, account, label in _pointers(before)
            if _pointer(after, env, project, account) != label
        ]
        out.append(Violation("d", f"the promotion ended {status} but changed {', '.join(changed) or 'parameters'}"))
    if transient and not succeeded:
        out.append(Violation("e", f"a transient fault ended the promotion {status}"))
    out += [Violation("h", f"project policy {name} is left on the source project") for name in policies_left]
    if succeeded and environment is not None and version is not None:
        for env, project, account, label in _pointers(after):
            if env == environment and project == version.split("/", 1)[0] and label != version:
                out.append(Violation("f", f"{env}/{project}/{account} points at {label}, not {version}"))
    return out


def _pointer(world: dict[str, Any], environment: str, project: str, account: str) -> str | None:
    value: str | None = world.get("parameters", {}).get(environment, {}).get(project, {}).get(account)
    return value


# --- the runs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Injection:
    position: int  # in the reference run (what --only names)
    service: str
    operation: str
    account: str
    step: str  # the function that made the call in the reference run
    kind: str  # FATAL or TRANSIENT
    reference: str = "rekognition"  # which reference promotion (REFERENCES)
    # Which of the reference run's calls of this step, service, operation and account (0: the first).
    occurrence: int = 0

    @property
    def error(self) -> str:
        query = self.service in QUERY_SERVICES
        if self.kind == FATAL:
            return "AccessDenied" if query else "AccessDeniedException"
        return "Throttling" if query else "ThrottlingException"

    @property
    def count(self) -> int:
        return TRANSIENT_COUNT if self.kind == TRANSIENT else 1

    def __str__(self) -> str:
        which = f" (call {self.occurrence + 1} of them)" if self.occurrence else ""
        return (
            f"{self.reference} #{self.position} {self.step}: {self.service} {self.operation} in {self.account}"
            f"{which}, {self.kind} {self.error} x{self.count}"
        )


@dataclass
class StepMatcher:
    """Finds the injection's call in a run by what it is: its step, service, operation and account,
    and which of those calls (`occurrence`), whatever the order of the calls around it. Then the
    fault answers it and, for a transient fault, its retries (`count` calls in all)."""

    injection: Injection
    seen: int = 0

    def hit(self, service: str, operation: str, account: str, step: str) -> bool:
        wanted = self.injection
        if (step, service, operation, account) != (wanted.step, wanted.service, wanted.operation, wanted.account):
            return False
        self.seen += 1
        return self.seen > wanted.occurrence


@dataclass(frozen=True)
class KnownBug:
    """An injection point known not to hold, like pytest's xfail(strict=True): it is reported, does
    not fail the campaign, and fails it once it holds (remove the entry when the bug is fixed)."""

    kind: str
    step: str
    service: str
    operation: str
    invariant: str
    reason: str

    def explains(self, injection: Injection, violation: Violation) -> bool:
        return (self.kind, self.step, self.service, self.operation, self.invariant) == (
            injection.kind,
            injection.step,
            injection.service,
            injection.operation,
            violation.invariant,
        )


KNOWN_BUGS: list[KnownBug] = []


@dataclass
class Outcome:
    injection: Injection | None
    status: str = ""
    error: str | None = None
    cause: str | None = None
    # (position, "service Operation in account: error") of every call that answered the injected error.
    faulted: list[tuple[int, str]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    # (service, operation, account, function that made it) of every control-plane call.
    calls: list[tuple[str, str, str, str]] = field(default_factory=list)
    crash: str | None = None
    attempts: int = 1
    reference: str = "rekognition"

    @property
    def held(self) -> bool:
        return not self.violations and self.crash is None

    @property
    def fired(self) -> bool:
        return bool(self.faulted)

    def known_bugs(self) -> list[KnownBug]:
        """The known bugs that explain every violation (empty if one is unexplained)."""
        if self.injection is None or self.crash is not None:
            return []
        explaining = []
        for violation in self.violations:
            bug = next((b for b in KNOWN_BUGS if b.explains(self.injection, violation)), None)
            if bug is None:
                return []
            explaining.append(bug)
        return explaining


def _install_loader_cache() -> None:
    """Every emulator builds new boto3 sessions, and each would parse botocore's service models
    again (a quarter of a run's CPU). One loader per process serves them all."""
    import botocore.loaders
    import botocore.session

    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)


def run_promotion(injection: Injection | None = None, reference: str = "rekognition") -> Outcome:
    """One fresh emulator on the reference's world, the fault injected, the promotion run, the world checked."""
    _install_loader_cache()
    from mlpromote_emulator import moto_adaptations as adapt
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import PromotionSpec, parse_scenario

    chosen = REFERENCES[injection.reference if injection is not None else reference]
    outcome = Outcome(injection, reference=chosen.name)
    # (position of the next call, function) each time a handler is invoked: which step made each call.
    marks: list[tuple[int, str]] = []
    try:
        scenario = parse_scenario(_scenario_data(chosen.name), base=Path("."))
        with Emulator(scenario) as emu:
            before = emu.world()
            invoke = adapt.hooks.invoke
            assert invoke is not None

            def marking_invoke(function: str, body: bytes, qualifier: str | None = None) -> tuple[bytes, bool]:
                marks.append((len(adapt.hooks.calls), function))
                return invoke(function, body, qualifier)

            adapt.hooks.invoke = marking_invoke
            if injection is not None:
                matcher = StepMatcher(injection)

                class StepFault(adapt.Fault):
                    """The emulator's fault, matched by StepMatcher rather than by position."""

                    def matches(self, service: str, operation: str, account: str, position: int) -> bool:
                        step = marks[-1][1] if marks else "?"  # as _step_at attributes the reference's calls
                        return self.count > 0 and matcher.hit(service, operation, account, step)

                adapt.hooks.faults.append(
                    StepFault(
                        service=injection.service,
                        operation=injection.operation,
                        account=injection.account,
                        error=injection.error,
                        count=injection.count,
                        message=f"injected by the fault campaign at {injection.step}'s call"
                        f" #{injection.occurrence + 1} of {injection.service} {injection.operation}"
                        f" in {injection.account}",
                    )
                )
            result = emu.promote(PromotionSpec(environment=chosen.environment, version=chosen.version))
            after = emu.world()
            calls = list(adapt.hooks.calls)
            # The source project's policies (a copy environment's share of the version), as one document.
            source = (
                adapt.copy_policy_of(emu.names.arn(chosen.version, emu.config)) or {}
                if not chosen.name.startswith("comprehend")
                # A Comprehend copy environment's share is the resource policy on the version itself.
                else adapt.import_policy_of(emu.names.arn(chosen.version, emu.config)) or {}
            )
            policies_left = [str(s.get("Sid", "a statement")) for s in source.get("Statement", [])]
    except Exception:
        outcome.crash = traceback.format_exc()
        return outcome
    outcome.status, outcome.error, outcome.cause = result.status, result.error, result.cause
    outcome.calls = [(c.service, c.operation, c.account, _step_at(marks, i)) for i, c in enumerate(calls)]
    outcome.faulted = [
        (i, f"{c.service} {c.operation} in {c.account}: {c.error}") for i, c in enumerate(calls) if c.error
    ]
    outcome.violations = check_invariants(
        before,
        after,
        status=result.status,
        transient=injection is not None and injection.kind == TRANSIENT,
        environment=chosen.environment,
        version=chosen.version,
        reported_granted=frozenset(
            left["version"] for left in ((result.output or {}).get("left") or []) if left.get("granted")
        ),
        reported_running=frozenset(
            left["version"] for left in ((result.output or {}).get("left") or []) if left.get("running")
        )
        | (frozenset({chosen.version}) if (result.compensation or {}).get("leftRunningWhy") else frozenset()),
        policies_left=policies_left,
    )
    return outcome


def _scenario_data(reference: str = "rekognition") -> dict[str, Any]:
    """tests/conftest.py's standard scenario; for `copy`, prod a copy environment (deleting superseded copies);
    for `comprehend`, its Custom Labels project replaced by a Comprehend classifier in the same state (qa on v2,
    prod on v1, both IN_SERVICE; v3 TRAINED)."""
    try:
        conftest = importlib.import_module("tests.conftest")  # python -m tests.faults.campaign, from the root
    except ImportError:
        conftest = importlib.import_module("conftest")  # under pytest, tests/ itself is on sys.path
    copy = reference in ("copy", "comprehend-copy")
    data: dict[str, Any] = conftest.scenario_data(
        config=COPY_CONFIG if copy else None, world=COPY_WORLD if copy else None
    )
    if reference.startswith("comprehend"):
        data["config"]["projects"] = {
            "tickets": {
                "service": "comprehend",
                "kind": "classifier",
                "parameterName": "/mlpromote/tickets/endpoint-arn",
                "smokeTest": {"texts": ["charged twice, please refund"], "expectClasses": ["billing"]},
            }
        }
        data["world"] = {
            **{k: v for k, v in data["world"].items() if k not in ("versions", "live", "startFails")},
            "versions": {
                "tickets/v1": {"status": "IN_SERVICE", "classes": ["billing"]},
                "tickets/v2": {"status": "IN_SERVICE", "classes": ["billing"]},
                "tickets/v3": {"status": "TRAINED", "classes": ["billing"]},
            },
            "live": {"qa": ["tickets/v2"], "prod": ["tickets/v1"]},
            # Two status checks (the first after four 30 s intervals): one CREATING, one IN_SERVICE. Each
            # further check would repeat the same calls, at two injection points each, and test nothing new.
            "startSeconds": 150,
        }
        if copy:
            data["world"].update(COPY_WORLD)
    return data


def _step_at(marks: list[tuple[int, str]], position: int) -> str:
    return next((function for start, function in reversed(marks) if start <= position), "?")


def run_point(injection: Injection) -> Outcome:
    """Run an injection point until its fault fires. The call is matched by what it is (StepMatcher),
    so it fires on the first run unless the promotion took another path; the reruns are for that."""
    outcome = run_promotion(injection)
    for attempt in range(2, MAX_ATTEMPTS + 1):
        if not outcome.held or outcome.fired:
            break
        outcome = run_promotion(injection)
        outcome.attempts = attempt
    return outcome


def injections(calls: Sequence[tuple[str, str, str, str]], reference: str = "rekognition") -> list[Injection]:
    seen: dict[tuple[str, str, str, str], int] = {}
    points = []
    for position, call in enumerate(calls):
        occurrence = seen.get(call, 0)
        seen[call] = occurrence + 1
        service, operation, account, step = call
        points += [
            Injection(position, service, operation, account, step, kind, reference, occurrence)
            for kind in (FATAL, TRANSIENT)
        ]
    return points


def reference_problems(outcome: Outcome) -> list[str]:
    """Why the reference run cannot serve as the campaign's baseline (empty: it can)."""
    if outcome.crash:
        return [f"the reference run crashed:\n{outcome.crash}"]
    problems = []
    if outcome.status != "SUCCEEDED":
        problems.append(f"the reference promotion ended {outcome.status}: {outcome.error}: {outcome.cause}")
    chosen = REFERENCES[outcome.injection.reference if outcome.injection else outcome.reference]
    missing = chosen.operations - {(s, o) for s, o, _, _ in outcome.calls}
    if missing:
        problems.append(f"the reference run never called {sorted(missing)}: not every kind of step ran")
    problems += [f"the reference run broke an invariant: {v}" for v in outcome.violations]
    return problems


def describe(outcome: Outcome) -> str:
    lines = [f"  {outcome.injection}"]
    if outcome.crash:
        lines.append("    the run crashed:")
        lines += [f"      {line}" for line in outcome.crash.rstrip().splitlines()]
        return "\n".join(lines)
    faulted = "; ".join(f"#{i} {what}" for i, what in outcome.faulted) or "none (the fault never fired)"
    lines.append(f"    faulted calls: {faulted}")
    lines.append(f"    result: {outcome.status} error={outcome.error} cause={outcome.cause}")
    lines += [f"    broke ({v.invariant}) {INVARIANTS[v.invariant]}: {v.detail}" for v in outcome.violations]
    lines += [f"    known: {bug.reason}" for bug in dict.fromkeys(outcome.known_bugs())]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make faults", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--only", type=int, nargs="*", help="only these call positions (to reproduce one)")
    parser.add_argument(
        "--reference",
        choices=sorted(REFERENCES),
        action="append",
        help="only this reference promotion (repeat for several; default: all)",
    )
    parser.add_argument(
        "--every-call",
        action="store_true",
        help="fault every call of each reference, also those an earlier reference already faulted",
    )
    arguments = parser.parse_args(argv)
    started = time.perf_counter()

    points: list[Injection] = []
    covered: set[tuple[str, str, str]] = set()
    for name in arguments.reference or sorted(REFERENCES, key=lambda n: n != "rekognition"):
        reference = run_promotion(reference=name)
        problems = reference_problems(reference)
        if problems:
            print(f"make faults: no {name} baseline\n" + "\n".join(problems), file=sys.stderr)
            return 1
        chosen = [
            p
            for p in injections(reference.calls, name)
            if (arguments.only is None or p.position in arguments.only)
            and (arguments.every_call or (p.step, p.service, p.operation) not in covered)
        ]
        # A later reference faults only the calls no earlier one made from the same step: the same step
        # making the same call runs the same code (its account and its service's data aside), and each
        # point costs a whole emulated promotion.
        covered |= {(step, service, operation) for service, operation, _, step in reference.calls}
        points += chosen
        print(
            f"reference {name}: {REFERENCES[name].version} to {REFERENCES[name].environment}, "
            f"{len(reference.calls)} control-plane calls; {len(chosen)} injection points",
            flush=True,
        )
    print(f"{len(points)} injection points on {arguments.workers} worker(s)", flush=True)
    if arguments.workers > 1:
        # spawn: each worker imports moto afresh and runs one emulator at a time.
        with multiprocessing.get_context("spawn").Pool(arguments.workers) as pool:
            outcomes = list(pool.imap(run_point, points, chunksize=1))
    else:
        outcomes = [run_point(p) for p in points]
    print(report(outcomes, check_known=arguments.only is None))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0 if campaign_passed(outcomes, check_known=arguments.only is None) else 1


def unexplained(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.held and not o.known_bugs()]


def unfired(outcomes: Sequence[Outcome]) -> list[Outcome]:
    """Points that held only because their fault never fired: they tested nothing."""
    return [o for o in outcomes if o.held and o.injection is not None and not o.fired]


def fixed_bugs(outcomes: Sequence[Outcome]) -> list[KnownBug]:
    """Known bugs no injection point reproduced any more."""
    seen = {bug for o in outcomes if not o.held for bug in o.known_bugs()}
    return [bug for bug in KNOWN_BUGS if bug not in seen]


def campaign_passed(outcomes: Sequence[Outcome], check_known: bool = True) -> bool:
    return not unexplained(outcomes) and not unfired(outcomes) and not (check_known and fixed_bugs(outcomes))


def report(outcomes: Sequence[Outcome], check_known: bool = True) -> str:
    failed = [o for o in outcomes if not o.held]
    known = [o for o in failed if o.known_bugs()]
    lines = [f"{len(outcomes)} injection points, {len(outcomes) - len(failed)} held"]
    if unfired(outcomes):
        lines.append(
            f"{len(unfired(outcomes))} never fired in {MAX_ATTEMPTS} runs (no call of their step, service, "
            "operation and account came; they tested nothing):"
        )
        lines += [f"  {o.injection}" for o in unfired(outcomes)]
    if unexplained(outcomes):
        lines.append(f"{len(unexplained(outcomes))} did not hold:")
        lines += [describe(o) for o in unexplained(outcomes)]
    if known:
        lines.append(f"{len(known)} did not hold, as known bugs expect (KNOWN_BUGS in tests/faults/campaign.py):")
        lines += [describe(o) for o in known]
    if check_known and fixed_bugs(outcomes):
        lines.append("known bugs that no longer reproduce (remove them from KNOWN_BUGS):")
        lines += [f"  {bug}" for bug in fixed_bugs(outcomes)]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
