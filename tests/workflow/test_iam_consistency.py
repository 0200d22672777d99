"""IAM is eventually consistent (world.iamReadLagSeconds: GetRolePolicy answers with the document before
the latest write for that long). The steps that read the grants right after the grant step wrote them
do not act on such a read: they read again."""

from __future__ import annotations

from typing import Any

from mlpromote_emulator.scenario import PromotionSpec

# A few seconds of lag; no propagation delay, so the smoke test (and what follows) runs at once.
LAGGING = {"iamReadLagSeconds": 3, "iamPropagationSeconds": 0}


def test_a_stale_read_right_after_the_grant_does_not_fail_the_promotion(worlds: Any) -> None:
    """The check before the switch reads the grant at once: without the statement it would call the
    version revoked (VersionNoLongerServing); the retirement would write back a document without it."""
    with worlds.emulator(world=LAGGING) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        world = emu.world()

    assert result.status == "SUCCEEDED", result.as_json()
    assert world == worlds.expect(
        parameters={"prod": {"tools": {worlds.PROD_A: "tools/v2", worlds.PROD_B: "tools/v2"}}},
        grants={"prod": ["tools/v2"]},
        versions={"tools/v1": "STOPPED"},
    )


def test_compensation_right_after_the_grant_revokes_it(worlds: Any) -> None:
    """The smoke test fails at once after the grant; the compensation's first read does not show the
    statement yet. Acting on it would leave the grant in place."""
    v3 = {"labels": {"hammer": 40.0, "wrench": 90.0}}  # hammer below the smoke test's 50
    with worlds.emulator(world={**LAGGING, "versions": {"tools/v3": v3}}) as emu:
        result = emu.promote(PromotionSpec(environment="qa", version="tools/v3"))
        world = emu.world()

    assert (result.status, result.error) == ("FAILED", "SmokeTestFailed"), result.as_json()
    assert result.compensation["revoked"] is True
    assert world["grants"] == worlds.standard["grants"]
    assert world == worlds.expect(versions={"tools/v3": "STOPPED"})
