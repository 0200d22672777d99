"""Model lifecycles as AWS runs them: a stop passes through STOPPING (world.stopSeconds), and the
workflow waits for it when it needs the version back."""

from __future__ import annotations

from typing import Any

from mlpromote_emulator import moto_adaptations as adapt
from mlpromote_emulator.scenario import PromotionSpec


def _raw_status(emu: Any, label: str) -> str:
    """The version's status now, without letting the simulated time run on (world() would)."""
    return adapt.custom_labels_versions(emu.config.ml_account, emu.config.region)[
        emu.names.arn(label, emu.config)
    ].status


def test_the_superseded_version_is_stopping_and_the_report_reads_it_once_stopped(worlds: Any) -> None:
    with worlds.emulator() as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        assert result.status == "SUCCEEDED", result.cause
        assert result.output["stopped"] == ["tools/v1"]
        assert _raw_status(emu, "tools/v1") == "STOPPING"
        # The report's world: every start and stop already under way has run to its end.
        assert emu.world() == worlds.expect(
            parameters={"prod": {"tools": {worlds.PROD_A: "tools/v2", worlds.PROD_B: "tools/v2"}}},
            grants={"prod": ["tools/v2"]},
            versions={"tools/v1": "STOPPED"},
        )


def test_promote_then_roll_back_at_once_waits_for_the_stop_then_starts_the_version(worlds: Any) -> None:
    """Issue 11 item 3: the rollback's target is STOPPING. It waits until STOPPED, starts it, points back."""
    with worlds.emulator(world={"stopSeconds": 600, "startSeconds": 300}) as emu:
        promoted = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        assert promoted.status == "SUCCEEDED", promoted.cause
        assert _raw_status(emu, "tools/v1") == "STOPPING"
        started = emu.clock.now()
        rolled_back = emu.promote(PromotionSpec(environment="prod", rollback=True, reason="error rate up"))
        assert rolled_back.status == "SUCCEEDED", f"{rolled_back.error}: {rolled_back.cause}"
        assert rolled_back.output["started"] == ["tools/v1"]
        # It waited out the stop and the start on the simulated clock.
        assert (emu.clock.now() - started).total_seconds() >= 600 + 300
        assert emu.world() == worlds.expect(grants={"prod": ["tools/v1"]})
