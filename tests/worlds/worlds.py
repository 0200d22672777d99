"""Worlds at random (issue 10, item 5): hypothesis generates configs, worlds, faults and promotions;
each runs through the real ASL on the emulator, and after every promotion `check_promotion` says
which invariants the world broke.

`tests/worlds/test_random_worlds.py` runs a bounded number of worlds in `make test`; `make soak`
(make/soak.mk) runs many more. This module's strategies and checker import nothing from the
emulator, so the checker is tested on hand-made worlds too.
"""

from __future__ import annotations

import functools
import os
import string
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

# --- regions ------------------------------------------------------------------------------------

PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


@functools.cache
def partition_regions() -> dict[str, tuple[str, ...]]:
    """Every region botocore's partition data knows, per partition (aws, aws-cn, aws-us-gov)."""
    import botocore.loaders

    endpoints = botocore.loaders.create_loader().load_data("endpoints")
    return {
        partition["partition"]: tuple(sorted(partition["regions"]))
        for partition in endpoints["partitions"]
        if partition["partition"] in PARTITIONS
    }


def regions() -> st.SearchStrategy[str]:
    """A partition, then one of its regions that offers Rekognition (botocore's endpoint data: none in
    aws-cn, where the rehearsal refuses to run, as a deployment would fail there)."""
    offered = rekognition_regions()
    return st.sampled_from(sorted(offered)).flatmap(lambda partition: st.sampled_from(offered[partition]))


@functools.cache
def rekognition_regions() -> dict[str, tuple[str, ...]]:
    """Per partition, the known regions with a Rekognition endpoint (partitions with none left out)."""
    import boto3

    session = boto3.session.Session()
    out = {}
    for partition, known in partition_regions().items():
        offered = set(session.get_available_regions("rekognition", partition_name=partition))
        if regions := tuple(region for region in known if region in offered):
            out[partition] = regions
    return out


# --- names at their limits ----------------------------------------------------------------------

NAME_CHARACTERS = string.ascii_letters + string.digits + "_.-"  # projects and versions: 1-255
ENVIRONMENT_CHARACTERS = string.ascii_letters + string.digits + "_-"  # environments: 1-40
SEGMENT_CHARACTERS = string.ascii_letters + string.digits + "_-"
# SSM: at most 1011 characters counting the parameter's ARN before the name ("arn:aws:ssm:<region>:
# <account>:parameter"); names go up to that in the region with the longest ARN (mlpromote.config checks it).
PARAMETER_NAME_LIMIT = 1011 - max(
    len(f"arn:{partition}:ssm:{region}:000000000000:parameter")
    for partition, offered in rekognition_regions().items()
    for region in offered
)
PARAMETER_LEVELS = 15


def names(alphabet: str, limit: int) -> st.SearchStrategy[str]:
    """Short names, names of exactly `limit` characters, and anything between."""
    return st.one_of(
        st.text(alphabet, min_size=1, max_size=6),
        st.text(alphabet, min_size=limit, max_size=limit),
        st.text(alphabet, min_size=1, max_size=limit),
    )


@st.composite
def parameter_names(draw: st.DrawFn, index: int) -> str:
    """/mlpromote/<index>/... : valid, up to 15 levels and PARAMETER_NAME_LIMIT characters, unique per project."""
    levels = draw(st.integers(min_value=0, max_value=PARAMETER_LEVELS - 3))
    long = draw(st.booleans())
    segments = draw(
        st.lists(
            st.text(SEGMENT_CHARACTERS, min_size=1, max_size=120 if long else 12), min_size=levels, max_size=levels
        )
    )
    name = "/".join(["", "mlpromote", f"p{index}", *segments])
    if long:
        # Fill the last level up to the limit: the longest name SSM takes.
        name += "/" + "x" * max(1, PARAMETER_NAME_LIMIT - len(name) - 1)
    return name[:PARAMETER_NAME_LIMIT].rstrip("/")


def chance(one_in: int) -> st.SearchStrategy[bool]:
    """True about once in `one_in` draws. (Hypothesis favours an integer range's ends, so
    `integers(0, n) == 0` would come up far more often than 1 in n+1.)"""
    return st.sampled_from([False] * (one_in - 1) + [True])


accounts = st.integers(min_value=0, max_value=10**12 - 1).map(lambda n: f"{n:012d}")

# --- the world ------------------------------------------------------------------------------------

EXPECTED_LABEL = "hammer"
MIN_CONFIDENCE = 50
# Seeded statuses: the ones a version rests in (STARTING and STOPPING move on their own).
STATUSES = ("RUNNING",) * 3 + ("TRAINING_COMPLETED",) * 2 + ("STOPPED", "FAILED", "TRAINING_FAILED", "EXPIRED")

# (service, operation) of the AWS calls the control plane makes in a promotion, rollback, approval
# or retirement: what a run of tests/conftest.py's standard world records, plus the lock's GetItem
# and the approval request's Publish. test_random_worlds checks them against botocore's service
# models. CloudWatch is left out: no world here bakes.
CALLED = (
    ("dynamodb", "Query"),
    ("dynamodb", "TransactWriteItems"),
    ("dynamodb", "GetItem"),
    ("events", "PutEvents"),
    ("iam", "GetRolePolicy"),
    ("iam", "ListRolePolicies"),
    ("iam", "PutRolePolicy"),
    ("rekognition", "DescribeProjectVersions"),
    ("rekognition", "DescribeProjects"),
    ("rekognition", "DetectCustomLabels"),
    ("rekognition", "StartProjectVersion"),
    ("rekognition", "StopProjectVersion"),
    ("ssm", "GetParameter"),
    ("ssm", "LabelParameterVersion"),
    ("ssm", "PutParameter"),
    ("sts", "AssumeRole"),
    ("sns", "Publish"),
)
QUERY_SERVICES = frozenset({"iam", "sts"})  # error codes without the Exception suffix
TRANSIENT_ERRORS = {
    "query": ("Throttling", "ServiceUnavailable"),
    "json": ("ThrottlingException", "InternalFailure"),
}
# Codes every service of the protocol may answer (AWS's common errors; scenario faults are checked).
FATAL_ERRORS = {"query": ("AccessDenied",), "json": ("AccessDeniedException",)}
TRANSIENT_CODES = frozenset(code for codes in TRANSIENT_ERRORS.values() for code in codes)


@st.composite
def faults(draw: st.DrawFn, targets: list[str], ml_account: str) -> dict[str, Any]:
    service, operation = draw(st.sampled_from(CALLED))
    protocol = "query" if service in QUERY_SERVICES else "json"
    transient = draw(st.booleans())
    error = draw(st.sampled_from((TRANSIENT_ERRORS if transient else FATAL_ERRORS)[protocol]))
    fault: dict[str, Any] = {"service": service, "operation": operation, "error": error}
    account = draw(st.none() | st.sampled_from([ml_account, *targets]))
    if account is not None:
        fault["account"] = account
    # At most two calls per fault, at most three faults: fewer failures than any Retry's MaxAttempts,
    # so a transient fault must never fail a promotion.
    fault["count"] = draw(st.integers(min_value=1, max_value=2))
    return fault


@st.composite
def scenarios(draw: st.DrawFn, region: st.SearchStrategy[str] | None = None) -> dict[str, Any]:
    """A scenario document: config, world, faults and promotions."""
    environment_count = draw(st.integers(min_value=1, max_value=3))
    project_count = draw(st.integers(min_value=1, max_value=3))
    # 1-12 accounts per environment, a few more often than many (each account costs seconds to seed).
    sizes = st.integers(min_value=1, max_value=3) | st.integers(min_value=1, max_value=12)
    per_environment = draw(st.lists(sizes, min_size=environment_count, max_size=environment_count))
    all_accounts = draw(st.lists(accounts, min_size=1 + sum(per_environment), max_size=1 + sum(per_environment),
                                 unique=True))  # fmt: skip
    ml_account, targets = all_accounts[0], all_accounts[1:]
    environment_names = draw(
        st.lists(names(ENVIRONMENT_CHARACTERS, 40), min_size=environment_count, max_size=environment_count, unique=True)
    )
    project_names = draw(
        st.lists(names(NAME_CHARACTERS, 255), min_size=project_count, max_size=project_count, unique=True)
    )

    environments: dict[str, Any] = {}
    start = 0
    for index, (name, count) in enumerate(zip(environment_names, per_environment, strict=True)):
        env: dict[str, Any] = {"accounts": targets[start : start + count]}
        start += count
        if index and draw(st.booleans()):
            env["requires"] = environment_names[draw(st.integers(min_value=0, max_value=index - 1))]
        if draw(chance(5)):
            env["retireSuperseded"] = False
        if draw(chance(5)):
            env["requiresApproval"] = True
        environments[name] = env

    projects: dict[str, Any] = {}
    versions: dict[str, Any] = {}
    for index, project in enumerate(project_names):
        projects[project] = {
            "parameterName": draw(parameter_names(index)),
            "smokeTest": {
                "images": [f"s3://mlpromote-smoke-{ml_account}/{project}/image.jpg"],
                "expectLabels": [EXPECTED_LABEL],
                "minConfidence": MIN_CONFIDENCE,
            },
        }
        version_names = draw(st.lists(names(NAME_CHARACTERS, 255), min_size=1, max_size=3, unique=True))
        for version in version_names:
            # Most versions pass the smoke test; some find the label below minConfidence or not at all.
            confidence = draw(st.sampled_from([97.0] * 6 + [40.0, None]))
            labels = {EXPECTED_LABEL: confidence} if confidence is not None else {"wrench": 90.0}
            versions[f"{project}/{version}"] = {"status": draw(st.sampled_from(STATUSES)), "labels": labels}
    labels = sorted(versions)

    def of_project(project: str) -> list[str]:
        return [label for label in labels if label.split("/", 1)[0] == project]

    world: dict[str, Any] = {"versions": versions}
    # Where each environment stands: per project, one of its versions or nothing.
    live: dict[str, list[str]] = {}
    for name in environments:
        chosen = [draw(st.none() | st.sampled_from(of_project(project))) for project in projects]
        if any(chosen):
            live[name] = [label for label in chosen if label]
    world["live"] = live
    if draw(st.booleans()):
        # A drifted world: grants and single accounts' parameters that disagree with `live`.
        world["grants"] = {
            name: draw(st.lists(st.sampled_from(labels), max_size=3, unique=True))
            for name in environments
            if draw(st.booleans())
        }
        parameters: dict[str, Any] = {}
        for name, env in environments.items():
            for project in projects:
                for account in env["accounts"]:
                    if draw(chance(6)):
                        pointed = draw(st.none() | st.sampled_from(of_project(project)))
                        parameters.setdefault(name, {}).setdefault(project, {})[account] = pointed
        world["parameters"] = parameters
    world["startFails"] = draw(st.lists(st.sampled_from(labels), max_size=1, unique=True))

    promotions = []
    for step in range(draw(st.integers(min_value=1, max_value=3))):
        environment = draw(st.sampled_from(environment_names))
        spec: dict[str, Any] = {"environment": environment, "via": draw(st.sampled_from(["console", "api", "event"]))}
        # Issue 15, item 7: the same body within 5 minutes is deduplicated across an intervening
        # promotion. A different reason per request keeps these requests apart.
        spec["reason"] = f"random world, request {step}"
        # With several projects a rollback must name one, which scenarios cannot yet (branch typos):
        # until then those rollbacks are refused at the plan, so they are drawn rarely.
        # A rollback first has only the world's history to go back to (none): drawn rarely too.
        if draw(chance(3 if project_count == 1 and promotions else 10)):
            spec["rollback"] = True
        elif promotions and draw(st.booleans()):
            # The same version again, often further along the `requires` chain.
            spec["version"] = draw(st.sampled_from([p["version"] for p in promotions if "version" in p] or labels))
        else:
            spec["version"] = draw(st.sampled_from(labels))
        if environments[environment].get("requires") and draw(st.booleans()):
            spec["force"] = True
        if spec["via"] == "event" and (spec.get("rollback") or spec.get("force")):
            spec["via"] = "console"  # an event carries environment, modelVersionArn and reason only
        if environments[environment].get("requiresApproval"):
            decision = draw(st.sampled_from([True, True, False, None]))  # None: nobody decides, it times out
            if decision is not None:
                spec["approve"] = decision
        promotions.append(spec)

    drawn = draw(st.lists(faults(targets, ml_account), max_size=3))
    return {
        "config": {
            "region": draw(region if region is not None else regions()),
            "mlAccount": ml_account,
            "environments": environments,
            "projects": projects,
        },
        "world": world,
        "faults": drawn,
        "promotions": promotions,
    }


# --- the invariants -------------------------------------------------------------------------------

INVARIANTS = {
    "pointers-kept": "a failed promotion changes no pointer",
    "grants-kept": "a failed promotion grants nothing new (but versions its environment already points at) "
    "and revokes nothing but its own version",
    "elsewhere-untouched": "a promotion changes no pointer outside its environment and project",
    "healthy-stays-healthy": "a pointer at a RUNNING version its access role granted still points at one",
    "promoted": "a successful promotion leaves every account of its environment on the promoted version, "
    "RUNNING and granted there",
    "nothing-idle": "nothing a promotion started or superseded is left RUNNING unused, unless its output says why",
    "no-dangling-grant": "a promotion leaves no new grant of a version its environment does not point at, "
    "unless its output says why",
    "no-lock": "no lock is left behind",
    "history": "the history reads back, with one record per promotion that took the environment, which names "
    "what each account pointed at before and, on success, every account it moved",
    "named-error": "a failure names its error (an mlpromote error, not a Python exception)",
    "transient-absorbed": "a transient fault never fails a promotion",
}
SERVING = frozenset({"RUNNING", "STARTING"})
COMPENSATION_FAILED = "CompensationFailed"
# The Fail state's error when Compensate itself failed: the world may be inconsistent, and the
# execution says so. Then the half-changed world is reported, not a broken invariant.
EXEMPT_WHEN_COMPENSATION_FAILED = frozenset(
    {"pointers-kept", "grants-kept", "healthy-stays-healthy", "nothing-idle", "no-dangling-grant"}
)


@dataclass(frozen=True)
class Violation:
    invariant: str  # a key of INVARIANTS
    detail: str

    def __str__(self) -> str:
        return f"({self.invariant}) {INVARIANTS[self.invariant]}: {self.detail}"


@dataclass
class Run:
    """One ended promotion, as the checker needs it. Worlds are `Emulator.world()` documents."""

    environment: str
    project: str | None  # None: a rollback that never said which project
    version: str | None  # the promoted version's label; None: a rollback that never resolved one
    status: str
    error: str | None
    cause: str | None
    before: dict[str, Any]
    after: dict[str, Any]
    output: Any = None
    compensation: Any = None
    took_lock: bool = False
    # Locks held after the run: environment -> holder.
    locks: dict[str, Any] = field(default_factory=dict)
    # History after the run: environment -> raw items; and the ones that did not read back, with why.
    records_before: dict[str, int] = field(default_factory=dict)
    records_after: dict[str, int] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    # The record this promotion wrote, as the product's history reader reads it back (read_record).
    record: dict[str, Any] | None = None
    # Error codes of the faults that fired while this promotion ran.
    fired: list[str] = field(default_factory=list)
    named_errors: frozenset[str] = frozenset()

    @property
    def compensation_failed(self) -> bool:
        error = self.compensation.get("error") if isinstance(self.compensation, dict) else None
        return self.error == COMPENSATION_FAILED or (
            isinstance(error, dict) and error.get("Error") == COMPENSATION_FAILED
        )


def pointers(world: dict[str, Any]) -> Iterable[tuple[str, str, str, str | None]]:
    """(environment, project, account, version label or None) of every parameter."""
    for environment, projects in sorted(world.get("parameters", {}).items()):
        for project, per_account in sorted(projects.items()):
            for account, label in sorted(per_account.items()):
                yield environment, project, account, label


def pointed(world: dict[str, Any], environment: str | None = None) -> set[str]:
    return {label for env, _, _, label in pointers(world) if label and environment in (None, env)}


def healthy(world: dict[str, Any], environment: str, label: str | None) -> bool:
    """The pointer serves: RUNNING, and the environment's access role grants it."""
    return (
        label is not None
        and world["versions"].get(label) == "RUNNING"
        and label in world["grants"].get(environment, [])
    )


def left_in_output(output: Any) -> dict[str, dict[str, Any]]:
    """Versions the output lists as left behind (granted or running), with why."""
    if not isinstance(output, dict):
        return {}
    return {str(item.get("version")): item for item in output.get("left") or [] if isinstance(item, dict)}


def check_promotion(run: Run) -> list[Violation]:
    """Every invariant the world after `run` breaks (empty: all held)."""
    out: list[Violation] = []
    before, after = run.before, run.after
    succeeded = run.status == "SUCCEEDED"
    left = left_in_output(run.output)

    # Pointers.
    for env, project, account, label in pointers(before):
        now = after["parameters"].get(env, {}).get(project, {}).get(account)
        where = f"{env}/{project}/{account}"
        if now != label and not succeeded:
            out.append(Violation("pointers-kept", f"{where}: {label} -> {now} ({run.status} {run.error})"))
        if now != label and (env != run.environment or (run.project is not None and project != run.project)):
            out.append(Violation("elsewhere-untouched", f"{where}: {label} -> {now}"))
        if healthy(before, env, label) and not healthy(after, env, now):
            out.append(
                Violation(
                    "healthy-stays-healthy",
                    f"{where} pointed at {label} (RUNNING, granted); now at {now}, which is "
                    f"{after['versions'].get(now) if now else 'no parameter'}"
                    f"{'' if now in after['grants'].get(env, []) else ', not granted'}",
                )
            )
    if succeeded and run.version is not None:
        project = run.version.split("/", 1)[0]
        for env, proj, account, label in pointers(after):
            if env == run.environment and proj == project and (label != run.version or not healthy(after, env, label)):
                out.append(
                    Violation(
                        "promoted",
                        f"{env}/{proj}/{account} points at {label} ({after['versions'].get(label) if label else '-'}, "
                        f"{'granted' if label in after['grants'].get(env, []) else 'not granted'}), "
                        f"promoted: {run.version}",
                    )
                )

    # Grants.
    if not succeeded:
        for env in sorted(set(before["grants"]) | set(after["grants"])):
            old, new = set(before["grants"].get(env, [])), set(after["grants"].get(env, []))
            added = new - old - pointed(before, env)
            if added:
                out.append(Violation("grants-kept", f"{env} now grants {sorted(added)}"))
            mine = {run.version} if env == run.environment and run.version else set()
            if env == run.environment and run.version is None:
                mine = old  # a rollback that never resolved its version: revokes nothing we can name
            removed = old - new - mine
            if removed:
                out.append(Violation("grants-kept", f"{env} no longer grants {sorted(removed)}"))
    for env in sorted(after["grants"]):
        dangling_before = set(before["grants"].get(env, [])) - pointed(before, env)
        for label in sorted(set(after["grants"][env]) - pointed(after, env) - dangling_before):
            if not (env == run.environment and left.get(label, {}).get("granted")):
                out.append(Violation("no-dangling-grant", f"{env} grants {label}, which no {env} parameter points at"))

    # Versions left running.
    in_use = pointed(after)
    for label, state in sorted(after["versions"].items()):
        if state not in SERVING or label in in_use:
            continue
        started = before["versions"].get(label) not in SERVING
        superseded = succeeded and label in pointed(before, run.environment) and label != run.version
        if (started or superseded) and not left.get(label, {}).get("running"):
            how = "started" if started else "superseded"
            out.append(Violation("nothing-idle", f"{label} is {state}, {how} by this promotion, and nothing uses it"))

    if run.compensation_failed:
        out = [v for v in out if v.invariant not in EXEMPT_WHEN_COMPENSATION_FAILED]

    # Lock and history. A "Record the outcome" that failed past its retries leaves the record open and
    # the lock held until ReleaseAbandoned runs on the execution's status-change event, which the
    # emulator delivers before the promotion's result is read: no exemption for it.
    if run.locks:
        out.append(Violation("no-lock", f"held: {run.locks}"))
    out += [Violation("history", why) for why in run.unreadable]
    if run.took_lock:
        grew = run.records_after.get(run.environment, 0) - run.records_before.get(run.environment, 0)
        if grew != 1:
            out.append(Violation("history", f"{run.environment}'s history grew by {grew} records, not 1"))
        if run.record is not None:
            out += _check_record(run, run.record)
        elif not run.unreadable:
            out.append(Violation("history", "no record of this promotion reads back"))

    # How it failed.
    if not succeeded:
        if run.error not in run.named_errors:
            out.append(Violation("named-error", f"{run.error}: {(run.cause or '')[:300]}"))
        if run.fired and all(code in TRANSIENT_CODES for code in run.fired) and "injected" in (run.cause or ""):
            out.append(Violation("transient-absorbed", f"{run.error}: {(run.cause or '')[:300]}"))
    return out


# --- the runs -------------------------------------------------------------------------------------


@dataclass
class WorldOutcome:
    violations: list[tuple[int, str, Violation]] = field(default_factory=list)  # (promotion, title, violation)
    results: list[tuple[str, str, str | None]] = field(default_factory=list)  # (title, status, error)

    def report(self) -> str:
        lines = [f"  #{i} {title}: {violation}" for i, title, violation in self.violations]
        return "\n".join(lines)


def install_loader_cache() -> None:
    """Every emulator builds new boto3 sessions, and each would parse botocore's service models
    again (a quarter of a run's CPU). One loader per process serves them all."""
    import botocore.loaders
    import botocore.session

    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = functools.lru_cache(maxsize=None)(botocore.loaders.create_loader)


def named_errors() -> frozenset[str]:
    """The errors a failed promotion may end with: mlpromote's own, and the compensation's."""
    from mlpromote import errors

    found: set[str] = set()
    todo: list[type] = [errors.PromotionError]
    while todo:
        cls = todo.pop()
        found.add(cls.__name__)
        todo += cls.__subclasses__()
    return frozenset(found | {COMPENSATION_FAILED, "PromotionFailed"})


def _check_record(run: Run, record: dict[str, Any]) -> list[Violation]:
    """The record's accounts as a rollback reads them: each `from` what the account pointed at when the
    promotion took the environment, each `to` the promoted version, and on success every account of
    the environment that now points at it."""
    out: list[Violation] = []
    project = record.get("project")
    before = run.before["parameters"].get(run.environment, {}).get(project, {})
    changes = [c for c in record.get("accounts") or [] if isinstance(c, dict)]
    for change in changes:
        account = change.get("account")
        if "from" not in change or change["from"] != before.get(account):
            out.append(
                Violation(
                    "history",
                    f"the record has {run.environment}/{project}/{account} from {change.get('from', 'nothing')}; "
                    f"it pointed at {before.get(account)}",
                )
            )
        if run.status == "SUCCEEDED" and run.version is not None and change.get("to") != run.version:
            out.append(Violation("history", f"the record has {account} to {change.get('to')}, not {run.version}"))
    if run.status == "SUCCEEDED" and run.version is not None and project == run.version.split("/", 1)[0]:
        moved = set(run.after["parameters"].get(run.environment, {}).get(project, {}))
        missing = sorted(moved - {c.get("account") for c in changes})
        if missing:
            out.append(Violation("history", f"the record of a success names no move of {', '.join(missing)}"))
    return out


def read_record(item: dict[str, Any], label_of: dict[str, str]) -> dict[str, Any]:
    """A history item as the product's history reader reads it back (mlpromote.history.PromotionRecord:
    each account's `{account, from, to}`, whatever grouping the item keeps), versions by scenario name.
    HistoryRecordUnreadable if it does not read back."""
    from mlpromote.history import PromotionRecord

    document = PromotionRecord.from_item(item).model_dump(mode="json", by_alias=True)
    return _labelled(document, label_of)


def _labelled(value: Any, label_of: dict[str, str]) -> Any:
    if isinstance(value, str):
        return label_of.get(value, value)
    if isinstance(value, list):
        return [_labelled(v, label_of) for v in value]
    if isinstance(value, dict):
        return {k: _labelled(v, label_of) for k, v in value.items()}
    return value


def _table_items(region: str) -> list[dict[str, Any]]:
    """Every item of the promotions table, as plain values (read as a test, never faulted)."""
    import boto3
    from boto3.dynamodb.types import TypeDeserializer

    from mlpromote.history import DEFAULT_TABLE, TABLE_ENV

    deserializer = TypeDeserializer()
    dynamodb = boto3.client("dynamodb", region_name=region)
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=os.environ.get(TABLE_ENV, DEFAULT_TABLE)):
        items += [{k: deserializer.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    return items


def _history(
    region: str, label_of: dict[str, str]
) -> tuple[dict[str, Any], dict[str, int], list[str], dict[str, dict[str, Any]]]:
    """Locks held; records per environment; records that do not read back, with why; and the records
    that do, as read back, by promotion (execution ARN)."""
    from mlpromote.errors import HistoryRecordUnreadable

    locks: dict[str, Any] = {}
    records: dict[str, int] = {}
    unreadable: list[str] = []
    read: dict[str, dict[str, Any]] = {}
    for item in _table_items(region):
        pk = str(item.get("pk", ""))
        if pk.startswith("LOCK#"):
            locks[pk.removeprefix("LOCK#")] = item.get("holder")
        elif pk.startswith("ENV#"):
            records[pk.removeprefix("ENV#")] = records.get(pk.removeprefix("ENV#"), 0) + 1
            try:
                record = read_record(item, label_of)
            except HistoryRecordUnreadable as error:
                unreadable.append(f"{item.get('sk')}: {error}")
                continue
            read[str(item.get("promotionId"))] = record
    return locks, records, unreadable, read


def run_world(data: dict[str, Any]) -> WorldOutcome:
    """Seed the scenario's world, inject its faults, run its promotions one by one, and check
    the invariants after each."""
    install_loader_cache()
    from pathlib import Path

    from mlpromote_emulator import moto_adaptations as adapt
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import PromotionSpec, parse_scenario

    scenario = parse_scenario(data, base=Path("."))
    region = scenario.config.region
    named = named_errors()
    outcome = WorldOutcome()
    with Emulator(scenario) as emu:
        emu.inject(scenario.faults)
        for index, spec in enumerate(scenario.promotions):
            assert isinstance(spec, PromotionSpec)
            before = emu.world()
            _, records_before, _, _ = _history(region, emu.names.label_of)
            first_call = len(adapt.hooks.calls)
            result = emu.promote(spec)
            after = emu.world()
            locks, records_after, unreadable, records = _history(region, emu.names.label_of)
            steps = {step.name: step.status for step in result.steps}
            output = result.output if isinstance(result.output, dict) else {}
            version = result.version if result.version in after["versions"] else None
            project = version.split("/", 1)[0] if version else output.get("project")
            run = Run(
                environment=spec.environment,
                project=project if project in scenario.config.projects else None,
                version=version,
                status=result.status,
                error=result.error,
                cause=result.cause,
                before=before,
                after=after,
                output=result.output,
                compensation=result.compensation,
                took_lock=steps.get("Take the environment") == "SUCCEEDED",
                locks=locks,
                records_before=records_before,
                records_after=records_after,
                unreadable=unreadable,
                record=records.get(result.execution_arn),
                fired=[call.error for call in adapt.hooks.calls[first_call:] if call.error],
                named_errors=named,
            )
            outcome.results.append((spec.title, result.status, result.error))
            for violation in check_promotion(run):
                outcome.violations.append((index, f"{spec.environment} <- {spec.title}", violation))
    return outcome
