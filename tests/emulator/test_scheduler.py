"""The seeded scheduler (mlpromote_emulator.scheduler): it picks among ready invocations by its seed,
jitters them in simulated time, and never deadlocks (FIFO after its fallback timeout)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mlpromote_emulator.scheduler import Scheduler


def _until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.001)


def picks(seed: int, names: list[str]) -> list[str]:
    """The order in which the scheduler runs `names`, all ready while another invocation holds the slot."""
    scheduler = Scheduler(seed)
    release = threading.Event()
    ran: list[str] = []

    def holder() -> None:
        with scheduler.turn("holder"):
            release.wait(10)

    def invocation(name: str) -> None:
        with scheduler.turn(name):
            ran.append(name)

    threads = [threading.Thread(target=holder)]
    threads[0].start()
    _until(lambda: scheduler.order == ["holder"], "the holder runs")
    for name in names:  # one after another, so they are ready in a known order
        threads.append(threading.Thread(target=invocation, args=(name,)))
        threads[-1].start()
        _until(lambda: len(scheduler._ready) == len(threads) - 1, f"{name} is ready")
    release.set()
    for thread in threads:
        thread.join(10)
    assert scheduler.fallbacks == 0
    assert scheduler.order == ["holder", *ran]
    return ran


NAMES = ["a", "b", "c", "d", "e"]


def test_the_seed_decides_which_ready_invocation_runs_next() -> None:
    orders = {seed: picks(seed, NAMES) for seed in range(1, 7)}

    assert all(sorted(order) == NAMES for order in orders.values())  # each ran once
    assert picks(3, NAMES) == orders[3]  # the same seed, the same choices
    assert len({tuple(order) for order in orders.values()}) > 1  # other seeds, other orders
    assert any(order != NAMES for order in orders.values())  # not arrival order


def test_every_invocation_is_jittered_in_simulated_time() -> None:
    slept: list[float] = []
    scheduler = Scheduler(7, sleep=slept.append, mean_jitter_seconds=1.0, max_jitter_seconds=3.0)
    for name in NAMES * 20:
        with scheduler.turn(name):
            pass

    assert len(slept) == 100 and all(0 < s <= 3.0 for s in slept)  # the longest cut at the maximum
    assert len(set(slept)) > 90
    assert scheduler.order == NAMES * 20  # one at a time, nobody else ready: arrival order


def test_one_handler_at_a_time() -> None:
    scheduler = Scheduler(11)
    inside, most = [0], [0]
    lock = threading.Lock()

    def invocation(name: str) -> None:
        with scheduler.turn(name):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.002)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=invocation, args=(f"f{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert most[0] == 1 and sorted(scheduler.order) == sorted(f"f{i}" for i in range(8))


def test_an_invocation_that_waits_too_long_goes_ahead_in_arrival_order() -> None:
    # The slot is never given back (a handler stuck): the scheduler must not hold the rest forever.
    scheduler = Scheduler(5, fallback_seconds=0.2)
    stuck = threading.Event()
    ran: list[str] = []

    def holder() -> None:
        with scheduler.turn("stuck"):
            stuck.wait(10)

    def invocation(name: str) -> None:
        with scheduler.turn(name):
            ran.append(name)

    blocker = threading.Thread(target=holder)
    blocker.start()
    _until(lambda: scheduler.order == ["stuck"], "the stuck one runs")
    first = threading.Thread(target=invocation, args=("first",))
    first.start()
    _until(lambda: len(scheduler._ready) == 1, "first is ready")
    second = threading.Thread(target=invocation, args=("second",))
    second.start()
    first.join(10)
    second.join(10)
    stuck.set()
    blocker.join(10)

    # The scheduler lets them go in arrival order; once gone ahead they run side by side, so the
    # order in which their threads then append is the OS's, not the scheduler's.
    assert scheduler.order == ["stuck", "first", "second"] and scheduler.fallbacks == 2
    assert sorted(ran) == ["first", "second"]


@pytest.mark.parametrize("seed", [None, 4])
def test_the_emulator_schedules_only_with_a_seed(worlds: Any, seed: int | None) -> None:
    from mlpromote_emulator.runtime import Emulator
    from mlpromote_emulator.scenario import PromotionSpec

    with Emulator(worlds.scenario(), seed=seed) as emu:
        result = emu.promote(PromotionSpec(environment="prod", version="tools/v2"))
        world = emu.world()
        scheduler, invoked = emu.scheduler, [function for function, _ in emu.invocations]

    assert result.status == "SUCCEEDED", result.as_json()
    assert world["parameters"]["prod"]["tools"] == {worlds.PROD_A: "tools/v2", worlds.PROD_B: "tools/v2"}
    if seed is None:
        assert scheduler is None
    else:
        assert scheduler is not None and scheduler.seed == seed
        assert scheduler.order == invoked and scheduler.fallbacks == 0  # every handler ran by its turn


def test_each_execution_keeps_its_own_pace() -> None:
    slept: list[tuple[str, float]] = []
    current = [""]
    scheduler = Scheduler(2, sleep=lambda s: slept.append((current[0], s)), mean_jitter_seconds=1.0)
    for _ in range(200):
        for key in ("fast-or-slow", "the-other"):
            current[0] = key
            with scheduler.turn("F", key):
                pass

    assert set(scheduler.paces) == {"fast-or-slow", "the-other"}
    assert all(0.25 <= pace <= 4 for pace in scheduler.paces.values())
    for key, pace in scheduler.paces.items():
        mean = sum(s for k, s in slept if k == key) / 200
        assert 0.6 * pace < mean < 1.4 * pace  # exponential around its own pace
    paces = [Scheduler(seed).paces for seed in range(1, 30)]
    for seed_paces, seed in zip(paces, range(1, 30), strict=True):
        scheduler = Scheduler(seed)
        for key in ("a", "b"):
            with scheduler.turn("F", key):
                pass
        seed_paces.update(scheduler.paces)
    ratios = [p["a"] / p["b"] for p in paces]
    assert min(ratios) < 0.5 and max(ratios) > 2  # some seeds make a lag far behind b, some far ahead
