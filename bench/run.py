"""mlpromote's benchmark: AWS calls, state transitions, cold-start imports and fan-out, on the emulator.

    make bench        # writes bench/results.json and prints the table

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
from pathlib import Path
from typing import Any

from mlpromote import iam_model, quotas
from mlpromote_emulator import moto_adaptations, runtime
from mlpromote_emulator.runtime import Emulator, PromotionResult, largest_state_bytes
from mlpromote_emulator.scenario import PromotionSpec, parse_scenario

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results.json"
IMPORT_RUNS = 7
FANOUT = (1, 10, 50, 100)
# Step Functions' quotas: at 1 and 100 accounts and at the environment cap (config: at most 500).
# 1, 100, and the environment cap: the most accounts whose access-role trust policy IAM holds (with
# the raised 4,096 quota), below the config's 500 (mlpromote.iam_model.trust_policy_findings).
QUOTA_SIZES = (1, 100)
STATE_QUOTA_BYTES = 256 * 1024

# Published prices, us-east-1, 2026 (USD).
STANDARD_TRANSITION = 0.025 / 1000
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND_ARM = 0.0000133334
LAMBDA_MEMORY_GB = 512 / 1024  # template.yaml Globals.Function.MemorySize


def scenario(accounts: int, propagation_seconds: float) -> Any:
    """Promote a RUNNING version (v2, live in QA) to prod, whose accounts all serve v1."""
    prod = [f"{500_000_000_000 + i}" for i in range(accounts)]
    return parse_scenario(
        {
            "config": {
                "region": "us-east-1",
                "mlAccount": "111111111111",
                "environments": {"qa": {"accounts": ["222222222222"]}, "prod": {"accounts": prod}},
                "projects": {
                    "tools": {
                        "parameterName": "/mlpromote/tools/model-arn",
                        "smokeTest": {"images": ["s3://mlpromote-smoke/tools/hammer.jpg"], "expectLabels": ["hammer"]},
                    }
                },
            },
            "world": {
                "versions": {
                    "tools/v1": {"status": "RUNNING", "labels": ["hammer"]},
                    "tools/v2": {"status": "RUNNING", "labels": ["hammer", "wrench"]},
                },
                "live": {"prod": ["tools/v1"], "qa": ["tools/v2"]},
                "iamPropagationSeconds": propagation_seconds,
                # Past about 55 accounts the access role's trust policy needs IAM's raised quota.
                "trustPolicyMaxChars": 4096,
            },
        },
        base=REPO,
    )


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


def promote(accounts: int, propagation_seconds: float = 0) -> tuple[PromotionResult, list[Any], Emulator, float]:
    with Emulator(scenario(accounts, propagation_seconds)) as emulator:
        started = time.perf_counter()
        result = emulator.promote(PromotionSpec(environment="prod", version="tools/v2"))
        wall = time.perf_counter() - started
        calls = list(moto_adaptations.hooks.calls)
    if result.status != "SUCCEEDED":
        raise SystemExit(f"benchmark promotion failed: {result.error}: {result.cause}")
    return result, calls, emulator, wall


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


def main() -> int:
    if os.environ.get("BENCH_ONLY") == "quotas":  # just Step Functions' quotas (docs/benchmarks.md)
        print(quota_table(quota_results()))
        return 0
    one, one_calls, one_emulator, _ = promote(1)
    ten, ten_calls, _, _ = promote(10)
    fanout = []
    for accounts in FANOUT:
        result, calls, _, wall = promote(accounts, propagation_seconds=5)
        fanout.append(
            {
                "accounts": accounts,
                "wallSeconds": round(wall, 3),
                "stateTransitions": result.state_transitions,
                "apiCalls": len(calls),
            }
        )
    hundred, _, hundred_emulator, _ = promote(100)
    quota = quota_results()
    imports = handler_imports()
    slowest = max((seconds, name) for name, seconds in imports.items() if name != "boto3")
    results = {
        "apiCalls": {"oneAccount": len(one_calls), "tenAccounts": len(ten_calls)},
        "minimumApiCalls": {"oneAccount": minimum_api_calls(1), "tenAccounts": minimum_api_calls(10)},
        "stateTransitions": {"oneAccount": one.state_transitions, "tenAccounts": ten.state_transitions},
        "importRatio": round(slowest[0] / imports["boto3"], 2),
        "fanout": fanout,
        "stepFunctionsQuotas": quota,
        "costPerPromotionUSD": {
            "oneAccount": round(cost(one, one_emulator), 6),
            "hundredAccounts": round(cost(hundred, hundred_emulator), 6),
        },
        "details": {
            "importSeconds": {name: round(seconds, 4) for name, seconds in imports.items()},
            "slowestHandler": slowest[1],
            "callsByOperation": _by_operation(ten_calls),
            "fanoutWallRatio100To10": round(fanout[3]["wallSeconds"] / fanout[1]["wallSeconds"], 2),
        },
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print()
    print(quota_table(quota))
    return 0


def _by_operation(calls: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for call in calls:
        key = f"{call.service}:{call.operation}"
        counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def table(results: dict[str, Any]) -> str:
    calls, minimum, transitions = results["apiCalls"], results["minimumApiCalls"], results["stateTransitions"]
    lines = [
        "| measure | 1 account | 10 accounts | target |",
        "| --- | --- | --- | --- |",
        f"| AWS calls | {calls['oneAccount']} | {calls['tenAccounts']} | <= 1.25 x minimum |",
        f"| documented minimum | {minimum['oneAccount']} | {minimum['tenAccounts']} | |",
        f"| calls / minimum | {calls['oneAccount'] / minimum['oneAccount']:.2f} | "
        f"{calls['tenAccounts'] / minimum['tenAccounts']:.2f} | <= 1.25 |",
        f"| state transitions | {transitions['oneAccount']} | {transitions['tenAccounts']} | <= 15, +4 per account |",
        "",
        f"import ratio (slowest handler / import boto3): {results['importRatio']} (target <= 1.3)",
        "",
        "| accounts | wall seconds (emulator) | state transitions | AWS calls |",
        "| --- | --- | --- | --- |",
        *(
            f"| {row['accounts']} | {row['wallSeconds']} | {row['stateTransitions']} | {row['apiCalls']} |"
            for row in results["fanout"]
        ),
        "",
        f"100 accounts / 10 accounts wall time: {results['details']['fanoutWallRatio100To10']} (target < 10)",
        f"cost per promotion (USD): 1 account {results['costPerPromotionUSD']['oneAccount']:.6f}, "
        f"100 accounts {results['costPerPromotionUSD']['hundredAccounts']:.6f}",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
