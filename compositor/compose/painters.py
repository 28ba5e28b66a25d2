"""Tiles that are not camera pictures, and the name label over camera tiles.

Each painter returns a BGR image of the tile's size: a clock (repainted only
when its text changes), a text banner, a static image fitted like a camera
picture (read and decoded by compositor.compose.pictures: on the running wall off the
render loop), and the label strip blended over a camera tile after each frame.
Pure numpy/OpenCV, shared by the running wall and ``videowall preview``.
"""

from __future__ import annotations

__all__ = [
    "ClockTile",
    "LabelStrip",
    "PlaneLabel",
    "fit_picture",
    "label_strip",
    "load_picture",
    "paint_image",
    "paint_missing_image",
    "paint_text",
    "plane_label",
]

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from compositor.compose.overlay import TextFace
from compositor.compose.pictures import (
    fit_picture,
    load_picture,
    paint_missing_image,
)
from compositor.core.colour import BLACK_Y, NEUTRAL_C, chroma_cells
from compositor.core.geometry import Fit, TileRect
from compositor.layout.models import PlacedTile

Pixels = npt.NDArray[np.uint8]
Plane = npt.NDArray[np.uint8]

CLOCK_BACKGROUND = (16, 16, 16)  # BGR
TEXT_BACKGROUND = (72, 44, 24)  # BGR: a dark blue, apart from black bars and grey notices
WHITE = (255, 255, 255)
LABEL_BACKGROUND = (0, 0, 0)
LABEL_OPACITY = 0.6  # of the strip behind the name: the picture still shows through
LABEL_MIN_PX = 11  # smallest label text on the wall: readable from a few metres
_ASCENT = 0.36  # about half a digit's height, in font sizes: centres a line on its middle
_LINE_GAP = 1.3  # line pitch, in font sizes
_MIN_TEXT = 8

_face = TextFace()  # stateless apart from the font handle: one for all painters


def _blank(width: int, height: int, colour: tuple[int, int, int]) -> Pixels:
    return np.full((max(1, height), max(1, width), 3), colour, dtype=np.uint8)


def _put_centred(image: Pixels, lines: list[str], size: int, weight: int) -> None:
    """Draw ``lines`` at ``size``, each centred, the block centred in ``image``."""
    height, width = image.shape[:2]
    pitch = round(size * _LINE_GAP)
    first = round(height / 2 - pitch * (len(lines) - 1) / 2 + size * _ASCENT)
    for index, line in enumerate(lines):
        x = (width - _face.width(line, size, weight)) // 2
        _face.put(image, line, (max(0, x), first + index * pitch), WHITE, size, weight)


# --- clock ------------------------------------------------------------------------------


class ClockTile:
    """A clock of ``strftime`` format ``fmt`` in local time, large, centred.

    :meth:`update` repaints only when the text changes (once a second for
    ``%H:%M:%S``), so the wall can ask every frame for nothing.
    """

    def __init__(self, fmt: str, width: int, height: int) -> None:
        self.fmt = fmt
        self.width, self.height = width, height
        self.text: str | None = None
        self.pixels: Pixels = _blank(width, height, CLOCK_BACKGROUND)

    def text_at(self, wall_time: float) -> str:
        try:
            return time.strftime(self.fmt, time.localtime(wall_time))
        except ValueError:  # a format the C library refuses: show it rather than fail
            return self.fmt

    def update(self, wall_time: float) -> bool:
        """Bring the picture to ``wall_time`` (seconds since the epoch); True if it changed."""
        text = self.text_at(wall_time)
        if text == self.text:
            return False
        self.text = text
        self.pixels = _blank(self.width, self.height, CLOCK_BACKGROUND)
        lines = text.splitlines() or [""]
        margin = max(2, self.width // 16)
        # The digits as large as fit: 60% of the height for the block, the width less margins.
        size = max(_MIN_TEXT, int(self.height * 0.6 / (1 + _LINE_GAP * (len(lines) - 1))))
        for line in lines:
            size = _face.fitting_size(line, self.width - 2 * margin, size, 700, _MIN_TEXT)
        _put_centred(self.pixels, lines, size, 700)
        return True


# --- text banner ------------------------------------------------------------------------


def _wrap(text: str, size: int, max_width: int) -> list[str] | None:
    """Greedy word wrap of ``text`` at ``size``; None if a single word is too wide."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else word
            if _face.width(candidate, size) <= max_width:
                line = candidate
            elif not line:
                return None
            else:
                lines.append(line)
                if _face.width(word, size) > max_width:
                    return None
                line = word
        lines.append(line)
    return lines


def _fits(text: str, size: int, width: int, height: int) -> list[str] | None:
    lines = _wrap(text, size, width)
    if lines is None or round(size * _LINE_GAP) * len(lines) > height:
        return None
    return lines


def _balanced(text: str, size: int, max_width: int, count: int) -> list[str]:
    """The wrap into ``count`` lines with the narrowest widest line: no lone last word."""
    low, high = 1, max_width
    best = _wrap(text, size, max_width) or [text]
    while low < high:
        middle = (low + high) // 2
        lines = _wrap(text, size, middle)
        if lines is not None and len(lines) <= count:
            high, best = middle, lines
        else:
            low = middle + 1
    return best


def paint_text(text: str, width: int, height: int) -> Pixels:
    """A banner: ``text`` wrapped at word boundaries, as large as fits, centred."""
    image = _blank(width, height, TEXT_BACKGROUND)
    margin = max(2, min(width, height) // 12)
    inner_w, inner_h = width - 2 * margin, height - 2 * margin
    if inner_w < _MIN_TEXT or inner_h < _MIN_TEXT or not text.strip():
        return image
    # Largest size that fits: binary search, since a bigger size never wraps into fewer lines.
    low, high = _MIN_TEXT, max(_MIN_TEXT, int(inner_h / _LINE_GAP))
    best = _fits(text, low, inner_w, inner_h)
    while low < high:
        middle = (low + high + 1) // 2
        lines = _fits(text, middle, inner_w, inner_h)
        if lines is None:
            high = middle - 1
        else:
            low, best = middle, lines
    if best is None:  # not even the smallest size fits: show what fits, cut at the edges
        best = [text[i : i + 40] for i in range(0, len(text), 40)]
    else:
        best = _balanced(text, low, inner_w, len(best))
    _put_centred(image, best, low, 400)
    return image


# --- image ------------------------------------------------------------------------------


def paint_image(path: Path, width: int, height: int, fit: Fit = Fit.LETTERBOX) -> Pixels:
    """The image tile: the file read once, fitted; a notice panel if it cannot be read."""
    picture = load_picture(path)
    if isinstance(picture, str):
        return paint_missing_image(picture, width, height)
    return fit_picture(picture, width, height, fit)


# --- camera labels ----------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LabelStrip:
    """A camera's name on a translucent strip, ready to blend over the tile each frame.

    ``bgr`` and ``alpha`` describe the strip (alpha 255 is opaque); the blend
    itself uses the two precomputed terms, so a frame costs one multiply-add
    over the strip's pixels.
    """

    rect: TileRect  # where on the tile
    bgr: Pixels
    alpha: npt.NDArray[np.uint8]
    _keep: npt.NDArray[np.uint16]  # (256 - alpha'), per pixel, of the picture under the strip
    _add: npt.NDArray[np.uint16]  # bgr * alpha', premultiplied, in 1/256ths

    def apply(self, tile: Pixels) -> None:
        """Blend the strip over ``tile`` (the tile's pixels, at the size it was made for)."""
        r = self.rect
        region = tile[r.y : r.bottom, r.x : r.right]
        blended = region * self._keep
        blended += self._add
        blended >>= 8
        region[:] = blended


def label_strip(
    text: str,
    tile_w: int,
    tile_h: int,
    position: str = "bottom-left",
    size: float = 1.0,
    scale: float = 1.0,
    min_px: int = LABEL_MIN_PX,
) -> LabelStrip | None:
    """The label of a ``tile_w x tile_h`` tile; None if the tile is too small for one.

    The text height follows the tile's size on the wall (``tile_h / scale``:
    a preview draws at a smaller scale) times ``size``, never under ``min_px``.
    """
    wall_h = tile_h / scale
    text_px = round(min(40.0, max(float(min_px), wall_h / 16)) * size * scale)
    text_px = min(max(text_px, min_px), tile_h // 2)
    if text_px < 6 or tile_w < 4 * text_px:
        return None
    pad = max(2, text_px // 2)
    margin = max(1, text_px // 4)
    max_text_w = tile_w - 2 * margin - 2 * pad
    text_px = _face.fitting_size(text, max_text_w, text_px, 600, min(text_px, min_px))
    shown = text
    while shown and _face.width(shown + "…", text_px, 600) > max_text_w:
        shown = shown[:-1]
    if shown != text:
        shown += "…"
    strip_w = min(tile_w - 2 * margin, _face.width(shown, text_px, 600) + 2 * pad)
    strip_h = min(tile_h - 2 * margin, round(text_px * 1.5))
    x = margin if position.endswith("left") else tile_w - margin - strip_w
    y = margin if position.startswith("top") else tile_h - margin - strip_h
    # The text's coverage, drawn once white on black, gives its alpha with antialiasing.
    coverage_bgr = np.zeros((strip_h, strip_w, 3), dtype=np.uint8)
    _face.put(
        coverage_bgr, shown, (pad, round(strip_h / 2 + text_px * _ASCENT)), WHITE, text_px, 600
    )
    coverage = coverage_bgr[:, :, :1].astype(np.float32) / 255.0
    background = np.array(LABEL_BACKGROUND, np.float32)
    # Text over the strip over the picture: picture * keep + add.
    keep = (1.0 - LABEL_OPACITY) * (1.0 - coverage)
    add = background * LABEL_OPACITY * (1.0 - coverage) + np.float32(255.0) * coverage
    alpha = 1.0 - keep
    bgr = np.where(alpha > 0, add / np.maximum(alpha, 1e-6), 0.0)
    return LabelStrip(
        TileRect(x, y, strip_w, strip_h),
        np.clip(np.rint(bgr), 0, 255).astype(np.uint8),
        np.rint(alpha[:, :, 0] * 255).astype(np.uint8),
        np.rint(keep * 256).astype(np.uint16),
        np.rint(add * 256).astype(np.uint16),
    )


# --- on the running wall: labels on I420 planes -----------------------------------------


class PlaneLabel:
    """A :class:`LabelStrip` at ``(x, y)`` of an I420 canvas, blended into its planes.

    The strip is grey (white text on black), and a grey's U and V are neutral
    and its Y the same under BT.601 and BT.709: the blend needs no colour
    conversion, whatever the camera's matrix. Chroma takes, per 2x2 cell,
    the mean opacity of its pixels.
    """

    def __init__(self, strip: LabelStrip, x: int, y: int) -> None:
        r = strip.rect
        self.rect = TileRect(x + r.x, y + r.y, r.w, r.h)
        alpha = strip.alpha.astype(np.uint32) * 256 // 255  # 0..256
        grey = strip.bgr[:, :, 0].astype(np.uint32)
        luma = BLACK_Y + (grey * 219 + 127) // 255
        self._keep_y = (256 - alpha).astype(np.uint16)
        self._add_y = (luma * alpha).astype(np.uint16)
        self.cells = chroma_cells(self.rect)
        c = self.cells
        # The strip's opacity over whole cells: pixels of a cell outside the strip count 0.
        padded = np.zeros((2 * c.h, 2 * c.w), np.uint32)
        dx, dy = 2 * c.x - self.rect.x, 2 * c.y - self.rect.y  # 0 or 1
        part = alpha[dy : dy + 2 * c.h, dx : dx + 2 * c.w]
        padded[: part.shape[0], : part.shape[1]] = part
        cell_alpha = padded.reshape(c.h, 2, c.w, 2).sum(axis=(1, 3)) // 4
        self._keep_c = (256 - cell_alpha).astype(np.uint16)
        self._add_c = (NEUTRAL_C * cell_alpha).astype(np.uint16)

    def apply(self, y: Plane, u: Plane, v: Plane) -> None:
        r, c = self.rect, self.cells
        luma = y[r.y : r.bottom, r.x : r.right]
        luma[:] = (luma * self._keep_y + self._add_y) >> 8
        for plane in (u, v):
            cells = plane[c.y : c.bottom, c.x : c.right]
            cells[:] = (cells * self._keep_c + self._add_c) >> 8


def plane_label(name: str, tile: PlacedTile) -> PlaneLabel | None:
    """The label of a camera tile on its canvas, as configured (None: no label here).

    A picture spanning screens has one label, placed on its whole box: only
    the screen whose piece holds it draws it.
    """
    label = tile.label
    if label is None or not label.show:
        return None
    box_w, box_h = tile.box
    strip = label_strip(name, box_w, box_h, label.position, label.size)
    if strip is None:
        return None
    window = tile.window or TileRect(0, 0, box_w, box_h)
    s = strip.rect
    if not (window.x <= s.x and s.right <= window.right):
        return None
    if not (window.y <= s.y and s.bottom <= window.bottom):
        return None
    return PlaneLabel(strip, tile.rect.x - window.x, tile.rect.y - window.y)
