"""Shared helpers: a standard multi-account world, and promotions run on the offline emulator.

The emulator runs the real state machine (statemachines/promote_model.asl.json) on moto's Step
Functions interpreter with the real handlers in-process, on simulated time. Only one Emulator may
be open per process: `promote` opens one, runs, reads the world back and closes it; an emulator
from `worlds.emulator()` must be closed (use it in a `with`) before the next one opens.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

ML = "111111111111"
QA = "222222222222"
PROD_A = "333333333333"
PROD_B = "444444444444"
PARAMETER = "/mlpromote/tools/model-arn"

STANDARD_SCENARIO: dict[str, Any] = {
    "config": {
        "region": "us-east-1",
        "mlAccount": ML,
        "environments": {
            "qa": {"accounts": [QA]},
            "prod": {"accounts": [PROD_A, PROD_B]},
        },
        "projects": {
            "tools": {
                "parameterName": PARAMETER,
                "smokeTest": {
                    "images": [f"s3://mlpromote-smoke-{ML}/tools/hammer.jpg"],
                    "expectLabels": ["hammer"],
                    "minConfidence": 50,
                },
            }
        },
    },
    "world": {
        "versions": {
            "tools/v1": {"status": "RUNNING", "labels": ["hammer", "screwdriver"]},
            "tools/v2": {"status": "RUNNING", "labels": ["hammer", "screwdriver", "wrench"]},
            "tools/v3": {"status": "TRAINING_COMPLETED", "labels": ["hammer"]},
        },
        "live": {"prod": ["tools/v1"], "qa": ["tools/v2"]},
    },
}

# The standard world as emu.world() reports it before any promotion.
STANDARD_WORLD: dict[str, Any] = {
    "parameters": {
        "qa": {"tools": {QA: "tools/v2"}},
        "prod": {"tools": {PROD_A: "tools/v1", PROD_B: "tools/v1"}},
    },
    "grants": {"qa": ["tools/v2"], "prod": ["tools/v1"]},
    "versions": {"tools/v1": "RUNNING", "tools/v2": "RUNNING", "tools/v3": "TRAINING_COMPLETED"},
}


def merge(base: Any, override: Any) -> Any:
    """Deep-merge `override` into a copy of `base`: mappings merge, a None value removes the key,
    anything else (lists included) replaces."""
    if not isinstance(base, dict) or not isinstance(override, dict):
        return copy.deepcopy(override)
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif key in out:
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def scenario_data(
    config: dict[str, Any] | None = None,
    world: dict[str, Any] | None = None,
    faults: list[dict[str, Any]] | None = None,
    promotions: list[Any] | None = None,
) -> dict[str, Any]:
    """The standard scenario with overrides merged in (see `merge`)."""
    data = merge(STANDARD_SCENARIO, {"config": config or {}, "world": world or {}})
    data["faults"] = list(faults or [])
    data["promotions"] = [_promotion(p) for p in promotions or []]
    return data


def _promotion(spec: Any) -> dict[str, Any]:
    """("prod", "tools/v2") or a PromotionSpec-shaped dict."""
    if isinstance(spec, tuple):
        environment, version = spec
        return {"environment": environment, "version": version}
    return dict(spec)


class Worlds:
    """The standard world and ways to vary it; the `worlds` fixture."""

    ML, QA, PROD_A, PROD_B = ML, QA, PROD_A, PROD_B

    @property
    def standard(self) -> dict[str, Any]:
        """The standard world as `Emulator.world()` reports it before any promotion."""
        return copy.deepcopy(STANDARD_WORLD)

    def expect(self, **changes: Any) -> dict[str, Any]:
        """The standard world with `changes` (parameters=, grants=, versions=) merged in."""
        return merge(STANDARD_WORLD, changes)

    merge = staticmethod(merge)

    def scenario(
        self,
        *promotions: Any,
        config: dict[str, Any] | None = None,
        world: dict[str, Any] | None = None,
        faults: list[dict[str, Any]] | None = None,
    ) -> Any:
        """A parsed Scenario: the standard one with overrides (see `merge`)."""
        from mlpromote_emulator.scenario import parse_scenario

        return parse_scenario(scenario_data(config, world, faults, list(promotions)), base=Path("."))

    def emulator(self, **overrides: Any) -> Any:
        """An Emulator (a context manager) on the standard world with overrides. One at a time."""
        from mlpromote_emulator.runtime import Emulator

        return Emulator(self.scenario(**overrides))


class Promoter:
    """Runs promotions on a fresh emulator; keeps the world as it was before them in `.before`
    and the AWS calls the control plane made in `.calls`."""

    def __init__(self, worlds: Worlds) -> None:
        self.worlds = worlds
        self.before: dict[str, Any] | None = None
        self.calls: list[Any] = []

    def __call__(
        self,
        *promotions: Any,
        config: dict[str, Any] | None = None,
        world: dict[str, Any] | None = None,
        faults: list[dict[str, Any]] | None = None,
    ) -> tuple[list[Any], dict[str, Any]]:
        from mlpromote_emulator import moto_adaptations
        from mlpromote_emulator.runtime import Emulator

        scenario = self.worlds.scenario(*promotions, config=config, world=world, faults=faults)
        with Emulator(scenario) as emu:
            self.before = emu.world()
            emu.inject(scenario.faults)
            results = [emu.promote(spec) for spec in scenario.promotions]
            after = emu.world()
            self.calls = list(moto_adaptations.hooks.calls)
        return results, after


@pytest.fixture(scope="session")
def worlds() -> Worlds:
    return Worlds()


@pytest.fixture
def promote(worlds: Worlds) -> Promoter:
    """`results, world = promote(("prod", "tools/v2"), config={...}, world={...}, faults=[...])`."""
    return Promoter(worlds)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show the report sections tests attach as user properties named "summary: <title>" (the
    authorization matrix, tests/security/), with or without -s, and from xdist workers too."""
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", []):
                if isinstance(name, str) and name.startswith("summary: "):
                    terminalreporter.write_sep("=", name.removeprefix("summary: "))
                    terminalreporter.write_line(str(value))
