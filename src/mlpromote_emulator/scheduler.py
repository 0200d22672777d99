"""A seeded scheduler for handler invocations: concurrent promotions interleave differently per seed.

moto's interpreter runs each execution, and each Map iteration, in its own thread, and the emulator
runs one handler at a time. Without a scheduler, which waiting handler runs next is up to the
threads' timing, which hardly varies: two promotions started together take their steps in about
the same order every time. With a seed, the scheduler decides:

- each invocation first sleeps a random delay of simulated time (latency jitter: exponential, at
  most `max_jitter_seconds`), so one that arrived first may well run after one that arrived later,
  and a handler may run before or after another execution's Wait or retry backoff ends;
- each execution (the invocation's `key`) gets its own pace, drawn once: its invocations' mean
  jitter is `mean_jitter_seconds` times a factor from 1/4 to 4, so in one run qa races ahead of
  prod, in another it lags far behind (as cold starts or a throttled client would make it);
- then it waits for its turn; whenever no handler runs, the scheduler picks one of the ready
  invocations at random, once none has arrived for `gather_seconds` (real time).

The random draws come from `random.Random(seed)`, but real timing still decides the order in which
threads draw, so a seed gives a reproducible-ish interleaving, not a replay.

It can never deadlock the emulator: an invocation that has waited `fallback_seconds` (real time)
without being picked goes ahead anyway, in arrival order (FIFO), to the emulator's own
one-handler-at-a-time lock, as without a scheduler. `fallbacks` counts those.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Real seconds with no new arrival before a pick: the interpreter's work between two states of
# one execution takes about a millisecond, so invocations that are due together are all there.
GATHER_SECONDS = 0.003
# A free slot is filled at the latest after this long, even while invocations keep arriving.
MAX_GATHER_SECONDS = 0.03
# Real seconds a ready invocation waits for its turn before it goes ahead anyway (FIFO): a guard
# against a handler that never gives its turn back, not a limit on a slow one (a busy machine
# makes some handlers take seconds).
FALLBACK_SECONDS = 20.0
# Simulated seconds of jitter before an invocation is ready: on average about the workflow's own
# short intervals (a 5 s IAM propagation, retries from 2 s), large next to a handler's run; the
# longest are as long as a retry's backoff. An execution's pace scales the mean by 1/4 to 4.
MEAN_JITTER_SECONDS = 2.0
MAX_JITTER_SECONDS = 20.0
PACE_RANGE = 4.0


@dataclass(eq=False)
class _Ticket:
    name: str
    arrived: float = field(default_factory=time.monotonic)
    # Picked by the scheduler (it holds the slot) or gone ahead after the fallback timeout.
    picked: bool = False
    forced: bool = False


class Scheduler:
    def __init__(
        self,
        seed: int,
        sleep: Callable[[float], None] | None = None,
        activity: Callable[[], None] | None = None,
        *,
        mean_jitter_seconds: float = MEAN_JITTER_SECONDS,
        max_jitter_seconds: float = MAX_JITTER_SECONDS,
        gather_seconds: float = GATHER_SECONDS,
        fallback_seconds: float = FALLBACK_SECONDS,
    ) -> None:
        """`sleep(seconds)` sleeps in simulated time (the emulator's clock); `activity()` tells the
        clock something runs, so it does not jump while a picked invocation starts."""
        self.seed = seed
        self._random = random.Random(seed)
        self._sleep = sleep
        self._activity = activity
        self.mean_jitter_seconds = mean_jitter_seconds
        self.max_jitter_seconds = max_jitter_seconds
        self.gather_seconds = gather_seconds
        self.fallback_seconds = fallback_seconds
        self._condition = threading.Condition()
        self._ready: list[_Ticket] = []
        self._running: _Ticket | None = None
        self._changed = time.monotonic()
        self._free_since = time.monotonic()
        # The functions in the order the scheduler let them run, and how many went ahead unpicked.
        self.order: list[str] = []
        self.fallbacks = 0
        # Each execution's pace (a factor on the mean jitter), by key.
        self.paces: dict[str, float] = {}

    @contextmanager
    def turn(self, name: str, key: str = "") -> Iterator[None]:
        """Hold until it is this invocation's turn; the handler runs inside. `key`: the execution."""
        with self._condition:
            if key not in self.paces:
                self.paces[key] = PACE_RANGE ** self._random.uniform(-1, 1)
            mean = self.mean_jitter_seconds * self.paces[key]
            jitter = min(self._random.expovariate(1 / mean), self.max_jitter_seconds)
        if self._sleep is not None and jitter > 0:
            self._sleep(jitter)
        ticket = self._wait_for_turn(name)
        try:
            yield
        finally:
            with self._condition:
                if self._running is ticket:
                    self._running = None
                    self._free_since = self._changed = time.monotonic()
                self._condition.notify_all()

    def _wait_for_turn(self, name: str) -> _Ticket:
        with self._condition:
            ticket = _Ticket(name)
            self._ready.append(ticket)
            self._changed = time.monotonic()
            self._condition.notify_all()
            while not ticket.picked:
                self._pick()
                if ticket.picked:
                    break
                if time.monotonic() - ticket.arrived >= self.fallback_seconds:
                    # Something holds the slot far too long: go ahead, oldest first.
                    oldest = self._ready[0]
                    self._ready.remove(oldest)
                    oldest.picked = oldest.forced = True
                    self.fallbacks += 1
                    self.order.append(oldest.name)
                    self._condition.notify_all()
                    continue
                self._condition.wait(self.gather_seconds)
        if self._activity is not None:
            self._activity()
        return ticket

    def _pick(self) -> None:
        """With the condition held: fill a free slot with a random ready invocation, once all due have come."""
        if self._running is not None or not self._ready:
            return
        now = time.monotonic()
        gathering_since = max(self._free_since, min(ticket.arrived for ticket in self._ready))
        if now - self._changed < self.gather_seconds and now - gathering_since < MAX_GATHER_SECONDS:
            return
        chosen = self._ready.pop(self._random.randrange(len(self._ready)))
        chosen.picked = True
        self._running = chosen
        self._changed = now
        self.order.append(chosen.name)
        self._condition.notify_all()
