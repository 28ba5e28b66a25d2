"""Shared fixtures: a real RTSP server on 127.0.0.1 and a real X server.

The cameras are generated pictures with a solid background colour each, so
a tile can be recognised by its colour, and a moving ball, so a frozen
picture can be told from a live one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import RunOptions, WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.parse import load_layout, parse_layout

# RGB backgrounds; pictures are checked in BGR.
RED = (200, 40, 40)
GREEN = (40, 160, 60)
BLUE = (40, 70, 200)

E2E_CAMERAS = (
    SyntheticCamera("red", "red 16:9", 320, 180, 15, RED),
    SyntheticCamera("green", "green 4:3", 240, 180, 15, GREEN),
    # PAL-like: 352x288 with 12:11 pixels is a 4:3 picture, 384x288 in square pixels.
    SyntheticCamera("blue", "blue PAL", 352, 288, 15, BLUE, sar=(12, 11)),
)


@pytest.fixture(scope="session")
def camera_server() -> Iterator[SyntheticCameraServer]:
    with SyntheticCameraServer(E2E_CAMERAS) as server:
        yield server


@pytest.fixture(scope="session")
def x_display() -> Iterator[VirtualDisplay]:
    with VirtualDisplay.xvfb(1280, 720) as display:
        yield display


def bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def share_near(region: npt.NDArray[np.uint8], rgb: tuple[int, int, int], tol: int = 40) -> float:
    """Fraction of the pixels of ``region`` within ``tol`` of colour ``rgb`` (per channel)."""
    distance = np.abs(region.astype(np.int16) - np.array(bgr(rgb), np.int16)).max(axis=2)
    return float((distance <= tol).mean())


def is_black(region: npt.NDArray[np.uint8], tol: int = 24) -> bool:
    return int(region.max()) <= tol


@pytest.fixture
def wall() -> Iterator[Callable[..., WallApp]]:
    """Start headless walls from layout text; all are closed after the test."""
    apps: list[WallApp] = []

    def start(
        text: str, workers: int | None = None, layout_path: Path | None = None, **options: Any
    ) -> WallApp:
        """With ``layout_path``, the text is written there and the wall follows that file."""
        run = RunOptions(headless=True, workers=workers, layout_path=layout_path, **options)
        if layout_path is None:
            app = WallApp(parse_layout(text, "faults.yaml"), run)
        else:
            layout_path.write_text(text)
            app = WallApp(load_layout(layout_path), run)
        apps.append(app)
        app.start()
        return app

    yield start
    for app in apps:
        app.close()


def tick_until(app: WallApp, condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Tick the wall (as its run loop would) until ``condition``; returns the seconds taken."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        app.tick()
        if condition():
            return time.monotonic() - started
        time.sleep(0.04)
    raise AssertionError(f"{what}: not within {timeout} s (states: {app.camera_states})")


ERROR_BAND = (24, 24, 150)  # BGR of the banner behind a failing tile's text (overlay.py)


def tile_pixels(app: WallApp, index: int = 0, output: str = "O1") -> npt.NDArray[np.uint8]:
    """One tile of a running wall's canvas, in BGR."""
    canvas = app.canvases[output]
    r = canvas.tiles[index].rect
    return canvas.to_bgr()[r.y : r.bottom, r.x : r.right]


def banner_share(tile: npt.NDArray[np.uint8]) -> float:
    """How much of ``tile`` is the error banner's colour."""
    # The banner is painted in BGR and kept in YUV: its colour comes back within rounding.
    distance = np.abs(tile.astype(np.int16) - np.array(ERROR_BAND, np.int16)).max(axis=2)
    return float((distance <= 3).mean())
