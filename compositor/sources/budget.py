"""When the host cannot keep up: degrade small tiles first, never everything a little.

A camera whose decoder the CPU starves falls behind its stream: its frames
come out of the decoder later and later after they were taken (the lag the
:class:`~compositor.sources.timing.CaptureClock` measures grows). Left alone,
every camera on the wall drifts behind together, by seconds, then minutes.
Instead each camera's decoder gives up frames once it is *really* behind, and
the lag it must have reached first grows with the size of the largest tile
the camera is on, so the order is stated and fixed:

1. cameras only on small tiles (up to 640x360: 4x4 and 3x3 grids) skip their
   non-reference frames (the B-frames of a camera stream: about a quarter of
   the decoding for a third of the frames) past a lag of 2 frame intervals;
2. cameras on tiles up to 960x540 (2x2 grids) do the same past 4 intervals;
3. full-screen and spanning pictures last, past 8 intervals.

*Really behind* is a lag that keeps growing, not a lag that is high for a
moment. Cameras started together send their key frames at the same instants,
so every GOP all decoders spike at once, and on a small host that burst alone
delays frames by a few intervals for a fraction of a second; another program
may take the CPU for a second or two. Neither is a host too slow for its
cameras: the lag falls again by itself (issue 18, on the 2-core bench host:
eight 720p cameras, which the decode floor held at 1.0 CPU-s/s, had six of
them skipping for good ten seconds in, under a rule of "2 intervals for
1 s"). So the lag is judged second by second, on the least lag of each
second (a burst spans part of a second; between bursts the decoder is on
time again), and a camera skips only when that least lag has grown through
each of the last :data:`GROWING_S` seconds, by at least an interval in all
(a decoder slower than real time on average), and is past its tier's limit. A hiccup makes the
lag jump once and then fall: no verdict. A key-frame burst makes it rise and
fall within the second: no verdict either.

Key frames only (``NONKEY``) would save far more, but FFmpeg's H.264 decoder
then holds each key frame in its reordering buffer until two more have come:
pictures 4 s late on a 2 s GOP (measured), worse than the lag it cures.

Sub-streams come before all of this and need no trigger: a camera with a
``url_low`` is decoded from it whenever all its tiles are small (see
:mod:`streams`). A skipping camera decodes every frame again once the least
lag of each of the last :data:`RECOVER_S` seconds was under one interval (the
bursts that go on meanwhile do not reset that wait: it asked for every 0.25 s
window to be calm for 10 s, which the bursts of a 2 s GOP never allowed, so
a camera once skipping stayed there); a camera that falls behind again soon
after waits twice as long the next time, so a host at its limit does not
flap. Pure logic, time passed in: unit-tested without a stream.

Apart from falling behind, cameras on tiles up to 960x540 always decode their
B-frames without H.264's deblocking filter (FFmpeg's ``skip_loop_filter``
``bidir``): 8-10 % less decoding on a camera stream with B-frames, for
pictures that differ from fully filtered ones by 50.7 dB PSNR or more at tile
size (49 dB at full size; measured on the bench clips, 0.6 to 4 Mbit/s:
benchmarks/README.md). Key frames are exact; where a B-frame is a reference
(x264's B-pyramid), the small difference reaches the frames predicted from it
up to the next key frame, and is counted in those figures. A camera without
B-frames (many IP cameras send I and P only) is not affected. The choice is
made when a camera's decoder opens (FFmpeg reads the option then): a reload
that moves a camera to a full screen brings back full filtering at its next
connection.
"""

from __future__ import annotations

__all__ = [
    "DecodeBudget",
    "DecodePolicy",
    "FrameInterval",
    "SkipLevel",
    "SkipTier",
    "deblocking_skip",
    "skip_tier",
]

import itertools
from collections import deque
from dataclasses import dataclass, field
from enum import IntEnum


class SkipTier(IntEnum):
    """How early a camera gives up frames: by the largest tile it is shown on."""

    SMALL = 0  # up to 640x360
    MEDIUM = 1  # up to 960x540
    LARGE = 2  # bigger, or spanning screens


class SkipLevel(IntEnum):
    """What a camera's decoder decodes (FFmpeg's ``skip_frame``, per level)."""

    EVERY_FRAME = 0  # "DEFAULT"
    REFERENCE_FRAMES = 1  # "NONREF": B-frames skipped


SMALL_TILE_PX = 640 * 360
MEDIUM_TILE_PX = 960 * 540
# The lag, in frame intervals, a camera of each tier must be past (and growing) to skip
# non-reference frames: small tiles first.
LAG_LIMIT_FRAMES = {SkipTier.SMALL: 2.0, SkipTier.MEDIUM: 4.0, SkipTier.LARGE: 8.0}
SECOND_S = 1.0  # the lag is judged on the least lag of each second
# Behind: the least lag of a second rose in each of this many seconds running ...
GROWING_S = 4
# ... by at least this many intervals in all: a decoder slower than real time by 1 %
# (a quarter of a frame a second at 25 fps) is caught; scheduling noise is not growth.
GROWTH_FRAMES = 1.0
RECOVER_S = 3  # seconds running whose least lag is under one interval: every frame again
MAX_RECOVER_S = 300
RELAPSE_S = 60.0  # behind again within this of recovering: the next recovery waits longer
DEFAULT_INTERVAL_S = 0.04  # until the camera's frame interval is known
# A decoder that reorders B-frames outputs some frames a couple of intervals after
# others even when it keeps up; the least lag of a short window is the lag reported
# (status, tiles, metrics): when the decoder is behind, every frame is late.
WINDOW_S = 0.25


def skip_tier(tile_sizes: list[tuple[int, int]]) -> SkipTier:
    """The tier of a camera shown at ``tile_sizes`` (picture boxes, w x h)."""
    largest = max((w * h for w, h in tile_sizes), default=0)
    if largest <= SMALL_TILE_PX:
        return SkipTier.SMALL
    if largest <= MEDIUM_TILE_PX:
        return SkipTier.MEDIUM
    return SkipTier.LARGE


@dataclass(frozen=True, slots=True)
class DecodePolicy:
    """How the wall's decoders save CPU; the same for every camera."""

    # Skip non-reference frames when the host falls behind, small tiles first;
    # False (``videowall run --no-degrade``): decode every frame, and fall behind.
    degrade: bool = True
    # B-frames of cameras on small and 2x2 tiles without the deblocking filter;
    # False (``--full-deblocking``): every frame fully filtered.
    light_deblocking: bool = True


def deblocking_skip(policy: DecodePolicy, tier: SkipTier) -> str:
    """FFmpeg's ``skip_loop_filter`` for a camera of ``tier`` under ``policy``."""
    return "bidir" if policy.light_deblocking and tier < SkipTier.LARGE else "default"


@dataclass
class DecodeBudget:
    """One camera's skip level; fed every decoded frame.

    ``observe`` returns the level to decode at from the next frame on; it
    decides once a second, on the least lag of each second (see the module's
    doc). ``enabled`` False (``videowall run --no-degrade``) never skips, but
    still measures the lag.
    """

    enabled: bool = True
    level: SkipLevel = SkipLevel.EVERY_FRAME
    lag: float = 0.0  # the least lag of the last window: how far behind the decoder is
    _window_end: float | None = None
    _window_lag: float = 0.0
    _second: int | None = None  # the second being gathered (its number since time 0)
    _second_lag: float = 0.0  # its least lag so far
    # The least lag of the last seconds, oldest first, without a gap between them.
    _seconds: deque[tuple[int, float]] = field(default_factory=lambda: deque(maxlen=GROWING_S + 1))
    _calm_s: int = 0  # seconds running under one interval, while skipping
    _recover_s: int = RECOVER_S
    _recovered_at: float | None = None

    @property
    def skipping(self) -> bool:
        return self.level > SkipLevel.EVERY_FRAME

    def observe(self, now: float, lag: float, interval: float, tier: SkipTier) -> SkipLevel:
        if self._window_end is None or now >= self._window_end:
            if self._window_end is not None:
                self.lag = self._window_lag
            self._window_end, self._window_lag = now + WINDOW_S, lag
        self._window_lag = min(self._window_lag, lag)
        second = int(now // SECOND_S)
        if self._second is None or second < self._second:  # the first, or time went back
            self._second, self._second_lag = second, lag
            self._seconds.clear()
            return self.level
        if second == self._second:
            self._second_lag = min(self._second_lag, lag)
            return self.level
        self._close_second(self._second, self._second_lag, now, interval, tier)
        self._second, self._second_lag = second, lag
        return self.level

    def _close_second(
        self, second: int, least: float, now: float, interval: float, tier: SkipTier
    ) -> None:
        seconds = self._seconds
        if seconds and seconds[-1][0] != second - 1:
            # A second without a frame: a stall or a reconnect, not a trend.
            seconds.clear()
            self._calm_s = 0
        seconds.append((second, least))
        if not self.enabled:
            return
        interval = interval if interval > 0 else DEFAULT_INTERVAL_S
        if self.skipping:
            self._calm_s = self._calm_s + 1 if least < interval else 0
            if self._calm_s >= self._recover_s:
                self.level, self._calm_s = SkipLevel.EVERY_FRAME, 0
                self._recovered_at = now
                seconds.clear()  # judged afresh at every frame
        elif self._growing(interval, tier):
            self._start_skipping(now)

    def _growing(self, interval: float, tier: SkipTier) -> bool:
        """The least lag rose in each of the last GROWING_S seconds, by an interval or
        more in all, and is past the tier's limit."""
        if len(self._seconds) <= GROWING_S:
            return False
        lags = [least for _, least in self._seconds]
        return (
            lags[-1] > LAG_LIMIT_FRAMES[tier] * interval
            and lags[-1] - lags[0] >= GROWTH_FRAMES * interval
            and all(later > earlier for earlier, later in itertools.pairwise(lags))
        )

    def _start_skipping(self, now: float) -> None:
        relapse = self._recovered_at is not None and now - self._recovered_at < RELAPSE_S
        self._recover_s = min(MAX_RECOVER_S, self._recover_s * 2) if relapse else RECOVER_S
        self.level, self._calm_s = SkipLevel.REFERENCE_FRAMES, 0
        self._seconds.clear()

    def reset(self) -> None:
        """A new connection: lag starts again from nothing (the recovery wait is kept)."""
        self._window_end = self._second = None
        self._seconds.clear()
        self._calm_s = 0


class FrameInterval:
    """A stream's frame interval, smoothed from its timestamps.

    Held while the decoder skips frames: the gaps between the frames it still
    outputs are not the camera's interval, and the recovery rule needs that.
    """

    def __init__(self) -> None:
        self.seconds = 0.0
        self._last: float | None = None

    def update(self, stream_time: float | None, hold: bool) -> float:
        if stream_time is not None:
            if self._last is not None and not hold:
                gap = stream_time - self._last
                if 0 < gap < 1.0:  # a jump (a reconnect, a wrapped clock) is no interval
                    self.seconds = gap if not self.seconds else 0.95 * self.seconds + 0.05 * gap
            self._last = stream_time
        return self.seconds
