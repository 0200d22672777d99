"""The readable report of an offline rehearsal: steps as they happen, then the resulting world."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from mlpromote.waves import wave_lines
from mlpromote_emulator.runtime import PromotionResult, StepReport

_MARK = {"SUCCEEDED": "[green]✓[/green]", "FAILED": "[red]✗[/red]"}


class Report:
    def __init__(self, live: bool) -> None:
        self.live = live
        # The stdout of now: the emulator keeps the handlers' own output off it while it runs. Not a
        # terminal (a CI log, a file): no wrapping, so an ARN stays one token on one line.
        terminal = sys.stdout.isatty()
        self.console = Console(
            file=sys.stdout, highlight=False, soft_wrap=not terminal, width=None if terminal else 10_000
        )
        self._before: dict[str, Any] | None = None

    def world_before(self, world: dict[str, Any]) -> None:
        self._before = world
        if self.live:
            self.console.print("[bold]Before[/bold]")
            self._world(world)

    def promotion_started(self, environment: str, version: str, member: str = "") -> None:
        if self.live:
            what = f"Rolling back {environment}" if version == "rollback" else f"Promoting {version} to {environment}"
            self.console.print(f"\n[bold]{member}{what}[/bold]")

    def batch_started(self, members: list[tuple[str, str]]) -> None:
        """Promotions started together: each is told apart by its place, [1/N], in what follows."""
        if self.live:
            listed = ", ".join(
                f"[{index}/{len(members)}] {environment} <- {version}"
                for index, (environment, version) in enumerate(members, 1)
            )
            self.console.print(f"\n[bold]Started together[/bold]: {listed}")

    def step(self, step: StepReport) -> None:
        if self.live:
            self.console.print(f"  {_MARK.get(step.status, step.status)} {step.name}")

    def batch_member_ended(
        self, index: int, total: int, environment: str, version: str, result: PromotionResult
    ) -> None:
        """A member of a batch: its own header and step lines, then its result."""
        self.promotion_started(environment, version, member=f"[{index}/{total}] ")
        for step in result.steps:
            self.step(step)
        self.promotion_ended(result, member=f"[{index}/{total}] ")

    def promotion_ended(self, result: PromotionResult, member: str = "") -> None:
        if not self.live:
            return
        self.console.print(f"  {member}{result.environment} <- {result.version}:")
        if result.approval:
            decision = (result.output or {}).get("approval") or {}
            by = f" by {decision['approver']}" if decision.get("approver") else ""
            comment = f": {decision['comment']}" if decision.get("comment") else ""
            self.console.print(f"  {result.approval}{by}{comment}")
        if len(result.waves) > 1:
            self.console.print(f"  waves ({len(result.waves)}, accounts by id):")
            for line in wave_lines(result.waves):
                self.console.print(f"    {line}")
        if result.status == "SUCCEEDED":
            outcome = (result.output or {}).get("outcome", "")
            self.console.print(f"  [green]{result.status}[/green] {outcome}")
            self._left_behind(result.output or {})
        else:
            self.console.print(f"  [red]{result.status}[/red] {result.error}: {result.cause}")
            for line in compensation_lines(result.compensation, result.version):
                self.console.print(f"  {line}")

    def _left_behind(self, output: dict[str, Any]) -> None:
        for entry in output.get("left", []):
            self.console.print(f"  left {entry['version']}: {entry['why']}")
        for step in output.get("steps", []):
            self.console.print(f"    {step['name']}: {step['seconds']:.1f} s (simulated)", style="dim")

    def world_after(self, world: dict[str, Any]) -> None:
        self.console.print("\n[bold]After[/bold]")
        self._world(world)

    def _world(self, world: dict[str, Any]) -> None:
        pointers = Table("environment", "project", "account", "points at", title="Parameters (what applications read)")
        for environment, projects in world["parameters"].items():
            for project, accounts in projects.items():
                for account, version in accounts.items():
                    pointers.add_row(environment, project, account, version or "-")
        grants = Table("environment", "access role may call", title="Grants")
        for environment, versions in world["grants"].items():
            grants.add_row(environment, ", ".join(versions) or "-")
        versions = Table("version", "status", title="Model versions")
        for version, status in world["versions"].items():
            versions.add_row(version, status)
        self.console.print(pointers, grants, versions)


def compensation_lines(compensation: dict[str, Any] | None, version: str) -> list[str]:
    """What the compensation undid, in words (the execution's output has it as a record)."""
    if not compensation:
        return []
    restored = compensation.get("restored") or []
    lines = [
        "compensated: "
        + "; ".join(
            [
                f"put the pointer back in {', '.join(restored)}" if restored else "no pointer had moved",
                f"revoked the grant of {version}"
                if compensation.get("revoked")
                else f"no grant of {version} to revoke",
                f"stopped {version}"
                if compensation.get("stopped")
                else f"{version} not stopped (this promotion did not start it, or it is used)",
            ]
        )
    ]
    if compensation.get("leftRunningWhy"):
        lines.append(f"left {version} running: {compensation['leftRunningWhy']}")
    return lines


# Powertools' keys that say where a line comes from, not what happened.
_CONTEXT_KEYS = {
    "level",
    "location",
    "message",
    "timestamp",
    "service",
    "cold_start",
    "function_name",
    "function_memory_size",
    "function_arn",
    "function_request_id",
    "correlation_id",
    "xray_trace_id",
}


def handler_log_lines(output: str) -> list[str]:
    """The handlers' log lines, one readable line each: when, level, function, execution, message and
    what it logged with it. Their EMF metric records (also on their stdout, as in Lambda) are left out."""
    lines = []
    for line in output.splitlines():
        if not line.strip() or line.startswith('{"_aws"'):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            lines.append(line)  # printed by something other than the Logger: as it is
            continue
        if not isinstance(record, dict) or "message" not in record:
            lines.append(line)
            continue
        execution = str(record.get("correlation_id") or "").rsplit(":", 1)[-1]
        extra = "; ".join(f"{k}: {v}" for k, v in record.items() if k not in _CONTEXT_KEYS)
        lines.append(
            f"{record.get('timestamp', '')} {record.get('level', ''):7} {record.get('function_name', '-')}"
            + (f" {execution}" if execution else "")
            + f": {record['message']}"
            + (f" ({extra})" if extra else "")
        )
    return lines
