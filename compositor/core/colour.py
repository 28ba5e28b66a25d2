"""Colour: limited-range YUV (BT.601 or BT.709) to BGR and back, on I420 planes.

The wall keeps pictures as I420 from the decoder to the GPU: a Y plane of
``h x w`` and U and V planes of ``ceil(h/2) x ceil(w/2)`` (one chroma sample
per 2x2 pixels, taken for the whole cell: nearest, no interpolation), in
limited ("TV") range: Y 16..235 and U, V 16..240 with 128 as no colour.
Only pictures that are painted (banners, test patterns, snapshots) pass
through BGR, with the functions here.

The conversion to BGR is integer arithmetic with 16 fractional bits, the
same as the display's fragment shader (``display.py`` takes its
coefficients from :func:`yuv_to_rgb_coefficients`): what the numpy side
computes is, byte for byte, what the screen shows.
"""

from __future__ import annotations

__all__ = [
    "BLACK_Y",
    "NEUTRAL_C",
    "Matrix",
    "YuvToRgb",
    "bgr_to_chroma",
    "bgr_to_luma",
    "bgr_to_planes",
    "chroma_cells",
    "chroma_cover",
    "chroma_size",
    "planes_to_bgr",
    "yuv_to_rgb_coefficients",
]

from dataclasses import dataclass
from enum import IntEnum
from functools import cache

import numpy as np
import numpy.typing as npt

from compositor.core.geometry import TileRect

Plane = npt.NDArray[np.uint8]

BLACK_Y = 16  # limited range: black
NEUTRAL_C = 128  # U and V of every grey
_FRACTION_BITS = 16
_HALF = 1 << (_FRACTION_BITS - 1)


class Matrix(IntEnum):
    """The colour matrix a picture's YUV was made with (ITU-R recommendation number)."""

    BT601 = 601  # SD video and JPEG
    BT709 = 709  # HD video


_KR_KB = {Matrix.BT601: (0.299, 0.114), Matrix.BT709: (0.2126, 0.0722)}


@dataclass(frozen=True, slots=True)
class YuvToRgb:
    """Integer coefficients (16 fractional bits) of limited-range YUV -> full-range RGB.

    With C = Y - 16, D = U - 128, E = V - 128:
    R = (y C + rv E + 2^15) >> 16, G = (y C - gu D - gv E + 2^15) >> 16,
    B = (y C + bu D + 2^15) >> 16, each clamped to 0..255.
    """

    y: int
    rv: int
    gu: int
    gv: int
    bu: int


@cache
def yuv_to_rgb_coefficients(matrix: Matrix) -> YuvToRgb:
    kr, kb = _KR_KB[matrix]
    kg = 1.0 - kr - kb
    luma = 255 / 219  # 16..235 -> 0..255
    chroma = 255 / 224  # -112..112 -> -127.5..127.5

    def fixed(value: float) -> int:
        return round(value * (1 << _FRACTION_BITS))

    return YuvToRgb(
        y=fixed(luma),
        rv=fixed(2 * (1 - kr) * chroma),
        gu=fixed(2 * (1 - kb) * kb / kg * chroma),
        gv=fixed(2 * (1 - kr) * kr / kg * chroma),
        bu=fixed(2 * (1 - kb) * chroma),
    )


@cache
def _tables(matrix: Matrix) -> tuple[npt.NDArray[np.int32], ...]:
    """Per-byte lookup tables of each term, so a conversion is table reads and adds."""
    c = yuv_to_rgb_coefficients(matrix)
    value = np.arange(256, dtype=np.int32)
    luma = c.y * (value - BLACK_Y) + _HALF
    d = value - NEUTRAL_C
    return luma, c.rv * d, -c.gu * d, -c.gv * d, c.bu * d


def chroma_size(width: int, height: int) -> tuple[int, int]:
    """Width and height of the U and V planes of a ``width x height`` picture."""
    return (width + 1) // 2, (height + 1) // 2


def chroma_cells(rect: TileRect) -> TileRect:
    """The chroma cells a rectangle of pixels owns: those whose first (even) pixel it holds."""
    x0, y0 = (rect.x + 1) // 2, (rect.y + 1) // 2
    return TileRect(x0, y0, (rect.right + 1) // 2 - x0, (rect.bottom + 1) // 2 - y0)


def chroma_cover(rect: TileRect) -> TileRect:
    """The chroma cells a rectangle of pixels touches at all (what to read or upload for it)."""
    x0, y0 = rect.x // 2, rect.y // 2
    return TileRect(x0, y0, (rect.right + 1) // 2 - x0, (rect.bottom + 1) // 2 - y0)


def planes_to_bgr(
    y: Plane, u: Plane, v: Plane, matrix: Matrix, out: npt.NDArray[np.uint8] | None = None
) -> npt.NDArray[np.uint8]:
    """The ``(h, w, 3)`` BGR picture of I420 planes; chroma is repeated over each 2x2 cell.

    ``u`` and ``v`` must be ``chroma_size(w, h)``; odd sizes are allowed.
    """
    h, w = y.shape
    cw, ch = chroma_size(w, h)
    if u.shape != (ch, cw) or v.shape != (ch, cw):
        raise ValueError(f"chroma planes {u.shape}, {v.shape} do not fit luma {y.shape}")
    if out is None:
        out = np.empty((h, w, 3), np.uint8)
    luma, rv, gu, gv, bu = _tables(matrix)
    if w % 2 or h % 2:  # pad to whole cells, convert, keep the picture's part
        padded = np.pad(y, ((0, ch * 2 - h), (0, cw * 2 - w)), mode="edge")
        out[:] = planes_to_bgr(padded, u, v, matrix)[:h, :w]
        return out
    # Luma terms viewed as (cell row, row in cell, cell column, column in cell): the
    # chroma terms broadcast over each cell, so no upsampled plane is ever made.
    lum = luma[y].reshape(ch, 2, cw, 2)
    cells = out.reshape(ch, 2, cw, 2, 3)
    for channel, term in ((2, rv[v]), (1, gu[u] + gv[v]), (0, bu[u])):
        value = lum + term[:, None, :, None]
        value >>= _FRACTION_BITS
        np.clip(value, 0, 255, out=value)
        cells[..., channel] = value
    return out


def bgr_to_luma(bgr: npt.NDArray[np.uint8], matrix: Matrix) -> Plane:
    """The Y plane of a BGR picture."""
    kr, kb = _KR_KB[matrix]
    pixels = bgr.astype(np.float32)
    luma = kr * pixels[..., 2] + (1.0 - kr - kb) * pixels[..., 1] + kb * pixels[..., 0]
    y: Plane = np.rint(BLACK_Y + luma * np.float32(219 / 255)).astype(np.uint8)
    return y


def bgr_to_chroma(bgr: npt.NDArray[np.uint8], matrix: Matrix) -> tuple[Plane, Plane]:
    """The U and V planes of a BGR picture: each sample is the mean over its 2x2 cell.

    A half cell at an odd right or bottom edge takes its pixels' colour.
    """
    h, w = bgr.shape[:2]
    cw, ch = chroma_size(w, h)
    if w % 2 or h % 2:
        bgr = np.pad(bgr, ((0, ch * 2 - h), (0, cw * 2 - w), (0, 0)), mode="edge")
    # Cell means first: the chroma of a mean is the mean of the chromas (it is linear).
    # Four strided sums, exact in float32: several times faster than a reshaped mean.
    px = bgr.astype(np.float32)
    cells = (px[0::2, 0::2] + px[0::2, 1::2] + px[1::2, 0::2] + px[1::2, 1::2]) * np.float32(0.25)
    kr, kb = _KR_KB[matrix]
    b, g, r = cells[..., 0], cells[..., 1], cells[..., 2]
    luma = kr * r + (1.0 - kr - kb) * g + kb * b
    scale = np.float32(224 / 255)
    u = np.rint(NEUTRAL_C + (b - luma) * np.float32(1 / (2 * (1 - kb))) * scale)
    v = np.rint(NEUTRAL_C + (r - luma) * np.float32(1 / (2 * (1 - kr))) * scale)
    return u.clip(0, 255).astype(np.uint8), v.clip(0, 255).astype(np.uint8)


def bgr_to_planes(bgr: npt.NDArray[np.uint8], matrix: Matrix) -> tuple[Plane, Plane, Plane]:
    """The I420 planes of a BGR picture (see :func:`bgr_to_chroma` for the chroma)."""
    return (bgr_to_luma(bgr, matrix), *bgr_to_chroma(bgr, matrix))
