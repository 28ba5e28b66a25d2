"""A histogram of fixed buckets, cheap enough to feed from the render loop.

One observation is a bisection over a dozen bounds and two additions: no
lock, no allocation. It is read from another thread (a metrics scrape);
counts only grow, so a read between two observations is at worst one
observation short, and the total is taken from the buckets themselves so
that a read is always self-consistent (the last bucket equals the count).
"""

from __future__ import annotations

__all__ = ["FRAME_AGE_BOUNDS", "LOOP_SECONDS_BOUNDS", "Buckets", "HistogramReading"]

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

# Frame age on screen (decode to composition): 20-70 ms when healthy (README's
# bench), seconds when the host is behind.
FRAME_AGE_BOUNDS = (0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
# One tick of the render loop: about 1 ms headless, 11-14 ms per 1080p window in
# software GL (field notes), far more when the loop is wedged.
LOOP_SECONDS_BOUNDS = (0.002, 0.005, 0.01, 0.02, 0.04, 0.0667, 0.1, 0.2, 0.5, 1.0, 5.0)


@dataclass(frozen=True, slots=True)
class HistogramReading:
    """Cumulative counts per upper bound (the last is +Inf), and the sum of values."""

    bounds: tuple[float, ...]
    cumulative: tuple[int, ...]  # len(bounds) + 1: the last is every observation
    total: float

    @property
    def count(self) -> int:
        return self.cumulative[-1]


class Buckets:
    """Counts of observations at or under each bound (and above the last)."""

    def __init__(self, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError("histogram bounds must be increasing")
        self.bounds = tuple(bounds)
        self._counts = [0] * (len(self.bounds) + 1)
        self._total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound falls in that bound's bucket ("le").
        self._counts[bisect_left(self.bounds, value)] += 1
        self._total += value

    def reading(self) -> HistogramReading:
        counts = list(self._counts)  # one C-level copy: consistent in itself
        cumulative = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return HistogramReading(self.bounds, tuple(cumulative), self._total)
