"""Colours end to end: cameras encoding known BT.601/709 colours, read back from the screen."""

from __future__ import annotations

import numpy as np
import pytest

from compositor.app import RunOptions, WallApp
from compositor.core.colour import Matrix
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.parse import parse_layout
from tests.helpers.pixels import bgr
from tests.helpers.walls import tick_until

RED = (200, 40, 40)  # RGB
GREEN = (40, 180, 60)
TOLERANCE = 6  # per channel, of 255

# path, size, codec, colorimetry (GStreamer), colour, the matrix the wall must find.
# Sizes contradict the matrices on purpose: an HD-tall BT.601 camera and an SD BT.709
# one must be drawn with what they signal, not with the guess by height.
CAMERAS = (
    ("sd601red", (640, 600), "h264", "bt601", RED, Matrix.BT601),
    ("sd601green", (640, 600), "h264", "bt601", GREEN, Matrix.BT601),
    ("hd709red", (320, 180), "h264", "bt709", RED, Matrix.BT709),
    ("hd709green", (320, 180), "h264", "bt709", GREEN, Matrix.BT709),
    ("jpegred", (320, 176), "mjpeg", "1:4:0:0", RED, Matrix.BT601),  # full range
    ("jpeggreen", (320, 176), "mjpeg", "1:4:0:0", GREEN, Matrix.BT601),
)

pytestmark = pytest.mark.e2e


def test_colours_on_screen_match_what_the_cameras_encoded(x_display: VirtualDisplay) -> None:
    cameras = [
        SyntheticCamera(path, path, w, h, 5, rgb, codec=codec, colorimetry=colorimetry)
        for path, (w, h), codec, colorimetry, rgb, _ in CAMERAS
    ]
    with SyntheticCameraServer(cameras) as server:
        lines = ["cameras:"]
        lines += [f"  {c.path}: {{url: '{server.url(c.path)}'}}" for c in cameras]
        lines += [
            "outputs:",
            "  - id: C",
            "    size: [480, 240]",
            "    grid: 2x3",
            f"    tiles: [{', '.join(c.path for c in cameras)}]",
        ]
        layout = parse_layout("\n".join(lines) + "\n", "colour.yaml")
        app = WallApp(layout, RunOptions(windowed=True, display_name=x_display.name, fps=10))
        try:
            app.start()
            canvas = app.canvases["C"]
            tick_until(
                app,
                lambda: all(t.shown_number and t.painted_notice is None for t in canvas.tiles),
                30,
                "every camera shown",
            )
            app.tick()
            assert app.display is not None
            shown = app.display.read_pixels("C")
            assert (shown == canvas.to_bgr()).all()  # the shader and numpy agree exactly
            _, overrides = canvas.matrices()
            assert overrides, "both matrices on one output: tiles drawn over the base"
            for tile, (path, _, _, _, rgb, matrix) in zip(canvas.tiles, CAMERAS, strict=True):
                assert tile.matrix is matrix, path
                r = tile.rect
                # The middle of the tile: the background colour (the ball and the text
                # are small; the median ignores them).
                middle = shown[
                    r.y + r.h // 4 : r.bottom - r.h // 4, r.x + r.w // 4 : r.right - r.w // 4
                ]
                median = np.median(middle.reshape(-1, 3), axis=0)
                error = np.abs(median - bgr(rgb)).max()
                assert error <= TOLERANCE, f"{path}: {median[::-1]} for RGB {rgb} ({error})"
        finally:
            app.close()
