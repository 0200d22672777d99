"""The access roles' trust policies: the environment's accounts, narrowed as the config asks, with
mlpromote's own smoke-test role always admitted; and the template the renderer writes from them."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpromote import iam_model
from mlpromote.config import parse_config

REPO = Path(__file__).resolve().parents[2]
ML, QA, PROD_A, PROD_B = "111111111111", "222222222222", "333333333333", "444444444444"
BASE: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": ML,
    "environments": {"qa": {"accounts": [QA]}, "prod": {"accounts": [PROD_A, PROD_B]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": [f"s3://mlpromote-smoke-{ML}/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}
APP_A = f"arn:aws:iam::{PROD_A}:role/inventory"
APP_B = f"arn:aws:iam::{PROD_B}:role/apps/inventory-*"


def config(top: dict[str, Any] | None = None, **prod: Any) -> Any:
    data = copy.deepcopy(BASE)
    data.update(top or {})
    data["environments"]["prod"].update(prod)
    return parse_config(data)


def statement(trust: dict[str, Any]) -> dict[str, Any]:
    assert trust["Version"] == "2012-10-17"
    [only] = trust["Statement"]
    assert only["Effect"] == "Allow" and only["Action"] == "sts:AssumeRole"
    return dict(only)


def test_without_hardening_the_environments_accounts_and_no_others_are_trusted() -> None:
    prod = statement(iam_model.access_role_trust(config(), "prod"))
    qa = statement(iam_model.access_role_trust(config(), "qa"))

    assert prod["Principal"] == {"AWS": [f"arn:aws:iam::{PROD_A}:root", f"arn:aws:iam::{PROD_B}:root"]}
    assert qa["Principal"] == {"AWS": [f"arn:aws:iam::{QA}:root"]}
    assert "Condition" not in prod and "Condition" not in qa


def test_consumer_roles_narrow_the_trust_and_the_smoke_test_role_stays_admitted_in_every_account() -> None:
    prod = statement(iam_model.access_role_trust(config(consumerRoleArns=[APP_A, APP_B]), "prod"))

    assert prod["Principal"] == {"AWS": [f"arn:aws:iam::{PROD_A}:root", f"arn:aws:iam::{PROD_B}:root"]}
    assert prod["Condition"] == {
        "ArnLike": {
            "aws:PrincipalArn": [
                APP_A,
                APP_B,
                f"arn:aws:iam::{PROD_A}:role/mlpromote-smoke-test",
                f"arn:aws:iam::{PROD_B}:role/mlpromote-smoke-test",
            ]
        }
    }


def test_the_smoke_test_role_admitted_is_the_one_target_roles_names() -> None:
    renamed = config({"targetRoles": {"smokeTest": "ml-smoke"}}, consumerRoleArns=[APP_A])
    prod = statement(iam_model.access_role_trust(renamed, "prod"))

    assert f"arn:aws:iam::{PROD_B}:role/ml-smoke" in prod["Condition"]["ArnLike"]["aws:PrincipalArn"]
    assert not any("mlpromote-smoke-test" in arn for arn in prod["Condition"]["ArnLike"]["aws:PrincipalArn"])


def test_a_consumer_that_is_also_the_smoke_test_role_is_listed_once() -> None:
    smoke = f"arn:aws:iam::{PROD_A}:role/mlpromote-smoke-test"
    prod = statement(iam_model.access_role_trust(config(consumerRoleArns=[smoke]), "prod"))

    assert prod["Condition"]["ArnLike"]["aws:PrincipalArn"].count(smoke) == 1


def test_the_organization_and_the_external_id_are_required_when_set() -> None:
    hardened = config({"organizationId": "o-a1b2c3d4e5"}, externalId="mlpromote-prod-7f3a")

    prod = statement(iam_model.access_role_trust(hardened, "prod"))
    qa = statement(iam_model.access_role_trust(hardened, "qa"))

    assert prod["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5", "sts:ExternalId": "mlpromote-prod-7f3a"}
    }
    assert qa["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}  # the top-level org only


def test_every_condition_together_is_one_statement_so_all_of_them_must_hold() -> None:
    hardened = config(organizationId="o-zzzzzzzzzz99", consumerRoleArns=[APP_A], externalId="x-1")
    prod = statement(iam_model.access_role_trust(hardened, "prod"))

    assert set(prod["Condition"]) == {"ArnLike", "StringEquals"}
    assert prod["Condition"]["StringEquals"] == {"aws:PrincipalOrgID": "o-zzzzzzzzzz99", "sts:ExternalId": "x-1"}


def _render(tmp_path: Path, data: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return subprocess.run(
        [sys.executable, "tools/render_access_roles.py", str(path)], capture_output=True, text=True, cwd=REPO
    )


def test_the_rendered_template_carries_the_hardened_trust_and_a_justified_scanner_skip(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["organizationId"] = "o-a1b2c3d4e5"
    data["environments"]["prod"].update(consumerRoleArns=[APP_A], externalId="mlpromote-prod-7f3a")

    rendered = _render(tmp_path, data)

    assert rendered.returncode == 0, rendered.stderr
    template = yaml.safe_load(rendered.stdout)
    role = template["Resources"]["AccessRoleProd"]
    assert role["Properties"]["AssumeRolePolicyDocument"] == iam_model.access_role_trust(parse_config(data), "prod")
    [skip] = role["Metadata"]["checkov"]["skip"]
    assert skip["id"] == "CKV_AWS_61"
    assert "narrowed here by aws:PrincipalArn, aws:PrincipalOrgID, sts:ExternalId" in skip["comment"]
    qa_skip = template["Resources"]["AccessRoleQa"]["Metadata"]["checkov"]["skip"][0]["comment"]
    assert "narrowed here by aws:PrincipalOrgID" in qa_skip


def _many_accounts(count: int, consumers_per_account: int = 0) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    accounts = [f"{500000000000 + i}" for i in range(count)]
    data["environments"] = {"prod": {"accounts": accounts}}
    data["environments"]["prod"]["consumerRoleArns"] = [
        f"arn:aws:iam::{account}:role/application-number-{n}"
        for account in accounts
        for n in range(consumers_per_account)
    ]
    return data


def test_a_trust_policy_over_the_default_quota_is_rendered_with_a_warning(tmp_path: Path) -> None:
    rendered = _render(tmp_path, _many_accounts(70))

    assert rendered.returncode == 0, rendered.stderr
    assert "over IAM's default 2048: raise the 'Role trust policy length' quota" in rendered.stderr


@pytest.mark.parametrize("accounts, consumers", [(140, 0), (40, 2)])
def test_a_trust_policy_no_quota_allows_is_refused(tmp_path: Path, accounts: int, consumers: int) -> None:
    rendered = _render(tmp_path, _many_accounts(accounts, consumers))

    assert rendered.returncode == 2
    assert rendered.stderr.startswith("InvalidConfig: ") and "Traceback" not in rendered.stderr
    assert "over IAM's 4096 even with a raised quota" in rendered.stderr
    assert rendered.stdout == ""
