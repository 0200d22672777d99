"""Environments given as organizational units: resolved at promotion time through the organization
reader role, trusted by organization path, and watched by drift detection (AccountNotServed)."""

from __future__ import annotations

import json
from typing import Any

ML, QA = "111111111111", "222222222222"
MANAGEMENT = "999999999999"
ORG = "o-a1b2c3d4e5"
PROD_OU, PROD_EU_OU, OTHER_OU = "ou-ab12-prod0001", "ou-ab12-prodeu01", "ou-ab12-other001"
PROD_A, PROD_B, PROD_EU, NEWCOMER, OUTSIDER = (
    "333333333333",
    "444444444444",
    "555555555555",
    "666666666666",
    "777777777777",
)
READER = f"arn:aws:iam::{MANAGEMENT}:role/mlpromote-organization-reader"

# prod is the OU ou-ab12-prod0001 and its child OU ou-ab12-prodeu01; 777777777777 is in another OU.
OU_CONFIG: dict[str, Any] = {
    "organizationId": ORG,
    "organizationReaderRoleArn": READER,
    "environments": {"prod": {"accounts": None, "organizationalUnits": [PROD_OU]}},
}
OU_WORLD: dict[str, Any] = {
    "organization": {
        PROD_OU: {"accounts": [PROD_B, PROD_A], "children": [PROD_EU_OU]},
        PROD_EU_OU: {"accounts": [PROD_EU]},
        OTHER_OU: {"accounts": [NEWCOMER, OUTSIDER]},
    }
}


def ou_emulator(worlds: Any, config: dict[str, Any] | None = None, world: dict[str, Any] | None = None) -> Any:
    return worlds.emulator(config=worlds.merge(OU_CONFIG, config or {}), world=worlds.merge(OU_WORLD, world or {}))


def promote(emu: Any, **spec: Any) -> Any:
    from mlpromote_emulator.scenario import PromotionSpec

    return emu.promote(PromotionSpec.model_validate(spec))


def detect(emu: Any) -> dict[str, Any]:
    payload, failed = emu.invoke("DetectDriftFunction", json.dumps({"source": "test"}).encode())
    assert not failed, payload
    return dict(json.loads(payload))


def test_an_ou_environment_is_promoted_to_its_accounts_and_its_child_ous_and_rolled_back(worlds: Any) -> None:
    with ou_emulator(worlds) as emu:
        before = emu.world()
        promoted = promote(emu, environment="prod", version="tools/v2")
        after_promotion = emu.world()
        rolled_back = promote(emu, environment="prod", rollback=True)
        after_rollback = emu.world()
        history = emu.history_records()["prod"]

    everyone = [PROD_A, PROD_B, PROD_EU]
    assert before["parameters"]["prod"]["tools"] == dict.fromkeys(everyone, "tools/v1")
    assert promoted.status == "SUCCEEDED", promoted.as_json()
    assert after_promotion["parameters"]["prod"]["tools"] == dict.fromkeys(everyone, "tools/v2")
    assert after_promotion["grants"]["prod"] == ["tools/v2"]
    assert after_promotion["versions"]["tools/v1"] == "STOPPED"
    # The plan resolved the OUs to their accounts (sorted) and the history records each of them.
    assert [a["account"] for a in history[0]["accounts"]] == sorted(everyone)
    assert rolled_back.status == "SUCCEEDED", rolled_back.as_json()
    assert after_rollback["parameters"]["prod"]["tools"] == dict.fromkeys(everyone, "tools/v1")
    assert after_rollback["grants"]["prod"] == ["tools/v1"]
    assert after_rollback["versions"]["tools/v1"] == "RUNNING"
    # Nothing outside the OU was touched: the other OU's accounts have no parameter (and no roles' use).
    assert NEWCOMER not in after_rollback["parameters"]["prod"]["tools"]


def test_an_account_that_joins_the_ou_is_drift_until_a_promotion_serves_it(worlds: Any) -> None:
    with ou_emulator(worlds) as emu:
        assert promote(emu, environment="prod", version="tools/v2").status == "SUCCEEDED"
        emu.join_organizational_unit(NEWCOMER, PROD_EU_OU)
        drift = detect(emu)
        not_served = emu.world()["parameters"]["prod"]["tools"]
        again = promote(emu, environment="prod", version="tools/v2")
        served = emu.world()["parameters"]["prod"]["tools"]
        after = detect(emu)

    assert [(f["kind"], f["account"]) for f in drift["findings"]] == [("AccountNotServed", NEWCOMER)]
    assert drift["counts"]["AccountNotServed"] == 1 and drift["counts"]["SplitEnvironment"] == 0
    assert not_served == {PROD_A: "tools/v2", PROD_B: "tools/v2", PROD_EU: "tools/v2", NEWCOMER: None}
    assert again.status == "SUCCEEDED", again.as_json()
    assert served == dict.fromkeys([PROD_A, PROD_B, PROD_EU, NEWCOMER], "tools/v2")
    assert after["findings"] == []


def test_an_ou_that_does_not_exist_is_refused_by_name_and_changes_nothing(worlds: Any) -> None:
    missing = "ou-ab12-missing1"
    with ou_emulator(worlds, config={"environments": {"prod": {"organizationalUnits": [missing]}}}) as emu:
        before = emu.world()
        result = promote(emu, environment="prod", version="tools/v3")
        after = emu.world()

    assert result.status == "FAILED" and result.error == "OrganizationalUnitNotFound", result.as_json()
    assert missing in (result.cause or "")
    assert after == before


def test_an_ou_without_accounts_is_refused_by_name_and_changes_nothing(worlds: Any) -> None:
    empty = "ou-ab12-empty001"
    with ou_emulator(
        worlds,
        config={"environments": {"prod": {"organizationalUnits": [empty]}}},
        world={"organization": {empty: {"accounts": []}}},
    ) as emu:
        before = emu.world()
        result = promote(emu, environment="prod", version="tools/v3")
        after = emu.world()

    assert result.status == "FAILED" and result.error == "EnvironmentHasNoAccounts", result.as_json()
    assert after == before


def test_a_throttled_organizations_call_is_retried_and_a_refusal_is_named(worlds: Any) -> None:
    """Organizations' calls go through the adapters' one translation: throttling is retried by the
    plan's Retry; a refusal fails the plan with AwsCallFailed naming the call, and changes nothing."""
    from mlpromote_emulator.scenario import FaultSpec

    throttled = FaultSpec(service="organizations", operation="ListAccountsForParent", error="TooManyRequestsException")
    denied = FaultSpec(
        service="organizations", operation="ListOrganizationalUnitsForParent", error="AccessDeniedException"
    )
    with ou_emulator(worlds) as emu:
        emu.inject([throttled])
        retried = promote(emu, environment="prod", version="tools/v2")
        served = emu.world()
        emu.inject([denied])
        refused = promote(emu, environment="prod", version="tools/v3")
        after = emu.world()

    assert retried.status == "SUCCEEDED", retried.as_json()
    assert served["parameters"]["prod"]["tools"] == dict.fromkeys([PROD_A, PROD_B, PROD_EU], "tools/v2")
    assert refused.status == "FAILED" and refused.error == "AwsCallFailed", refused.as_json()
    assert "ListOrganizationalUnitsForParent" in (refused.cause or "")
    assert after == served


def test_an_ou_environment_of_copies_copies_into_the_accounts_its_ous_hold(worlds: Any) -> None:
    """strategy: copy with organizationalUnits: the plan's resolved accounts are the ones the project policy
    names, each copies and runs the version, points at its copy, and drift finds nothing wrong."""
    from mlpromote_emulator import moto_adaptations as adapt

    with ou_emulator(worlds, config={"environments": {"prod": {"strategy": "copy"}}}) as emu:
        before = emu.world()
        assert before["copies"] == {a: {"tools/v1": "RUNNING"} for a in (PROD_A, PROD_B, PROD_EU)}
        promoted = promote(emu, environment="prod", version="tools/v2")
        assert promoted.status == "SUCCEEDED", f"{promoted.error}: {promoted.cause}"
        after = emu.world()
        assert after["parameters"]["prod"] == {"tools": {a: "tools/v2" for a in (PROD_A, PROD_B, PROD_EU)}}
        # v1's copies are being stopped (the retirement does not wait for the stop to end).
        assert {a: c["tools/v2"] for a, c in after["copies"].items()} == dict.fromkeys(
            (PROD_A, PROD_B, PROD_EU), "RUNNING"
        )
        assert {c["tools/v1"] for c in after["copies"].values()} <= {"STOPPING", "STOPPED"}
        assert after["grants"]["prod"] == []
        for account in (PROD_A, PROD_B, PROD_EU):
            pointer = adapt.parameter_value(account, emu.config.region, "/mlpromote/tools/model-arn")
            assert pointer and pointer.split(":")[4] == account and "/version/v2/" in pointer
        assert NEWCOMER not in after["parameters"]["prod"]["tools"] and OUTSIDER not in after["copies"]
        findings = detect(emu)["findings"]
        assert [f for f in findings if f.get("environment") == "prod"] == [], findings
