"""Composition: one numpy canvas per output, tiles copied in as their frames change.

Pure numpy. A tile reads its :class:`FrameSource` (a shared-memory slot in
the running wall, anything with the same three members in tests), and only
tiles with a new frame or a new notice are touched: an unchanged wall costs
a few attribute reads per tile and nothing else.
"""

from __future__ import annotations

__all__ = ["CanvasTile", "FrameSource", "NoticePainter", "OutputCanvas", "TileNotice"]

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from compositor.geometry import TileRect
from compositor.metrics import FrameAges
from compositor.slots import FrameView

Pixels = npt.NDArray[np.uint8]


class FrameSource(Protocol):
    """The latest picture of one camera at the tile's size (see :class:`FrameSlot`)."""

    @property
    def number(self) -> int: ...

    def view(self) -> FrameView | None: ...

    def intact(self, view: FrameView) -> bool: ...


@dataclass(frozen=True, slots=True)
class TileNotice:
    """Text shown over a tile: why it has no live picture."""

    lines: tuple[str, ...]
    dim: bool  # keep the last picture, dimmed, under the banner
    severity: str = "error"  # "error" (red) or "info" (neutral)


NoticePainter = Callable[[Pixels, TileNotice], None]


def _no_painter(region: Pixels, notice: TileNotice) -> None:
    pass


@dataclass(slots=True)
class CanvasTile:
    """A tile on this canvas: ``rect`` shows the ``window`` part of its picture box.

    The box is the area the camera's picture is fitted into (the slot's size).
    Usually the tile shows all of it; a picture spanning several screens has a
    box larger than any one screen, and each screen's tile shows its window.
    """

    rect: TileRect
    source: FrameSource
    camera_id: str
    box_w: int = 0  # 0: the box is the tile itself
    box_h: int = 0
    window: TileRect | None = None  # the part of the box shown; None: all of it
    shown_number: int = 0  # frame number now on the canvas
    notice: TileNotice | None = None  # wanted notice
    painted_notice: TileNotice | None = None  # notice now on the canvas
    dimmed: bool = False
    placed: TileRect | None = field(default=None)  # where the picture sits, canvas coords


class OutputCanvas:
    """The pixels of one output: (height, width, 3) uint8 BGR, top row first."""

    def __init__(
        self,
        width: int,
        height: int,
        tiles: Sequence[CanvasTile],
        painter: NoticePainter = _no_painter,
        ages: FrameAges | None = None,
    ) -> None:
        self.width, self.height = width, height
        self.pixels: Pixels = np.zeros((height, width, 3), dtype=np.uint8)
        self.tiles = list(tiles)
        for tile in self.tiles:
            if tile.window is None:
                tile.box_w, tile.box_h = tile.rect.w, tile.rect.h
                tile.window = TileRect(0, 0, tile.rect.w, tile.rect.h)
        self._painter = painter
        self._ages = ages
        self.torn_reads = 0  # reads skipped because the decoder overtook them

    def set_notice(self, index: int, notice: TileNotice | None) -> None:
        self.tiles[index].notice = notice

    def compose(self, now: float | None = None) -> list[TileRect]:
        """Bring every tile up to date; return the rectangles that changed.

        With ``now`` (on the decoders' monotonic clock), the age of each new
        frame is recorded in the canvas's :class:`FrameAges`.
        """
        dirty: list[TileRect] = []
        for tile in self.tiles:
            changed = False
            if tile.notice is None and tile.painted_notice is not None:
                tile.shown_number = 0  # the notice is gone: put the plain picture back
            if tile.source.number != tile.shown_number:
                changed = self._copy_frame(tile, now)
            if tile.notice != tile.painted_notice:
                self._paint_notice(tile)
                changed = True
            if changed:
                dirty.append(tile.rect)
        return dirty

    def _region(self, rect: TileRect) -> Pixels:
        return self.pixels[rect.y : rect.bottom, rect.x : rect.right]

    def _copy_frame(self, tile: CanvasTile, now: float | None = None) -> bool:
        view = tile.source.view()
        if view is None:
            return False
        h, w = view.pixels.shape[:2]
        rect, window = tile.rect, tile.window
        assert window is not None  # set in __init__
        # The picture sits centred in its box (letterbox); this tile shows `window` of the box.
        in_box = TileRect((tile.box_w - w) // 2, (tile.box_h - h) // 2, w, h)
        shown = in_box.intersection(window)
        placed = shown.offset(rect.x - window.x, rect.y - window.y) if shown else None
        if placed != tile.placed or tile.painted_notice is not None or tile.dimmed:
            # The picture moved (size change) or a notice covered the bars: clear the tile.
            self._region(rect)[:] = 0
        if shown is not None and placed is not None:
            src = shown.offset(-in_box.x, -in_box.y)
            np.copyto(self._region(placed), view.pixels[src.y : src.bottom, src.x : src.right])
        if not tile.source.intact(view):
            # The decoder reused the buffer mid-copy; the next frame is already there.
            self.torn_reads += 1
            tile.shown_number = 0
            return True
        if self._ages is not None and now is not None and view.number != tile.shown_number:
            self._ages.add(tile.camera_id, now - view.captured_at)
        tile.placed = placed
        tile.shown_number = view.number
        tile.painted_notice = None
        tile.dimmed = False
        if tile.notice is not None:
            self._paint_notice(tile)
        return True

    def _paint_notice(self, tile: CanvasTile) -> None:
        region = self._region(tile.rect)
        notice = tile.notice
        if notice is None:
            # No picture to put back (it never came): leave the tile black.
            region[:] = 0
            tile.dimmed = False
        else:
            if notice.dim and not tile.dimmed:
                region //= 3  # keep the last picture visible but clearly not live
                tile.dimmed = True
            elif not notice.dim and tile.dimmed:
                region[:] = 0
                tile.dimmed = False
            self._painter(region, notice)
        tile.painted_notice = notice
