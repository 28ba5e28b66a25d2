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
    One instance per connection: timestamps restart on reconnect, and when they
    jump backwards within one (a jump forwards only lowers the offset).
    """

    CREEP_PER_S = 1e-3
    # Decoded pictures come in display order, their timestamps rising; one this far
    # behind the last is a new timeline (the camera's clock was reset), not an old frame.
    JUMP_BACK_S = 0.25

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last_arrival = 0.0
        self._last_stream: float | None = None
        self.restarts = 0  # times the camera's timestamps went back

    def capture_time(self, stream_time: float | None, arrival: float) -> float:
        if stream_time is None:
            return arrival  # the first RTSP frame often has no timestamp
        offset = arrival - stream_time
        last, self._last_stream = self._last_stream, stream_time
        if last is not None and stream_time < last - self.JUMP_BACK_S:
            # Kept, the old mapping would date every frame from now on by the size of
            # the jump: "pictures 10 s late", and frames skipped for a host not behind.
            self._offset = None
            self.restarts += 1
        if self._offset is None:
            self._offset = offset
        else:
            crept = self._offset + self.CREEP_PER_S * max(0.0, arrival - self._last_arrival)
            self._offset = min(offset, crept)
        self._last_arrival = arrival
        return min(arrival, stream_time + self._offset)
