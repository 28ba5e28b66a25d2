"""When the host cannot keep up: degrade small tiles first, never everything a little.

A camera whose decoder the CPU starves falls behind its stream: its frames
come out of the decoder later and later after they were taken (the lag the
:class:`~compositor.sources.timing.CaptureClock` measures grows). Left alone,
every camera on the wall drifts behind together, by seconds, then minutes.
Instead each camera's decoder gives up frames in steps once its lag has
stayed over a limit for a while, and the limit grows with the size of the
largest tile the camera is on, so the order is stated and fixed:

1. cameras only on small tiles (up to 640x360: 4x4 and 3x3 grids) skip their
   non-reference frames (the B-frames of a camera stream: about a quarter of
   the decoding for a third of the frames) at a lag of 2 frame intervals;
2. cameras on tiles up to 960x540 (2x2 grids) do the same at 4 intervals;
3. full-screen and spanning pictures last, at 8 intervals.

Key frames only (``NONKEY``) would save far more, but FFmpeg's H.264 decoder
then holds each key frame in its reordering buffer until two more have come:
pictures 4 s late on a 2 s GOP (measured), worse than the lag it cures.

Sub-streams come before all of this and need no trigger: a camera with a
``url_low`` is decoded from it whenever all its tiles are small (see
:mod:`streams`). A camera steps back towards every frame once its lag has
stayed under one interval for a while (each step waits again); a camera that
falls behind again soon after waits twice as long the next time, so a host at
its limit does not flap. Pure logic, time passed in: unit-tested without a
stream.

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

from dataclasses import dataclass
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
# Lag, in frame intervals, held for HOLD_S, after which a tier skips non-reference frames.
LAG_LIMIT_FRAMES = {SkipTier.SMALL: 2.0, SkipTier.MEDIUM: 4.0, SkipTier.LARGE: 8.0}
HOLD_S = 1.0  # a network burst delays a few frames; a starved decoder stays behind
RECOVER_S = 10.0  # lag under one interval this long: every frame again
MAX_RECOVER_S = 300.0
RELAPSE_S = 60.0  # behind again within this of recovering: the next recovery waits longer
DEFAULT_INTERVAL_S = 0.04  # until the camera's frame interval is known
# A decoder that reorders B-frames outputs some frames a couple of intervals after
# others even when it keeps up; the least lag of a short window is the one that says
# whether it is behind (when it is, every frame is late).
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
    decides on the least lag of each :data:`WINDOW_S`. ``enabled`` False
    (``videowall run --no-degrade``) never skips, but still measures the lag.
    """

    enabled: bool = True
    level: SkipLevel = SkipLevel.EVERY_FRAME
    lag: float = 0.0  # the least lag of the last window: how far behind the decoder is
    _window_end: float | None = None
    _window_lag: float = 0.0
    _over_since: float | None = None
    _under_since: float | None = None
    _recover_s: float = RECOVER_S
    _recovered_at: float | None = None

    @property
    def skipping(self) -> bool:
        return self.level > SkipLevel.EVERY_FRAME

    def observe(self, now: float, lag: float, interval: float, tier: SkipTier) -> SkipLevel:
        if self._window_end is None:
            self._window_end, self._window_lag = now + WINDOW_S, lag
        self._window_lag = min(self._window_lag, lag)
        if now < self._window_end:
            return self.level
        lag, self._window_end = self._window_lag, None
        self.lag = lag
        if not self.enabled:
            return self.level
        interval = interval if interval > 0 else DEFAULT_INTERVAL_S
        if lag > LAG_LIMIT_FRAMES[tier] * interval:
            self._under_since = None
            if not self.skipping:
                if self._over_since is None:
                    self._over_since = now
                if now - self._over_since >= HOLD_S:
                    self._start_skipping(now)
        elif lag < interval and self.skipping:
            self._over_since = None
            if self._under_since is None:
                self._under_since = now
            if now - self._under_since >= self._recover_s:
                self.level, self._under_since = SkipLevel.EVERY_FRAME, None
                self._recovered_at = now
        else:
            self._over_since = self._under_since = None
        return self.level

    def _start_skipping(self, now: float) -> None:
        relapse = self._recovered_at is not None and now - self._recovered_at < RELAPSE_S
        self._recover_s = min(MAX_RECOVER_S, self._recover_s * 2) if relapse else RECOVER_S
        self.level, self._over_since = SkipLevel.REFERENCE_FRAMES, None

    def reset(self) -> None:
        """A new connection: lag starts again from nothing (the recovery wait is kept)."""
        self._over_since = self._under_since = self._window_end = None


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
