"""mlpromote's benchmark: AWS calls, state transitions, cold-start imports and fan-out, on the emulator.

    make bench                            # every section; writes bench/results.json, prints the tables
    BENCH_ONLY=fanout,waves make bench    # only these sections (the others keep their last results)

Sections: fanout (1, 10, 100 and 1,000 accounts; the AWS calls, transitions and cost come from its
runs), allFail (1,000 accounts, every rotation failing), waves (the three-wave rollout at 100
accounts), quotas (Step Functions' quotas at 1, 100 and the listed-accounts cap), imports (cold start).
A section whose feature this checkout lacks (organizationalUnits environments, batched fan-out,
rollout waves: issue 13) reports that it was skipped and why, never a number.

Everything is measured in one run, and what matters is reported as counts and ratios: this
machine is shared and noisy, so no absolute time here is a target. See docs/benchmarks.md.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from mlpromote import config as config_models
from mlpromote import iam_model, quotas
from mlpromote_emulator import moto_adaptations, runtime
from mlpromote_emulator.runtime import Emulator, PromotionResult, largest_state_bytes
from mlpromote_emulator.scenario import PromotionSpec, parse_scenario

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.json"
IMPORT_RUNS = 7
FANOUT = (1, 10, 100, 1000)
ALL_FAIL_ACCOUNTS = 1000
WAVES_ACCOUNTS = 100
# The three-wave example of issue 13 (README, "Rollout in waves").
ROLLOUT = [{"accounts": 1}, {"percent": 10, "bakeMinutes": 15}, {"percent": 100}]
SECTIONS = ("fanout", "allFail", "waves", "quotas", "imports")
# Where an environment larger than a listed-accounts one can have lives: one OU of the organization.
ORGANIZATION_ID = "o-a1b2c3d4e5"
PROD_OU = "ou-ab12-prod0001"
ORGANIZATION_READER = "arn:aws:iam::999999999999:role/mlpromote-organization-reader"
ALARM = "app-errors"
# Step Functions' quotas at 1, 100, and the cap of an environment that lists its accounts: the most
# whose access-role trust policy IAM holds (with the raised 4,096 quota), below the config's 1,500
# (mlpromote.iam_model.trust_policy_findings); an OU environment is not held by it.
QUOTA_SIZES = (1, 100)
STATE_QUOTA_BYTES = 256 * 1024

# Published prices, us-east-1, 2026 (USD).
STANDARD_TRANSITION = 0.025 / 1000
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND_ARM = 0.0000133334
LAMBDA_MEMORY_GB = 512 / 1024  # template.yaml Globals.Function.MemorySize


def scenario(
    accounts: int, propagation_seconds: float = 0, *, by_organization: bool = False, rollout: Any = None
) -> Any:
    """Promote a RUNNING version (v2, live in QA) to prod, whose accounts all serve v1. `by_organization`:
    prod is an OU holding the accounts (organizationalUnits), not a list; `rollout`: prod's waves, with
    an alarm in every account for their bakes."""
    accounts_ids = [f"{500_000_000_000 + i}" for i in range(accounts)]
    prod: dict[str, Any] = {"organizationalUnits": [PROD_OU]} if by_organization else {"accounts": accounts_ids}
    config: dict[str, Any] = {
        "region": "us-east-1",
        "mlAccount": "111111111111",
        "environments": {"qa": {"accounts": ["222222222222"]}, "prod": prod},
        "projects": {
            "tools": {
                "parameterName": "/mlpromote/tools/model-arn",
                "smokeTest": {"images": ["s3://mlpromote-smoke/tools/hammer.jpg"], "expectLabels": ["hammer"]},
            }
        },
    }
    world: dict[str, Any] = {
        "versions": {
            "tools/v1": {"status": "RUNNING", "labels": ["hammer"]},
            "tools/v2": {"status": "RUNNING", "labels": ["hammer", "wrench"]},
        },
        "live": {"prod": ["tools/v1"], "qa": ["tools/v2"]},
        "iamPropagationSeconds": propagation_seconds,
        # Past about 55 accounts the access role's trust policy needs IAM's raised quota.
        "trustPolicyMaxChars": 4096,
    }
    if by_organization:
        config.update(organizationId=ORGANIZATION_ID, organizationReaderRoleArn=ORGANIZATION_READER)
        world["organization"] = {PROD_OU: {"accounts": accounts_ids}}
    if rollout is not None:
        prod.update(rollout=rollout, rollbackAlarms=[ALARM])
        world["alarms"] = [{"account": account, "name": ALARM} for account in accounts_ids]
    return parse_scenario({"config": config, "world": world}, base=REPO)


def missing_features(accounts: int, rollout: bool = False) -> str | None:
    """Why this checkout cannot run a promotion of `accounts` accounts (with waves), or None.

    Issue 13's offline contract: an environment of more accounts than the access role's trust policy
    can list is an OU environment (organizationalUnits, branch orgs), and 1,000 accounts fit Step
    Functions' quotas only with the fan-out batched (workflow.accountsPerBatch, branch scale);
    `rollout` is branch waves."""
    missing = []
    if accounts > environment_cap() and "organizational_units" not in config_models.Environment.model_fields:
        missing.append(
            f"an environment of {accounts} accounts must be organizationalUnits (the trust policy lists at most "
            f"{environment_cap()} accounts), which this checkout's config does not have (issue 13 item 1)"
        )
    if accounts > environment_cap() and "accounts_per_batch" not in config_models.Workflow.model_fields:
        missing.append(
            f"{accounts} accounts fit Step Functions' quotas only with the fan-out batched "
            "(workflow.accountsPerBatch), which this checkout does not have (issue 13 item 3)"
        )
    if rollout and "rollout" not in config_models.Environment.model_fields:
        missing.append("this checkout's config has no rollout waves (issue 13 item 2)")
    return "; ".join(missing) or None


def minimum_api_calls(accounts: int, other_accounts: int = 1, images: int = 1) -> int:
    """The lower bound documented in docs/benchmarks.md for promoting a RUNNING version."""
    plan = 1  # DescribeProjectVersions: the version exists and is promotable
    # Under the lock: DescribeProjectVersions (its status now); per account AssumeRole + GetParameter.
    take = 1 + 2 * accounts
    confirm = 2  # DescribeProjectVersions + GetRolePolicy: still RUNNING and granted before the switch
    grant = 4  # GetRolePolicy + ListRolePolicies + GetRolePolicy (the other inline policy) + PutRolePolicy
    smoke = (2 + images) * accounts  # AssumeRole x2 (target role, access role) + DetectCustomLabels per image
    rotate = 3 * accounts  # AssumeRole + PutParameter + LabelParameterVersion
    retire = 2 + 2 * other_accounts + 1  # revoke (Get+Put) + other pointers (AssumeRole+Get) + StopProjectVersion
    claim = 2  # UpdateItem x2: claim the stop of the superseded version (no other lease on it), clear the claim
    # Lock + record + lease of the version; under the lock, the record's `from` + lease of what the
    # environment served; close the record + release the lock and the leases (one transaction each).
    lock = 3
    announce = 2  # Model Promotion Started, Model Promotion Succeeded
    return plan + take + confirm + grant + smoke + rotate + retire + claim + lock + announce


@dataclass
class Run:
    """One promotion on the emulator, measured."""

    accounts: int
    result: PromotionResult
    wall: float
    calls: list[Any]
    events: list[dict[str, Any]]
    emulator: Emulator

    def fanout(self) -> dict[str, Any]:
        return {
            "accounts": self.accounts,
            "wallSeconds": round(self.wall, 3),
            "stateTransitions": self.result.state_transitions,
            "apiCalls": len(self.calls),
            "maxStateBytes": largest_state_bytes(self.events),
            "historyEvents": len(self.events),
        }


class UnexpectedEnd(Exception):
    """A benchmark promotion ended otherwise than its row expects: the row is reported not measured, with
    why, and the other rows still run (a 1,000-account run can time out on a loaded machine)."""


def run_promotion(emulator: Emulator, accounts: int, expected: tuple[str, str | None]) -> Run:
    """Promote v2 to prod in a world already set up; UnexpectedEnd unless it ends as `expected`."""
    first_call = len(moto_adaptations.hooks.calls)
    started = time.perf_counter()
    result = emulator.promote(PromotionSpec(environment="prod", version="tools/v2"))
    wall = time.perf_counter() - started
    if (result.status, result.error) != expected:
        raise UnexpectedEnd(
            f"the promotion of {accounts} accounts ended {result.status} {result.error}: {str(result.cause)[:300]}"
        )
    calls = list(moto_adaptations.hooks.calls[first_call:])
    return Run(accounts, result, wall, calls, emulator.history(result.execution_arn), emulator)


def promote(accounts: int) -> Run:
    """A promotion of `accounts` accounts on a world of its own (an OU environment past the listed cap)."""
    with Emulator(scenario(accounts, by_organization=accounts > environment_cap())) as emulator:
        return run_promotion(emulator, accounts, ("SUCCEEDED", None))


def all_fail_then_succeed(accounts: int, succeed: bool) -> tuple[dict[str, Any], Run | None]:
    """Every account's rotation fails (the section allFail), then, in the same world (which the check
    shows unchanged: setting up 1,000 accounts once saves minutes), the same promotion succeeds. prod
    is an OU environment at every size (issue 13's Done when: a 1,000-account OU environment)."""
    with Emulator(scenario(accounts, by_organization=True)) as emulator:
        before = emulator.world()
        faults = moto_adaptations.hooks.faults
        faults.append(moto_adaptations.Fault("ssm", "PutParameter", "AccessDeniedException", count=accounts))
        failed = run_promotion(emulator, accounts, ("FAILED", "AwsCallFailed"))
        faults.clear()
        after = emulator.world()
        unchanged = {part: before[part] == after[part] for part in ("parameters", "grants", "versions")}
        measured = {
            "accounts": accounts,
            "historyEvents": len(failed.events),
            "maxStateBytes": largest_state_bytes(failed.events),
            "worldUnchanged": all(unchanged.values()),
            "details": {"unchanged": unchanged, "wallSeconds": round(failed.wall, 3)},
        }
        print(json.dumps({"allFail": measured}), file=sys.stderr, flush=True)
        return measured, run_promotion(emulator, accounts, ("SUCCEEDED", None)) if succeed else None


def fanout_results(with_all_fail: bool) -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[int, Run]]:
    """The fan-out rows (a skipped size says why), allFail, and the runs behind the rows."""
    rows: list[dict[str, Any]] = []
    runs: dict[int, Run] = {}
    all_fail: dict[str, Any] | None = None
    sizes = sorted({*FANOUT, *([ALL_FAIL_ACCOUNTS] if with_all_fail else [])})
    promote(1)  # warm-up: the first promotion of a process imports the handlers and moto's backends
    for accounts in sizes:
        missing = missing_features(accounts)
        if missing is not None:
            if accounts in FANOUT:
                rows.append({"accounts": accounts, "skipped": missing})
            if accounts == ALL_FAIL_ACCOUNTS and with_all_fail:
                all_fail = {"accounts": accounts, "skipped": missing}
            continue
        try:
            if accounts == ALL_FAIL_ACCOUNTS and with_all_fail:
                all_fail, run = all_fail_then_succeed(accounts, succeed=accounts in FANOUT)
            else:
                run = promote(accounts)
        except UnexpectedEnd as ended:
            print(f"not measured: {ended}", file=sys.stderr, flush=True)
            if accounts == ALL_FAIL_ACCOUNTS and with_all_fail and all_fail is None:
                all_fail = {"accounts": accounts, "skipped": str(ended)}
            if accounts in FANOUT:
                rows.append({"accounts": accounts, "skipped": str(ended)})
            continue
        if run is not None:
            runs[accounts] = run
            rows.append(run.fanout())
            print(json.dumps({"fanout": rows[-1]}), file=sys.stderr, flush=True)
    return rows, all_fail, runs


def waves_results() -> dict[str, Any]:
    """The three-wave rollout at WAVES_ACCOUNTS accounts: its transitions and wall time (the bake is
    simulated time, free here), next to the same promotion in one wave."""
    missing = missing_features(WAVES_ACCOUNTS, rollout=True)
    if missing is not None:
        return {"accounts": WAVES_ACCOUNTS, "rollout": ROLLOUT, "skipped": missing}
    with Emulator(scenario(WAVES_ACCOUNTS, rollout=ROLLOUT)) as emulator:
        try:
            run = run_promotion(emulator, WAVES_ACCOUNTS, ("SUCCEEDED", None))
        except UnexpectedEnd as ended:
            return {"accounts": WAVES_ACCOUNTS, "rollout": ROLLOUT, "skipped": str(ended)}
    measured = {"rollout": ROLLOUT, **run.fanout()}
    print(json.dumps({"waves": measured}), file=sys.stderr, flush=True)
    return measured


def cost(result: PromotionResult, emulator: Emulator) -> float:
    """Step Functions transitions + Lambda requests + Lambda GB-seconds (arm64), for one promotion."""
    seconds = sum(max(duration, 0.001) for _, duration in emulator.invocations)
    return (
        result.state_transitions * STANDARD_TRANSITION
        + len(emulator.invocations) * LAMBDA_REQUEST
        + seconds * LAMBDA_MEMORY_GB * LAMBDA_GB_SECOND_ARM
    )


def import_seconds(statement: str) -> float:
    """Median over fresh interpreters, in a Lambda-like environment (X-Ray's SDK behaves differently there)."""
    env = {
        **os.environ,
        "LAMBDA_TASK_ROOT": str(REPO),
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "mlpromote",
        "PYDANTIC_DISABLE_PLUGINS": "__all__",  # as template.yaml sets it
    }
    code = f"import time\nt = time.perf_counter()\n{statement}\nprint(time.perf_counter() - t)"
    runs = []
    for _ in range(IMPORT_RUNS):
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        runs.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(runs)


def handler_imports() -> dict[str, float]:
    out = {"boto3": import_seconds("import boto3")}
    for folder in sorted((REPO / "functions").iterdir()):
        path = folder / "app.py"
        out[folder.name] = import_seconds(
            "import importlib.util as u\n"
            f"s = u.spec_from_file_location('app', {str(path)!r})\n"
            "m = u.module_from_spec(s)\ns.loader.exec_module(m)"
        )
    return out


def promote_measured(accounts: int, every_rotation_fails: bool) -> dict[str, Any]:
    """History events and the largest state of one promotion of RUNNING v2 to `accounts` accounts."""
    # A 500-account promotion takes minutes of real time on a busy machine; simulated time is free.
    runtime.EXECUTION_DEADLINE_SECONDS = 3600.0
    with Emulator(scenario(accounts, 0)) as emulator:
        if every_rotation_fails:
            moto_adaptations.hooks.faults.append(
                moto_adaptations.Fault("ssm", "PutParameter", "AccessDeniedException", count=accounts)
            )
        result = emulator.promote(PromotionSpec(environment="prod", version="tools/v2"))
        events = emulator.history(result.execution_arn)
    expected = ("FAILED", "AwsCallFailed") if every_rotation_fails else ("SUCCEEDED", None)
    if (result.status, result.error) != expected:
        raise SystemExit(f"quota benchmark at {accounts} accounts: {result.error}: {result.cause}")
    measured = {
        "accounts": accounts,
        "everyRotationFails": every_rotation_fails,
        "historyEvents": len(events),
        "largestStateBytes": largest_state_bytes(events),
    }
    print(json.dumps(measured), file=sys.stderr, flush=True)  # a 500-account run takes minutes
    return measured


def longest_polling(accounts: int) -> dict[str, Any]:
    """The most history events the longest start and the longest bake the config allows write: the
    history budget (mlpromote.quotas) at the shortest poll interval that passes config validation."""
    default = quotas.history_budget(accounts, 0, 60, 30, 30, 120)

    def shortest(fits: Any, lowest: int) -> int:
        return next(seconds for seconds in range(lowest, 3601) if fits(seconds))

    start_poll = shortest(lambda p: quotas.history_budget(accounts, 0, 60, 1440, p, 120).fits, 5)
    bake_poll = shortest(lambda p: quotas.history_budget(accounts, 1440, p, 30, 30, 120).fits, 10)
    start = quotas.history_budget(accounts, 0, 60, 1440, start_poll, 120)
    bake = quotas.history_budget(accounts, 1440, bake_poll, 30, 30, 120)
    return {
        "accounts": accounts,
        "defaultEvents": default.events,
        "longestStart": {"startTimeoutMinutes": 1440, "shortestStartPollSeconds": start_poll, "events": start.events},
        "longestBake": {"bakeMinutes": 1440, "shortestAlarmPollSeconds": bake_poll, "events": bake.events},
        "limit": quotas.HISTORY_EVENT_QUOTA - quotas.RETRY_MARGIN,
    }


@cache
def environment_cap() -> int:
    """The most accounts one environment can have today: the access role's trust policy lists each."""
    config = scenario(1, 0).config
    for accounts in range(2, 501):
        prod = config.environments["prod"].model_copy(
            update={"accounts": [f"{500_000_000_000 + i}" for i in range(accounts)]}
        )
        wider = config.model_copy(update={"environments": {**config.environments, "prod": prod}})
        if iam_model.trust_policy_findings(wider, "prod")[0]:
            return accounts - 1
    return 500


def quota_results() -> dict[str, Any]:
    sizes = (*QUOTA_SIZES, environment_cap())
    return {
        "environmentCap": sizes[-1],
        "promotions": [promote_measured(n, fails) for n in sizes for fails in (False, True)],
        "longestPolling": [longest_polling(n) for n in sizes],
    }


def quota_table(results: dict[str, Any]) -> str:
    lines = [
        "| accounts | every rotation fails | history events (of 25,000) | largest state, bytes (of 262,144) |",
        "| --- | --- | --- | --- |",
        *(
            f"| {row['accounts']} | {'yes' if row['everyRotationFails'] else 'no'} | {row['historyEvents']:,} | "
            f"{row['largestStateBytes']:,} |"
            for row in results["promotions"]
        ),
        "",
        "| accounts | defaults | longest start (1440 min): shortest poll, events | "
        "longest bake (1440 min): shortest poll, events |",
        "| --- | --- | --- | --- |",
        *(
            f"| {row['accounts']} | {row['defaultEvents']:,} | {row['longestStart']['shortestStartPollSeconds']} s, "
            f"{row['longestStart']['events']:,} | {row['longestBake']['shortestAlarmPollSeconds']} s, "
            f"{row['longestBake']['events']:,} |"
            for row in results["longestPolling"]
        ),
    ]
    return "\n".join(lines)


def selected_sections() -> list[str]:
    """BENCH_ONLY (comma-separated section names), or every section."""
    wanted = [name.strip() for name in os.environ.get("BENCH_ONLY", "").split(",") if name.strip()]
    unknown = [name for name in wanted if name not in SECTIONS]
    if unknown:
        raise SystemExit(f"BENCH_ONLY: unknown section {', '.join(unknown)}; the sections are {', '.join(SECTIONS)}")
    return wanted or list(SECTIONS)


def main() -> int:
    runtime.EXECUTION_DEADLINE_SECONDS = 3600.0  # 1,000 accounts take minutes of real time; simulated time is free
    sections = selected_sections()
    # A run of some sections keeps the others' last results.
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if "fanout" in sections or "allFail" in sections:
        rows, all_fail, runs = fanout_results(with_all_fail="allFail" in sections)
        if "allFail" in sections:
            results["allFail"] = all_fail
        if "fanout" in sections:
            results["fanout"] = rows
            if {1, 10, 100} <= set(runs):  # the call counts and costs come from these three runs
                calls = call_results(runs)
                results.setdefault("details", {}).update(calls.pop("details"))
                results.update(calls)
    if "waves" in sections:
        results["waves"] = waves_results()
    if "quotas" in sections:
        results["stepFunctionsQuotas"] = quota_results()
    if "imports" in sections:
        imports = handler_imports()
        slowest = max((seconds, name) for name, seconds in imports.items() if name != "boto3")
        results["importRatio"] = round(slowest[0] / imports["boto3"], 2)
        results.setdefault("details", {}).update(
            importSeconds={name: round(seconds, 4) for name, seconds in imports.items()}, slowestHandler=slowest[1]
        )
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    if "stepFunctionsQuotas" in results:
        print()
        print(quota_table(results["stepFunctionsQuotas"]))
    return 0


def call_results(runs: dict[int, Run]) -> dict[str, Any]:
    """The AWS calls, transitions and cost of the fan-out's runs at 1, 10 and 100 accounts."""
    one, ten, hundred = runs[1], runs[10], runs[100]
    fanout = {row.accounts: row.wall for row in runs.values()}
    return {
        "apiCalls": {"oneAccount": len(one.calls), "tenAccounts": len(ten.calls)},
        "minimumApiCalls": {"oneAccount": minimum_api_calls(1), "tenAccounts": minimum_api_calls(10)},
        "stateTransitions": {"oneAccount": one.result.state_transitions, "tenAccounts": ten.result.state_transitions},
        "costPerPromotionUSD": {
            "oneAccount": round(cost(one.result, one.emulator), 6),
            "hundredAccounts": round(cost(hundred.result, hundred.emulator), 6),
        },
        "details": {
            "callsByOperation": _by_operation(ten.calls),
            "fanoutWallRatio100To10": round(fanout[100] / fanout[10], 2),
            **({"fanoutWallRatio1000To100": round(fanout[1000] / fanout[100], 2)} if 1000 in fanout else {}),
        },
    }


def _by_operation(calls: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        key = f"{call.service}:{call.operation}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def table(results: dict[str, Any]) -> str:
    """What bench/results.json holds, as docs/benchmarks.md shows it (sections not run yet are left out)."""
    lines: list[str] = []
    if "apiCalls" in results:
        calls, minimum, transitions = results["apiCalls"], results["minimumApiCalls"], results["stateTransitions"]
        lines += [
            "| measure | 1 account | 10 accounts | target |",
            "| --- | --- | --- | --- |",
            f"| AWS calls | {calls['oneAccount']} | {calls['tenAccounts']} | <= 1.25 x minimum |",
            f"| documented minimum | {minimum['oneAccount']} | {minimum['tenAccounts']} | |",
            f"| calls / minimum | {calls['oneAccount'] / minimum['oneAccount']:.2f} | "
            f"{calls['tenAccounts'] / minimum['tenAccounts']:.2f} | <= 1.25 |",
            f"| state transitions | {transitions['oneAccount']} | {transitions['tenAccounts']} | "
            "<= 15, +4 per account |",
            "",
            f"cost per promotion (USD): 1 account {results['costPerPromotionUSD']['oneAccount']:.6f}, "
            f"100 accounts {results['costPerPromotionUSD']['hundredAccounts']:.6f}",
            "",
        ]
    if "importRatio" in results:
        lines += [f"import ratio (slowest handler / import boto3): {results['importRatio']} (target <= 1.3)", ""]
    if "fanout" in results:
        lines += [fanout_table(results["fanout"]), ""]
        details = results.get("details", {})
        for key, label in (("fanoutWallRatio100To10", "100 / 10"), ("fanoutWallRatio1000To100", "1,000 / 100")):
            if key in details:
                lines.append(f"wall time {label} accounts: {details[key]} (target < 10)")
        lines.append("")
    if results.get("allFail"):
        row = results["allFail"]
        lines.append(
            f"allFail, {row['accounts']:,} accounts: skipped: {row['skipped']}"
            if "skipped" in row
            else f"allFail, {row['accounts']:,} accounts, every rotation failing: {row['historyEvents']:,} history "
            f"events, largest state {row['maxStateBytes']:,} bytes, world unchanged: {row['worldUnchanged']}"
        )
    if results.get("waves"):
        row = results["waves"]
        lines.append(
            f"waves, {row['accounts']} accounts: skipped: {row['skipped']}"
            if "skipped" in row
            else f"waves, {row['accounts']} accounts in 3 waves: {row['stateTransitions']} transitions, "
            f"{row['wallSeconds']} s, {row['historyEvents']:,} history events, largest state "
            f"{row['maxStateBytes']:,} bytes"
        )
    return "\n".join(lines).rstrip()


def fanout_table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| accounts | wall seconds | state transitions | AWS calls | history events | largest state, bytes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if "skipped" in row:
            lines.append(f"| {row['accounts']:,} | not measured yet: {row['skipped']} | | | | |")
        else:
            lines.append(
                f"| {row['accounts']:,} | {row['wallSeconds']} | {row['stateTransitions']:,} | {row['apiCalls']:,} | "
                f"{row['historyEvents']:,} | {row['maxStateBytes']:,} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
