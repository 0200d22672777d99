"""Simulated time: a promotion that waits ten minutes for a model finishes in about a second.

The whole process travels in time (time-machine), so the handlers, moto and the Step Functions
interpreter agree on what time it is. Sleeping moves the clock forward instead of blocking.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine


class SimulatedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        self._traveller = time_machine.travel(self._start, tick=True)
        self._coordinates: Any = None
        self._lock = threading.Lock()
        self.slept = 0.0

    def start(self) -> None:
        self._coordinates = self._traveller.start()

    def stop(self) -> None:
        if self._coordinates is not None:
            self._traveller.stop()
            self._coordinates = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        """Move the clock to at least `seconds` from now.

        Concurrent sleepers (Map iterations) share one clock: each moves it to its own wake-up
        time if the clock is not already past it, as if they had all slept side by side.
        """
        if seconds <= 0 or self._coordinates is None:
            return
        wake = datetime.now(UTC) + timedelta(seconds=seconds)
        with self._lock:
            ahead = (wake - datetime.now(UTC)).total_seconds()
            if ahead > 0:
                self._coordinates.shift(timedelta(seconds=ahead))
                self.slept += ahead
