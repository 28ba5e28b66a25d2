"""The running wall shows clocks, texts, images, tours and labels (headless, real cameras)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import WallApp
from compositor.compose.overlay import BannerPainter
from compositor.compose.painters import CLOCK_BACKGROUND, TEXT_BACKGROUND, label_strip
from compositor.compose.screen_notice import starting_notice
from compositor.demo.testcams import SyntheticCameraServer
from tests.conftest import BLUE, RED, share_near, tick_until
from tests.e2e_wall import e2e_cameras_yaml

pytestmark = pytest.mark.e2e

Pixels = npt.NDArray[np.uint8]
MAGENTA_BGR = (200, 0, 200)


def white_share(region: Pixels) -> float:
    return float((region >= 200).all(axis=2).mean())


def test_clock_text_image_tour_and_labels_on_the_wall(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    logo = np.zeros((90, 160, 3), np.uint8)
    logo[:] = MAGENTA_BGR
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    app = wall(
        f"""
labels: {{position: bottom-left, size: 1.5}}
{e2e_cameras_yaml(camera_server)}outputs:
  - id: O1
    size: [640, 360]
    grid: 2x2
    tiles:
      - {{clock: "%H:%M:%S"}}
      - {{text: "Incident room B"}}
      - {{image: "{tmp_path / "logo.png"}"}}
      - {{tour: [red, blue], every: 1, fit: fill}}
  - id: O2
    size: [640, 180]
    grid: 1x2
    tiles: [red, {{camera: red, label: false}}]
"""
    )
    o1, o2 = app.canvases["O1"], app.canvases["O2"]

    def picture(canvas_id: str) -> Pixels:
        return app.canvases[canvas_id].to_bgr()

    # The painted tiles are there from the first frame on, around the banner that says
    # the output waits for its cameras (two, the tour's).
    app.tick()
    first = picture("O1")
    top, bottom = BannerPainter().band(640, 360, starting_notice("O1", 2))
    assert o1.banner == starting_notice("O1", 2)
    clock, text, image = first[:top, :320], first[:top, 320:], first[bottom:, :320]
    assert share_near(clock, CLOCK_BACKGROUND[::-1], 2) > 0.5 and white_share(clock) > 0.02
    assert share_near(text, TEXT_BACKGROUND[::-1], 2) > 0.5 and white_share(text) > 0.02
    assert share_near(image, MAGENTA_BGR[::-1], 2) > 0.9  # 16:9 into 16:9: all of it

    # Labels: on the labelled tile, a dark strip with white text at the bottom left;
    # the same camera with `label: false` is plain red there.
    def labelled() -> bool:
        o2_now = picture("O2")
        return share_near(o2_now[:, 320:], RED) > 0.9 and white_share(o2_now[120:, :160]) > 0.02

    tick_until(app, labelled, 20, "red live, with its label on one tile only")
    o2_now = picture("O2")
    label = label_strip("Red", 320, 180, "bottom-left", 1.5)
    assert label is not None
    r = label.rect
    strip, plain = (
        o2_now[r.y : r.bottom, r.x : r.right],
        o2_now[r.y : r.bottom, 320 + r.x :][:, : r.w],
    )
    assert share_near(plain, RED) > 0.95
    assert share_near(strip, RED) < 0.5  # darkened under the strip
    assert share_near(o2_now[: r.y - 1, :320], RED) > 0.95  # the rest of the tile untouched

    # The tour: red and blue in turn, a second each; its label follows (present throughout).
    def tour_shows(rgb: tuple[int, int, int]) -> Callable[[], bool]:
        return lambda: share_near(picture("O1")[180:300, 320:], rgb) > 0.6

    tick_until(app, tour_shows(RED), 20, "the tour on red")
    took = tick_until(app, tour_shows(BLUE), 3, "the tour on blue")
    assert took < 1.5
    assert white_share(picture("O1")[320:, 320:420]) > 0.02  # the label, on blue
    took = tick_until(app, tour_shows(RED), 3, "the tour back on red")
    assert took < 1.5

    # The clock moves on with the seconds.
    before = picture("O1")[:180, :320].copy()
    time.sleep(1.1)
    app.tick()
    assert not np.array_equal(before, picture("O1")[:180, :320])
    # Only camera tiles are canvas tiles: the painted ones need no decoder.
    assert len(o1.tiles) == 1 and len(o2.tiles) == 2
    assert set(app.pool.camera_ids) == {"red", "blue"}
