"""The e2e layout and the pixel checks shared by the windowed and headless tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.pixels import BLUE, GREEN, RED, is_black, share_near

Pixels = npt.NDArray[np.uint8]


def e2e_cameras_yaml(server: SyntheticCameraServer) -> str:
    """The layout's ``cameras:`` section for the three e2e cameras."""
    return "cameras:\n" + "".join(
        f'  {path}: {{name: "{path.capitalize()}", url: "{server.url(path)}"}}\n'
        for path in ("red", "green", "blue")
    )


def e2e_layout_text(server: SyntheticCameraServer) -> str:
    # O1: a 1x2 grid of 160x180 tiles: red 16:9 -> 160x90 with 45 px bars above
    # and below; green 4:3 -> 160x120 with 30 px bars. O2: blue PAL 4:3 in a
    # 320x180 tile -> 240x180 with 40 px bars left and right (it would be
    # 50 px if the 12:11 pixel aspect were ignored).
    # No labels: these tests measure the pictures (labels: test_tile_kinds_e2e.py).
    return f"""\
labels: {{show: false}}
{e2e_cameras_yaml(server)}outputs:
  - id: O1
    size: [320, 180]
    grid: 1x2
    tiles: [red, green]
  - id: O2
    size: [320, 180]
    tiles:
      - {{camera: blue, rect: [0, 0, 320, 180]}}
"""


def check_o1(pixels: Pixels) -> None:
    red_tile, green_tile = pixels[:, :160], pixels[:, 160:]
    assert is_black(red_tile[:43]) and is_black(red_tile[137:]), "red tile: bars of 45 px"
    assert share_near(red_tile[47:133], RED) > 0.6, "red tile shows the red camera"
    assert is_black(green_tile[:28]) and is_black(green_tile[152:]), "green tile: bars of 30 px"
    assert share_near(green_tile[32:148], GREEN) > 0.6, "green tile shows the green camera"


def check_o2(pixels: Pixels) -> None:
    assert is_black(pixels[:, :38]) and is_black(pixels[:, 282:]), "blue: side bars of 40 px"
    assert share_near(pixels[:, 42:278], BLUE) > 0.6, "blue tile shows the blue camera"
    assert share_near(pixels[:, 42:52], BLUE) > 0.5, "SAR honoured: no extra bar"
