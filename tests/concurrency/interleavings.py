"""Concurrency campaign (issue 15): `make concurrency`.

Scenario families run two or three promotions at once, across one or several environments: a swap
of versions between qa and prod, a new version shared by two environments with a failure in one,
two promotions of one environment with its lock throttled, a rollback beside a promotion, three
environments at once. Each family runs under several seeds of the emulator's scheduler
(mlpromote_emulator.scheduler), so its promotions' steps interleave differently on each run.
After every run, `check_invariants` reads the world back through the emulator and the promotions
table, and every invariant in INVARIANTS must hold.

The scheduler's jitter is simulated time; the emulator's clock also ticks with real time. On a
busy machine, where each handler takes seconds of real time, real latency outweighs the jitter and
runs vary less from seed to seed: `CONCURRENCY_SEEDS` then buys fewer distinct interleavings.

Prints `N interleavings, M held` (one interleaving = one family under one seed) and every invariant
that broke, with its family and seed (`--family F --seed S` reruns one). Exits 1 if any broke.
Run from the repository root:

    .venv/bin/python -m tests.concurrency.interleavings [--seeds 5] [--workers 2]

The checker imports nothing from the emulator, so `tests/concurrency/test_interleavings.py` can
test it on hand-made runs.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import multiprocessing
import os
import random
import re
import time
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

ML, QA, PROD_A, PROD_B, DEV = "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
DEFAULT_SEEDS = 5
# The step that takes the environment (its name may grow, e.g. "... and lease the versions").
TAKE_STEP = "Take the environment"
INVARIANTS = {
    "pointers": "every parameter points at a RUNNING version its environment's access role grants",
    "grants": "no access role grants a version its environment does not point at (unless reported left)",
    "compensated": "each environment ends where its last successful promotion put it, else where it started",
    "history": "one readable record per promotion that took its environment, closed with its execution's "
    "status, whose `from` is what the accounts held when it took the environment",
    "refused": "only a promotion whose environment another promotion held is refused, and it leaves no record",
    "outcome": "each promotion ends as its family expects (a transient fault or a neighbour never fails it)",
    "released": "no lock or lease is left in the promotions table",
    "traceback": "the run (as `mlpromote local run` does it) raises nothing",
}
Expect = Literal["succeed", "fail", "succeed-or-refused"]


# --- the families --------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    environment: str
    version: str | None = None  # project/version; None with rollback
    rollback: bool = False
    expect: Expect = "succeed"

    def promotion(self) -> dict[str, Any]:
        if self.rollback:
            return {"environment": self.environment, "rollback": True, "reason": "concurrency campaign"}
        return {"environment": self.environment, "version": self.version}

    def __str__(self) -> str:
        return f"{self.environment}->{'rollback' if self.rollback else self.version}"


@dataclass(frozen=True)
class Family:
    name: str
    what: str
    # Each entry runs after the previous one ended; an entry of several specs is a batch started together.
    steps: tuple[tuple[Spec, ...], ...]
    config: dict[str, Any] = field(default_factory=dict)
    world: dict[str, Any] = field(default_factory=dict)
    faults: tuple[dict[str, Any], ...] = ()


# The standard world (tests/conftest.py): qa on v2, prod (two accounts) on v1, both RUNNING; v3 trained, not running.
FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        Family(
            "swap",
            "qa on v2 and prod on v1 swap versions: prod->v2 and qa->v1 together",
            steps=((Spec("prod", "tools/v2"), Spec("qa", "tools/v1")),),
        ),
        Family(
            "shared-new-version",
            "qa->v3 and prod->v3 together (v3 not running); prod's rotation fails in one account, qa's is throttled",
            steps=((Spec("qa", "tools/v3"), Spec("prod", "tools/v3", expect="fail")),),
            faults=(
                {"service": "ssm", "operation": "PutParameter", "account": PROD_B, "error": "AccessDeniedException"},
                {
                    "service": "ssm",
                    "operation": "PutParameter",
                    "account": QA,
                    "error": "ThrottlingException",
                    "count": 2,
                },
            ),
        ),
        Family(
            "one-environment-throttled",
            "prod->v2 and prod->v3 together, four ThrottlingExceptions on DynamoDB TransactWriteItems",
            steps=(
                (
                    Spec("prod", "tools/v2", expect="succeed-or-refused"),
                    Spec("prod", "tools/v3", expect="succeed-or-refused"),
                ),
            ),
            faults=(
                {"service": "dynamodb", "operation": "TransactWriteItems", "error": "ThrottlingException", "count": 4},
            ),
        ),
        Family(
            "rollback-beside-promotion",
            "after qa->v3: qa rolls back (to v2, stopped) while prod->v3",
            steps=((Spec("qa", "tools/v3"),), (Spec("qa", rollback=True), Spec("prod", "tools/v3"))),
        ),
        Family(
            "three-environments",
            "dev (a new account, no parameter yet)->v3, qa->v1 and prod->v2 together",
            steps=((Spec("dev", "tools/v3"), Spec("qa", "tools/v1"), Spec("prod", "tools/v2")),),
            config={"environments": {"dev": {"accounts": [DEV]}}},
        ),
    )
}


# --- what a run leaves (built by run_family; hand-made in the tests) -------------------------


@dataclass
class Promotion:
    spec: Spec
    step: int  # index of the family step (batch) it ran in
    execution: str  # its execution ARN ("" if none started)
    status: str
    error: str | None = None
    cause: str | None = None
    version: str | None = None  # the version it promoted (a rollback's target), when known
    took_environment: bool = False
    ended_at: str | None = None  # the execution's stop time (ISO)
    left_granted: tuple[str, ...] = ()  # versions its retirement reported left granted

    @property
    def refused(self) -> bool:
        """Failed without taking its environment: PromotionInProgress, or any refusal made there."""
        return self.status == "FAILED" and not self.took_environment


@dataclass
class Run:
    family: str
    seed: int
    before: dict[str, Any] = field(default_factory=dict)  # Emulator.world() before the first promotion
    after: dict[str, Any] = field(default_factory=dict)
    promotions: list[Promotion] = field(default_factory=list)
    # The raw history items of the promotions table (pk ENV#...), versions by scenario name.
    records: list[dict[str, Any]] = field(default_factory=list)
    # (pk/sk, why) of every record PromotionRecord cannot read back.
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    # pk/sk of every lock or lease item left in the table.
    held: list[str] = field(default_factory=list)
    # What the run raised, in a line (`crash`) and in full (`trace`).
    crash: str | None = None
    trace: str = ""
    handlers_run: int = 0
    fallbacks: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


# --- the invariants ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Violation:
    invariant: str  # a key of INVARIANTS
    detail: str

    def __str__(self) -> str:
        return f"({self.invariant}) {self.detail}"


def _pointers(world: dict[str, Any]) -> Iterable[tuple[str, str, str, str | None]]:
    """(environment, project, account, version or None) of every parameter."""
    for environment, projects in sorted(world.get("parameters", {}).items()):
        for project, accounts in sorted(projects.items()):
            for account, label in sorted(accounts.items()):
                yield environment, project, account, label


def check_invariants(run: Run) -> list[Violation]:
    """Every invariant the run breaks (empty: all held)."""
    out: list[Violation] = []
    if run.crash is not None:
        out.append(Violation("traceback", f"the run raised {run.crash}"))
    if not run.after:
        return out  # nothing was read back to check
    out += _check_world(run)
    out += _check_compensated(run)
    out += _check_history(run)
    out += _check_refusals(run)
    out += _check_outcomes(run)
    out += [Violation("released", f"{item} is still in the promotions table") for item in run.held]
    return out


def _check_world(run: Run) -> list[Violation]:
    out = []
    after = run.after
    versions: dict[str, str] = after.get("versions", {})
    grants: dict[str, list[str]] = after.get("grants", {})
    pointed: dict[str, set[str]] = {}
    for env, project, account, label in _pointers(after):
        if label is None:
            continue
        pointed.setdefault(env, set()).add(label)
        where = f"{env}/{project}/{account}"
        state = versions.get(label)
        if state != "RUNNING":
            out.append(Violation("pointers", f"{where} points at {label}, which is {state or 'unknown'}"))
        if label not in grants.get(env, []):
            out.append(Violation("pointers", f"{where} points at {label}, which the {env} access role does not grant"))
    reported = {(p.spec.environment, v) for p in run.promotions for v in p.left_granted}
    for env, granted in sorted(grants.items()):
        for label in granted:
            if label not in pointed.get(env, set()) and (env, label) not in reported:
                out.append(
                    Violation("grants", f"the {env} access role grants {label}, which no {env} parameter points at")
                )
    return out


def _check_compensated(run: Run) -> list[Violation]:
    """Each environment's pointers: the last successful promotion's version, else as before the run."""
    out = []
    for env in sorted(run.after.get("parameters", {})):
        succeeded = [p for p in run.promotions if p.spec.environment == env and p.status == "SUCCEEDED"]
        last = max(succeeded, key=lambda p: p.ended_at or "", default=None)
        for _, project, account, label in (t for t in _pointers(run.after) if t[0] == env):
            if last is not None and last.version and last.version.split("/", 1)[0] == project:
                expected, why = last.version, f"{last.spec} ({_name(last.execution)}) succeeded last"
            else:
                expected = run.before.get("parameters", {}).get(env, {}).get(project, {}).get(account)
                failed = [str(p.spec) for p in run.promotions if p.spec.environment == env and p.status != "SUCCEEDED"]
                why = f"no promotion of {env} succeeded" + (f" ({', '.join(failed)} did not)" if failed else "")
            if label != expected:
                out.append(Violation("compensated", f"{env}/{project}/{account} is on {label}, not {expected}: {why}"))
    return out


def _check_history(run: Run) -> list[Violation]:
    out = [Violation("history", f"{key} cannot be read back: {why}") for key, why in run.unreadable]
    by_execution: dict[str, list[dict[str, Any]]] = {}
    for record in run.records:
        by_execution.setdefault(str(record.get("promotionId")), []).append(record)
    for promotion in run.promotions:
        records = by_execution.get(promotion.execution, [])
        name = f"{promotion.spec} ({_name(promotion.execution)})"
        if promotion.took_environment and len(records) != 1:
            out.append(Violation("history", f"{name} took {promotion.spec.environment} and has {len(records)} records"))
        for record in records:
            if record.get("status") != promotion.status:
                out.append(
                    Violation("history", f"{name} ended {promotion.status}; its record says {record.get('status')}")
                )
    ours = {p.execution for p in run.promotions}
    for record in run.records:
        if record.get("status") == "RUNNING":
            out.append(Violation("history", f"the record of {_name(str(record.get('promotionId')))} is still RUNNING"))
        if record.get("promotionId") not in ours:
            out.append(Violation("history", f"a record of an unknown promotion: {record.get('promotionId')}"))
    out += _check_history_chain(run)
    return out


def _check_history_chain(run: Run) -> list[Violation]:
    """Replay each environment's records in the order they ended (one promotion holds an environment
    at a time): each record's `from` must be what its accounts held when it took the environment."""
    out = []
    state = {(env, project, account): label for env, project, account, label in _pointers(run.before)}
    for record in sorted(run.records, key=lambda r: (str(r.get("endedAt") or "~"), str(r.get("sk")))):
        env, project = record.get("environment"), record.get("project")
        for change in record.get("accounts") or []:
            key = (env, project, change.get("account"))
            held = state.get(key)
            if change.get("from") != held:
                out.append(
                    Violation(
                        "history",
                        f"{_name(str(record.get('promotionId')))} recorded {env}/{project}/{change.get('account')} "
                        f"from {change.get('from')}, but it was on {held} when that promotion took {env}",
                    )
                )
            if record.get("status") == "SUCCEEDED":
                state[key] = change.get("to")
    return out


def _check_refusals(run: Run) -> list[Violation]:
    out = []
    recorded = {str(r.get("promotionId")) for r in run.records}
    for promotion in run.promotions:
        if not promotion.refused:
            continue
        holders = [
            other
            for other in run.promotions
            if other is not promotion
            and other.step == promotion.step
            and other.spec.environment == promotion.spec.environment
            and other.took_environment
        ]
        if not holders:
            out.append(
                Violation(
                    "refused",
                    f"{promotion.spec} was refused ({promotion.cause}), but no other promotion of "
                    f"{promotion.spec.environment} ran beside it",
                )
            )
        if promotion.execution in recorded:
            out.append(Violation("refused", f"{promotion.spec} was refused but has a history record"))
    return out


def _check_outcomes(run: Run) -> list[Violation]:
    out = []
    for promotion in run.promotions:
        ended = f"{promotion.status}" + (f" ({promotion.error}: {promotion.cause})" if promotion.error else "")
        expect = promotion.spec.expect
        if expect == "succeed" and promotion.status != "SUCCEEDED":
            out.append(Violation("outcome", f"{promotion.spec} should succeed; it ended {ended}"))
        elif expect == "fail" and (promotion.status == "SUCCEEDED" or promotion.refused):
            out.append(Violation("outcome", f"{promotion.spec} should fail (a non-retryable fault); it ended {ended}"))
        elif expect == "succeed-or-refused" and promotion.status != "SUCCEEDED" and not promotion.refused:
            out.append(Violation("outcome", f"{promotion.spec} should succeed or be refused; it ended {ended}"))
    return out


def _name(execution: str) -> str:
    return execution.rsplit(":", 1)[-1] or "not started"


# --- the runs ----------------------------------------------------------------------------------


def _install_loader_cache() -> None:
    """One botocore loader per process: every emulator would parse the service models again."""
    import botocore.loaders
    import botocore.session

    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)


def _standard(family: Family) -> dict[str, Any]:
    """tests/conftest.py's standard scenario with the family's config, world and faults."""
    try:
        conftest = importlib.import_module("tests.conftest")  # python -m tests.concurrency.interleavings
    except ImportError:
        conftest = importlib.import_module("conftest")  # under pytest, tests/ itself is on sys.path
    promotions = [
        step[0].promotion() if len(step) == 1 else {"batch": [spec.promotion() for spec in step]}
        for step in family.steps
    ]
    data: dict[str, Any] = conftest.scenario_data(
        config=family.config, world=family.world, faults=[dict(f) for f in family.faults], promotions=promotions
    )
    return data


def run_family(family: Family, seed: int) -> Run:
    """One fresh emulator with a seeded scheduler: the family's promotions, as `mlpromote local run`
    runs a scenario (faults injected first, batches started together), then the world read back."""
    _install_loader_cache()
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import Batch, parse_scenario

    run = Run(family.name, seed)
    # moto's interpreter draws its retries' jitter (JitterStrategy FULL) from the global generator.
    random.seed(seed)
    try:
        scenario = parse_scenario(_standard(family), base=Path("."))
        with Emulator(scenario, seed=seed) as emu:
            emu.inject(scenario.faults)
            run.before = emu.world()
            for index, (entry, step) in enumerate(zip(scenario.promotions, family.steps, strict=True)):
                specs = entry.batch if isinstance(entry, Batch) else [entry]
                results = emu.promote_together(specs) if isinstance(entry, Batch) else [emu.promote(entry)]
                run.promotions += [
                    _promotion(emu, spec, index, result) for spec, result in zip(step, results, strict=True)
                ]
            run.after = emu.world()
            _read_table(emu, run)
            assert emu.scheduler is not None
            run.handlers_run, run.fallbacks = len(emu.scheduler.order), emu.scheduler.fallbacks
            # What the scenario runner does last: read the history and print it all as JSON.
            json.dumps({"world": run.after, "history": emu.history_records()})
    except Exception as error:
        run.crash, run.trace = f"{type(error).__name__}: {_first_line(error)}", traceback.format_exc()
    run.violations = check_invariants(run)
    return run


def _promotion(emu: Any, spec: Spec, step: int, result: Any) -> Promotion:
    import boto3

    ended_at = None
    if result.execution_arn:
        sfn = boto3.client("stepfunctions", region_name=emu.config.region)
        stop = sfn.describe_execution(executionArn=result.execution_arn).get("stopDate")
        ended_at = stop.isoformat() if isinstance(stop, datetime) else None
    output = result.output or {}
    version = output.get("version") if isinstance(output, dict) else None
    return Promotion(
        spec=spec,
        step=step,
        execution=result.execution_arn,
        status=result.status,
        error=result.error,
        cause=result.cause,
        version=str(version) if version else (None if spec.rollback else spec.version),
        took_environment=any(s.name.startswith(TAKE_STEP) and s.status == "SUCCEEDED" for s in result.steps),
        ended_at=ended_at,
        left_granted=tuple(str(left["version"]) for left in (output.get("left") or []) if left.get("granted")),
    )


def _read_table(emu: Any, run: Run) -> None:
    """Every item of the promotions table, read directly: the history records (each read back on
    its own, so one unreadable record hides no other), and any lock or lease left."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    from mlpromote.aws.dynamodb import table_name

    deserializer = TypeDeserializer()
    client = boto3.client("dynamodb", region_name=emu.config.region)
    for page in client.get_paginator("scan").paginate(TableName=table_name(), ConsistentRead=True):
        for raw in page["Items"]:
            item = {key: deserializer.deserialize(value) for key, value in raw.items()}
            key = f"{item.get('pk')}/{item.get('sk')}"
            pk = str(item.get("pk", ""))
            # What a promotion holds while it runs and must release when it ends: the environment
            # lock, and a version's lease while it lists holders or a stop mark (mlpromote.leases: a
            # released lease item stays, with neither).
            if pk.startswith("LOCK#") or (pk.startswith("LEASE#") and (item.get("holders") or item.get("stoppingBy"))):
                run.held.append(key)
            elif str(item.get("pk", "")).startswith("ENV#"):
                try:
                    run.records.append(read_record(item, emu.names.label_of))
                except Exception as error:
                    run.unreadable.append((key, f"{type(error).__name__}: {_first_line(error)}"))
                    run.records.append(_labelled(item, emu.names.label_of))


def read_record(item: dict[str, Any], label_of: dict[str, str]) -> dict[str, Any]:
    """A history item as the product's history reader reads it back (mlpromote.history.PromotionRecord):
    an item keeps its accounts grouped (`accountsFrom`); the checks read each account's
    `{account, from, to}`, as a rollback does. Its key (`sk`) is kept: the chain check orders by it.
    Versions by scenario name; HistoryRecordUnreadable if it does not read back."""
    from mlpromote.history import PromotionRecord

    document = PromotionRecord.from_item(item).model_dump(mode="json", by_alias=True)
    labelled: dict[str, Any] = _labelled({**document, "sk": item.get("sk")}, label_of)
    return labelled


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:300]


def _labelled(value: Any, names: dict[str, str]) -> Any:
    if isinstance(value, str):
        return names.get(value, value)
    if isinstance(value, list):
        return [_labelled(v, names) for v in value]
    if isinstance(value, dict):
        return {k: _labelled(v, names) for k, v in value.items()}
    return value


def _run_one(point: tuple[str, int]) -> Run:
    family, seed = point
    return run_family(FAMILIES[family], seed)


# --- the report --------------------------------------------------------------------------------


def describe(run: Run) -> str:
    family = FAMILIES.get(run.family)
    lines = [f"  {run.family} seed {run.seed}" + (f": {family.what}" if family else "")]
    if run.trace:
        lines += [f"      {line}" for line in run.trace.rstrip().splitlines()[-8:]]
    for promotion in run.promotions:
        error = f" {promotion.error}: {promotion.cause}" if promotion.error else ""
        lines.append(f"    {promotion.spec}: {promotion.status}{error}")
    lines += [f"    broke ({v.invariant}) {v.detail}" for v in run.violations]
    return "\n".join(lines)


def report(runs: Sequence[Run]) -> str:
    failed = [r for r in runs if not r.ok]
    lines = [f"{len(runs)} interleavings, {len(runs) - len(failed)} held"]
    if failed:
        lines.append(f"{len(failed)} did not hold (rerun one with --family F --seed S):")
        lines += [describe(r) for r in failed]
        tally: dict[tuple[str, str], int] = {}
        for run in failed:
            for invariant in dict.fromkeys(v.invariant for v in run.violations):
                tally[(run.family, invariant)] = tally.get((run.family, invariant), 0) + 1
        lines.append("broken, by family and invariant (runs):")
        lines += [
            f"  {family} {invariant}: {count} ({INVARIANTS[invariant]})"
            for (family, invariant), count in sorted(tally.items())
        ]
    fallbacks = sum(r.fallbacks for r in runs)
    if fallbacks:
        lines.append(f"the scheduler fell back to FIFO {fallbacks} time(s) (a handler held its turn too long)")
    return "\n".join(lines)


def seeds_from(value: str | None) -> int:
    """CONCURRENCY_SEEDS (or --seeds): how many seeds per family; a whole number >= 1."""
    if value is None or value == "":
        return DEFAULT_SEEDS
    if not re.fullmatch(r"[1-9][0-9]{0,4}", value.strip()):
        raise ValueError(f"seeds must be a whole number from 1 to 99999, not {value!r}")
    return int(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make concurrency", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", help=f"seeds per family (default $CONCURRENCY_SEEDS or {DEFAULT_SEEDS})")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes (default 2)")
    parser.add_argument("--family", choices=sorted(FAMILIES), action="append", help="only these families")
    parser.add_argument("--seed", type=int, action="append", help="only these seeds (to reproduce one)")
    arguments = parser.parse_args(argv)
    try:
        count = seeds_from(arguments.seeds if arguments.seeds is not None else os.environ.get("CONCURRENCY_SEEDS"))
    except ValueError as error:
        parser.error(str(error))
    started = time.perf_counter()
    seeds = arguments.seed or list(range(1, count + 1))
    points = [(family, seed) for family in (arguments.family or FAMILIES) for seed in seeds]
    print(
        f"{len(FAMILIES if not arguments.family else arguments.family)} families x {len(seeds)} seeds on "
        f"{arguments.workers} worker(s)",
        flush=True,
    )
    if arguments.workers > 1 and len(points) > 1:
        # spawn: each worker imports moto afresh and runs one emulator at a time.
        with multiprocessing.get_context("spawn").Pool(arguments.workers) as pool:
            runs = list(pool.imap_unordered(_run_one, points, chunksize=1))
    else:
        runs = [_run_one(point) for point in points]
    runs.sort(key=lambda r: (list(FAMILIES).index(r.family), r.seed))
    print(report(runs))
    print(f"({time.perf_counter() - started:.0f} s)")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
