"""tools/render_access_roles.py (deploy step 1): --output replaces the file only with a complete
template; bad input is refused with a named error and exit 2, and the file stays as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GOOD: dict[str, Any] = {
    "region": "us-east-1",
    "mlAccount": "111111111111",
    "environments": {"qa": {"accounts": ["222222222222"]}, "prod": {"accounts": ["333333333333"]}},
    "projects": {
        "tools": {
            "parameterName": "/mlpromote/tools/model-arn",
            "smokeTest": {"images": ["s3://bucket-1/tools/hammer.jpg"], "expectLabels": ["hammer"]},
        }
    },
}
BEFORE = "# the template a previous run wrote\n"


def _render(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "tools/render_access_roles.py", *map(str, args)], capture_output=True, text=True, cwd=REPO
    )


def _config(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / "mlpromote.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def test_output_writes_the_template_it_prints_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    config = _config(tmp_path, GOOD)
    output = tmp_path / "out" / "access-roles.yaml"
    output.parent.mkdir()
    output.write_text(BEFORE)
    os.chmod(output, 0o644)

    written = _render(config, "--output", output)
    printed = _render(config)

    assert (written.returncode, written.stdout, written.stderr) == (0, "", "")
    assert output.read_text() == printed.stdout
    assert sorted(p.name for p in output.parent.iterdir()) == ["access-roles.yaml"]
    assert output.stat().st_mode & 0o777 == 0o644
    roles = _roles(yaml.safe_load(output.read_text()))
    assert {r["Properties"]["RoleName"] for r in roles} == {"mlpromote-access-qa", "mlpromote-access-prod"}


def test_the_access_role_names_follow_access_role_prefix(tmp_path: Path) -> None:
    rendered = _render(_config(tmp_path, {**GOOD, "accessRolePrefix": "inspection-model-"}))

    assert rendered.returncode == 0, rendered.stderr
    template = yaml.safe_load(rendered.stdout)
    assert {r["Properties"]["RoleName"] for r in _roles(template)} == {"inspection-model-qa", "inspection-model-prod"}
    # The boundary is named after the roles too (template.yaml's grant writers' condition names it so).
    [boundary] = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert boundary["Properties"]["ManagedPolicyName"] == "inspection-model-boundary"


def _roles(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]


def test_every_access_role_carries_the_boundary_which_allows_only_calling_models_and_reading_images(
    tmp_path: Path,
) -> None:
    template = yaml.safe_load(_render(_config(tmp_path, GOOD)).stdout)
    [(logical, boundary)] = [(k, r) for k, r in template["Resources"].items() if r["Type"] == "AWS::IAM::ManagedPolicy"]

    assert all(r["Properties"]["PermissionsBoundary"] == {"Ref": logical} for r in _roles(template))
    statements = boundary["Properties"]["PolicyDocument"]["Statement"]
    assert [(s["Effect"], s["Action"]) for s in statements] == [
        ("Allow", "rekognition:DetectCustomLabels"),
        ("Allow", "s3:GetObject"),
    ]
    assert statements[0]["Resource"].endswith(":project/*/version/*/*")
    assert all(":s3:::" in arn for arn in statements[1]["Resource"])


def test_an_environment_named_like_the_boundary_gets_its_own_role(tmp_path: Path) -> None:
    data = {**GOOD, "environments": {**GOOD["environments"], "boundary": {"accounts": ["555555555555"]}}}
    template = yaml.safe_load(_render(_config(tmp_path, data)).stdout)

    assert "mlpromote-access-boundary" in {r["Properties"]["RoleName"] for r in _roles(template)}
    assert len(template["Resources"]) == len(_roles(template)) + 1


@pytest.mark.parametrize(
    ("data", "named"),
    [
        pytest.param({**GOOD, "mlAccount": "12"}, "mlAccount:", id="invalid"),
        pytest.param(
            {**GOOD, "environments": {"prod": {"accounts": ["333333333333"], "accessRoleName": "acme-prod"}}},
            "accessRoleName 'acme-prod' does not start with accessRolePrefix",
            id="role-outside-the-prefix",
        ),
        pytest.param(
            {**GOOD, "environments": {"prod": {"accounts": [f"{500000000000 + i}" for i in range(140)]}}},
            "over IAM's 4096 even with a raised quota",
            id="trust-too-large",
        ),
        pytest.param("region: [unclosed", "not valid YAML", id="not-yaml"),
    ],
)
def test_bad_input_is_refused_with_exit_2_and_the_file_untouched(
    tmp_path: Path, data: dict[str, Any] | str, named: str
) -> None:
    output = tmp_path / "access-roles.yaml"
    output.write_text(BEFORE)
    before = output.stat()

    rendered = _render(_config(tmp_path, data), "--output", output)

    assert rendered.returncode == 2
    assert rendered.stdout == ""
    assert rendered.stderr.startswith("InvalidConfig: ") and named in rendered.stderr, rendered.stderr
    assert "Traceback" not in rendered.stderr
    assert output.read_text() == BEFORE and output.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["access-roles.yaml", "mlpromote.yaml"]


def test_an_output_that_cannot_be_written_is_refused_with_exit_2(tmp_path: Path) -> None:
    rendered = _render(_config(tmp_path, GOOD), "--output", tmp_path / "missing" / "access-roles.yaml")

    assert rendered.returncode == 2
    assert rendered.stderr.startswith("CannotWriteOutput: cannot write ") and "Traceback" not in rendered.stderr
    assert not (tmp_path / "missing").exists()
