"""When was a frame really taken? Estimated from its timestamp, not its arrival.

FFmpeg's H.264 parser holds one frame until the next begins, and flushes it
when a frozen camera finally times out: that frame arrives seconds late but
is old. Judging it by its arrival would call a frozen camera live again.
"""

from __future__ import annotations

__all__ = ["CaptureClock"]


class CaptureClock:
    """Maps stream timestamps to the local monotonic clock.

    Keeps the smallest transit offset (arrival - stream time) seen, creeping
    up slowly so a camera clock that runs slower than ours cannot make frames
    look older and older over a long run (1 ms per second covers 1000 ppm).
    One instance per connection: timestamps restart on reconnect.
    """

    CREEP_PER_S = 1e-3

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last_arrival = 0.0

    def capture_time(self, stream_time: float | None, arrival: float) -> float:
        if stream_time is None:
            return arrival  # the first RTSP frame often has no timestamp
        offset = arrival - stream_time
        if self._offset is None:
            self._offset = offset
        else:
            crept = self._offset + self.CREEP_PER_S * max(0.0, arrival - self._last_arrival)
            self._offset = min(offset, crept)
        self._last_arrival = arrival
        return min(arrival, stream_time + self._offset)
