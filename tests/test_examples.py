"""The CI/CD examples (examples/codepipeline, examples/github-actions) drive the real interfaces.

Their linters (cfn-lint, actionlint) run in `make examples-lint`; these tests check what a linter
cannot: that the pipeline's request file is a request the workflow accepts, and that the GitHub
workflow's command is one the CLI has, whose exit status gates the job.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlpromote.plan import PromotionRequest
from mlpromote_cli.main import _parser, main

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def _template() -> dict[str, Any]:
    from mlpromote_emulator.runtime import load_template

    return dict(load_template(EXAMPLES / "codepipeline" / "promote-stage.yaml"))


def test_the_pipeline_promotes_through_the_step_functions_invoke_action_with_a_valid_request() -> None:
    stages = _template()["Resources"]["PromotionPipeline"]["Properties"]["Stages"]
    action = next(a for stage in stages for a in stage["Actions"] if a["ActionTypeId"]["Provider"] == "StepFunctions")
    assert action["ActionTypeId"] == {"Category": "Invoke", "Owner": "AWS", "Provider": "StepFunctions", "Version": "1"}
    assert action["Configuration"]["InputType"] == "FilePath"
    request = json.loads((EXAMPLES / "codepipeline" / action["Configuration"]["Input"]).read_text())
    schema = json.loads((REPO / "schemas" / "promotion-request.schema.json").read_text())
    jsonschema.validate(request, schema)
    assert PromotionRequest.parse(request).environment == "prod"


def _workflow() -> dict[str, Any]:
    return dict(yaml.safe_load((EXAMPLES / "github-actions" / "promote.yml").read_text()))


def _promote_step() -> tuple[list[str], dict[str, str]]:
    steps = _workflow()["jobs"]["promote"]["steps"]
    step = next(s for s in steps if "mlpromote promote" in s.get("run", ""))
    return shlex.split(step["run"].replace("\\\n", " ")), step["env"]


def test_the_workflow_assumes_its_role_through_oidc_and_runs_a_command_the_cli_has() -> None:
    workflow = _workflow()
    argv, env = _promote_step()
    assert workflow["permissions"]["id-token"] == "write"
    uses = [s.get("uses", "") for s in workflow["jobs"]["promote"]["steps"]]
    assert any(u.startswith("aws-actions/configure-aws-credentials@") for u in uses)
    assert argv[0] == "mlpromote"
    parsed = _parser().parse_args(argv[1:])  # exits 2 if a flag were not the CLI's
    assert parsed.command == "promote" and parsed.config == Path("config/mlpromote.yaml")
    # Inputs reach the command through the environment, never spliced into the script.
    assert not re.search(r"\$\{\{", " ".join(argv))
    assert set(env) == {"ENVIRONMENT", "MODEL_VERSION_ARN", "REASON"}


@pytest.mark.parametrize(
    ("environment", "arn", "exit_status"),
    [
        ("staging", "arn:aws:rekognition:us-east-1:111111111111:project/tools/version/v2/1700000002000", 2),
        ("prod", "arn:aws:rekognition:eu-west-1:111111111111:project/tools/version/v2/1700000002000", 2),
    ],
)
def test_bad_input_fails_the_job_before_aws(
    environment: str, arn: str, exit_status: int, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    argv, _ = _promote_step()
    values = {"ENVIRONMENT": environment, "MODEL_VERSION_ARN": arn, "REASON": "ci"}
    monkeypatch.chdir(REPO)  # the job runs in the checkout: config/mlpromote.yaml is there
    monkeypatch.delenv("MLPROMOTE_CONFIG_FILE", raising=False)

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("reached AWS")

    monkeypatch.setattr("botocore.endpoint.Endpoint._send", refuse)
    assert main([values.get(a.lstrip("$"), a) for a in argv[1:]]) == exit_status
    assert capsys.readouterr().err.split(":")[0] in ("UnknownEnvironment", "VersionOutsideMlAccount")


def test_the_copy_example_promotes_and_rolls_back_a_copy_environment(capsys: Any) -> None:
    """examples/copy.yaml: prod copies v2 into both accounts (v1's copies deleted), then rolls back to v1."""
    assert main(["local", "promote", "--scenario", str(EXAMPLES / "copy.yaml"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [(p["environment"], p["version"], p["status"]) for p in report["promotions"]] == [
        ("prod", "tools/v2", "SUCCEEDED"),
        ("prod", "tools/v1", "SUCCEEDED"),  # the rollback, to the version v2 replaced
    ]
    world = report["world"]
    assert world["parameters"]["prod"] == {"tools": {"333333333333": "tools/v1", "444444444444": "tools/v1"}}
    assert world["grants"] == {"qa": ["tools/v2"], "prod": []}
    assert world["copies"] == {"333333333333": {"tools/v1": "RUNNING"}, "444444444444": {"tools/v1": "RUNNING"}}
