"""The dry run: `mlpromote local plan`, POST /promotions?dryRun=true and `mlpromote plan`. Each plan
is what the workflow would change, read from the scenario's starting world, which it leaves as it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import yaml

from conftest import scenario_data
from mlpromote_cli.main import main

QA, PROD_A, PROD_B = "222222222222", "333333333333", "444444444444"
PROMOTIONS: list[Any] = [
    {"environment": "prod", "version": "tools/v2"},
    {
        "batch": [
            {"environment": "qa", "version": "tools/v3", "via": "api"},
            {"environment": "prod", "version": "tools/v3"},
        ]
    },
    {"environment": "prod", "rollback": True},
]
CONFIG = {"environments": {"prod": {"requires": "qa"}}}


def test_local_plan_prints_one_plan_per_promotion_against_the_starting_world(tmp_path: Path, capsys: Any) -> None:
    from mlpromote.drift import unit_hour_price

    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({**scenario_data(config=CONFIG), "promotions": PROMOTIONS}))

    assert main(["local", "plan", "--scenario", str(path), "--json"]) == 1  # a check would refuse two of them
    plans = json.loads(capsys.readouterr().out)["plans"]

    unit = unit_hour_price("us-east-1")
    assert unit is not None
    promote_v2, qa_v3, prod_v3, rollback = plans
    assert promote_v2 == {
        "environment": "prod",
        "version": "tools/v2",
        "kind": "promotion",
        "accounts": [
            {"account": PROD_A, "from": "tools/v1", "to": "tools/v2"},
            {"account": PROD_B, "from": "tools/v1", "to": "tools/v2"},
        ],
        "grant": ["tools/v2"],
        "revoke": ["tools/v1"],
        "start": [],
        "stop": ["tools/v1"],  # qa serves v2: nothing points at v1 afterwards
        "costPerHourUsd": {"before": round(2 * unit, 4), "after": round(unit, 4)},
        "waves": [{"accounts": [PROD_A, PROD_B], "bakeMinutes": 0, "approve": False}],  # no rollout: one wave
        "refusal": None,
        "refusalMessage": None,
    }
    assert (qa_v3["accounts"], qa_v3["grant"], qa_v3["revoke"]) == (
        [{"account": QA, "from": "tools/v2", "to": "tools/v3"}],
        ["tools/v3"],
        ["tools/v2"],
    )
    assert (qa_v3["start"], qa_v3["stop"], qa_v3["refusal"]) == (["tools/v3"], ["tools/v2"], None)
    assert qa_v3["costPerHourUsd"] == {"before": round(2 * unit, 4), "after": round(2 * unit, 4)}
    # Planned against the starting world, not after the qa plan: v3 is not live in qa there.
    assert prod_v3["refusal"] == "NotVerifiedUpstream"
    assert "promote it to qa first" in prod_v3["refusalMessage"]
    assert (prod_v3["accounts"], prod_v3["grant"], prod_v3["start"]) == ([], [], [])
    assert rollback["refusal"] == "NothingToRollBackTo"


def test_the_dry_run_changes_nothing(worlds: Any) -> None:
    from mlpromote.aws import dynamodb
    from mlpromote_emulator.scenario import Batch

    scenario = worlds.scenario(*PROMOTIONS, config=CONFIG)
    specs = [s for entry in scenario.promotions for s in (entry.batch if isinstance(entry, Batch) else [entry])]
    with worlds.emulator(config=CONFIG) as emu:

        def snapshot() -> str:
            sfn, iam = boto3.client("stepfunctions"), boto3.client("iam")
            roles = {
                name: iam.list_role_policies(RoleName=emu.config.access_role_name(name))["PolicyNames"]
                for name in emu.config.environments
            }
            return json.dumps(
                {
                    "world": emu.world(),
                    "history": emu.history_records(),
                    "locks": {name: dynamodb.lock_holder(name) for name in emu.config.environments},
                    "executions": sfn.list_executions(stateMachineArn=emu.state_machine_arn)["executions"],
                    "grantPolicies": roles,
                },
                sort_keys=True,
                default=str,
            )

        before = snapshot()
        plans = [emu.plan(spec) for spec in specs]
        after = snapshot()

    assert [p["refusal"] for p in plans] == [
        None,
        None,
        "NotVerifiedUpstream",
        "NothingToRollBackTo",
    ]
    assert after == before


def test_the_api_dry_run_answers_a_bad_body_with_400_and_plans_what_checks_refuse(worlds: Any) -> None:
    import time

    from mlpromote import approvals
    from mlpromote_emulator.apigateway import LocalGateway

    gated = {"environments": {"prod": {"requiresApproval": True}}}
    with worlds.emulator(config=gated) as emu:
        gateway = LocalGateway(emu._template, emu.invoke, "arn:aws:iam::111111111111:user/planner")
        v2 = emu.names.arn("tools/v2", emu.config)

        def dry_run(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            answer = gateway.call("POST", "/promotions", json.dumps(body), query={"dryRun": ["true"]})
            return answer.status, answer.json()

        bad = dry_run({"environment": "prod"})
        unknown = dry_run({"environment": "staging", "modelVersionArn": v2})
        emu.approvals_by_hand = True
        holder = emu.start({"environment": "prod", "modelVersionArn": v2})
        deadline = time.monotonic() + 60
        while (approval := approvals.read(holder)) is None or approval.status != approvals.AWAITING:
            assert time.monotonic() < deadline, "the promotion never reached the approval gate"
            time.sleep(0.01)
        held = dry_run({"environment": "prod", "modelVersionArn": v2})
        assert emu.decide(holder, "reject", "planned only").status == 200
        emu.wait(holder)

    assert (bad[0], bad[1]["error"]) == (400, "InvalidPromotionRequest")
    assert (unknown[0], unknown[1]["refusal"]) == (200, "UnknownEnvironment")
    assert (held[0], held[1]["refusal"]) == (200, "PromotionInProgress")
    assert holder.rsplit(":", 1)[-1] in held[1]["refusalMessage"]


def test_the_deployed_plan_refuses_a_bad_arn_before_aws(capsys: Any) -> None:
    code = main(["plan", "--environment", "prod", "--model-version-arn", "v2", "--stack", "mlpromote"])
    assert code == 2
    assert "InvalidModelVersionArn" in capsys.readouterr().err


def test_the_plan_of_a_copy_environment_copies_starts_and_stops_per_account(tmp_path: Path, capsys: Any) -> None:
    """strategy: copy: per account, the copy to make, the copy to start, the superseded copy to stop; no grant."""
    from mlpromote.drift import unit_hour_price

    world = {"versions": {"tools/v1": {"status": "STOPPED"}}, "copies": {PROD_B: {"tools/v2": "STOPPED"}}}
    data = scenario_data(config={"environments": {"prod": {"strategy": "copy"}}}, world=world)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump({**data, "promotions": [{"environment": "prod", "version": "tools/v2"}]}))

    assert main(["local", "plan", "--scenario", str(path), "--json"]) == 0
    [plan] = json.loads(capsys.readouterr().out)["plans"]
    unit = unit_hour_price("us-east-1")
    assert unit is not None
    assert plan == {
        "environment": "prod",
        "version": "tools/v2",
        "kind": "promotion",
        "accounts": [
            {"account": PROD_A, "from": "tools/v1", "to": "tools/v2"},
            {"account": PROD_B, "from": "tools/v1", "to": "tools/v2"},
        ],
        "grant": [],
        "revoke": [],
        "copy": [f"tools/v2 into {PROD_A}"],  # PROD_B has a (stopped) copy of v2 already
        "start": [f"tools/v2 in {PROD_A}", f"tools/v2 in {PROD_B}"],
        "stop": [f"tools/v1 in {PROD_A}", f"tools/v1 in {PROD_B}"],
        # Before: the ML account's v2 (qa's) and the two copies of v1; after: v2 and the two copies of v2.
        "costPerHourUsd": {"before": 3 * unit, "after": 3 * unit},
        "waves": [{"accounts": [PROD_A, PROD_B], "approve": False, "bakeMinutes": 0}],
        "refusal": None,
        "refusalMessage": None,
    }
