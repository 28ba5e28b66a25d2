"""Faults beyond the plain ones (see test_faults.py), against real servers on
127.0.0.1: a camera that answers one byte at a time (av.open hangs despite the socket
timeout), one that accepts and never answers, one stuck inside FFmpeg (its worker is
restarted), a stream of a codec FFmpeg does not know, a freeze longer than FFmpeg's
own timeout, resolution and pixel aspect changing in the middle of a stream (same
connection), a camera coming back with another codec, thousands of failed
connections with no descriptor or thread leaked, and 24 cameras whose healthy 20
keep the frame rate they had before 4 others failed in four different ways.

Each test checks the camera's state, what its tile shows and how soon.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import WallApp
from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.demo.faults import pipeline_camera
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.slots import CameraState, FrameSlot, StatusBoard
from compositor.sources import pool as pool_module
from compositor.sources.backoff import Backoff
from compositor.sources.camera import CameraJob, RenditionSpec, run_camera
from tests.helpers.layouts import grid_layout
from tests.helpers.pixels import BLUE, GREEN, RED, banner_share, is_black, share_near
from tests.helpers.processes import free_port
from tests.helpers.walls import camera_is, painted_lines, tick_for, tick_until, tile_pixels

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

Pixels = npt.NDArray[np.uint8]


def _attempting(app: WallApp, camera: str) -> Callable[[], bool]:
    return lambda: app.pool.status(camera).state is CameraState.CONNECTING


# -- servers that misbehave ------------------------------------------------------------


class _TcpServer:
    """A tiny TCP server on 127.0.0.1; ``serve(conn, stop)`` runs per connection."""

    def __init__(self, serve: Callable[[socket.socket, threading.Event], None], port: int = 0):
        self._serve = serve
        self._stop = threading.Event()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", port))
        self._listener.listen()
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._serve(conn, self._stop)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()


def _drip(conn: socket.socket, stop: threading.Event) -> None:
    """Starts an RTSP reply and never finishes it: one header line every half second.

    Each read gets a byte well within FFmpeg's socket timeout, so only a bound on
    the whole open ends it.
    """
    conn.recv(4096)
    conn.sendall(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n")
    line = 0
    while not stop.wait(0.5):
        conn.sendall(b"X-Slow-%d: x\r\n" % line)
        line += 1


def _garbage(conn: socket.socket, stop: threading.Event) -> None:
    conn.settimeout(1.0)
    conn.recv(4096)
    conn.sendall(os.urandom(2048) + b"\r\n\r\n")


BLUE_SOURCE = (
    "videotestsrc is-live=true pattern=solid-color foreground-color=0xff2846c8 ! "
    "capsfilter name=size caps=video/x-raw,format=I420,width=320,height=180,"
    "pixel-aspect-ratio=1/1,framerate=10/1"
)


# -- the tests -------------------------------------------------------------------------


def test_a_camera_answering_one_byte_at_a_time_times_out_and_says_so(
    wall: Callable[..., WallApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short open timeout for the test (the product's is 15 s, for 1 fps cameras).
    monkeypatch.setattr(pool_module, "CameraJob", functools.partial(CameraJob, open_timeout_s=3))
    drip = _TcpServer(_drip)
    try:
        app = wall(grid_layout({"slow": f"rtsp://127.0.0.1:{drip.port}/x"}))
        # From the attempt itself: a tile says "connecting" while its worker still starts.
        tick_until(app, _attempting(app, "slow"), 10, "connecting")
        took = tick_until(app, camera_is(app, "slow", "retrying"), 10, "open timed out")
        assert 2.5 < took < 4.5, f"gave up after {took:.1f} s, not the 3 s open timeout"
        assert "did not finish answering in 3 s" in app.pool.status("slow").reason
        tick_until(app, lambda: banner_share(tile_pixels(app)) > 0.15, 2, "banner painted")
        lines = painted_lines(app)
        assert lines[0] == "Cam slow" and lines[1].startswith("timeout")
    finally:
        drip.close()


def test_a_camera_that_accepts_and_never_answers_is_a_timeout(
    wall: Callable[..., WallApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    # FFmpeg calls this "invalid data" after the socket timeout; the tile says timeout.
    monkeypatch.setattr(pool_module, "CameraJob", functools.partial(CameraJob, timeout_s=2))
    mute = _TcpServer(lambda conn, stop: stop.wait(30))
    try:
        app = wall(grid_layout({"mute": f"rtsp://127.0.0.1:{mute.port}/x"}))
        # From the attempt itself: a tile says "connecting" while its worker still starts.
        tick_until(app, _attempting(app, "mute"), 10, "connecting")
        took = tick_until(app, camera_is(app, "mute", "retrying"), 10, "timed out")
        assert 1.7 < took < 3.0, f"gave up after {took:.1f} s, not the 2 s socket timeout"
        reason = app.pool.status("mute").reason
        assert reason == "timeout: the camera accepted the connection but did not answer in 2 s"
        tick_until(app, lambda: banner_share(tile_pixels(app)) > 0.15, 2, "banner painted")
        assert painted_lines(app)[:2] == ("Cam mute", reason)
    finally:
        mute.close()


def test_a_camera_stuck_inside_ffmpeg_gets_its_worker_restarted(
    wall: Callable[..., WallApp], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Beyond every FFmpeg timeout only killing its process frees a thread. The product
    # waits 30 s (FFmpeg itself may take 18 s to notice a camera that stopped sending
    # RTP); here 3 s, with an open that would hang for the product's 15 s.
    monkeypatch.setattr(pool_module, "CAMERA_STUCK_AFTER_S", 3.0)
    drip = _TcpServer(_drip)
    camera = SyntheticCamera("red", "red", 160, 90, 10, RED)
    try:
        with SyntheticCameraServer([camera]) as server:
            urls = {"red": server.url("red"), "stuck": f"rtsp://127.0.0.1:{drip.port}/x"}
            app = wall(grid_layout(urls), workers=1)  # both cameras in one worker
            tick_until(app, camera_is(app, "red", "live"), 15, "red live")
            (pid,) = app.pool.worker_pids()
            with caplog.at_level(logging.ERROR, logger="compositor.sources.pool"):
                tick_until(app, lambda: app.pool.worker_pids() != [pid], 10, "worker restarted")
            assert "has camera stuck stuck inside FFmpeg" in caplog.text
            frames = app.pool.status("red").frames
            back = tick_until(
                app,
                lambda: (
                    app.pool.status("red").frames > frames + 3 and camera_is(app, "red", "live")()
                ),
                5,
                "red decoding again in the new worker",
            )
            assert back < 4.0, f"red back {back:.1f} s after the restart"
            assert share_near(tile_pixels(app, 0)[20:160], RED) > 0.6
    finally:
        drip.close()


def test_a_freeze_longer_than_ffmpegs_timeout_reconnects_after_resume(
    wall: Callable[..., WallApp],
) -> None:
    server = SyntheticCameraServer([SyntheticCamera("green", "green", 160, 90, 10, GREEN)])
    server.start()
    try:
        app = wall(grid_layout({"green": server.url("green")}))
        tick_until(app, camera_is(app, "green", "live"), 15, "live at first")
        server.pause()
        paused = time.monotonic()
        seen: list[str] = []

        def record() -> None:
            state = app.camera_states.get("green", "")
            if not seen or seen[-1] != state:
                seen.append(state)

        stalled = tick_until(app, camera_is(app, "green", "stalled"), 5, "stall seen")
        assert 1.8 < stalled < 3.0, f"stalled after {stalled:.1f} s"
        # FFmpeg's own read timeout (2 x 5 s) ends the session: the tile says why.
        tick_until(app, camera_is(app, "green", "retrying"), 12, "timeout seen")
        assert "timeout" in app.pool.status("green").reason
        tick_for(app, max(0.0, 12.5 - (time.monotonic() - paused)), record)
        assert "live" not in seen, f"a frozen camera looked live again: {seen}"
        lines = painted_lines(app)
        assert lines[0] == "NO SIGNAL · Cam green" and lines[1].startswith("since ")
        tile = tile_pixels(app)
        assert banner_share(tile) > 0.1, "red banner band"
        dim_green = (GREEN[0] // 3, GREEN[1] // 3, GREEN[2] // 3)
        assert share_near(tile[:8], dim_green, tol=12) > 0.5, "last picture kept, dimmed"
        server.resume()
        back = tick_until(app, camera_is(app, "green", "live"), 10, "live after resume")
        # The attempt under way when the server thaws completes; at worst the next
        # one starts after a backoff of 2 s (x1.2 jitter) and takes ~1.3 s.
        assert back < 4.5, f"live {back:.1f} s after resume"
        tick_until(app, lambda: share_near(tile_pixels(app)[10:80], GREEN) > 0.6, 2, "picture back")
    finally:
        server.stop()


def test_resolution_and_aspect_change_mid_stream_keep_the_letterbox_right(
    wall: Callable[..., WallApp],
) -> None:
    encode = (
        "x264enc tune=zerolatency speed-preset=ultrafast key-int-max=10 threads=1 bitrate=200"
        " insert-vui=true ! video/x-h264,profile=constrained-baseline"
        " ! rtph264pay name=pay0 pt=96 config-interval=-1"
    )
    with pipeline_camera(f"{BLUE_SOURCE} ! {encode}", switch_s=2.5) as url:
        _check_resizing_camera(wall(grid_layout({"cam": url})))


def _check_resizing_camera(app: WallApp) -> None:
    tick_until(app, camera_is(app, "cam", "live"), 15, "live")
    live_since = app.pool.status("cam").since

    def shows(size: tuple[int, int]) -> Callable[[], bool]:
        return lambda: (
            app.pool.status("cam").source_size == size
            and (
                share_near(tile_pixels(app), BLUE) > 0.95
                if size == (320, 180)
                else is_black(tile_pixels(app)[:, :38])
                and is_black(tile_pixels(app)[:, 282:])
                and share_near(tile_pixels(app)[:, 42:278], BLUE) > 0.95
            )
        )

    # 16:9 fills the 320x180 tile; 352x288 of 12:11 pixels is 4:3, so 240x180 with
    # 40 px bars left and right (50 px, and a fail, if the pixel aspect were ignored).
    for size in ((352, 288), (320, 180), (352, 288)):
        tick_until(app, shows(size), 6, f"{size[0]}x{size[1]} picture, letterboxed right")
    status = app.pool.status("cam")
    assert status.since == live_since and status.attempts == 0, "one connection throughout"
    assert app.camera_states["cam"] == "live"


def test_a_camera_that_comes_back_with_another_codec_is_shown(
    wall: Callable[..., WallApp],
) -> None:
    # A codec change ends the RTSP session (the SDP changes): the camera reconnects
    # to a fresh container and decoder, H.264 -> H.265 -> MJPEG on the same URL,
    # each in its own colour so the new picture is told from the last one.
    first = SyntheticCameraServer([SyntheticCamera("cam", "cam", 320, 180, 10, RED)])
    first.start()
    port = first.port
    servers = [first]
    try:
        app = wall(grid_layout({"cam": first.url("cam")}))
        tick_until(app, camera_is(app, "cam", "live"), 15, "h264 live")
        for codec, (w, h), colour in (("h265", (320, 180), GREEN), ("mjpeg", (320, 176), BLUE)):
            servers[-1].stop()
            camera = SyntheticCamera("cam", "cam", w, h, 10, colour, codec=codec)
            servers.append(SyntheticCameraServer([camera], port=port))
            tick_until(app, camera_is(app, "cam", "retrying", "connecting"), 5, "outage seen")
            servers[-1].start()

            def shown(size: tuple[int, int] = (w, h), rgb: tuple[int, int, int] = colour) -> bool:
                tile = tile_pixels(app)
                return (
                    app.pool.status("cam").source_size == size
                    and share_near(tile[10:170], rgb) > 0.6
                    and banner_share(tile) == 0
                )

            back = tick_until(app, shown, 10, f"{codec} picture")
            # The first outage retries at the backoff's floor (1 s); the second, after
            # less than a stable minute, at 2 s (each up to +20 % jitter).
            limit = 3.0 if codec == "h265" else 4.5
            assert back < limit, f"{codec}: picture {back:.1f} s after the server came back"
    finally:
        for server in servers:
            server.stop()


def test_a_stream_of_an_unknown_codec_says_unsupported_codec(
    wall: Callable[..., WallApp],
) -> None:
    # rtpgstpay sends GStreamer's own payload ("X-GST"), which FFmpeg cannot identify.
    with pipeline_camera(f"{BLUE_SOURCE} ! rtpgstpay name=pay0 pt=96") as url:
        app = wall(grid_layout({"odd": url}))
        took = tick_until(app, camera_is(app, "odd", "retrying"), 10, "refused as unsupported")
        assert took < 3.0
        assert app.pool.status("odd").reason.startswith("unsupported codec")
        tick_until(app, lambda: banner_share(tile_pixels(app)) > 0.15, 2, "banner painted")
        lines = painted_lines(app)
        assert lines[0] == "Cam odd" and lines[1].startswith("unsupported codec")


def test_twenty_cameras_keep_their_rate_while_four_fail(
    wall: Callable[..., WallApp], record_property: Callable[[str, object], None]
) -> None:
    healthy = [SyntheticCamera(f"c{i:02d}", f"c{i:02d}", 160, 90, 10, GREEN) for i in range(20)]
    victims = {
        name: SyntheticCameraServer([SyntheticCamera(name, name, 160, 90, 10, RED)])
        for name in ("refused", "frozen", "locked", "garbage")
    }
    garbage: _TcpServer | None = None
    try:
        for server in victims.values():
            server.start()
        with SyntheticCameraServer(healthy) as main:
            urls = {c.path: main.url(c.path) for c in healthy}
            urls |= {name: server.url(name) for name, server in victims.items()}
            app = wall(grid_layout(urls, tile=(160, 90)))
            tick_until(
                app, lambda: all(s == "live" for s in app.camera_states.values()), 40, "all live"
            )
            assert len(app.camera_states) == 24

            def rates(seconds: float) -> dict[str, float]:
                before = {c.path: app.pool.status(c.path).frames for c in healthy}
                tick_for(app, seconds)
                after = {c.path: app.pool.status(c.path).frames for c in healthy}
                return {c: (after[c] - before[c]) / seconds for c in before}

            tick_for(app, 1.0)
            baseline = rates(6.0)
            # Four ways to fail, all at once.
            victims["refused"].kill()  # nothing listens any more
            victims["frozen"].pause()  # the connection stays, nothing comes
            port = victims["locked"].port
            victims["locked"].stop()
            victims["locked"] = SyntheticCameraServer(
                [SyntheticCamera("locked", "locked", 160, 90, 10, RED)],
                port=port,
                user="operator",
                password="changed",
            )
            victims["locked"].start()  # back, with credentials the wall does not have
            port = victims["garbage"].port
            victims["garbage"].stop()
            garbage = _TcpServer(_garbage, port=port)  # the port now answers junk
            tick_for(app, 2.0)
            faulted = rates(6.0)  # the frozen camera's own FFmpeg timeout comes at ~10 s
            states = {name: app.camera_states.get(name) for name in victims}
            reasons = {name: app.pool.status(name).reason for name in victims}
    finally:
        for server in victims.values():
            server.stop()  # a paused server is thawed and stopped
        if garbage is not None:
            garbage.close()
    record_property("baseline_fps", baseline)
    record_property("faulted_fps", faulted)
    print(
        f"\nhealthy cameras, fps: before faults min {min(baseline.values()):.2f} "
        f"mean {np.mean(list(baseline.values())):.2f}; with 4 failing min "
        f"{min(faulted.values()):.2f} mean {np.mean(list(faulted.values())):.2f}"
    )
    # A failing camera is between two attempts (retrying) or in its next one (connecting,
    # its last failure still its reason): a busy host may catch it in either.
    failing = {"retrying", "connecting"}
    assert states["frozen"] == "stalled", (states, reasons)
    for name in ("refused", "locked", "garbage"):
        assert states[name] in failing, (states, reasons)
    assert "connection refused" in reasons["refused"]
    assert "unauthorised (401)" in reasons["locked"]
    assert "no valid stream" in reasons["garbage"]
    assert min(baseline.values()) >= 9.0, f"no-fault rate too low to compare: {baseline}"
    for camera, rate in faulted.items():
        assert rate >= 0.93 * baseline[camera], (
            f"{camera} fell from {baseline[camera]:.2f} to {rate:.2f} fps while 4 others failed"
        )


def test_thousands_of_failed_and_ended_connections_leak_no_descriptor_or_thread(
    tmp_path: Path,
) -> None:
    """The decoder loop itself, in this process, with a fast backoff: every way an
    attempt ends (refused, 404, junk, open timeout, a stream whose server is killed)
    over and over, while descriptors and threads are counted."""
    server = SyntheticCameraServer([SyntheticCamera("a", "a", 160, 90, 10, RED)])
    server.start()
    drip, junk = _TcpServer(_drip), _TcpServer(_garbage)
    urls = {
        "refused": f"rtsp://127.0.0.1:{free_port()}/x",
        "missing": server.url("no-such-path"),
        "junk": f"rtsp://127.0.0.1:{junk.port}/x",
        "slow": f"rtsp://127.0.0.1:{drip.port}/x",
        "live": server.url("a"),
    }
    board = StatusBoard(tmp_path / "status", len(urls), create=True)
    stop = threading.Event()
    threads = []
    for index, (camera_id, url) in enumerate(urls.items()):
        slot = FrameSlot(tmp_path / f"slot-{index}", 160, 90, create=True)
        slot.close()
        rendition = RenditionSpec(str(tmp_path / f"slot-{index}"), 160, 90, Fit.LETTERBOX)
        job = CameraJob(index, camera_id, url, (rendition,), timeout_s=1.0, open_timeout_s=1.0)
        thread = threading.Thread(
            target=run_camera,
            args=(job, board, stop, MonotonicClock(), lambda: Backoff(floor=0.05, cap=0.1)),
            daemon=True,
        )
        threads.append(thread)
        thread.start()

    def count() -> tuple[int, int]:
        return len(os.listdir("/proc/self/fd")), len(os.listdir("/proc/self/task"))

    samples = []
    streamed = []  # frames the live camera decoded in each cycle: it reconnected each time
    try:
        for _cycle in range(7):
            frames = board.read(4).frames
            time.sleep(2.0)
            streamed.append(board.read(4).frames - frames)
            server.kill()  # the live camera's stream ends; it reconnects when the server is back
            server.start()
            samples.append(count())
        attempts = {camera: board.read(i).attempts for i, camera in enumerate(urls)}
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        server.stop()
        drip.close()
        junk.close()
        board.close()
    print(f"\nreconnect leak check: fds/threads {samples}, attempts {attempts}, frames {streamed}")
    assert min(attempts["refused"], attempts["missing"], attempts["junk"]) > 100
    assert attempts["slow"] >= 8 and min(streamed[1:]) > 0, (attempts, streamed)
    # A leak of one per attempt would add hundreds, one per server kill at least five;
    # an attempt in flight when counted holds a socket or two (and a server thread).
    for kind, index in (("descriptors", 0), ("threads", 1)):
        warm = min(sample[index] for sample in samples[:2])
        late = min(sample[index] for sample in samples[-3:])
        assert late <= warm + 2, f"{kind} grow: {samples}"
    assert not any(thread.is_alive() for thread in threads), "every camera thread ended"
