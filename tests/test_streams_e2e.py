"""Sub-streams end to end: a wall switches streams as a camera's tile grows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from compositor.app import WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.layout.parse import parse_layout
from tests.helpers.pixels import GREEN, RED, share_near
from tests.helpers.walls import tick_until

MAIN, LOW = "rtsp://h/main", "rtsp://h/low"

pytestmark = pytest.mark.e2e


def _layout(main: str, low: str, grid: str) -> str:
    return (
        "cameras:\n"
        f"  cam: {{name: Junction, url: '{main}', url_low: '{low}'}}\n"
        "outputs:\n"
        f"  - {{id: O1, size: [1280, 720], grid: {grid}, tiles: [cam]}}\n"
    )


def _share(app: WallApp, rgb: tuple[int, int, int]) -> float:
    return share_near(app.canvases["O1"].to_bgr(), rgb)


def test_the_wall_switches_streams_as_the_tile_grows(wall: Callable[..., WallApp]) -> None:
    # The main stream is red, the sub-stream green: the picture says which is decoded.
    cameras = [
        SyntheticCamera("main", "main", 320, 180, 10, RED),
        SyntheticCamera("low", "low", 160, 90, 10, GREEN),
    ]
    with SyntheticCameraServer(cameras) as server:
        main, low = server.url("main"), server.url("low")
        app = wall(_layout(main, low, "2x2"))  # a 640x360 cell: small
        tick_until(app, lambda: _share(app, GREEN) > 0.1, 15, "sub-stream shown")
        app.apply_layout(parse_layout(_layout(main, low, "1x1"), "streams.yaml"))
        tick_until(app, lambda: _share(app, RED) > 0.4, 15, "main stream for a full screen")
        app.apply_layout(parse_layout(_layout(main, low, "2x2"), "streams.yaml"))
        tick_until(app, lambda: _share(app, GREEN) > 0.1, 15, "back to the sub-stream")
