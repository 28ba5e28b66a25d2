"""Time, injected: stall and retry logic take a :class:`Clock` so tests can drive it."""

from __future__ import annotations

__all__ = ["Clock", "MonotonicClock", "ManualClock", "local_iso"]

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale shared by every process of the wall."""
        ...

    def wall_time(self) -> float:
        """Seconds since the epoch, for what is shown to people ("since 14:03:12")."""
        ...


class MonotonicClock:
    """The real clock. CLOCK_MONOTONIC is system-wide on Linux, so decoder
    processes and the render loop can compare their timestamps."""

    def now(self) -> float:
        return time.monotonic()

    def wall_time(self) -> float:
        return time.time()


class ManualClock:
    """A clock that moves only when told to; for tests of time-based logic."""

    def __init__(self, start: float = 1000.0, epoch: float = 1_700_000_000.0) -> None:
        self._now = start
        self._epoch_offset = epoch - start

    def now(self) -> float:
        return self._now

    def wall_time(self) -> float:
        return self._now + self._epoch_offset

    def advance(self, seconds: float) -> None:
        self._now += seconds


def local_iso(wall_time: float) -> str:
    """``2026-11-25T14:03:12+0100``: local time with its offset, for status, logs and audit."""
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(wall_time))
