"""Cameras met in the field and in peers' fault matrices, against real servers on
127.0.0.1 (the test cameras behind :class:`~compositor.demo.faults.RtspFaultProxy`, or
one GStreamer pipeline): a session name in Latin-1, a stream that trickles one byte
every 2 s once live, a gigabyte of SDP, a picture of 8192x8192, a connection reset
mid-stream, timestamps that jump backwards, a codec that changes mid-session, audio
only after a reconnect, fifty audio tracks beside the video.

Each test checks what the tile says and that the camera comes back when it can.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pytest

from compositor.app import WallApp
from compositor.demo.faults import RtspFaultProxy
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.sources import pool as pool_module
from compositor.sources.camera import NO_PICTURE_S
from compositor.sources.grab import grab_frame
from tests.conftest import GREEN, RED, share_near
from tests.conftest import tick_until as _tick_until
from tests.conftest import tile_pixels as _tile
from tests.test_faults_hostile import _is, _layout, _painted_lines

pytestmark = pytest.mark.e2e

IENA = "Caméra Pont d'Iéna"


def test_a_camera_whose_session_name_is_latin1_is_shown(
    wall: Callable[..., WallApp],
) -> None:
    # The SDP's s= line in Latin-1, as some cameras send their configured name: PyAV's
    # strict metadata decoding refused the whole stream (UnicodeDecodeError, forever).
    camera = SyntheticCamera("cam", "cam", 320, 180, 10, GREEN)
    with SyntheticCameraServer([camera]) as server, RtspFaultProxy(server.port) as proxy:
        proxy.faults.session_name = IENA.encode("latin-1")
        app = wall(_layout({"iena": proxy.url("cam")}))
        _tick_until(app, _is(app, "iena", "live"), 10, "live despite its Latin-1 name")
        _tick_until(app, lambda: share_near(_tile(app)[10:170], GREEN) > 0.6, 3, "picture")
        # videowall preview --live opens cameras the same way.
        picture = grab_frame(proxy.url("cam"))
        assert isinstance(picture, np.ndarray), picture
        assert share_near(picture[20:160], GREEN) > 0.6


class _FrameGaps:
    """The longest time between two new frames of a camera, as the render loop sees them."""

    def __init__(self, app: WallApp, camera: str) -> None:
        self._app, self._camera = app, camera
        self._frames = app.pool.status(camera).frames
        self._at = time.monotonic()
        self.longest = 0.0

    def sample(self) -> None:
        frames, now = self._app.pool.status(self._camera).frames, time.monotonic()
        if frames != self._frames:
            self._frames, self._at = frames, now
        self.longest = max(self.longest, now - self._at)


def test_a_trickling_camera_is_reconnected_by_itself_and_its_neighbour_never_stops(
    wall: Callable[..., WallApp],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Once live for 2 s, the proxy sends one byte every 2 s: every read gets data, so no
    # socket timeout ends it, and no frame ever completes. The pool's last resort (a
    # camera whose status has not moved for 30 s: its worker is restarted) is brought to
    # 15 s to keep the test short; the camera's own watchdog must act well before.
    monkeypatch.setattr(pool_module, "CAMERA_STUCK_AFTER_S", 15.0)
    cameras = [
        SyntheticCamera("steady", "steady", 160, 90, 10, GREEN),
        SyntheticCamera("drip", "drip", 160, 90, 10, RED),
    ]
    with SyntheticCameraServer(cameras) as server, RtspFaultProxy(server.port) as proxy:
        proxy.faults.trickle_after_s = 2.0
        urls = {"steady": server.url("steady"), "drip": proxy.url("drip")}
        app = wall(_layout(urls), workers=1)  # both cameras in one worker
        both = lambda: _is(app, "steady", "live")() and _is(app, "drip", "live")()  # noqa: E731
        _tick_until(app, both, 15, "both live")
        (pid,) = app.pool.worker_pids()
        gaps = _FrameGaps(app, "steady")

        def reconnected() -> bool:
            gaps.sample()
            return "no picture" in app.pool.status("drip").reason

        with caplog.at_level(logging.INFO, logger="compositor"):
            took = _tick_until(app, reconnected, 20, "the trickler reconnected by itself")
            reason = app.pool.status("drip").reason
            assert reason == f"no picture for {NO_PICTURE_S:g} s: reconnecting"
            # 2 s of pictures, then the watchdog's 10 s without one.
            assert took < 2 + NO_PICTURE_S + 3, f"reconnected after {took:.1f} s"
            _tick_until(
                app,
                lambda: gaps.sample() is None and reason in _painted_lines(app, 1),
                3,
                "the reason on its tile",
            )
            proxy.faults.trickle_after_s = None  # the camera heals: it comes back
            _tick_until(
                app, lambda: gaps.sample() is None and _is(app, "drip", "live")(), 10, "back"
            )
        assert app.pool.worker_pids() == [pid], "the worker was restarted"
        assert "restarting it" not in caplog.text
        assert proxy.connections >= 2
        # 10 fps: a frame every 0.1 s; a restarted worker would leave a gap of 2-3 s.
        assert gaps.longest < 1.0, f"the steady camera stopped for {gaps.longest:.1f} s"
