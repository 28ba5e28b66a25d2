"""Hot reload against real cameras: a running wall follows its layout file.

The parts alone first (watching, history, revert, the control socket), then
against real cameras. Edits are applied within a second; cameras that stay keep their decoder (no
reconnect: the same status record, never 'connecting' again, the same worker
processes); a camera no longer shown is stopped; a broken edit is refused
and the wall keeps showing its last good layout. Also SIGHUP, the history
of applied layouts, ``videowall revert`` and ``videowall status`` through
the real command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import RunOptions, WallApp
from compositor.control.unix_socket import ControlServer, WallNotRunning, send_request
from compositor.core.clock import MonotonicClock
from compositor.core.errors import CompositorError
from compositor.core.geometry import Fit
from compositor.demo.testcams import SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.models import CameraConfig, Layout
from compositor.layout.parse import load_layout
from compositor.live.reload import LayoutHistory, LayoutWatcher, revert_layout
from compositor.live.state_dir import default_state_dir, state_base
from compositor.slots import CameraState
from compositor.sources.pool import DecoderPool
from tests.conftest import BLUE, GREEN, RED, share_near, tick_until

Pixels = npt.NDArray[np.uint8]
COLOURS = {"red": RED, "green": GREEN, "blue": BLUE}


def layout_text(
    server: SyntheticCameraServer,
    tiles: list[str],
    grid: str = "1x2",
    extra: str = "",
    more_cameras: list[str] | None = None,
) -> str:
    cameras = sorted((set(tiles) | set(more_cameras or [])) & set(COLOURS))
    lines = ["cameras:"]
    lines += [f"  {c}: {{name: '{c.title()}', url: '{server.url(c)}'}}" for c in cameras]
    lines += [
        "outputs:",
        "  - id: O1",
        "    size: [320, 180]",
        f"    grid: {grid}",
        f"    tiles: [{', '.join(tiles)}]",
    ]
    return "\n".join(lines) + "\n" + extra


def line_of(text: str, word: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if word in line)


def save(path: Path, text: str) -> None:
    """As most editors save: a new file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)


def tiles_of(pixels: Pixels, grid: str) -> list[Pixels]:
    rows, cols = (int(n) for n in grid.split("x"))
    h, w = pixels.shape[0] // rows, pixels.shape[1] // cols
    return [
        pixels[r * h : (r + 1) * h, c * w : (c + 1) * w] for r in range(rows) for c in range(cols)
    ]


def shows(pixels: Pixels, grid: str, cameras: list[str]) -> bool:
    """Each tile's middle is mostly its camera's colour (pictures are letterboxed)."""
    for tile, camera in zip(tiles_of(pixels, grid), cameras, strict=True):
        h, w = tile.shape[:2]
        middle = tile[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
        if share_near(middle, COLOURS[camera]) < 0.6:
            return False
    return True


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


@pytest.mark.e2e
def test_edits_are_applied_live_and_kept_cameras_keep_their_decoders(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    path = tmp_path / "wall.yaml"
    text = layout_text(camera_server, ["red", "green"])
    app = wall(text, layout_path=path, state_dir=tmp_path / "state")
    assert app.live is not None
    tick_until(app, lambda: shows(app.canvases["O1"].to_bgr(), "1x2", ["red", "green"]), 15, "up")
    watch = DecoderWatch(app, ["red", "green"])

    # Swap two cameras: same tile sizes, so the same slots; the first frame drawn
    # after the change already shows both pictures (no black in between).
    took = apply_edit(app, path, layout_text(camera_server, ["green", "red"]), watch)
    assert app.live.last_result.outcome == "applied" and took < 1.0, app.live.last_result
    assert shows(app.canvases["O1"].to_bgr(), "1x2", ["green", "red"]), "no black flash"

    # Resize the grid: each camera gets a rendition of the new size, live.
    took = apply_edit(app, path, layout_text(camera_server, ["green", "red"], "2x1"), watch)
    assert app.live.last_result.outcome == "applied" and took < 1.0, app.live.last_result
    assert "new tile sizes for" in app.live.last_result.message
    tick_until(
        app,
        lambda: (watch.sample(), shows(app.canvases["O1"].to_bgr(), "2x1", ["green", "red"]))[1],
        1.0,
        "pictures at the new size",
    )
    watch.check_kept()

    # Remove a camera and add one: the removed decoder stops, the new one starts.
    green_index = app.pool.index_of("green")
    red_watch = DecoderWatch(app, ["red"])
    took = apply_edit(app, path, layout_text(camera_server, ["red", "blue"], "2x1"), red_watch)
    assert app.live.last_result.outcome == "applied" and took < 1.0, app.live.last_result
    assert app.pool.camera_ids == ["red", "blue"]
    tick_until(
        app,
        lambda: app.pool.status_board.read(green_index).state is CameraState.STOPPED,
        2.0,
        "green's decoder stopped",
    )
    stopped_frames = app.pool.status_board.read(green_index).frames
    tick_until(
        app,
        lambda: (
            red_watch.sample(),
            shows(app.canvases["O1"].to_bgr(), "2x1", ["red", "blue"]),
        )[1],
        10.0,
        "the new camera on the wall",
    )
    assert app.pool.status_board.read(green_index).frames == stopped_frames
    red_watch.check_kept()

    # A broken edit is refused: errors at file:line:col, the wall unchanged.
    shown = app.layout
    red_watch = DecoderWatch(app, ["red", "blue"])
    broken = layout_text(camera_server, ["red", "cam_nope"], "2x1")
    apply_edit(app, path, broken)
    result = app.live.last_result
    assert result.outcome == "refused"
    line = line_of(broken, "cam_nope")
    at = f"{path}:{line}:{broken.splitlines()[line - 1].index('cam_nope') + 1}:"
    assert result.errors == (f"{at} unknown camera 'cam_nope'",), result
    assert app.layout is shown
    tick_until(app, lambda: (red_watch.sample(), False)[1] or app.ticks % 25 == 0, 2, "ticks")
    assert shows(app.canvases["O1"].to_bgr(), "2x1", ["red", "blue"])
    red_watch.check_kept()
    app._write_status_now()
    status = json.loads((tmp_path / "state" / "status.json").read_text())
    assert status["last_reload"]["outcome"] == "refused"
    assert status["last_reload"]["errors"] == [f"{at} unknown camera 'cam_nope'"]
    assert status["cameras"]["red"]["state"] == "live"

    # Every applied version is kept; revert puts the one before the last back.
    history = LayoutHistory(tmp_path / "state" / "history")
    assert len(history.entries()) == 4  # the start, the swap, the resize, the new camera
    entry = revert_layout(path, history)  # the file holds the refused edit: back to the last good
    assert entry.path == history.entries()[-1].path
    assert path.read_text() == layout_text(camera_server, ["red", "blue"], "2x1")

    # A camera whose URL changed is a new connection; the others are untouched.
    red_index = app.pool.index_of("red")
    blue_watch = DecoderWatch(app, ["blue"])
    moved = layout_text(camera_server, ["red", "blue"], "2x1")
    took = apply_edit(
        app, path, moved.replace(camera_server.url("red"), camera_server.url("green"))
    )
    assert app.live.last_result.message == "restarted red" and took < 1.0
    assert app.pool.index_of("red") != red_index
    tick_until(
        app,
        lambda: app.pool.status_board.read(red_index).state is CameraState.STOPPED,
        2.0,
        "the old connection closed",
    )
    tick_until(
        app,
        lambda: (blue_watch.sample(), shows(app.canvases["O1"].to_bgr(), "2x1", ["green", "blue"]))[
            1
        ],
        10.0,
        "camera 'red' shows the new stream",
    )
    blue_watch.check_kept()


@pytest.mark.e2e
def test_sighup_status_and_revert_through_the_command_line(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    path, state, snaps = tmp_path / "wall.yaml", tmp_path / "state", tmp_path / "snaps"
    first = layout_text(camera_server, ["red", "green"])
    path.write_text(first)
    wall = run_wall(path, state, snaps, "--no-watch")
    try:
        wait_for(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 20, "wall up")
        status = read_status(state)
        pids, applied_at = status["decoder_pids"], status["applied_at"]
        frames = status["cameras"]["red"]["frames"]

        save(path, layout_text(camera_server, ["green", "red"]))
        time.sleep(0.8)  # --no-watch: the file is not looked at...
        assert read_status(state)["last_reload"]["trigger"] == "start"
        started = time.monotonic()
        wall.send_signal(signal.SIGHUP)  # ...until SIGHUP
        wait_for(lambda: read_status(state)["last_reload"]["trigger"] == "SIGHUP", 2, "SIGHUP")
        wait_for(lambda: shows_png(snaps / "O1.png", "1x2", ["green", "red"]), 2, "swapped")
        assert time.monotonic() - started < 1.5
        status = read_status(state)
        assert status["decoder_pids"] == pids and status["applied_at"] != applied_at
        assert status["cameras"]["red"]["frames"] > frames

        shown = videowall("status", "--state-dir", str(state))
        assert shown.returncode == 0, shown.stderr
        assert "running" in shown.stdout and "applied (SIGHUP)" in shown.stdout
        assert "red" in shown.stdout and "live" in shown.stdout

        reverted = videowall("revert", str(path), "--state-dir", str(state))
        assert reverted.returncode == 0, reverted.stderr
        assert "restored" in reverted.stdout and path.read_text() == first
        # The wall does not watch its file here: revert told it to reload.
        wait_for(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 2, "reverted")
        # Kept: the first, the swapped one, the first again (applied anew).
        kept = [entry.text() for entry in LayoutHistory(state / "history").entries()]
        assert kept == [first, layout_text(camera_server, ["green", "red"]), first]
    finally:
        wall.send_signal(signal.SIGTERM)
        output, _ = wall.communicate(timeout=10)
    assert wall.returncode == 0, output
    assert "Traceback" not in output
    assert not (state / "control.sock").exists()
    gone = videowall("status", "--state-dir", str(state))
    assert gone.returncode == 2 and "NOT RUNNING" in gone.stdout


def run_wall(path: Path, state: Path, snaps: Path, *more: str) -> subprocess.Popen[str]:
    """``videowall run`` headless, its snapshots every 0.2 s."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "compositor", "run", str(path), "--headless", *more),
            *("--state-dir", str(state), "--snapshot", str(snaps), "--every", "0.2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def videowall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compositor", *args], capture_output=True, text=True, timeout=30
    )


def read_status(state: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((state / "status.json").read_text())
    return data


def shows_png(path: Path, grid: str, cameras: list[str]) -> bool:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.exists() else None
    return image is not None and shows(image, grid, cameras)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except (OSError, ValueError, KeyError):
            pass  # a file not written yet
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s")


@pytest.mark.e2e
def test_a_restarted_worker_starts_with_the_cameras_it_has_now(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    """A camera added by a reload is part of its worker from then on: a worker killed
    afterwards comes back with it (and without the one removed)."""
    path = tmp_path / "wall.yaml"
    app = wall(layout_text(camera_server, ["red", "green"]), workers=1)
    tick_until(app, lambda: app.camera_states.get("green") == "live", 15, "up")
    change = app.apply_layout(load_layout_text(path, layout_text(camera_server, ["red", "blue"])))
    assert change == "added blue; removed green"
    tick_until(app, lambda: app.camera_states.get("blue") == "live", 15, "blue live")
    (pid,) = app.pool.worker_pids()
    os.kill(pid, signal.SIGKILL)
    frames = {c: app.pool.status(c).frames for c in ("red", "blue")}
    tick_until(
        app,
        lambda: (
            app.pool.worker_pids() not in ([], [pid])
            and all(app.pool.status(c).frames > frames[c] + 5 for c in frames)
        ),
        10,
        "both cameras decoded again by the new worker",
    )
    assert shows(app.canvases["O1"].to_bgr(), "1x2", ["red", "blue"])
    assert app.pool.camera_ids == ["red", "blue"]

    # Headless, outputs may come and go: a second output showing a kept camera.
    two = layout_text(camera_server, ["red", "blue"]) + (
        "  - {id: O2, size: [160, 90], tiles: [{camera: blue, rect: [0, 0, 160, 90]}]}\n"
    )
    assert app.apply_layout(load_layout_text(path, two)) == "new tile sizes for blue"
    tick_until(app, lambda: shows(app.canvases["O2"].to_bgr(), "1x1", ["blue"]), 2, "O2 shown")


def load_layout_text(path: Path, text: str) -> Layout:
    path.write_text(text)
    return load_layout(path)


@pytest.mark.e2e
def test_a_windowed_wall_redraws_the_new_arrangement_and_refuses_new_outputs(
    camera_server: SyntheticCameraServer, x_display: VirtualDisplay, tmp_path: Path
) -> None:
    path = tmp_path / "wall.yaml"
    path.write_text(layout_text(camera_server, ["red", "green"]))
    options = RunOptions(
        windowed=True, display_name=x_display.name, fps=15, layout_path=path, state_dir=tmp_path
    )
    app = WallApp(load_layout(path), options)
    try:
        app.start()
        assert app.display is not None and app.live is not None
        window = app.display
        tick_until(app, lambda: shows(window.read_pixels("O1"), "1x2", ["red", "green"]), 15, "up")

        # One tile fewer: the cell it leaves must go black on screen too, not only
        # in the canvas (the whole window is redrawn after a change).
        apply_edit(app, path, layout_text(camera_server, ["red"]))
        app.tick()
        assert (window.read_pixels("O1") == app.canvases["O1"].to_bgr()).all()
        assert int(window.read_pixels("O1")[:, 170:].max()) <= 24, "green is gone"

        # Another output size needs new windows: refused, the wall as it was.
        apply_edit(app, path, layout_text(camera_server, ["red"]).replace("320, 180", "640, 360"))
        assert app.live.last_result.outcome == "refused"
        assert "needs a restart" in app.live.last_result.errors[0]
        app.tick()
        assert shows(window.read_pixels("O1")[:, :160], "1x1", ["red"])
    finally:
        app.close()


# -- the parts alone ----------------------------------------------------------------


def test_the_watcher_sees_a_rename_and_waits_for_the_file_to_settle(tmp_path: Path) -> None:
    path = tmp_path / "wall.yaml"
    path.write_text("one")
    watcher = LayoutWatcher(path, every=0.25)
    assert not watcher.poll(0.0)
    save(path, "two")  # a new file (inode) renamed over the old one
    assert not watcher.poll(0.1)  # not time to look yet
    assert not watcher.poll(0.3)  # changed: looked at once more before it counts
    path.write_text("two, still being written")
    assert not watcher.poll(0.6)  # changed again: wait again
    assert watcher.poll(0.9)
    assert not watcher.poll(1.2)
    path.unlink()  # an editor between unlink and rename
    assert not watcher.poll(1.5) and not watcher.poll(1.8)
    path.write_text("three")
    assert not watcher.poll(2.1) and watcher.poll(2.4)


def test_history_keeps_the_newest_and_revert_restores_the_previous(tmp_path: Path) -> None:
    history = LayoutHistory(tmp_path / "history", keep=3)
    layout = tmp_path / "wall.yaml"
    for n, text in enumerate(["a\n", "b\n", "b\n", "c\n", "d\n"]):
        history.record(text, 1_700_000_000.0 + n)
    entries = history.entries()
    assert [e.text() for e in entries] == ["b\n", "c\n", "d\n"]  # b twice is kept once
    assert [e.number for e in entries] == [2, 3, 4]
    assert entries[0].path.name.endswith("-2.yaml") and entries[0].path.name[:8].isdigit()
    layout.write_text("d\n")
    os.chmod(layout, 0o640)
    assert revert_layout(layout, history).text() == "c\n"  # the one before the current
    assert layout.read_text() == "c\n" and layout.stat().st_mode & 0o777 == 0o640
    layout.write_text("d, broken\n")  # an edit the wall refused: back to the last good
    assert revert_layout(layout, history).text() == "d\n"
    with pytest.raises(CompositorError, match="no applied versions"):
        revert_layout(layout, LayoutHistory(tmp_path / "none"))


def test_state_folder_per_layout_under_xdg_state_home(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path)}
    one = default_state_dir(Path("/srv/a/wall.yaml"), env)
    other = default_state_dir(Path("/srv/b/wall.yaml"), env)
    assert one.parent == tmp_path / "videowall" and one.name.startswith("wall-")
    assert one != other
    assert default_state_dir(Path("wall.yaml"), {}).parent == state_base({})


def test_control_socket_answers_from_the_loop_even_in_a_deep_folder(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)  # past sockaddr_un's 107 bytes
    path = deep / "control.sock"
    assert len(str(path)) > 107
    with pytest.raises(WallNotRunning):
        send_request(path, {"command": "presets"})
    handled: list[dict[str, object]] = []

    def handle(request: dict[str, object]) -> dict[str, object]:
        handled.append(request)
        if request.get("command") == "boom":
            raise CompositorError("no such thing")
        return {"ok": True, "echo": request}

    server = ControlServer(path, handle)
    server.start()
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        assert send_request(path, {"command": "x", "n": 1}) == {
            "ok": True,
            "echo": {"command": "x", "n": 1},
        }
        assert send_request(path, {"command": "boom"}) == {"ok": False, "error": "no such thing"}
        with pytest.raises(CompositorError, match="another wall"):
            ControlServer(path, handle)
    finally:
        server.close()
    assert not path.exists()
    with pytest.raises(WallNotRunning):
        send_request(path, {"command": "presets"})


@pytest.mark.e2e
def test_a_worker_that_stops_reading_its_commands_is_restarted_with_its_cameras() -> None:
    """The render loop never waits on a worker: a full command pipe marks the worker
    for a restart, which gives it the cameras and sizes it should have."""
    cameras = {"a": CameraConfig(url="rtsp://127.0.0.1:9/a")}  # nothing listens: it retries
    pool = DecoderPool(cameras, [("a", 16, 16, Fit.LETTERBOX)], MonotonicClock(), workers=1)
    try:
        pool.start()
        (pid,) = pool.worker_pids()
        os.kill(pid, signal.SIGSTOP)  # alive, reading nothing
        started = time.monotonic()
        for size in range(2, 6):  # a few hundred tile sizes per change: the pipe fills up
            pool.apply(cameras, [("a", 16 + n, 16 * size, Fit.LETTERBOX) for n in range(300)])
            pool.release_retired()
        assert time.monotonic() - started < 2.0, "the render loop was held up"
        pool.supervise()
        assert pool.worker_pids() != [pid] and pool._workers[0].restarts == 1
        (job,) = pool._workers[0].spec.jobs
        assert len(job.renditions) == 300 and job.renditions[0].box_h == 16 * 5
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
        pool.stop()
