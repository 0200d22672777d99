"""An environment whose access role's trust policy IAM cannot hold: refused by `mlpromote check-config` (exit 2,
named, before any deploy), and a warning when it needs the raised "Role trust policy length" quota."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlpromote_cli.main import main

BASE: dict[str, Any] = {
    "region": "eu-west-1",
    "mlAccount": "111111111111",
    "environments": {"prod": {"accounts": ["333333333333"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://bucket-1/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}


def _with_accounts(tmp_path: Path, count: int) -> Path:
    data = copy.deepcopy(BASE)
    data["environments"]["prod"]["accounts"] = [f"{400000000000 + n:012d}" for n in range(count)]
    path = tmp_path / "mlpromote.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_trust_policy_past_iams_largest_quota_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _with_accounts(tmp_path, 200)
    before = path.read_bytes()

    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "InvalidConfig" in err and "environments.prod: the trust policy of mlpromote-access-prod" in err
    assert "over IAM's 4096 even with a raised quota" in err and "Traceback" not in err
    assert path.read_bytes() == before


def test_a_trust_policy_past_the_default_quota_is_valid_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _with_accounts(tmp_path, 80)

    assert main(["check-config", str(path), "--json"]) == 0
    [warning] = json.loads(capsys.readouterr().out)["warnings"]
    assert "over IAM's default 2048: raise the 'Role trust policy length' quota" in warning


def test_a_small_environment_has_no_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(_with_accounts(tmp_path, 3)), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["warnings"] == []
