"""Whether the render loop gets the CPU it needs: the trigger for decoders to yield.

Decoders and the render loop share the CPU. Decoders at the loop's priority
decode every frame in time on a host that keeps up (measured on the 2-core
bench host with software GL: 0.3-1.1 % of frames late at 12 cameras, against
2.2-2.9 % with decoders at nice +5 or +10, whose bursts then wait for the
render process's). But on a host that cannot keep up, Linux shares the CPU
per thread, and dozens of camera threads leave the one render thread a few
ticks a second (6 of 60 with windows at 24 cameras, measured): every screen
stutters. So the decoders start at the loop's priority, and the first time
the loop has drawn under half its rate for a whole window, they are lowered
below it for good (an unprivileged process cannot raise them back); from
then on they fall behind instead, and skip frames by the degrade order.

Pure logic, time passed in: unit-tested without a loop.
"""

from __future__ import annotations

__all__ = ["StarvedLoop"]

from dataclasses import dataclass, field

WINDOW_S = 2.0  # ticks are counted over windows this long
WARM_UP_S = 5.0  # opening windows and connecting cameras: not a verdict
STARVED_SHARE = 0.5  # under this share of its rate, the loop is starved


@dataclass
class StarvedLoop:
    """Fed every tick of a loop meant to run at ``fps``; says once when it is starved."""

    fps: float
    started_at: float
    fired: bool = False
    rate: float = field(default=0.0, init=False)  # ticks a second in the last window
    _window_start: float = field(default=-1.0, init=False)
    _ticks: int = field(default=0, init=False)

    def observe(self, now: float) -> bool:
        """One tick at ``now``; True exactly once: the first window under the share."""
        if now - self.started_at < WARM_UP_S:
            return False
        if self._window_start < 0:
            self._window_start, self._ticks = now, 0
            return False
        self._ticks += 1
        elapsed = now - self._window_start
        if elapsed < WINDOW_S:
            return False
        self.rate = self._ticks / elapsed
        self._window_start, self._ticks = now, 0
        if self.fired or self.rate >= STARVED_SHARE * self.fps:
            return False
        self.fired = True
        return True
