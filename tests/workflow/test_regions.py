"""The offline commands in every partition: `local promote --json`, `local drift` and a `local serve` request
in eu-west-1, eu-central-1, ap-southeast-2 (aws), us-gov-west-1 (aws-us-gov) and cn-north-1 (aws-cn, where
Rekognition has no endpoint, so the rehearsal refuses the world as AWS would fail it)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from conftest import ML, PARAMETER, PROD_A, PROD_B, QA, scenario_data
from mlpromote_cli.main import main

PARTITION = {"eu-west-1": "aws", "eu-central-1": "aws", "ap-southeast-2": "aws", "us-gov-west-1": "aws-us-gov"}


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("region", list(PARTITION))
def test_local_promote_json_promotes_starts_and_retires_in_the_region(region: str, tmp_path: Path, capsys) -> None:
    partition = PARTITION[region]
    path = write(tmp_path, scenario_data(config={"region": region}, promotions=[("prod", "tools/v3")]))

    assert main(["local", "promote", "--scenario", str(path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)

    [promotion] = document["promotions"]
    assert (promotion["environment"], promotion["version"], promotion["status"]) == ("prod", "tools/v3", "SUCCEEDED")
    # Started, granted, smoke-tested from both accounts, pointed at; v1 served nothing else, so it stopped.
    assert (promotion["output"]["started"], promotion["output"]["granted"]) == (["tools/v3"], ["tools/v3"])
    assert promotion["output"]["stopped"] == ["tools/v1"]
    assert document["world"] == {
        "parameters": {"qa": {"tools": {QA: "tools/v2"}}, "prod": {"tools": {PROD_A: "tools/v3", PROD_B: "tools/v3"}}},
        "grants": {"qa": ["tools/v2"], "prod": ["tools/v3"]},
        "versions": {"tools/v1": "STOPPED", "tools/v2": "RUNNING", "tools/v3": "RUNNING"},
    }
    [record] = document["history"]["prod"]
    assert record["promotionId"].startswith(f"arn:{partition}:states:{region}:{ML}:execution:")


@pytest.mark.parametrize("region", list(PARTITION))
def test_local_drift_finds_the_idle_and_stale_version_in_the_region(region: str, tmp_path: Path, capsys) -> None:
    world = {"versions": {"tools/v4": {"status": "RUNNING"}}, "grants": {"prod": ["tools/v1", "tools/v4"]}}
    path = write(tmp_path, scenario_data(config={"region": region}, world=world))

    assert main(["local", "drift", "--scenario", str(path), "--json"]) == 1
    findings = json.loads(capsys.readouterr().out)["findings"]

    assert [(f["kind"], f["environment"], f["version"]) for f in findings] == [
        ("StaleGrant", "prod", "tools/v4"),
        ("IdleVersion", None, "tools/v4"),
    ]
    # mlpromote's price table has us-east-1 only: elsewhere the finding says so instead of guessing.
    assert findings[1]["detail"] == (
        "tools/v4 is RUNNING but no environment's parameter points at it: 1 inference unit billed every hour; "
        f"mlpromote has no inference price for {region}, see https://aws.amazon.com/rekognition/pricing/; "
        "granted to prod"
    )


@pytest.mark.parametrize("region", ["ap-southeast-2", "us-gov-west-1"])
def test_version_and_role_arns_carry_the_partition_of_the_region(region: str, worlds: Any) -> None:
    from moto.iam.models import iam_backends
    from moto.ssm.models import ssm_backends

    from mlpromote.grants import POLICY_NAME, GrantPolicy
    from mlpromote_emulator.scenario import PromotionSpec

    partition = PARTITION[region]
    with worlds.emulator(config={"region": region}) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        v2 = emu.names.arn("tools/v2", emu.config)
        ml_iam = iam_backends[ML][partition]
        access_role = next(role for role in ml_iam.roles.values() if role.name == "mlpromote-access-prod")
        grants = GrantPolicy.from_document(json.loads(access_role.policies[POLICY_NAME])).granted_versions()
        pointers = {a: ssm_backends[a][region].get_parameter(PARAMETER).value for a in (PROD_A, PROD_B)}
        target_roles = sorted(role.arn for role in iam_backends[PROD_A][partition].roles.values())

    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert v2.startswith(f"arn:{partition}:rekognition:{region}:{ML}:project/tools/version/v2/")
    assert access_role.arn == f"arn:{partition}:iam::{ML}:role/mlpromote-access-prod"
    assert list(grants) == [v2]
    assert pointers == {PROD_A: v2, PROD_B: v2}
    assert f"arn:{partition}:iam::{PROD_A}:role/mlpromote-parameter-writer" in target_roles
    assert all(arn.startswith(f"arn:{partition}:iam::{PROD_A}:role/") for arn in target_roles), target_roles


def test_a_local_serve_request_promotes_in_govcloud_as_a_local_user_of_its_partition(worlds: Any) -> None:
    from mlpromote_emulator.serve import LocalApi, serve_in_background

    with worlds.emulator(config={"region": "us-gov-west-1"}) as emu, LocalApi(emu, port=0) as api:
        thread = serve_in_background(api)
        try:
            v2 = emu.names.arn("tools/v2", emu.config)
            body = json.dumps({"environment": "prod", "modelVersionArn": v2, "reason": "curl"}).encode()
            with urllib.request.urlopen(urllib.request.Request(f"{api.url}/promotions", data=body), timeout=30) as r:
                started = json.loads(r.read())
            promotion: dict[str, Any] = {"status": "RUNNING"}
            for _ in range(2000):
                with urllib.request.urlopen(f"{api.url}/promotions/{started['promotionId']}", timeout=30) as r:
                    promotion = json.loads(r.read())
                if promotion["status"] != "RUNNING":
                    break
                time.sleep(0.02)
            world = emu.world()
            machines = boto3.client("stepfunctions", region_name="us-gov-west-1").list_state_machines()
        finally:
            api.shutdown()
            thread.join(timeout=10)

    assert promotion["status"] == "SUCCEEDED", promotion
    assert started["executionArn"].startswith(f"arn:aws-us-gov:states:us-gov-west-1:{ML}:execution:")
    assert promotion["request"]["requestedBy"] == f"arn:aws-us-gov:iam::{ML}:user/local-serve"
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert world["grants"]["prod"] == ["tools/v2"]
    assert [m["name"] for m in machines["stateMachines"]] == ["mlpromote-promote-model"]


@pytest.mark.parametrize("command", [["local", "promote"], ["local", "drift"]])
def test_china_is_refused_before_anything_runs_because_rekognition_has_no_endpoint_there(
    command: list[str], tmp_path: Path, capsys
) -> None:
    path = write(tmp_path, scenario_data(config={"region": "cn-north-1"}, promotions=[("prod", "tools/v2")]))

    assert main([*command, "--scenario", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "config.region: Amazon Rekognition has no endpoint in cn-north-1" in captured.err
    assert "in no region of aws-cn" in captured.err and "Traceback" not in captured.err


def test_china_config_itself_is_valid_and_its_arns_are_aws_cn(tmp_path: Path, capsys) -> None:
    config = scenario_data(config={"region": "cn-north-1"})["config"]
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["check-config", str(path)]) == 0
    from mlpromote.config import load_config

    assert load_config(path).access_role_arn("prod") == f"arn:aws-cn:iam::{ML}:role/mlpromote-access-prod"


def test_an_unknown_region_exits_2_naming_the_key_and_the_closest_name(tmp_path: Path, capsys) -> None:
    path = write(tmp_path, scenario_data(config={"region": "eu-centrl-1"}, promotions=[("prod", "tools/v2")]))
    assert main(["local", "promote", "--scenario", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "region: 'eu-centrl-1' is not a region of the aws, aws-cn, aws-us-gov partitions; did you mean " \
        "'eu-central-1'" in captured.err  # fmt: skip

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(scenario_data(config={"region": "eu-centrl-1"})["config"]))
    assert main(["check-config", str(config)]) == 2
    assert "region: 'eu-centrl-1' is not a region" in capsys.readouterr().err
