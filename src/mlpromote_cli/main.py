"""The `mlpromote` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlpromote.errors import InvalidConfig
from mlpromote.plan import PromotionRequest

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlpromote",
        description="Promote trained model versions across the accounts of an AWS Organization.",
    )
    parser.add_argument("--version", action="version", version=f"mlpromote {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="promote v2 to prod in a built-in world, offline")
    demo.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    _project_dir_option(demo)

    local = commands.add_parser("local", help="rehearse on the embedded multi-account emulator")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    promote = local_commands.add_parser("promote", help="run a scenario's promotions offline")
    promote.add_argument("--scenario", required=True, type=Path, help="scenario YAML file")
    promote.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    promote.add_argument("--verbose", action="store_true", help="also print the handlers' logs to stderr")
    _project_dir_option(promote)
    serve = local_commands.add_parser(
        "serve",
        help="serve the REST API on 127.0.0.1, backed by the emulator",
        description="Serve the deployed stack's REST API (api/openapi.yaml) on http://127.0.0.1:PORT, backed by "
        "the emulator seeded from the scenario's config and world (its faults injected). The scenario's "
        "promotions: are not run: request them with curl. Requests are made as "
        "arn:aws:iam::<mlAccount>:user/local-serve; nothing is signed. Ctrl-C stops.",
    )
    serve.add_argument("--scenario", required=True, type=Path, help="scenario YAML file (config and world)")
    serve.add_argument("--port", type=_port, default=3000, help="port on 127.0.0.1 (default 3000; 0: any free one)")
    _project_dir_option(serve)
    local_plan = local_commands.add_parser("plan", help="dry run: what each scenario promotion would change")
    local_plan.add_argument("--scenario", required=True, type=Path, help="scenario YAML file")
    local_plan.add_argument("--json", action="store_true", help='print {"plans": [...]}')
    _project_dir_option(local_plan)
    local_drift = local_commands.add_parser("drift", help="detect drift in a scenario's world, offline")
    local_drift.add_argument("--scenario", required=True, type=Path, help="scenario YAML file (config and world)")
    local_drift.add_argument("--json", action="store_true", help='print {"findings": [...]}')
    _project_dir_option(local_drift)

    check = commands.add_parser("check-config", help="validate a config file and say what to fix")
    check.add_argument("config", type=Path)
    check.add_argument("--json", action="store_true", help='print {"valid": ..., "problems": [...]} on stdout')

    def deployed(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--stack", help="the control plane's stack (default: samconfig.toml's stack_name)")
        command.add_argument("--region", help="AWS region (default: the usual AWS chain)")
        command.add_argument("--json", action="store_true", help="print one JSON object")
        command.add_argument("--poll-seconds", type=float, help=argparse.SUPPRESS)
        command.add_argument(
            "--config",
            type=Path,
            help="the deployed config, to refuse bad input before anything reaches AWS (default: "
            "$MLPROMOTE_CONFIG_FILE, else config/mlpromote.yaml here, else the stack's GET /config)",
        )
        command.add_argument(
            "--api",
            metavar="URL",
            help="the stack's REST API (default: its PromotionsApiUrl output); status reads the promotion "
            "through it, e.g. http://127.0.0.1:3000 of `mlpromote local serve`",
        )
        return command

    promote_deployed = deployed("promote", "promote a version on the deployed control plane")
    promote_deployed.add_argument("--environment", required=True)
    promote_deployed.add_argument("--model-version-arn", required=True)
    promote_deployed.add_argument("--reason")
    promote_deployed.add_argument("--force", action="store_true", help="skip the environment's `requires` check")
    promote_deployed.add_argument("--no-wait", action="store_true", help="start it and return")
    plan_deployed = deployed("plan", "dry run: what promoting a version would change (POST /promotions?dryRun=true)")
    plan_deployed.add_argument("--environment", required=True)
    plan_deployed.add_argument("--model-version-arn", required=True)
    plan_deployed.add_argument("--reason")
    plan_deployed.add_argument("--force", action="store_true", help="plan without the environment's `requires` check")
    rollback = deployed("rollback", "put an environment back on the version its current one replaced")
    rollback.add_argument("--environment", required=True)
    rollback.add_argument("--project", help="with several projects: which one")
    rollback.add_argument("--reason")
    rollback.add_argument("--no-wait", action="store_true", help="start it and return")
    status_command = deployed("status", "a promotion's status, steps and outcome")
    status_command.add_argument("promotion_id", help="the execution ARN that promote printed, or its name")
    status_command.add_argument("--watch", action="store_true", help="follow its steps until it ends")
    history_command = deployed("history", "an environment's promotions, and what was live when")
    history_command.add_argument("--environment", required=True)
    history_command.add_argument("--at", type=_timestamp, help="ISO 8601 time: what was live then (default: now)")
    list_command = deployed("list", "an environment's recent promotions, newest first")
    list_command.add_argument("--environment", required=True)
    list_command.add_argument("--limit", type=_limit, default=20, help="how many (1-100, default 20)")
    list_command.add_argument("--next-token", help="the next page: the nextToken of the previous --json page")
    approve = deployed("approve", "approve a promotion that waits at its environment's approval gate")
    approve.add_argument("promotion_id", help="the execution ARN that promote printed, or its name")
    approve.add_argument("--comment", help="why; the history keeps it with your IAM identity")
    reject = deployed("reject", "reject a waiting promotion: it is undone and its pointers never move")
    reject.add_argument("promotion_id", help="the execution ARN that promote printed, or its name")
    reject.add_argument("--comment", required=True, help="why; the history keeps it with your IAM identity")
    abort = deployed("abort", "stop a running promotion; what it changed is undone (ReleaseAbandoned)")
    abort.add_argument("promotion_id", help="the execution ARN that promote printed, or its name")
    abort.add_argument("--reason", required=True, help="why; the history keeps it with your IAM identity")
    abort.add_argument("--no-wait", action="store_true", help="stop it and return, without waiting for the undo")
    deployed("drift", "detect drift on the deployed control plane (runs its DetectDrift function)")
    return parser


def _project_dir_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--project-dir",
        type=Path,
        metavar="DIR",
        help="deploy the stack (template.yaml, statemachines/, functions/) from this checkout, e.g. one with an "
        "edited handler or ASL (default: the checkout mlpromote runs from, else the copy installed with it)",
    )


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0-65535)")
    return int(text)


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number from 1 to 100")
    return int(text)


def _timestamp(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time, e.g. 2026-11-24T09:30:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "check-config":
        return _check_config(arguments.config, arguments.json)
    if arguments.command in ("promote", "rollback", "status", "history", "list", "approve", "reject", "abort"):
        return _deployed(arguments)
    if arguments.command in ("demo", "local"):
        from mlpromote_emulator.project import InvalidProjectDir, project_dir

        try:
            # Checked before the scenario, and before anything starts; from here on it is the resolved directory.
            arguments.project_dir = project_dir(arguments.project_dir)
        except InvalidProjectDir as error:
            print(f"InvalidProjectDir: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
    if arguments.command == "plan" or (arguments.command == "local" and arguments.local_command == "plan"):
        from mlpromote_cli.plan import run_plan

        return run_plan(arguments)
    if arguments.command == "drift" or (arguments.command == "local" and arguments.local_command == "drift"):
        from mlpromote_cli.drift import run_drift

        return run_drift(arguments)
    if arguments.command == "local" and arguments.local_command == "serve":
        from mlpromote_emulator.serve import serve

        return serve(arguments.scenario, arguments.port, project_dir=arguments.project_dir)
    from mlpromote_emulator.scenario import demo_scenario_path

    path = demo_scenario_path() if arguments.command == "demo" else arguments.scenario
    return run_scenario(
        path, as_json=arguments.json, verbose=getattr(arguments, "verbose", False), project_dir=arguments.project_dir
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mlpromote")
    except PackageNotFoundError:  # run from a checkout without installing it
        return "unknown (not installed)"


def _deployed(arguments: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    from mlpromote.errors import (
        AwsCallFailed,
        NotAwaitingApproval,
        PromotionError,
        PromotionNotFound,
        PromotionNotRunning,
        TransientAwsError,
    )
    from mlpromote_cli import deployed, inputs

    try:
        # The input's form first, then its meaning against the deployed config read locally: a bad
        # request is refused before anything reaches AWS, with or without credentials.
        request = _request(arguments) if arguments.command in ("promote", "rollback") else None
        decision = _decision(arguments) if arguments.command in ("approve", "reject") else None
        if arguments.command == "abort" and not arguments.reason.strip():
            from mlpromote.errors import InvalidPromotionRequest

            raise InvalidPromotionRequest("--reason: say why the promotion is stopped (the history keeps it)")
        if getattr(arguments, "environment", None) is not None:
            inputs.environment_name(arguments.environment)
        if getattr(arguments, "promotion_id", None) is not None:
            arguments.promotion_id = inputs.promotion_id(arguments.promotion_id)
        config = inputs.local_config(arguments.config)
        if config is not None:
            _check_input(arguments, request, config)
        if arguments.command == "status" and arguments.api:
            return _status(arguments, lambda: inputs.get(arguments.api, f"/promotions/{_name(arguments)}"))
        # No local copy: the stack publishes the config it runs with (GET /config), read before any change.
        if config is None and arguments.api:
            config = inputs.published_config(arguments.api)
            _check_input(arguments, request, config)
        # The stack lives in the config's region unless told otherwise.
        stack = deployed.resolve_stack(arguments.stack, arguments.region or (config.region if config else None))
        if config is None and stack.api_url and arguments.command != "status":
            config = inputs.published_config(stack.api_url)
            _check_input(arguments, request, config)
        if arguments.command == "list":
            page = deployed.recent(stack, arguments.environment, arguments.limit, arguments.next_token)
            print(json.dumps(page, indent=2) if arguments.json else _list_text(page))
            return EXIT_OK
        if arguments.command == "history":
            document = deployed.history(stack, arguments.environment, arguments.at)
            print(json.dumps(document, indent=2) if arguments.json else _history_text(document))
            return EXIT_OK
        if arguments.command == "abort":
            document = deployed.abort(stack, arguments.promotion_id, arguments.reason, wait=not arguments.no_wait)
            print(json.dumps(document, indent=2) if arguments.json else _abort_text(document))
            return EXIT_OK
        if decision is not None:
            approval = deployed.decide(stack, arguments.promotion_id, decision)
            document = {"promotionId": arguments.promotion_id, "approval": approval.public()}
            text = f"{approval.status} by {approval.approver}: the promotion " + (
                "goes on" if approval.status == "approved" else "is being undone"
            )
            print(json.dumps(document, indent=2) if arguments.json else text)
            return EXIT_OK
        if arguments.command == "status":
            execution = deployed.execution_of(stack, arguments.promotion_id)
            return _status(arguments, lambda: deployed.status(stack, execution))
        assert request is not None, "promote and rollback built their request above"
        request = request.model_copy(update={"requested_by": deployed.caller(stack)})
        execution = deployed.start(stack, request)
        if arguments.no_wait:
            print(json.dumps({"promotionId": execution, "status": "RUNNING"}) if arguments.json else execution)
            return EXIT_OK
        if not arguments.json:
            print(f"{execution}")
        final = deployed.wait(stack, execution, **_followers(arguments, execution))
        print(json.dumps(final, indent=2) if arguments.json else _status_text(final))
        return EXIT_OK if final["status"] == "SUCCEEDED" else EXIT_FAILED
    except (NotAwaitingApproval, PromotionNotRunning, PromotionNotFound) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_FAILED
    except TransientAwsError as error:
        print(f"TransientAwsError: {error}", file=sys.stderr)
        return EXIT_FAILED
    except AwsCallFailed as error:
        # AWS refused a call the library made (translated from its ClientError): not the input's fault.
        print(f"AWS: {error}", file=sys.stderr)
        return EXIT_FAILED
    except PromotionError as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NoCredentialsError:
        print(
            "NoCredentials: no AWS credentials found (environment, ~/.aws, SSO, instance role); the input's "
            "form is checked without them, and its meaning too with --config FILE (the deployed config)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    except NoRegionError:
        print("NoRegion: name the stack's region with --region (or AWS_REGION, or --config FILE)", file=sys.stderr)
        return EXIT_BAD_INPUT
    except inputs.ApiUnreachable as error:
        print(f"ApiUnreachable: {error}", file=sys.stderr)
        return EXIT_FAILED
    except (BotoCoreError, ClientError) as error:
        print(f"AWS: {error}", file=sys.stderr)
        return EXIT_FAILED


def _name(arguments: argparse.Namespace) -> str:
    return str(arguments.promotion_id).rsplit(":", 1)[-1]


def _check_input(arguments: argparse.Namespace, request: PromotionRequest | None, config: Any) -> None:
    from mlpromote_cli import inputs

    if request is not None:
        inputs.check_request(request, config)
    elif getattr(arguments, "environment", None) is not None:
        config.environment(arguments.environment)


def _followers(arguments: argparse.Namespace, promotion: str) -> dict[str, Any]:
    """What to print while a promotion runs: each step as it ends (and starts), the approval gate."""

    def show(step: dict[str, str]) -> None:
        if not arguments.json:
            print(f"  {step['status']:9} {step['name']}", flush=True)

    def starting(step: dict[str, str]) -> None:
        if not arguments.json:
            print(f"  {'RUNNING':9} {step['name']}", flush=True)

    def ask(approval: dict[str, Any]) -> None:
        if not arguments.json:
            print(
                f"  WAITING   for approval until {approval['expiresAt']}: mlpromote approve {promotion}"
                f' (or reject {promotion} --comment "why")',
                flush=True,
            )

    polling = {"poll_seconds": arguments.poll_seconds} if arguments.poll_seconds else {}
    return {"on_step": show, "on_approval": ask, "on_running": starting, **polling}


def _status(arguments: argparse.Namespace, fetch: Any) -> int:
    from mlpromote_cli import deployed

    if arguments.watch:
        if not arguments.json:
            print(_name(arguments), flush=True)
        document = deployed.follow(fetch, **_followers(arguments, _name(arguments)))
    else:
        document = fetch()
    print(json.dumps(document, indent=2) if arguments.json else _status_text(document))
    return EXIT_OK if document["status"] in ("SUCCEEDED", "RUNNING") else EXIT_FAILED


def _abort_text(document: dict[str, Any]) -> str:
    lines = [f"ABORTED  {document['executionArn']}", f"  {document['cause']}"]
    record = document.get("record")
    if record is not None:
        compensation = record.get("compensation") or {}
        if "error" in compensation:
            lines.append(f"  undo failed: {compensation['error']}: {compensation.get('cause')}")
        else:
            lines.append(
                f"  undone: {len(compensation.get('restored', []))} pointer(s) put back, "
                f"grant {'revoked' if compensation.get('revoked') else 'kept'}, "
                f"version {'stopped' if compensation.get('stopped') else 'left as it was'}"
                if compensation
                else "  nothing to undo"
            )
    return "\n".join(lines)


def _decision(arguments: argparse.Namespace) -> Any:
    from mlpromote.approvals import Decision

    data = {"decision": arguments.command}  # approve | reject
    if arguments.comment is not None:
        data["comment"] = arguments.comment
    return Decision.parse(data)


def _request(arguments: argparse.Namespace) -> PromotionRequest:
    from mlpromote_cli import inputs

    data: dict[str, Any] = {"environment": arguments.environment, "entryPoint": "cli"}
    if arguments.command == "rollback":
        data["rollback"] = True
        if arguments.project:
            data["project"] = arguments.project
    else:
        data["modelVersionArn"] = inputs.version_arn(arguments.model_version_arn).arn
        if arguments.force:
            data["force"] = True
    if arguments.reason:
        data["reason"] = arguments.reason
    return PromotionRequest.parse(data)


def _status_text(document: dict[str, Any]) -> str:
    outcome = (document.get("summary") or {}).get("outcome")  # PROMOTED, ROLLED BACK
    lines = [f"{document['status']}" + (f" ({outcome})" if outcome else "") + f"  {document['promotionId']}"]
    lines += [f"  {step['status']:9} {step['name']}" for step in document["steps"]]
    if document.get("error"):
        lines.append(f"{document['error']}: {document['cause']}")
    return "\n".join(lines)


def _history_text(document: dict[str, Any]) -> str:
    live = document["live"]
    lines = [
        f"{document['environment']} at {document['at']}: "
        + (
            f"{live['version']} (promoted by {live['requestedBy']} via {live['entryPoint']}, ended {live['endedAt']})"
            if live
            else "nothing promoted by mlpromote yet"
        )
    ]
    for record in document["promotions"]:
        lines.append(
            f"  {record['startedAt']}  {record['status']:9} {record['kind']:9} {record['version']}"
            + (f"  {record['error']}" if record.get("error") else "")
        )
    return "\n".join(lines)


def _list_text(page: dict[str, Any]) -> str:
    from mlpromote.errors import PromotionError
    from mlpromote.versions import ModelVersionArn

    def short(arn: str) -> str:
        try:
            return ModelVersionArn.parse(arn).label
        except PromotionError:
            return arn

    records = page["promotions"]
    if not records:
        return f"{page['environment']}: no promotions recorded"
    rows = [("started", "status", "kind", "version", "via", "requested by", "error")]
    for r in records:
        version = short(r["version"])
        rows.append(
            (r["startedAt"], r["status"], r["kind"], version, r["entryPoint"], r["requestedBy"], r["error"] or "")
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"{page['environment']}: {len(records)} promotion(s), newest first"]
    lines += [
        "  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    if page.get("nextToken"):
        lines.append(f"more: --next-token {page['nextToken']}")
    return "\n".join(lines)


def _check_config(path: Path, as_json: bool = False) -> int:
    from mlpromote import iam_model
    from mlpromote.config import load_config

    try:
        config = load_config(path)
        # What the config cannot deploy: an access role's trust policy past IAM's largest quota.
        findings = {name: iam_model.trust_policy_findings(config, name) for name in config.environments}
        too_large = [error for error, _ in findings.values() if error]
        if too_large:
            raise InvalidConfig("\n".join([f"{path}: {len(too_large)} problem(s)", *too_large]))
    except InvalidConfig as error:
        if as_json:
            # One problem per line in the message (after a heading line when there are several).
            lines = str(error).splitlines()
            problems = lines[1:] if len(lines) > 1 else [str(error).removeprefix(f"{path}: ")]
            print(json.dumps({"config": str(path), "valid": False, "error": "InvalidConfig", "problems": problems}))
        else:
            print(f"InvalidConfig: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    counts = {
        "environments": len(config.environments),
        "accounts": sum(len(e.accounts) for e in config.environments.values()),
        "projects": len(config.projects),
    }
    # An OU environment's accounts are resolved at promotion time (through organizationReaderRoleArn),
    # not here: offline, check-config counts the OUs it names.
    units = sum(len(e.organizational_units) for e in config.environments.values())
    if units:
        counts["organizationalUnits"] = units
    warnings = [warning for _, warning in findings.values() if warning]
    if as_json:
        print(json.dumps({"config": str(path), "valid": True, **counts, "warnings": warnings}))
    else:
        print(f"{path}: valid ({', '.join(_count(n, what) for what, n in counts.items())})")
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _count(number: int, plural: str) -> str:
    return f"{number} {plural if number != 1 else plural.removesuffix('s')}"


def run_scenario(path: Path, as_json: bool, verbose: bool = False, project_dir: Path | None = None) -> int:
    from mlpromote_emulator.report import Report
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import Batch, InvalidScenario, load_scenario

    try:
        scenario = load_scenario(path)
    except (InvalidConfig, InvalidScenario) as error:
        print(f"{type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    report = Report(live=not as_json)
    with Emulator(scenario, project_dir) as emulator:
        emulator.inject(scenario.faults)
        report.world_before(emulator.world())
        results = []
        for entry in scenario.promotions:
            if isinstance(entry, Batch):
                report.batch_started([(spec.environment, spec.title) for spec in entry.batch])
                batch = emulator.promote_together(entry.batch)
                for index, (spec, result) in enumerate(zip(entry.batch, batch, strict=True), 1):
                    report.batch_member_ended(index, len(batch), spec.environment, spec.title, result)
                results.extend(batch)
            else:
                report.promotion_started(entry.environment, entry.title)
                results.append(emulator.promote(entry, on_step=report.step))
                report.promotion_ended(results[-1])
        world = emulator.world()
        from mlpromote.errors import PromotionError

        try:
            history: dict[str, Any] = emulator.history_records()
        except PromotionError as error:  # a history item that is not a record: say which, no traceback
            print(f"{type(error).__name__}: {error}", file=sys.stderr)
            history = {"error": type(error).__name__, "message": str(error)}
        if verbose:
            from mlpromote_emulator.report import handler_log_lines

            print("\n".join(handler_log_lines(emulator.logs.getvalue())), file=sys.stderr)
    document: dict[str, Any] = {"promotions": [r.as_json() for r in results], "world": world, "history": history}
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        report.world_after(world)
    return EXIT_OK if all(r.status == "SUCCEEDED" for r in results) else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
