"""The readable report of an offline rehearsal: steps as they happen, then the resulting world."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from mlpromote_emulator.runtime import PromotionResult, StepReport

_MARK = {"SUCCEEDED": "[green]✓[/green]", "FAILED": "[red]✗[/red]"}


class Report:
    def __init__(self, live: bool) -> None:
        self.live = live
        # The stdout of now: the emulator keeps the handlers' own output off it while it runs.
        self.console = Console(file=sys.stdout, highlight=False)
        self._before: dict[str, Any] | None = None

    def world_before(self, world: dict[str, Any]) -> None:
        self._before = world
        if self.live:
            self.console.print("[bold]Before[/bold]")
            self._world(world)

    def promotion_started(self, environment: str, version: str, together: bool = False) -> None:
        if self.live:
            what = f"Rolling back {environment}" if version == "rollback" else f"Promoting {version} to {environment}"
            self.console.print(f"\n[bold]{what}[/bold]" + (" (started together with the next)" if together else ""))

    def step(self, step: StepReport) -> None:
        if self.live:
            self.console.print(f"  {_MARK.get(step.status, step.status)} {step.name}")

    def promotion_ended(self, result: PromotionResult) -> None:
        if not self.live:
            return
        self.console.print(f"  {result.environment} <- {result.version}:")
        if result.approval:
            decision = (result.output or {}).get("approval") or {}
            by = f" by {decision['approver']}" if decision.get("approver") else ""
            comment = f": {decision['comment']}" if decision.get("comment") else ""
            self.console.print(f"  {result.approval}{by}{comment}")
        if result.status == "SUCCEEDED":
            outcome = (result.output or {}).get("outcome", "")
            self.console.print(f"  [green]{result.status}[/green] {outcome}")
            self._left_behind(result.output or {})
        else:
            self.console.print(f"  [red]{result.status}[/red] {result.error}: {result.cause}")
            if result.compensation:
                self.console.print(f"  compensated: {result.compensation}")

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
