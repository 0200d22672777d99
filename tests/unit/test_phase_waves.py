"""The phases' part in a rollout (mlpromote.waves): the bake reads the switched waves' accounts, the
compensation puts back only the waves that moved, the plan fixes the membership. Fake adapters."""

from __future__ import annotations

from datetime import datetime

import pytest
from phase_fakes import PROD_A, PROD_B, V1, V2, FakeWorld, config, locked_plan, standard_world

from mlpromote.clock import now
from mlpromote.errors import RolledBackOnAlarm
from mlpromote.phases.compensate import compensate
from mlpromote.phases.pointers import rotate_pointer, watch_alarms

ROLLOUT = [{"accounts": 1, "bakeMinutes": 5}, {"percent": 100}]


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> FakeWorld:
    return standard_world(monkeypatch)


def test_the_plan_fixes_each_waves_accounts_bake_and_approval(world: FakeWorld) -> None:
    plan = locked_plan(config(rollout=ROLLOUT), "prod", V2)
    assert [(w.bake_seconds, w.approve) for w in plan.waves] == [
        (300, False),
        (600, False),  # the environment's bakeMinutes (10) is the last wave's
    ]
    assert plan.wave_accounts() == [[PROD_A], [PROD_B]]
    # Each wave is batched on its own, and names its batches: no account is kept twice in the state.
    assert plan.batches == [[PROD_A], [PROD_B]] and [w.batches for w in plan.waves] == [[0], [1]]
    assert plan.switched_by(0) == [PROD_A] and plan.switched_by(1) == [PROD_A, PROD_B]


def test_a_waves_bake_lasts_its_own_minutes(world: FakeWorld) -> None:
    plan = locked_plan(config(rollout=ROLLOUT), "prod", V2)
    remaining = (datetime.fromisoformat(watch_alarms(plan, None, 0).until) - now()).total_seconds()
    assert 295 < remaining <= 300


def test_the_first_waves_bake_does_not_read_the_accounts_not_yet_switched(world: FakeWorld) -> None:
    plan = locked_plan(config(rollout=ROLLOUT), "prod", V2)
    world.alarms[PROD_B]["Errors"] = True  # wave 2's account: not switched during wave 1's bake
    assert not watch_alarms(plan, None, 0).done


def test_a_later_waves_bake_reads_the_earlier_waves_accounts_too(world: FakeWorld) -> None:
    plan = locked_plan(config(rollout=ROLLOUT), "prod", V2)
    world.alarms[PROD_A]["Errors"] = True  # wave 1's account, during wave 2's bake
    with pytest.raises(RolledBackOnAlarm, match=f"Errors in {PROD_A} .* took over wave 2 of prod; putting it back"):
        watch_alarms(plan, None, 1)


def test_the_compensation_puts_back_only_the_waves_taken_up(world: FakeWorld) -> None:
    cfg = config(rollout=ROLLOUT)
    plan = locked_plan(cfg, "prod", V2)
    rotate_pointer(plan, PROD_A)
    world.pointers[PROD_B] = "changed by hand after the plan"  # wave 2 never started: not ours to put back
    done = compensate(plan, cfg, {"Error": "RolledBackOnAlarm", "Cause": "wave 1"}, wave=0)
    assert done.restored == [PROD_A]
    assert world.pointers[PROD_A] == V1 and world.pointers[PROD_B] == "changed by hand after the plan"
