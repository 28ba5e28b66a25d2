"""What a screen says when it has no pictures to show: never a black screen.

- A starting output: its id and how many cameras are still connecting, as a
  banner across the output (:func:`starting_notice`, painted by the canvas).
- A monitor no output of the layout uses, and every monitor of a wall whose
  layout is broken: a whole screen of text (:func:`paint_screen_notice`): the
  connector or output, what is wrong, and what happens next.

Pure drawing (numpy and OpenCV's built-in font), like the other painters.
"""

from __future__ import annotations

__all__ = [
    "notice_canvas",
    "paint_screen_notice",
    "starting_notice",
    "unused_monitor_picture",
]

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from compositor.compose.canvas import OutputCanvas
from compositor.compose.notice import TileNotice
from compositor.compose.overlay import TextFace
from compositor.core.geometry import TileRect

Pixels = npt.NDArray[np.uint8]

_BACKGROUND = {"info": (60, 48, 36), "error": (30, 30, 110)}  # BGR: dark slate, dark red
_TITLE = (255, 255, 255)
_TEXT = (225, 225, 225)
_FAINT = (170, 170, 170)
_face = TextFace()


def starting_notice(output_id: str, connecting: int) -> TileNotice:
    """The banner of an output whose cameras have not sent a picture yet."""
    cameras = "camera" if connecting == 1 else "cameras"
    return TileNotice(
        (output_id, f"starting: {connecting} {cameras} connecting"), dim=False, severity="info"
    )


def notice_canvas(
    width: int,
    height: int,
    title: str,
    lines: Sequence[str],
    footer: str = "",
    severity: str = "info",
) -> OutputCanvas:
    """A canvas holding one screen notice, composed: ready for the display."""
    canvas = OutputCanvas(width, height, [])
    image = paint_screen_notice(width, height, title, lines, footer, severity)
    canvas.put_bgr(TileRect(0, 0, width, height), image)
    canvas.compose()
    return canvas


def unused_monitor_picture(
    connector: str, width: int, height: int, layout_name: str
) -> OutputCanvas:
    """What a monitor no output of the layout uses shows: its connector, and so."""
    return notice_canvas(
        width,
        height,
        connector,
        [f"no output of {layout_name} on this screen"],
        footer="videowall: give an output `monitor: " + connector + "` to use it",
    )


def _cut(text: str, size: int, width: int, weight: int = 400) -> str:
    """``text`` shortened with an ellipsis until it is at most ``width`` wide."""
    if _face.width(text, size, weight) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its ellipsis
        middle = (low + high + 1) // 2
        if _face.width(text[:middle] + "…", size, weight) <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def paint_screen_notice(
    width: int,
    height: int,
    title: str,
    lines: Sequence[str],
    footer: str = "",
    severity: str = "info",
) -> Pixels:
    """A screen of text: ``title`` large at the top, ``lines`` below, ``footer`` at the bottom.

    Lines that do not fit the width are cut with an ellipsis; lines beyond
    the height are summed up as "… and N more".
    """
    image = np.full((max(1, height), max(1, width), 3), _BACKGROUND[severity], np.uint8)
    margin = max(4, min(width, height) // 20)
    inner = width - 2 * margin
    if inner < 16 or height < 24:
        return image
    title_size = _face.fitting_size(title, inner, max(12, height // 7), 700, 10)
    y = margin + title_size
    title_x = (width - _face.width(title, title_size, 700)) // 2
    _face.put(image, title, (title_x, y), _TITLE, title_size, 700)
    size = max(10, min(40, height // 22))
    pitch = round(size * 1.35)
    footer_room = pitch * 2 if footer else 0
    y += round(title_size * 0.8)
    room = max(0, (height - margin - footer_room - y) // pitch)
    shown = list(lines)
    if len(shown) > room:
        hidden = len(shown) - max(0, room - 1)
        shown = [*shown[: max(0, room - 1)], f"… and {hidden} more"]
    for line in shown[:room]:
        y += pitch
        _face.put(image, _cut(line, size, inner), (margin, y), _TEXT, size)
    if footer:
        footer_y = height - margin
        text = _cut(footer, size, inner)
        x = (width - _face.width(text, size)) // 2
        _face.put(image, text, (max(margin, x), footer_y), _FAINT, size)
    return image
