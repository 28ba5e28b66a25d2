"""What every Python runner shares: the line protocol with the bench, and frame statistics.

Protocol, on the runner's stdin and stdout (its logs go to stderr):

* the runner prints ``READY {"missing": [...]}`` once every camera has
  delivered a frame (or the ready timeout passed; ``missing`` lists those
  that did not);
* ``START`` from the bench: counters are reset, the measurement window
  begins; the runner answers ``STARTED``;
* ``STOP``: the window ends; the runner prints ``RESULT {json}`` and exits.

A frame's *age* is how long after its capture it was used (decoded, copied
into a canvas, composed), with capture time estimated from its timestamp
the way the wall does (:class:`compositor.sources.timing.CaptureClock`: the
smallest transit seen anchors the stream clock to ours). A frame is *late*
when its age exceeds two frame intervals.
"""

from __future__ import annotations

__all__ = ["FrameStats", "age_summary", "run_protocol", "say"]

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from compositor.sources.timing import CaptureClock

LATE_INTERVALS = 2.0  # a frame older than this many intervals at use is late


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def age_summary(ages: Iterable[float], fps: float) -> dict[str, Any]:
    values = np.fromiter(ages, dtype=np.float64)
    if values.size == 0:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None, "late": 0}
    p50, p99 = np.percentile(values, [50, 99])
    late = int(np.count_nonzero(values > LATE_INTERVALS / fps))
    return {
        "n": int(values.size),
        "p50_ms": round(float(p50) * 1e3, 1),
        "p99_ms": round(float(p99) * 1e3, 1),
        "max_ms": round(float(values.max()) * 1e3, 1),
        "late": late,
    }


class FrameStats:
    """Frames per camera and their ages, counted only inside the measurement window."""

    def __init__(self, cameras: Iterable[str]) -> None:
        self._clocks = {camera: CaptureClock() for camera in cameras}
        self.seen: set[str] = set()
        self.counting = False
        self.frames = dict.fromkeys(self._clocks, 0)
        self.ages: list[float] = []
        self.started_at = 0.0
        self.stopped_at = 0.0

    def new_connection(self, camera: str) -> None:
        """Timestamps restart on a reconnect: so does the clock mapping."""
        self._clocks[camera] = CaptureClock()

    def frame(self, camera: str, stream_time: float | None, now: float | None = None) -> None:
        """Called by the camera's own thread for each frame it used."""
        now = time.monotonic() if now is None else now
        captured = self._clocks[camera].capture_time(stream_time, now)
        self.seen.add(camera)
        if self.counting:
            self.frames[camera] += 1
            self.ages.append(now - captured)

    def start(self) -> None:
        self.frames = dict.fromkeys(self._clocks, 0)
        self.ages = []
        self.started_at = time.monotonic()
        self.counting = True

    def stop(self) -> None:
        self.counting = False
        self.stopped_at = time.monotonic()

    def raw(self) -> dict[str, Any]:
        return {
            "frames": dict(self.frames),
            "ages": list(self.ages),
            "window_s": self.stopped_at - self.started_at,
        }


def run_protocol(
    missing: Callable[[], list[str]],
    start: Callable[[], None],
    stop: Callable[[], dict[str, Any]],
    ready_timeout: float = 60.0,
) -> None:
    """Wait for the cameras, then follow the bench's START and STOP; returns after STOP."""
    deadline = time.monotonic() + ready_timeout
    while missing() and time.monotonic() < deadline:
        time.sleep(0.1)
    say("READY " + json.dumps({"missing": missing()}))
    for line in sys.stdin:
        command = line.strip()
        if command == "START":
            start()
            say("STARTED")
        elif command == "STOP":
            say("RESULT " + json.dumps(stop()))
            return
    # stdin closed: the bench is gone; stop quietly


def protocol_thread(
    missing: Callable[[], list[str]],
    start: Callable[[], None],
    stop: Callable[[], dict[str, Any]],
    done: Callable[[], None],
    ready_timeout: float = 60.0,
) -> threading.Thread:
    """:func:`run_protocol` in a thread, for runners whose main thread loops; then ``done``."""

    def body() -> None:
        try:
            run_protocol(missing, start, stop, ready_timeout)
        finally:
            done()

    thread = threading.Thread(target=body, name="bench-protocol", daemon=True)
    thread.start()
    return thread
