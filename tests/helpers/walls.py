"""Waiting for a condition (polled, or by ticking an in-process wall as its loop would),
and reading what an in-process wall shows."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from compositor.app import WallApp
from compositor.slots import CameraState
from tests.helpers.layouts import save
from tests.helpers.pixels import Pixels


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took. A file not written yet (OSError,
    ValueError, KeyError while reading it) counts as not yet."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if condition():
                return time.monotonic() - started
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def tick_until(app: WallApp, condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Tick the wall (as its run loop would) until ``condition``; returns the seconds taken."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        app.tick()
        if condition():
            return time.monotonic() - started
        time.sleep(0.04)
    raise AssertionError(f"{what}: not within {timeout} s (states: {app.camera_states})")


def tick_for(app: WallApp, seconds: float, each: Callable[[], None] | None = None) -> None:
    """Tick the wall for ``seconds``, calling ``each`` after every tick."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.tick()
        if each is not None:
            each()
        time.sleep(0.04)


def tile_pixels(app: WallApp, index: int = 0, output: str = "O1") -> Pixels:
    """One tile of a running wall's canvas, in BGR."""
    canvas = app.canvases[output]
    r = canvas.tiles[index].rect
    return canvas.to_bgr()[r.y : r.bottom, r.x : r.right]


def painted_lines(app: WallApp, index: int = 0, output: str = "O1") -> tuple[str, ...]:
    """The lines of the notice painted on a tile now (none: a live picture)."""
    notice = app.canvases[output].tiles[index].painted_notice
    return notice.lines if notice is not None else ()


def camera_is(app: WallApp, camera: str, *states: str) -> Callable[[], bool]:
    """A condition: ``camera``'s state is one of ``states``."""
    return lambda: app.camera_states.get(camera) in states


class DecoderWatch:
    """Samples the decoders of some cameras on every tick: a reconnect cannot hide."""

    def __init__(self, app: WallApp, cameras: list[str]) -> None:
        self.app = app
        self.index = {c: app.pool.index_of(c) for c in cameras}
        self.since = {c: app.pool.status(c).since for c in cameras}
        self.frames = {c: app.pool.status(c).frames for c in cameras}
        self.pids = sorted(app.pool.worker_pids())
        self.states: set[CameraState] = set()

    def sample(self) -> None:
        for index in self.index.values():
            self.states.add(self.app.pool.status_board.read(index).state)

    def check_kept(self) -> None:
        for camera, index in self.index.items():
            assert self.app.pool.index_of(camera) == index, f"{camera}: a new decoder"
            status = self.app.pool.status(camera)
            assert status.since == self.since[camera], f"{camera} reconnected"
            assert status.frames > self.frames[camera], f"{camera} stopped decoding"
        assert self.states == {CameraState.LIVE}, f"kept cameras went {self.states}"
        assert sorted(self.app.pool.worker_pids()) == self.pids, "worker processes changed"


def apply_edit(app: WallApp, path: Path, text: str, watch: DecoderWatch | None = None) -> float:
    """Save ``text`` over the layout and tick until the wall has dealt with it."""
    assert app.live is not None
    before = app.live.last_result
    save(path, text)

    def done() -> bool:
        if watch is not None:
            watch.sample()
        return app.live is not None and app.live.last_result is not before

    took = tick_until(app, done, 3.0, "the edit handled")
    print(f"edit {app.live.last_result.outcome} after {took:.2f} s: {app.live.last_result.message}")
    return took
