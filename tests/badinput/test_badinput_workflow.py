"""Bad requests through the real workflow on the emulator (a representative handful of the corpus):
each execution fails with the named error and a readable cause, makes no write call, and leaves
the world as it was; the environment is still free for a good promotion afterwards."""

from __future__ import annotations

from typing import Any

import corpus
from corpus import Bad

# Control-plane calls that only read.
READS = ("Get", "Describe", "List", "AssumeRole", "Query", "Scan", "BatchGet")


def test_bad_requests_through_the_workflow_change_nothing(worlds: Any) -> None:
    from mlpromote_emulator import moto_adaptations as adapt

    by_id = {case.id: case for case in corpus.BAD_REQUESTS}
    bad: list[Bad] = [by_id[name] for name in corpus.WORKFLOW_REQUESTS] + [corpus.MISSING_VERSION]
    problems: list[str] = []
    with worlds.emulator() as emu:
        before = emu.world()
        for case in bad:
            first_call = len(adapt.hooks.calls)
            execution = emu.start(case.value, name=f"bad-{case.id}")
            description = emu.wait(execution)
            environment = case.value.get("environment", "") if isinstance(case.value, dict) else ""
            result = emu.result(execution, description, str(environment), "")
            calls = adapt.hooks.calls[first_call:]
            writes = [f"{c.service} {c.operation}" for c in calls if not c.operation.startswith(READS)]
            if (result.status, result.error) != ("FAILED", case.error):
                problems.append(f"{case.id}: ended {result.status} {result.error}, expected {case.error}")
            if not result.cause or "Traceback" in result.cause or case.where not in result.cause:
                problems.append(f"{case.id}: cause {str(result.cause)[:300]!r}")
            if [step.name for step in result.steps] != ["Validate and plan"]:
                problems.append(f"{case.id}: went past the plan: {[step.name for step in result.steps]}")
            if writes:
                problems.append(f"{case.id}: wrote {writes}")
            if emu.world() != before:
                problems.append(f"{case.id}: changed the world to {emu.world()}")
        # Nothing was left behind (no lock, no grant): a good promotion of the same environment goes through.
        good = emu.start(corpus.request(), name="good-after-bad")
        ended = emu.wait(good)
        assert ended["status"] == "SUCCEEDED", ended
        after = emu.world()

    assert problems == []
    assert set(after["parameters"]["prod"]["tools"].values()) == {"tools/v2"}
