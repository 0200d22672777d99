"""Drift logic without AWS: the comparison, its details, the event's size, and where the drift role is deployed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlpromote import drift, iam_model
from mlpromote.aws.rekognition import VersionDescription
from mlpromote.config import parse_config
from mlpromote.errors import InvalidConfig

REPO = Path(__file__).resolve().parents[2]
ML = "111111111111"
PROD = [f"3333333333{i:02d}" for i in range(8)]
PARAMETER = "/mlpromote/tools/model-arn"


def version(name: str) -> str:
    return f"arn:aws:rekognition:us-east-1:{ML}:project/tools/version/{name}/1700000001000"


CONFIG: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {"prod": {"accounts": PROD}},
    "projects": {
        "tools": {
            "parameterName": PARAMETER,
            "smokeTest": {"images": ["s3://smoke-images/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}
V1, V2 = version("v1"), version("v2")


def observed(pointers: dict[str, str | None], grants: list[str], **versions: VersionDescription) -> drift.Observed:
    return drift.Observed(
        versions={d.arn: d for d in versions.values()},
        grants={"prod": grants},
        pointers={"prod": {"tools": pointers}},
    )


def running(arn: str, **units: int) -> VersionDescription:
    return VersionDescription(arn=arn, status="RUNNING", status_message="", **units)


def test_a_pointer_that_is_not_a_version_or_not_in_rekognition_is_not_running() -> None:
    config = parse_config(CONFIG)
    pointers: dict[str, str | None] = dict.fromkeys(PROD, V1)
    pointers[PROD[0]] = "hello"
    pointers[PROD[1]] = V2  # no such version in the ML account
    findings = drift.find_drift(config, observed(pointers, [V1], v1=running(V1)))
    not_running = [f for f in findings if f.kind == "PointerToNotRunning"]
    assert [(f.account, f.detail.split(", which ")[1]) for f in not_running] == [
        (PROD[0], "is not a model version ARN; applications there cannot call it"),
        (PROD[1], "does not exist in the ML account's project tools; applications there cannot call it"),
    ]
    assert [f.account for f in findings if f.kind == "PointerWithoutGrant"] == [PROD[0], PROD[1]]
    [split] = [f for f in findings if f.kind == "SplitEnvironment"]
    assert split.detail == (
        f"the accounts of prod disagree on {PARAMETER}: tools/v1 in {', '.join(PROD[2:7])} and 1 more; "
        f"'hello' in {PROD[0]}; tools/v2 in {PROD[1]}"
    )
    assert [f.kind for f in findings] == sorted((f.kind for f in findings), key=drift.KINDS.index)


def test_an_idle_version_costs_its_units_and_says_who_grants_it_and_who_is_promoting() -> None:
    config = parse_config(CONFIG)
    world = observed(dict.fromkeys(PROD, V1), [V1, V2], v1=running(V1), v2=running(V2, min_inference_units=1))
    world.versions[V2] = running(V2, min_inference_units=2, max_inference_units=3)
    findings = drift.find_drift(config, world)
    assert [(f.kind, f.version) for f in findings] == [("StaleGrant", V2), ("IdleVersion", V2)]
    idle = findings[1]
    assert idle.detail == (
        "tools/v2 is RUNNING but no environment's parameter points at it: 2 inference units x USD 4.00 = "
        "USD 8.00 per hour (up to USD 12.00 when auto-scaled to 3 units); granted to prod"
    )
    assert drift.idle_cost_per_hour(config, world.versions[V2]) == 8.0
    world.holders["prod"] = "arn:aws:states:us-east-1:111111111111:execution:m:p-1"
    noted = drift.with_promotions_in_flight(findings, world)
    assert all(f.detail.endswith("a promotion holds prod (arn:aws:states:us-east-1:111111111111:execution:m:p-1): "
                                 "this may be it, in flight") for f in noted)  # fmt: skip


def test_the_event_carries_what_fits_and_says_it_was_cut() -> None:
    findings = [
        drift.Finding(kind="StaleGrant", environment="prod", version=version(f"v{i}"), detail="x" * 2000)
        for i in range(300)
    ]
    run = drift.DriftRun(findings=findings, counts={"StaleGrant": 300})
    detail = drift.event_detail(run)
    assert len(detail["findings"]) < 300 and detail["truncated"] is True and detail["total"] == 300
    assert len(str(detail)) < 256 * 1024


def test_repair_drift_is_an_optional_strict_boolean() -> None:
    assert parse_config(CONFIG).environment("prod").repair_drift is False
    on = {**CONFIG, "environments": {"prod": {"accounts": PROD, "repairDrift": True}}}
    assert parse_config(on).environment("prod").repair_drift is True
    with pytest.raises(InvalidConfig, match=r"environments\.prod\.repairDrift: 'yes' is not true or false"):
        parse_config({**CONFIG, "environments": {"prod": {"accounts": PROD, "repairDrift": "yes"}}})


def test_the_drift_role_is_deployed_scheduled_and_trusted_by_the_parameter_readers() -> None:
    from mlpromote_emulator.runtime import load_template

    template = load_template(REPO / "template.yaml")["Resources"]
    role_names = {r["Properties"].get("RoleName") for r in template.values() if r["Type"] == "AWS::IAM::Role"}
    assert "mlpromote-control-detect-drift" in role_names
    function = template["DetectDriftFunction"]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": ["DetectDriftRole", "Arn"]}
    assert function["Events"]["Scheduled"] == {
        "Type": "Schedule",
        "Properties": {"Schedule": {"Ref": "DriftSchedule"}, "Description": "mlpromote drift detection"},
    }
    # It reads the pointers and the copies, nothing more (tests/test_security_static.py: the templates follow
    # iam_model).
    assert iam_model.target_roles_of("detect-drift") == ["parameter_reader", "model_reader"]


def test_an_idle_version_in_a_region_without_a_price_counts_units_and_says_the_price_is_unknown() -> None:
    config = parse_config({**CONFIG, "region": "ap-southeast-2"})
    world = observed(dict.fromkeys(PROD, V1), [V1], v1=running(V1), v2=running(V2))
    world.versions[V2] = running(V2, min_inference_units=2, max_inference_units=3)
    [idle] = [f for f in drift.find_drift(config, world) if f.kind == "IdleVersion"]
    assert idle.detail == (
        "tools/v2 is RUNNING but no environment's parameter points at it: 2 inference units billed every hour "
        "(up to 3 when auto-scaled); mlpromote has no inference price for ap-southeast-2, see "
        "https://aws.amazon.com/rekognition/pricing/"
    )
    assert drift.idle_cost_per_hour(config, world.versions[V2]) is None
    assert drift.unit_hour_price("us-east-1") == 4.00 and drift.unit_hour_price("ap-southeast-2") is None
