"""`mlpromote drift` (a deployed stack) and `mlpromote local drift` (a scenario, offline).

Deployed, the command invokes the stack's DetectDrift function rather than reading the accounts
with the caller's credentials: the target accounts' parameter-reader roles trust the control
plane's roles only, so the function's role is what can read every pointer; and a run from the
command line is then exactly a scheduled run (same reads, same metric and event, same repairs
where `repairDrift` is set). The caller needs lambda:InvokeFunction on it and
cloudformation:DescribeStacks on the stack.

Offline, the scenario's world is seeded on the emulator and the real handler runs, as in Lambda.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mlpromote.errors import InvalidConfig, InvalidModelVersionArn, InvalidPromotionRequest

EXIT_OK, EXIT_FINDINGS, EXIT_BAD_INPUT = 0, 1, 2
FUNCTION_OUTPUT = "DetectDriftFunctionName"
FUNCTION_LOGICAL_ID = "DetectDriftFunction"
# The function may take up to its Timeout (300 s in template.yaml); boto3's default read timeout is 60 s.
_READ_TIMEOUT_SECONDS = 330


class DriftDetectionFailed(Exception):
    """The detection itself failed (the function raised, or AWS refused a call)."""


def run_drift(arguments: argparse.Namespace) -> int:
    """Exit 0 without findings, 1 with findings (or when the detection failed), 2 on bad input."""
    bad_input: tuple[type[Exception], ...] = (InvalidConfig, InvalidPromotionRequest)
    try:
        if arguments.command == "local":
            from mlpromote_emulator.scenario import InvalidScenario

            bad_input += (InvalidScenario,)
            findings = local_findings(arguments.scenario, arguments.project_dir)
        else:
            findings = deployed_findings(arguments.stack, arguments.region)
    except bad_input as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DriftDetectionFailed as error:
        print(f"drift detection failed: {error}", file=sys.stderr)
        return EXIT_FINDINGS
    print(json.dumps({"findings": findings}, indent=2) if arguments.json else findings_text(findings))
    return EXIT_FINDINGS if findings else EXIT_OK


def local_findings(scenario_path: Path, project_dir: Path | None = None) -> list[dict[str, Any]]:
    """Seed the scenario's world (its faults injected; its promotions are not run) and run the real handler."""
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import load_scenario

    scenario = load_scenario(scenario_path)
    with Emulator(scenario, project_dir) as emulator:
        emulator.inject(scenario.faults)
        payload, failed = emulator.invoke(FUNCTION_LOGICAL_ID, b"{}")
    document = json.loads(payload)
    if failed:
        raise DriftDetectionFailed(f"{document.get('errorType')}: {document.get('errorMessage')}")
    # Versions by their scenario names, as the rest of the offline reports show them.
    return [{**f, "version": emulator.names.label(f["version"])} for f in document["findings"]]


def deployed_findings(stack: str | None, region: str | None) -> list[dict[str, Any]]:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    from mlpromote_cli.deployed import stack_name_from_samconfig

    stack_name = stack or stack_name_from_samconfig()
    if not stack_name:
        raise InvalidPromotionRequest("name the stack with --stack, or run where samconfig.toml names it")
    try:
        outputs = stack_outputs(stack_name, region)
        if FUNCTION_OUTPUT not in outputs:
            raise InvalidPromotionRequest(
                f"stack {stack_name} has no output {FUNCTION_OUTPUT}; deploy this version of template.yaml"
            )
        client = boto3.client(
            "lambda",
            region_name=region,
            config=Config(read_timeout=_READ_TIMEOUT_SECONDS, retries={"mode": "standard", "total_max_attempts": 1}),
        )
        answer = client.invoke(
            FunctionName=outputs[FUNCTION_OUTPUT],
            InvocationType="RequestResponse",
            Payload=json.dumps({"source": "mlpromote drift"}).encode(),
        )
    except (BotoCoreError, ClientError) as error:
        raise DriftDetectionFailed(f"AWS: {error}") from None
    document = json.loads(answer["Payload"].read() or b"{}")
    if answer.get("FunctionError"):
        raise DriftDetectionFailed(f"{document.get('errorType')}: {document.get('errorMessage')}")
    return list(document["findings"])


def stack_outputs(stack_name: str, region: str | None) -> dict[str, str]:
    import boto3

    described = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)
    return {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0].get("Outputs", [])}


def findings_text(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return "No drift: every environment, project and account agrees with what was promoted."
    lines = [f"{len(findings)} finding{'s' if len(findings) != 1 else ''}:"]
    for finding in findings:
        where = "/".join(
            str(finding[key]) for key in ("environment", "project", "account") if finding.get(key) is not None
        )
        version = _short(finding.get("version"))
        lines.append(f"  {finding['kind']:20} {where}" + (f"  {version}" if version else ""))
        lines.append(f"      {finding['detail']}")
    return "\n".join(lines)


def _short(version: str | None) -> str:
    from mlpromote.versions import ModelVersionArn

    if not version:
        return ""
    try:
        return ModelVersionArn.parse(version).label
    except InvalidModelVersionArn:
        return version
