"""A deployment that names its parameters and access roles its own way (parameterPathPrefix,
accessRolePrefix) rehearses with those names everywhere: the pointers, the access roles and their
grants, and the target-account roles as templates/target-account.yaml deploys them."""

from __future__ import annotations

import json
from typing import Any

from mlpromote_emulator.scenario import PromotionSpec

ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"
PARAMETER = "/apps/inspection/tools/model-arn"
CUSTOM = {
    "parameterPathPrefix": "/apps/inspection",
    "accessRolePrefix": "inspection-model-",
    "projects": {"tools": {"parameterName": PARAMETER}},
}


def _inline_policies(account: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """role name -> {policy name -> document} of the roles of `account` whose name starts with `prefix`."""
    from moto.iam.models import iam_backends

    out: dict[str, dict[str, Any]] = {}
    for role in iam_backends[account]["aws"].roles.values():
        if role.name.startswith(prefix):
            out[role.name] = {
                name: json.loads(doc) if isinstance(doc, str) else doc for name, doc in role.policies.items()
            }
    return out


def _parameters(account: str) -> dict[str, str]:
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[account]["us-east-1"]
    return {name: versions[-1].value for name, versions in backend._parameters.items() if versions}


def test_a_promotion_with_custom_names_uses_them_everywhere(worlds: Any) -> None:
    with worlds.emulator(config=CUSTOM) as emu:
        result = emu.promote(PromotionSpec.model_validate({"environment": "prod", "version": "tools/v2"}))
        world = emu.world()
        v2 = emu.names.arn("tools/v2", emu.config)
        parameters = {account: _parameters(account) for account in (QA, PROD_A, PROD_B)}
        access_roles = _inline_policies(ML, "inspection-model-")
        default_named = _inline_policies(ML, "mlpromote-access-")
        writer = _inline_policies(PROD_A, "mlpromote-parameter-writer")["mlpromote-parameter-writer"]
        smoke_test = _inline_policies(PROD_A, "mlpromote-smoke-test")["mlpromote-smoke-test"]

    assert result.status == "SUCCEEDED", result.as_json()
    assert world["parameters"]["prod"]["tools"] == {PROD_A: "tools/v2", PROD_B: "tools/v2"}
    assert world["grants"] == {"prod": ["tools/v2"], "qa": ["tools/v2"]}
    # The pointers live at the custom name, and only there.
    assert parameters[PROD_A] == {PARAMETER: v2} and parameters[PROD_B] == {PARAMETER: v2}
    assert set(parameters[QA]) == {PARAMETER}
    # The access roles carry the custom prefix; the promotion wrote prod's grant there.
    assert set(access_roles) == {"inspection-model-prod", "inspection-model-qa"}
    assert default_named == {}
    [grant] = access_roles["inspection-model-prod"]["mlpromote-grants"]["Statement"]
    assert grant["Resource"] == v2
    # The target accounts' roles are deployed from templates/target-account.yaml with these names.
    [write] = writer["mlpromote-parameter-writer"]["Statement"]
    assert write["Resource"] == f"arn:aws:ssm:*:{PROD_A}:parameter/apps/inspection/*"
    # (its other statements find and call the account's own copies, for copy environments)
    [assume] = [s for s in smoke_test["mlpromote-smoke-test"]["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert assume["Resource"] == f"arn:aws:iam::{ML}:role/inspection-model-*"
