"""Pure geometry of the wall: tile rectangles, grids, and how a picture fits a tile.

No I/O and no image data here, so every rule can be unit-tested on its own.
"""

from __future__ import annotations

__all__ = ["Fit", "FitPlan", "TileRect", "grid_cells", "plan_fit"]

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction


class Fit(StrEnum):
    """How a camera picture is fitted into its tile."""

    LETTERBOX = "letterbox"  # whole picture, true aspect, black bars
    CROP = "crop"  # fill the tile, true aspect, edges cut off
    FILL = "fill"  # fill the tile, aspect distorted


@dataclass(frozen=True, slots=True)
class TileRect:
    """A rectangle in output pixels: ``x, y`` is the top-left corner."""

    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    @property
    def area(self) -> int:
        return self.w * self.h

    def intersection(self, other: TileRect) -> TileRect | None:
        x0, y0 = max(self.x, other.x), max(self.y, other.y)
        x1, y1 = min(self.right, other.right), min(self.bottom, other.bottom)
        if x1 <= x0 or y1 <= y0:
            return None
        return TileRect(x0, y0, x1 - x0, y1 - y0)

    def contains(self, other: TileRect) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def offset(self, dx: int, dy: int) -> TileRect:
        return TileRect(self.x + dx, self.y + dy, self.w, self.h)


def grid_cells(width: int, height: int, rows: int, cols: int) -> list[TileRect]:
    """Split ``width x height`` into ``rows x cols`` cells, row by row.

    Cell edges are rounded so the cells cover the output exactly, with no gap
    and no overlap, whatever the remainder of the division.
    """
    xs = [round(c * width / cols) for c in range(cols + 1)]
    ys = [round(r * height / rows) for r in range(rows + 1)]
    return [
        TileRect(xs[c], ys[r], xs[c + 1] - xs[c], ys[r + 1] - ys[r])
        for r in range(rows)
        for c in range(cols)
    ]


@dataclass(frozen=True, slots=True)
class FitPlan:
    """How to turn a decoded picture into the pixels of one tile.

    Scale the source to ``scaled_w x scaled_h`` (square pixels), keep the
    ``crop`` region of that, and place it at ``(offset_x, offset_y)`` inside
    the tile. What the picture does not cover stays black (letterbox bars).
    """

    scaled_w: int
    scaled_h: int
    crop: TileRect
    offset_x: int
    offset_y: int

    @property
    def placed(self) -> TileRect:
        """The part of the tile the picture covers, in tile coordinates."""
        return TileRect(self.offset_x, self.offset_y, self.crop.w, self.crop.h)


def plan_fit(
    src_w: int,
    src_h: int,
    box_w: int,
    box_h: int,
    fit: Fit = Fit.LETTERBOX,
    sar: Fraction = Fraction(1),
) -> FitPlan:
    """Plan the scaling of a ``src_w x src_h`` picture into a ``box_w x box_h`` tile.

    ``sar`` is the sample (pixel) aspect ratio the stream signals: a PAL
    704x576 camera with SAR 12:11 shows a 4:3 picture, not 11:9.
    """
    if min(src_w, src_h, box_w, box_h) <= 0:
        raise ValueError(f"empty picture or tile: {src_w}x{src_h} into {box_w}x{box_h}")
    if sar <= 0:
        sar = Fraction(1)
    display_w = src_w * sar  # exact, in square pixels
    if fit is Fit.FILL:
        return FitPlan(box_w, box_h, TileRect(0, 0, box_w, box_h), 0, 0)
    scale_fit = min(Fraction(box_w) / display_w, Fraction(box_h, src_h))
    scale_cover = max(Fraction(box_w) / display_w, Fraction(box_h, src_h))
    if fit is Fit.LETTERBOX:
        w = max(1, min(box_w, round(display_w * scale_fit)))
        h = max(1, min(box_h, round(src_h * scale_fit)))
        return FitPlan(w, h, TileRect(0, 0, w, h), (box_w - w) // 2, (box_h - h) // 2)
    w = max(box_w, round(display_w * scale_cover))
    h = max(box_h, round(src_h * scale_cover))
    crop = TileRect((w - box_w) // 2, (h - box_h) // 2, box_w, box_h)
    return FitPlan(w, h, crop, 0, 0)
