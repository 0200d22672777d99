"""Simulated time: a promotion that waits ten minutes for a model finishes in about a second.

The whole process travels in time (time-machine), so the handlers, moto and the Step Functions
interpreter agree on what time it is. Sleeping does not block for the simulated duration: the
sleeper registers when it wants to wake, and the clock jumps to the earliest such time once the
emulator is quiet, that is, once no handler or control-plane call has run for a few real
milliseconds. Parallel sleepers (Map iterations retrying side by side) therefore overlap as they
would on AWS, instead of adding up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine

# How long (real seconds) nothing may happen before the clock jumps to the next wake-up.
QUIET_SECONDS = 0.01
# A woken sleeper holds the clock until it does something (its next handler call), or this long.
WOKEN_HOLD_SECONDS = 0.5


class SimulatedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._traveller = time_machine.travel(self._start, tick=True)
        self._coordinates: Any = None
        self._condition = threading.Condition()
        self._wake_times: list[datetime] = []
        # Wake-ups of sleepers inside a running Lambda handler (a call's simulated latency), and how
        # many handlers run now: while one runs, only its own sleeps move the clock, so a handler is
        # never charged for time another execution's Wait state asked for (its Lambda timeout).
        self._handler_wake_times: list[datetime] = []
        self._handlers_running = 0
        self.in_handler: Callable[[], bool] = lambda: False
        self._last_activity = time.monotonic()
        # Threads that woke up and have not yet acted: the clock waits for them.
        self._woken: dict[int, float] = {}
        self.slept = 0.0
        # Called after every jump: whatever the world schedules for a simulated time happens then.
        self.on_advance: Callable[[], None] | None = None

    def start(self) -> None:
        self._coordinates = self._traveller.start()

    def stop(self) -> None:
        if self._coordinates is not None:
            self._traveller.stop()
            self._coordinates = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def advance(self, seconds: float) -> None:
        """Move the simulated time on by `seconds` at once (what a quiet world would do), then let
        whatever the world scheduled for it happen."""
        if seconds <= 0 or self._coordinates is None:
            return
        with self._condition:
            self._coordinates.shift(timedelta(seconds=seconds))
            self.slept += seconds
            if self.on_advance is not None:
                self.on_advance()
            self._condition.notify_all()

    def activity(self) -> None:
        """Something ran (a handler, an AWS call): the clock must not jump yet."""
        self._last_activity = time.monotonic()
        self._woken.pop(threading.get_ident(), None)

    def handler_started(self) -> None:
        with self._condition:
            self._handlers_running += 1

    def handler_ended(self) -> None:
        with self._condition:
            self._handlers_running -= 1
            self._condition.notify_all()

    def _may_jump(self) -> bool:
        now = time.monotonic()
        for thread, woke in list(self._woken.items()):
            if now - woke > WOKEN_HOLD_SECONDS:
                self._woken.pop(thread, None)
        return not self._woken and now - self._last_activity >= QUIET_SECONDS

    def sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._coordinates is None:
            return
        self._until(seconds, lambda: False)

    def wait_for(self, event: threading.Event, seconds: float | None) -> bool:
        """Wait for `event` at most `seconds` of simulated time (a task token's timeout); True if it came."""
        if seconds is None or self._coordinates is None:
            return event.wait(seconds)
        self._until(seconds, event.is_set)
        return event.is_set()

    def _until(self, seconds: float, done: Callable[[], bool]) -> None:
        with self._condition:
            wake = datetime.now(UTC) + timedelta(seconds=seconds)
            in_handler = self.in_handler()
            self._wake_times.append(wake)
            if in_handler:
                self._handler_wake_times.append(wake)
            self.activity()
            try:
                while datetime.now(UTC) < wake and not done():
                    candidates = self._handler_wake_times if self._handlers_running else self._wake_times
                    earliest = min(candidates) if candidates else None
                    if earliest is not None and self._may_jump() and earliest > datetime.now(UTC):
                        ahead = (earliest - datetime.now(UTC)).total_seconds()
                        self._coordinates.shift(timedelta(seconds=ahead))
                        self.slept += ahead
                        if self.on_advance is not None:
                            self.on_advance()
                        self._condition.notify_all()
                        continue
                    self._condition.wait(timeout=QUIET_SECONDS / 2)
            finally:
                self._wake_times.remove(wake)
                if in_handler:
                    self._handler_wake_times.remove(wake)
                self.activity()
                self._woken[threading.get_ident()] = time.monotonic()
                self._condition.notify_all()
