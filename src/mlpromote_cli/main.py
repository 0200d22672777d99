"""The `mlpromote` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlpromote.errors import InvalidConfig

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlpromote",
        description="Promote trained model versions across the accounts of an AWS Organization.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="promote v2 to prod in a built-in world, offline")
    demo.add_argument("--json", action="store_true", help="print one JSON object instead of the report")

    local = commands.add_parser("local", help="rehearse on the embedded multi-account emulator")
    local_commands = local.add_subparsers(dest="local_command", required=True, metavar="COMMAND")
    promote = local_commands.add_parser("promote", help="run a scenario's promotions offline")
    promote.add_argument("--scenario", required=True, type=Path, help="scenario YAML file")
    promote.add_argument("--json", action="store_true", help="print one JSON object instead of the report")
    promote.add_argument("--verbose", action="store_true", help="also print the handlers' logs to stderr")

    check = commands.add_parser("check-config", help="validate a config file and say what to fix")
    check.add_argument("config", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    if arguments.command == "check-config":
        return _check_config(arguments.config)
    from mlpromote_emulator.scenario import demo_scenario_path

    path = demo_scenario_path() if arguments.command == "demo" else arguments.scenario
    return run_scenario(path, as_json=arguments.json, verbose=getattr(arguments, "verbose", False))


def _check_config(path: Path) -> int:
    from mlpromote.config import load_config

    try:
        config = load_config(path)
    except InvalidConfig as error:
        print(f"InvalidConfig: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    accounts = sum(len(e.accounts) for e in config.environments.values())
    print(
        f"{path}: valid ({len(config.environments)} environments, {accounts} accounts, {len(config.projects)} projects)"
    )
    return EXIT_OK


def run_scenario(path: Path, as_json: bool, verbose: bool = False) -> int:
    from mlpromote_emulator.report import Report
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import Batch, load_scenario

    try:
        scenario = load_scenario(path)
    except InvalidConfig as error:
        print(f"InvalidConfig: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    report = Report(live=not as_json)
    with Emulator(scenario) as emulator:
        emulator.inject(scenario.faults)
        report.world_before(emulator.world())
        results = []
        for entry in scenario.promotions:
            if isinstance(entry, Batch):
                for spec in entry.batch:
                    report.promotion_started(spec.environment, spec.title, together=True)
                batch = emulator.promote_together(entry.batch)
                for result in batch:
                    report.promotion_ended(result)
                results.extend(batch)
            else:
                report.promotion_started(entry.environment, entry.title)
                results.append(emulator.promote(entry, on_step=report.step))
                report.promotion_ended(results[-1])
        world = emulator.world()
        history = emulator.history_records()
        if verbose:
            print(emulator.logs.getvalue(), file=sys.stderr)
    document: dict[str, Any] = {"promotions": [r.as_json() for r in results], "world": world, "history": history}
    if as_json:
        print(json.dumps(document, indent=2))
    else:
        report.world_after(world)
    return EXIT_OK if all(r.status == "SUCCEEDED" for r in results) else EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
