"""Reading a promotion's execution: its steps as a person sees them, and its error in words.

Used by the command line for deployed stacks and by the offline emulator alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class StepReport:
    name: str
    status: str


def steps_from_history(events: list[dict[str, Any]], steps: set[str]) -> list[StepReport]:
    """Each step the execution went through, once, in order, with how its last attempt ended.

    A caught failure still exits its state, so the outcome is the last Succeeded or Failed event
    between a step's entry and its exit (a retried attempt that then succeeds counts as success).
    """
    order: list[str] = []
    status: dict[str, str] = {}
    current: str | None = None
    outcome = "SUCCEEDED"
    for event in events:
        kind = event["type"]
        details = event.get("stateEnteredEventDetails") or event.get("stateExitedEventDetails") or {}
        name = str(details.get("name", ""))
        if kind.endswith("StateEntered") and name in steps:
            if name not in status:
                order.append(name)
            status[name], current, outcome = "RUNNING", name, "SUCCEEDED"
        elif kind.endswith("StateExited") and current is not None and name == current:
            status[name], current = outcome, None
        elif current is not None and kind.endswith(("Failed", "TimedOut")) and not kind.startswith("MapIteration"):
            outcome = "FAILED"
        elif current is not None and kind in ("LambdaFunctionSucceeded", "TaskSucceeded", "MapStateSucceeded"):
            outcome = "SUCCEEDED"
    return [StepReport(name, "FAILED" if status[name] == "RUNNING" else status[name]) for name in order]


def readable_cause(cause: str | None) -> str | None:
    """A Lambda error's cause is its JSON error payload; people want the message."""
    if not cause:
        return cause
    try:
        payload = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(payload, dict) and "errorMessage" in payload:
        return str(payload["errorMessage"])
    return cause


def step_names(definition: dict[str, Any]) -> set[str]:
    """The states a person calls steps: the tasks and the per-account fan-outs."""
    return {name for name, state in definition["States"].items() if state["Type"] in ("Task", "Map")}
