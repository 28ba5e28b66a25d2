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

Since that is for good, one stall is not a verdict. Starved by decoders, every
tick of the loop is late: measured on the 2-core host, 2 to 14 ticks a second
of 60 with the longest gap 0.2-0.7 s, and the rate without that one gap as
low (2.3-14). A stall is one gap of seconds in a window of ticks on time (a
picture decoded, a disk that held a write, a swap-in): without it, the window
is at the full rate, and lower decoders would not have helped. So a window is
also judged without its longest gap, and excused if that leaves it healthy,
but not two windows running: stalls window after window are starvation all
the same. The wall's own stalls (a layout applied) restart the window
(:meth:`StarvedLoop.restart`) and are never counted.

Pure logic, time passed in: unit-tested without a loop.
"""

from __future__ import annotations

__all__ = ["HEADLESS_FPS", "StarvedLoop"]

from dataclasses import dataclass, field

HEADLESS_FPS = 25.0  # composition rate without a display: a typical camera rate
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
    _last: float = field(default=0.0, init=False)  # the last tick
    _longest: float = field(default=0.0, init=False)  # gap between ticks, in this window
    _excused: bool = field(default=False, init=False)  # the last window had a stall let off

    def restart(self, now: float) -> None:
        """Start a new window at ``now``, with no verdict on the time before: after a
        stall of the loop's own making (a layout applied), which no priority would help."""
        if now - self.started_at < WARM_UP_S:
            self._window_start = -1.0
            return
        self._window_start, self._ticks, self._last, self._longest = now, 0, now, 0.0

    def observe(self, now: float) -> bool:
        """One tick at ``now``; True exactly once: the first window under the share."""
        if now - self.started_at < WARM_UP_S:
            return False
        if self._window_start < 0:
            self.restart(now)
            return False
        self._ticks += 1
        self._longest = max(self._longest, now - self._last)
        self._last = now
        elapsed = now - self._window_start
        if elapsed < WINDOW_S:
            return False
        ticks, longest = self._ticks, self._longest
        self.rate = ticks / elapsed
        self.restart(now)
        wanted = STARVED_SHARE * self.fps
        if self.fired or self.rate >= wanted:
            self._excused = False
            return False
        rest = elapsed - longest  # the window without its longest gap
        if not self._excused and (rest < WINDOW_S / 2 or (ticks - 1) / rest >= wanted):
            self._excused = True  # one stall among ticks on time (or little else to judge)
            return False
        self.fired = True
        return True
