"""Hot reload end to end: a running wall follows its layout file, on real cameras."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import RunOptions, WallApp
from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.demo.testcams import SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.models import CameraConfig, Layout
from compositor.layout.parse import load_layout
from compositor.live.reload import LayoutHistory, revert_layout
from compositor.slots import CameraState
from compositor.sources.pool import DecoderPool
from tests.helpers.layouts import layout_text, line_of, save
from tests.helpers.pixels import shows, shows_png
from tests.helpers.processes import read_status, run_wall, videowall
from tests.helpers.walls import DecoderWatch, apply_edit, tick_until, wait_until

Pixels = npt.NDArray[np.uint8]

pytestmark = [pytest.mark.e2e, pytest.mark.alone]


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


def test_sighup_status_and_revert_through_the_command_line(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    path, state, snaps = tmp_path / "wall.yaml", tmp_path / "state", tmp_path / "snaps"
    first = layout_text(camera_server, ["red", "green"])
    path.write_text(first)
    wall = run_wall(path, state, snaps, "--no-watch")
    try:
        wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 20, "wall up")
        status = read_status(state)
        pids, applied_at = status["decoder_pids"], status["applied_at"]
        frames = status["cameras"]["red"]["frames"]

        save(path, layout_text(camera_server, ["green", "red"]))
        time.sleep(0.8)  # --no-watch: the file is not looked at...
        assert read_status(state)["last_reload"]["trigger"] == "start"
        started = time.monotonic()
        wall.send_signal(signal.SIGHUP)  # ...until SIGHUP
        wait_until(lambda: read_status(state)["last_reload"]["trigger"] == "SIGHUP", 2, "SIGHUP")
        wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["green", "red"]), 2, "swapped")
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
        wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 2, "reverted")
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
