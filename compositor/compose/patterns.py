"""Test patterns for ``videowall identify``: which screen is which, and is it aligned.

Pure drawing (numpy and OpenCV) into a BGR canvas; shown by the display like
any other canvas.
"""

from __future__ import annotations

__all__ = ["identify_pattern"]

import cv2
import numpy as np
import numpy.typing as npt

# SMPTE-like bars, BGR: white, yellow, cyan, green, magenta, red, blue, black.
_BARS = [
    (235, 235, 235), (16, 235, 235), (235, 235, 16), (16, 235, 16),
    (235, 16, 235), (16, 16, 235), (235, 16, 16), (16, 16, 16),
]  # fmt: skip


def identify_pattern(width: int, height: int, title: str, subtitle: str) -> npt.NDArray[np.uint8]:
    """A geometry pattern with ``title`` (the output id) large and ``subtitle`` below.

    A grid of 1/16ths, a circle that must look round (aspect), corner marks
    that must sit exactly in the corners (overscan, alignment), and colour
    bars (colour and range).
    """
    canvas = np.full((height, width, 3), 40, np.uint8)
    unit = max(4, min(width, height) // 16)
    grey = (110, 110, 110)
    for x in range(0, width, unit):
        canvas[:, x] = grey
    for y in range(0, height, unit):
        canvas[y, :] = grey
    canvas[:, width // 2] = (255, 255, 255)
    canvas[height // 2, :] = (255, 255, 255)
    centre = (width // 2, height // 2)
    for radius in (min(width, height) // 2 - 2, min(width, height) // 4):
        cv2.circle(canvas, centre, radius, (255, 255, 255), max(1, unit // 16), cv2.LINE_AA)
    arm, thick = unit * 2, max(2, unit // 6)
    for cx, cy, dx, dy in ((0, 0, 1, 1), (width - 1, 0, -1, 1), (0, height - 1, 1, -1),
                           (width - 1, height - 1, -1, -1)):  # fmt: skip
        cv2.line(canvas, (cx, cy), (cx + dx * arm, cy), (0, 255, 255), thick)
        cv2.line(canvas, (cx, cy), (cx, cy + dy * arm), (0, 255, 255), thick)
    bar_top = height - max(8, height // 8)
    edges = np.linspace(0, width, len(_BARS) + 1).astype(int)
    for colour, x0, x1 in zip(_BARS, edges[:-1], edges[1:], strict=True):
        canvas[bar_top:, x0:x1] = colour
    font = cv2.FontFace("sans")
    for text, size, y in (
        (title, max(12, height // 4), height // 2 - height // 20),
        (subtitle, max(9, height // 14), height // 2 + height // 6),
    ):
        _, _, text_w, _ = cv2.getTextSize((4096, 1024), text, (0, 0), font, size, 700)
        x = max(4, (width - int(text_w)) // 2)
        box = (x - size // 4, y - size), (x + int(text_w) + size // 4, y + size // 4)
        cv2.rectangle(canvas, box[0], box[1], (0, 0, 0), -1)
        cv2.putText(canvas, text, (x, y), (255, 255, 255), font, size, 700)
    return canvas
