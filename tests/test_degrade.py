"""When the host cannot keep up: small tiles give up frames first, then bigger ones, and
every camera decodes every frame again once the host has caught up.

Real parts: a real RTSP server streaming an H.264 clip with B-frames, the wall's own
camera threads and status board. Only the clock is ours, so the decoder can be made
to look behind by a chosen lag without starving this machine's CPU.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from benchmarks.clips import ClipSpec, ensure_clip
from compositor.core.geometry import Fit
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.slots import FrameSlot, StatusBoard
from compositor.sources.budget import (
    GROWING_S,
    LAG_LIMIT_FRAMES,
    RECOVER_S,
    DecodePolicy,
    SkipLevel,
    SkipTier,
)
from compositor.sources.camera import CameraJob, RenditionSpec, run_camera
from tests.helpers.walls import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

# 25 fps, GOP 50, two B-frames: what the wall's cameras send.
CLIP = ClipSpec("degrade", 320, 180, fps=25, kbps=300, seconds=4)
INTERVAL = 1 / CLIP.fps


class LaggingClock:
    """The real monotonic clock, plus a lag the test makes grow: every frame decoded from
    then on looks later and later after it was sent, as when the CPU is too slow for the
    decoder (a lag that only jumps is a hiccup, and costs no frames: test_budget.py)."""

    def __init__(self) -> None:
        self._lag = 0.0
        self._rate = 0.0
        self._since = time.monotonic()

    @property
    def lag(self) -> float:
        return self._lag + self._rate * (time.monotonic() - self._since)

    def grow(self, rate: float) -> None:
        """From now on the lag grows by ``rate`` seconds a second (0: it stays)."""
        self._lag, self._rate, self._since = self.lag, rate, time.monotonic()

    def catch_up(self) -> None:
        """The decoder is on time again."""
        self._lag, self._rate = 0.0, 0.0

    def now(self) -> float:
        return time.monotonic() + self.lag

    def wall_time(self) -> float:
        return time.time()


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_clip(CLIP, tmp_path_factory.mktemp("clips"), log=False)


@pytest.fixture(scope="module")
def clip_server(clip: Path) -> Iterator[SyntheticCameraServer]:
    with SyntheticCameraServer([SyntheticCamera.from_clip("cam", "cam", clip)]) as server:
        yield server


def _decode_luma(clip: Path, skip_loop_filter: str) -> list[tuple[str, np.ndarray]]:
    """Every picture's type and luma, the option set as the camera threads set it."""
    with av.open(str(clip)) as container:
        stream = container.streams.video[0]
        stream.codec_context.options = {"skip_loop_filter": skip_loop_filter}
        return [
            (PictureType(frame.pict_type).name, frame.to_ndarray(format="gray").astype(np.float64))
            for frame in container.decode(stream)
        ]


def test_light_deblocking_changes_b_frames_and_invisibly(clip: Path) -> None:
    # What DecodePolicy.light_deblocking does to a camera on a small tile: FFmpeg gets
    # the option when the codec opens; B-frames lose their deblocking, and the frames
    # predicted from them a little too, up to the next key frame.
    full, light = _decode_luma(clip, "default"), _decode_luma(clip, "bidir")
    assert [kind for kind, _ in full] == [kind for kind, _ in light]
    changed_b = 0
    for (kind, a), (_, b) in zip(full, light, strict=True):
        mse = float(np.mean((a - b) ** 2))
        if kind == "I":
            assert mse == 0, "a key frame changed"
        elif mse:
            changed_b += kind == "B"
            assert 10 * np.log10(255**2 / mse) > 40, f"a {kind}-frame changed visibly"
    assert changed_b > len(full) // 4, "the option did not reach the decoder"


def test_small_tiles_skip_first_and_everything_recovers(
    clip_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    # One camera on a small tile, one on a big one: the same stream, two decoders.
    sizes = {"small": (320, 180), "big": (1280, 720)}
    board = StatusBoard(tmp_path / "status", len(sizes), create=True)
    clock = LaggingClock()
    stop = threading.Event()
    threads = []
    for index, (name, (w, h)) in enumerate(sizes.items()):
        FrameSlot(tmp_path / name, w, h, create=True).close()
        spec = RenditionSpec(str(tmp_path / name), w, h, Fit.LETTERBOX)
        job = CameraJob(index, name, clip_server.url("cam"), (spec,))
        thread = threading.Thread(target=run_camera, args=(job, board, stop, clock), daemon=True)
        threads.append(thread)
        thread.start()

    def levels() -> tuple[SkipLevel, SkipLevel]:
        return SkipLevel(board.read(0).skipping), SkipLevel(board.read(1).skipping)

    def frame_rate(index: int, seconds: float = 2.0) -> float:
        before = board.read(index).frames
        time.sleep(seconds)
        return (board.read(index).frames - before) / seconds

    every, references = SkipLevel
    try:
        wait_until(
            lambda: min(board.read(i).frames for i in range(2)) > 30, 20, "both cameras live"
        )
        full_rate = frame_rate(0)
        time.sleep(2.0)
        assert levels() == (every, every), "a host keeping up skips nothing"

        # Slower than real time: the lag grows 30 ms a second. The small tile's limit is
        # passed first; it skips once the lag has grown GROWING_S seconds running.
        clock.grow(0.03)
        wait_until(
            lambda: levels()[0] == references, GROWING_S + 6, "the small tile skips B-frames"
        )
        clock.grow(0.0)  # that helped: behind, no further
        assert clock.lag < LAG_LIMIT_FRAMES[SkipTier.LARGE] * INTERVAL
        time.sleep(2.0)
        assert levels() == (references, every), "the big tile keeps every frame"
        skipped_rate = frame_rate(0)
        # Only the non-reference B-frames go: fewer frames, still a moving picture.
        assert 0.3 * full_rate < skipped_rate < 0.85 * full_rate, (full_rate, skipped_rate)
        assert frame_rate(1) > 0.9 * full_rate

        clock.grow(0.1)  # further and further behind: the big tile skips B-frames too
        wait_until(
            lambda: levels() == (references, references), GROWING_S + 6, "the big tile skips"
        )

        clock.catch_up()  # caught up: after a few calm seconds, every frame again
        wait_until(lambda: levels() == (every, every), RECOVER_S + 4, "both decode every frame")
        assert frame_rate(0) > 0.9 * full_rate
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        board.close()


def test_no_degrade_never_skips(clip_server: SyntheticCameraServer, tmp_path: Path) -> None:
    board = StatusBoard(tmp_path / "status", 1, create=True)
    FrameSlot(tmp_path / "slot", 320, 180, create=True).close()
    spec = RenditionSpec(str(tmp_path / "slot"), 320, 180, Fit.LETTERBOX)
    job = CameraJob(0, "cam", clip_server.url("cam"), (spec,), policy=DecodePolicy(degrade=False))
    clock = LaggingClock()
    stop = threading.Event()
    thread = threading.Thread(target=run_camera, args=(job, board, stop, clock), daemon=True)
    thread.start()
    try:
        wait_until(lambda: board.read(0).frames > 10, 20, "the camera is live")
        clock.grow(0.2)
        before = board.read(0).frames
        time.sleep(GROWING_S + 3)
        assert not board.read(0).skipping
        assert board.read(0).frames - before > 0.8 * CLIP.fps * (GROWING_S + 3)
    finally:
        stop.set()
        thread.join(timeout=5)
        board.close()
