"""When to try a failed camera again: exponential backoff with jitter."""

from __future__ import annotations

__all__ = ["Backoff"]

import random
from collections.abc import Callable


class Backoff:
    """Delays of 1 s, 2 s, 4 s ... capped at 30 s, each jittered by up to +-20 %.

    Jitter keeps a hundred cameras behind one failed switch from reconnecting
    in lockstep. After a connection has stayed up for ``stable_after``
    seconds the next failure starts again from the floor.
    """

    def __init__(
        self,
        floor: float = 1.0,
        cap: float = 30.0,
        stable_after: float = 60.0,
        jitter: float = 0.2,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.floor, self.cap, self.stable_after, self.jitter = floor, cap, stable_after, jitter
        self._rand = rand
        self._failures = 0

    def next_delay(self, connected_for: float = 0.0) -> float:
        """The wait before the next attempt, given how long the last connection lasted."""
        if connected_for >= self.stable_after:
            self._failures = 0
        base = min(self.cap, self.floor * 2.0**self._failures)
        self._failures += 1
        spread = base * self.jitter * (2.0 * self._rand() - 1.0)
        return max(self.floor * (1 - self.jitter), min(self.cap, base + spread))

    def reset(self) -> None:
        self._failures = 0
