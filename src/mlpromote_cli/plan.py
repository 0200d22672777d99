"""`mlpromote plan` (a deployed stack) and `mlpromote local plan` (a scenario, offline): the dry run.

Both ask the API's dry run (POST /promotions?dryRun=true, mlpromote.phases.plan.dry_run), which runs the
workflow's checks and reads what the promotion would change, changing nothing. Deployed, the
request is signed with the caller's credentials (SigV4, execute-api), as any API call; offline,
it goes through the emulator's gateway to the real handler, against the scenario's starting world
(its promotions are planned, not run).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from mlpromote.errors import InvalidConfig, InvalidModelVersionArn, InvalidPromotionRequest
from mlpromote.waves import wave_lines

EXIT_OK, EXIT_REFUSED, EXIT_BAD_INPUT = 0, 1, 2
API_URL_OUTPUT = "PromotionsApiUrl"


def run_plan(arguments: argparse.Namespace) -> int:
    """Exit 0 when every plan would go ahead, 1 when a check would refuse one, 2 on bad input."""
    bad_input: tuple[type[Exception], ...] = (InvalidConfig, InvalidPromotionRequest, InvalidModelVersionArn)
    try:
        if arguments.command == "local":
            from mlpromote_emulator.scenario import InvalidScenario

            bad_input += (InvalidScenario,)
            plans = local_plans(arguments.scenario, arguments.project_dir)
        else:
            plans = [deployed_plan(arguments)]
    except bad_input as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except PlanFailed as error:
        print(f"the dry run failed: {error}", file=sys.stderr)
        return EXIT_REFUSED
    print(json.dumps({"plans": plans}, indent=2) if arguments.json else plans_text(plans))
    return EXIT_REFUSED if any(plan["refusal"] for plan in plans) else EXIT_OK


class PlanFailed(Exception):
    """The API did not answer with a plan (AWS refused the call, or the API failed)."""


def local_plans(scenario_path: Path, project_dir: Path | None = None) -> list[dict[str, Any]]:
    """One plan per promotion of the scenario (a batch's members each), all against its starting world."""
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import Batch, load_scenario

    scenario = load_scenario(scenario_path)
    specs = [spec for entry in scenario.promotions for spec in (entry.batch if isinstance(entry, Batch) else [entry])]
    with Emulator(scenario, project_dir) as emulator:
        emulator.inject(scenario.faults)
        return [emulator.plan(spec) for spec in specs]


def deployed_plan(arguments: argparse.Namespace) -> dict[str, Any]:
    """POST /promotions?dryRun=true to the stack's API, signed with the caller's credentials."""
    import boto3
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import BotoCoreError, ClientError

    from mlpromote.versions import ModelVersionArn
    from mlpromote_cli.deployed import stack_name_from_samconfig

    body: dict[str, Any] = {
        "environment": arguments.environment,
        "modelVersionArn": ModelVersionArn.parse(arguments.model_version_arn).arn,
    }
    if arguments.reason:
        body["reason"] = arguments.reason
    if arguments.force:
        body["force"] = True
    stack_name = arguments.stack or stack_name_from_samconfig()
    if not stack_name:
        raise InvalidPromotionRequest("name the stack with --stack, or run where samconfig.toml names it")
    try:
        session = boto3.Session(region_name=arguments.region)
        stack = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        if API_URL_OUTPUT not in outputs:
            raise InvalidPromotionRequest(
                f"stack {stack_name} has no output {API_URL_OUTPUT}; is it an mlpromote stack?"
            )
        url = f"{outputs[API_URL_OUTPUT].rstrip('/')}/promotions?dryRun=true"
        credentials = session.get_credentials()
        if credentials is None:
            raise PlanFailed("no AWS credentials: the API takes SigV4-signed requests (AWS_IAM)")
        request = AWSRequest("POST", url, data=json.dumps(body), headers={"Content-Type": "application/json"})
        SigV4Auth(credentials, "execute-api", session.region_name or "us-east-1").add_auth(request)
    except (BotoCoreError, ClientError) as error:
        raise PlanFailed(str(error)) from None
    sent = urllib.request.Request(url, data=request.body, headers=dict(request.headers), method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=60) as answer:
            return dict(json.loads(answer.read()))
    except urllib.error.HTTPError as error:
        document = json.loads(error.read() or b"{}")
        if error.code == 400 and isinstance(document, dict) and document.get("error"):
            raise InvalidPromotionRequest(f"{document.get('message')} ({document['error']})") from None
        raise PlanFailed(f"HTTP {error.code}: {document}") from None
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise PlanFailed(str(error)) from None


def plans_text(plans: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for plan in plans:
        lines.append(f"{plan['environment']} <- {plan.get('version') or '?'} ({plan['kind']})")
        if plan["refusal"]:
            lines.append(f"  REFUSED {plan['refusal']}: {plan['refusalMessage']}")
            continue
        lines += [f"  {a['account']}: {a['from'] or '(nothing)'} -> {a['to']}" for a in plan["accounts"]]
        for change in ("grant", "revoke", "start", "stop"):
            lines.append(f"  {change + ':':8}{', '.join(plan[change]) or '-'}")
        cost = plan["costPerHourUsd"]
        lines.append(f"  cost:   {_usd(cost['before'])} -> {_usd(cost['after'])} per hour")
        waves = plan.get("waves") or []
        if len(waves) > 1:
            lines.append(f"  waves:  {len(waves)}, accounts by id")
            lines += [f"    {line}" for line in wave_lines(waves)]
    return "\n".join(lines)


def _usd(value: float | None) -> str:
    return "unknown (no price for the region)" if value is None else f"USD {value:.2f}"
