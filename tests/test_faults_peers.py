"""Cameras met in the field and in peers' fault matrices, against real servers on
127.0.0.1 (the test cameras behind :class:`~compositor.demo.faults.RtspFaultProxy`, or
one GStreamer pipeline): a session name in Latin-1, a stream that trickles one byte
every 2 s once live, a gigabyte of SDP, a picture of 8192x8192, a connection reset
mid-stream, timestamps that jump backwards, a codec that changes mid-session, audio
only after a reconnect, fifty audio tracks beside the video.

Each test checks what the tile says and that the camera comes back when it can.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from compositor.app import WallApp
from compositor.demo.faults import RtspFaultProxy
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.sources.grab import grab_frame
from tests.conftest import GREEN, share_near
from tests.conftest import tick_until as _tick_until
from tests.conftest import tile_pixels as _tile
from tests.test_faults_hostile import _is, _layout

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
