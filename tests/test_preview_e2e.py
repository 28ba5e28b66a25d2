"""`videowall preview --live` end to end: a frame per camera, a dead camera says why."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.demo.testcams import SyntheticCameraServer
from compositor.preview import (
    MARGIN,
    write_preview,
)
from tests.helpers.pixels import GREEN, RED, share_near

Pixels = npt.NDArray[np.uint8]
REPO = Path(__file__).resolve().parent.parent
ENV = {"CAM_USER": "operator", "CAM_PASS": "secret-pw"}
NOON = time.mktime((2026, 3, 14, 12, 0, 0, 0, 0, -1))

pytestmark = pytest.mark.e2e


def test_live_fills_tiles_with_a_frame_each_and_a_dead_camera_says_why(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    (tmp_path / "live.yaml").write_text(
        f"""
labels: {{show: false}}
cameras:
  red: {{name: "Red", url: "{camera_server.url("red")}"}}
  green: {{name: "Green", url: "{camera_server.url("green")}"}}
  dead: {{name: "Dead", url: "rtsp://watch:secret-pw@127.0.0.1:9/nothing"}}
outputs:
  - {{id: A1, size: [960, 270], grid: 1x3, tiles: [red, green, dead]}}
"""
    )
    out = tmp_path / "live.png"
    started = time.monotonic()
    write_preview(tmp_path / "live.yaml", out, scale=1.0, live=True)
    assert time.monotonic() - started < 15
    image = cv2.imread(str(out))
    assert image is not None
    tiles = image[MARGIN + 28 : -MARGIN, MARGIN:-MARGIN]
    red, green, dead = tiles[40:, :320], tiles[40:, 320:640], tiles[40:, 640:]
    assert share_near(red, RED) > 0.5
    assert share_near(green, GREEN) > 0.3  # 4:3 in a 32:9 tile: letterboxed
    assert share_near(dead, (40, 40, 40), 4) > 0.4  # no picture: the panel and its reason
    error_band = (dead[:, :, 2] > 120) & (dead[:, :, 0] < 60)
    assert error_band.mean() > 0.1
