"""Cameras fail; the wall does not. Each fault is real: a GStreamer RTSP server on
127.0.0.1 killed, frozen, restarted at another size; a refused port; a port that
answers garbage; a wrong path; wrong credentials; a decoder process killed.

Each test checks the camera's state, what its tile shows (the banner's pixels)
and how soon it recovers.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from tests.helpers.layouts import grid_layout
from tests.helpers.pixels import BLUE, GREEN, RED, banner_share, is_black, share_near
from tests.helpers.processes import free_port
from tests.helpers.walls import tick_until, tile_pixels

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

Pixels = npt.NDArray[np.uint8]


def _state(app: WallApp, camera: str) -> Callable[[], bool]:
    return lambda: app.camera_states.get(camera) == "live"


def _reason(app: WallApp, camera: str) -> str:
    return app.pool.status(camera).reason


# -- cameras that never connect: name and reason on the tile, never a bare black tile --


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("refused", "connection refused"),
        ("not-found", "not found (404)"),
        ("garbage", "no valid stream"),
    ],
)
def test_a_camera_that_never_connects_says_why(
    wall: Callable[[str], WallApp], kind: str, reason: str
) -> None:
    stop = threading.Event()
    port = free_port()
    if kind == "garbage":
        threading.Thread(target=_garbage_server, args=(port, stop), daemon=True).start()
    server = SyntheticCameraServer([SyntheticCamera("red", "red", 160, 90, 10, RED)])
    server.start()
    try:
        url = {
            "refused": f"rtsp://127.0.0.1:{port}/x",
            "garbage": f"rtsp://127.0.0.1:{port}/x",
            "not-found": server.url("no-such-path"),
        }[kind]
        app = wall(grid_layout({"bad": url}))
        took = tick_until(
            app, lambda: app.camera_states.get("bad") == "retrying", 15, f"{kind} seen"
        )
        assert reason in _reason(app, "bad")
        tick_until(app, lambda: banner_share(tile_pixels(app)) > 0.15, 2, "banner painted")
        assert took < (7 if kind == "garbage" else 3)
        assert app.canvases["O1"].tiles[0].painted_notice is not None
        lines = app.canvases["O1"].tiles[0].painted_notice.lines  # type: ignore[union-attr]
        assert lines[0] == "Cam bad" and reason in lines[1]
    finally:
        stop.set()
        server.stop()


def _garbage_server(port: int, stop: threading.Event) -> None:
    """Accepts connections and answers anything with junk bytes."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    conn.recv(4096)
                    conn.sendall(os.urandom(2048) + b"\r\n\r\n")
                except OSError:
                    pass


def test_wrong_credentials_are_named_and_never_shown(wall: Callable[[str], WallApp]) -> None:
    camera = SyntheticCamera("red", "red", 160, 90, 10, RED)
    with SyntheticCameraServer([camera], user="operator", password="right-pass") as server:
        wrong = server.url("red").replace("right-pass", "wrong-pass")
        app = wall(grid_layout({"locked": wrong}))
        tick_until(app, lambda: app.camera_states.get("locked") == "retrying", 10, "401 seen")
        assert "unauthorised (401)" in _reason(app, "locked")
        notice = app.canvases["O1"].tiles[0].notice
        assert notice is not None and "wrong-pass" not in " ".join(notice.lines)


# -- a camera that was live, then fails and comes back ---------------------------------


def test_server_killed_then_restarted(wall: Callable[[str], WallApp]) -> None:
    server = SyntheticCameraServer([SyntheticCamera("red", "red", 160, 90, 10, RED)])
    server.start()
    try:
        app = wall(grid_layout({"red": server.url("red")}))
        tick_until(app, _state(app, "red"), 15, "live at first")
        server.kill()
        took = tick_until(
            app, lambda: app.camera_states.get("red") in ("retrying", "connecting"), 5, "seen"
        )
        assert took < 2.5
        tick_until(app, lambda: banner_share(tile_pixels(app)) > 0.1, 2, "NO SIGNAL banner")
        notice = app.canvases["O1"].tiles[0].painted_notice
        assert notice is not None and notice.dim and notice.lines[0] == "NO SIGNAL · Cam red"
        # The last picture stays, dimmed: red at a third of its brightness, not black.
        top = tile_pixels(app)[:10]
        assert share_near(top, (RED[0] // 3, RED[1] // 3, RED[2] // 3), tol=20) > 0.5
        server.start()  # same port, while the backoff is at its floor
        back = tick_until(app, _state(app, "red"), 10, "live again")
        assert back < 3.0, f"picture back after {back:.1f} s"
        tick_until(app, lambda: share_near(tile_pixels(app)[10:80], RED) > 0.6, 2, "picture back")
    finally:
        server.stop()


def test_server_frozen_then_resumed(wall: Callable[[str], WallApp]) -> None:
    server = SyntheticCameraServer([SyntheticCamera("green", "green", 160, 90, 10, GREEN)])
    server.start()
    try:
        app = wall(grid_layout({"green": server.url("green")}))
        tick_until(app, _state(app, "green"), 15, "live at first")
        server.pause()
        took = tick_until(app, lambda: app.camera_states.get("green") == "stalled", 6, "stall seen")
        assert 1.5 < took < 3.5, f"stalled after {took:.1f} s"
        tick_until(app, lambda: banner_share(tile_pixels(app)) > 0.1, 2, "NO SIGNAL banner")
        server.resume()
        back = tick_until(app, _state(app, "green"), 15, "live after resume")
        assert back < 12.0  # the same session resumes, or FFmpeg's timeout reconnects
        tick_until(app, lambda: banner_share(tile_pixels(app)) == 0, 2, "banner gone")
    finally:
        server.stop()


def test_resolution_change_keeps_the_letterbox_right(wall: Callable[[str], WallApp]) -> None:
    wide = SyntheticCameraServer([SyntheticCamera("cam", "cam", 320, 180, 10, BLUE)])
    wide.start()
    port = wide.port
    narrow = SyntheticCameraServer([SyntheticCamera("cam", "cam", 240, 180, 10, BLUE)], port=port)
    try:
        app = wall(grid_layout({"cam": wide.url("cam")}))
        tick_until(app, _state(app, "cam"), 15, "live at 16:9")
        tick_until(app, lambda: share_near(tile_pixels(app), BLUE) > 0.8, 2, "16:9 fills the tile")
        wide.stop()
        narrow.start()
        tick_until(
            app,
            lambda: (
                app.pool.status("cam").source_size == (240, 180)
                and share_near(tile_pixels(app)[:, 40:280], BLUE) > 0.8
            ),
            15,
            "4:3 picture",
        )
        tile = tile_pixels(app)
        assert is_black(tile[:, :38]) and is_black(tile[:, 282:]), "4:3 gets side bars"
    finally:
        wide.stop()
        narrow.stop()


def test_a_killed_decoder_process_is_restarted(wall: Callable[[str], WallApp]) -> None:
    server = SyntheticCameraServer([SyntheticCamera("red", "red", 160, 90, 10, RED)])
    server.start()
    try:
        app = wall(grid_layout({"red": server.url("red")}))
        tick_until(app, _state(app, "red"), 15, "live at first")
        (pid,) = app.pool.worker_pids()
        os.kill(pid, signal.SIGKILL)
        frames = app.pool.status("red").frames
        took = tick_until(
            app,
            lambda: (
                app.pool.worker_pids() not in ([], [pid])
                and app.pool.status("red").frames > frames + 5
            ),
            10,
            "frames again after the worker was killed",
        )
        assert took < 5.0, f"recovered after {took:.1f} s"
    finally:
        server.stop()


# -- streams of every kind are shown right --------------------------------------------


def test_h265_mjpeg_one_fps_and_pal_cameras(wall: Callable[[str], WallApp]) -> None:
    cameras = [
        SyntheticCamera("hevc", "hevc", 320, 180, 10, RED, codec="h265"),
        SyntheticCamera("mjpeg", "mjpeg", 320, 176, 10, GREEN, codec="mjpeg"),
        SyntheticCamera("slow", "slow", 320, 180, 1, BLUE),
        SyntheticCamera("pal", "pal", 352, 288, 10, RED, sar=(12, 11)),
    ]
    with SyntheticCameraServer(cameras) as server:
        app = wall(grid_layout({c.path: server.url(c.path) for c in cameras}))
        tick_until(
            app,
            lambda: all(app.camera_states.get(c.path) == "live" for c in cameras),
            20,
            "all live",
        )
        time.sleep(0.3)
        tick_until(app, lambda: share_near(tile_pixels(app, 0)[10:170], RED) > 0.6, 3, "h265")
        tick_until(app, lambda: share_near(tile_pixels(app, 1)[10:170], GREEN) > 0.6, 3, "mjpeg")
        tick_until(app, lambda: share_near(tile_pixels(app, 2)[10:170], BLUE) > 0.6, 3, "1 fps")
        pal = tile_pixels(app, 3)
        # 4:3 (12:11 pixels) in a 320x180 tile: 240 wide, 40 px bars each side.
        assert is_black(pal[:, :38]) and is_black(pal[:, 282:])
        assert share_near(pal[:, 42:278], RED) > 0.6
        # The 1 fps camera is live, not stalled, between its frames.
        end = time.monotonic() + 3
        while time.monotonic() < end:
            app.tick()
            assert app.camera_states["slow"] == "live"
            time.sleep(0.1)
