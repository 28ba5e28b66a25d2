"""The registry of painted tile kinds: what a clock, a text or an image tile looks like.

One entry per kind that is not a camera picture, used by both the running wall
(:mod:`compositor.compose.output`) and ``videowall preview``, so the two can
never draw a kind differently. Adding a tile kind is a field on the layout's
``TileConfig`` (and its name in ``TileKind``) and one entry here: an object
that paints the tile on the wall (:meth:`TileKindPainter.on_wall`) and in a
preview (:meth:`TileKindPainter.in_preview`).

Camera and tour tiles are not here: their pictures come from the decoders'
slots, not from a painter.
"""

from __future__ import annotations

__all__ = [
    "PAINTED_KINDS",
    "PaintedTile",
    "PreviewResources",
    "TileKindPainter",
    "WallResources",
]

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from compositor.compose.canvas import OutputCanvas
from compositor.compose.painters import ClockTile, paint_text
from compositor.compose.pictures import (
    MATRIX,
    PictureJob,
    PictureLoader,
    fit_picture,
    load_picture,
    paint_missing_image,
)
from compositor.core.geometry import TileRect
from compositor.layout.models import PlacedTile

Pixels = npt.NDArray[np.uint8]

# An image tile says it is loading only after this long: a small picture, ready in a
# frame or two, shows without a notice flashing before it.
LOADING_NOTICE_AFTER_S = 0.5


class PaintedTile(Protocol):
    """A painted tile on the running wall; called before each composition."""

    def update(self, canvas: OutputCanvas, now: float, wall_time: float | None) -> None:
        """Paint the tile on ``canvas`` if its picture changed (a clock's second, an image
        decoded meanwhile); otherwise do nothing, cheaply: it runs every frame.
        ``wall_time`` None (an output just built): paint what needs no time of day."""
        ...


@dataclass(frozen=True)
class WallResources:
    """What painted tiles on the running wall may use."""

    pictures: PictureLoader  # images are decoded off the render loop
    started: float  # when the output was built (monotonic seconds)


@dataclass
class PreviewResources:
    """What a preview's painted tiles may use."""

    wall_time: float  # the time a preview's clocks show
    pictures: dict[Path, Pixels | str] = field(default_factory=dict)  # each file read once

    def picture(self, path: Path) -> Pixels | str:
        if path not in self.pictures:
            self.pictures[path] = load_picture(path)
        return self.pictures[path]


class TileKindPainter(Protocol):
    """How one tile kind is painted, on the wall and in a preview."""

    def on_wall(self, tile: PlacedTile, resources: WallResources) -> PaintedTile: ...

    def in_preview(
        self, tile: PlacedTile, width: int, height: int, resources: PreviewResources
    ) -> Pixels: ...


# --- clock ------------------------------------------------------------------------------


def changed_part(before: Pixels, after: Pixels, rect: TileRect) -> TileRect | None:
    """Where a painted tile at ``rect`` changed from ``before`` to ``after`` (canvas
    coordinates, widened to whole chroma cells inside the tile); None: nowhere.

    Put there alone, the part gives the canvas the very planes the whole tile would.
    """
    if before.shape != after.shape:
        return rect
    differs = np.any(before != after, axis=2)
    rows = np.flatnonzero(differs.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(differs.any(axis=0))
    x0 = max(rect.x, (rect.x + int(cols[0])) & ~1)
    y0 = max(rect.y, (rect.y + int(rows[0])) & ~1)
    x1 = rect.x + int(cols[-1]) + 1
    y1 = rect.y + int(rows[-1]) + 1
    x1, y1 = min(rect.right, x1 + (x1 & 1)), min(rect.bottom, y1 + (y1 & 1))
    return TileRect(x0, y0, x1 - x0, y1 - y0)


@dataclass
class _LiveClock:
    rect: TileRect
    clock: ClockTile

    shown: bool = False  # put on the canvas whole once; then only what changes

    def update(self, canvas: OutputCanvas, now: float, wall_time: float | None) -> None:
        # Repainted only when its text changes (once a second for %H:%M:%S).
        if wall_time is None:
            return
        before = self.clock.pixels
        if not self.clock.update(wall_time):
            return
        after, rect = self.clock.pixels, self.rect
        if not self.shown:
            canvas.put_bgr(rect, after)
            self.shown = True
            return
        # Only the digits that changed go through the BGR to YUV conversion: a 1920x420
        # clock converted whole each second took 9 % of the room's render loop (py-spy).
        part = changed_part(before, after, rect)
        if part is not None:
            x, y = part.x - rect.x, part.y - rect.y
            canvas.put_bgr(part, after[y : y + part.h, x : x + part.w], part_of=rect)


class _Clock:
    def on_wall(self, tile: PlacedTile, resources: WallResources) -> PaintedTile:
        rect = tile.rect
        return _LiveClock(rect, ClockTile(str(tile.content or ""), rect.w, rect.h))

    def in_preview(
        self, tile: PlacedTile, width: int, height: int, resources: PreviewResources
    ) -> Pixels:
        clock = ClockTile(str(tile.content or ""), width, height)
        clock.update(resources.wall_time)
        return clock.pixels.copy()


# --- text -------------------------------------------------------------------------------


@dataclass
class _LiveText:
    rect: TileRect
    text: str
    painted: bool = False

    def update(self, canvas: OutputCanvas, now: float, wall_time: float | None) -> None:
        if not self.painted:  # once: a banner never changes while its layout stands
            canvas.put_bgr(self.rect, paint_text(self.text, self.rect.w, self.rect.h))
            self.painted = True


class _Text:
    def on_wall(self, tile: PlacedTile, resources: WallResources) -> PaintedTile:
        return _LiveText(tile.rect, str(tile.content or ""))

    def in_preview(
        self, tile: PlacedTile, width: int, height: int, resources: PreviewResources
    ) -> Pixels:
        return paint_text(str(tile.content or ""), width, height)


# --- image ------------------------------------------------------------------------------


@dataclass
class _LiveImage:
    """An image decoded off the render loop: black, then 'loading', then the picture."""

    rect: TileRect
    job: PictureJob
    started: float
    shown: int = 0  # the job's version on the canvas (0: none yet)
    loading_shown: bool = False

    def update(self, canvas: OutputCanvas, now: float, wall_time: float | None) -> None:
        version, picture = self.job.get()
        if version != self.shown and picture is not None:
            self.shown = version
            canvas.put_planes(self.rect, picture.planes, MATRIX)  # made ready off the loop
        elif (
            not self.shown
            and not self.loading_shown
            and self.job.loading is not None
            and now - self.started >= LOADING_NOTICE_AFTER_S
        ):
            self.loading_shown = True
            canvas.put_planes(self.rect, self.job.loading.planes, MATRIX)


def _image_path(tile: PlacedTile) -> Path:
    return tile.content if isinstance(tile.content, Path) else Path(str(tile.content or "?"))


class _Image:
    def on_wall(self, tile: PlacedTile, resources: WallResources) -> PaintedTile:
        job = resources.pictures.request(_image_path(tile), tile.rect, tile.fit)
        return _LiveImage(tile.rect, job, resources.started)

    def in_preview(
        self, tile: PlacedTile, width: int, height: int, resources: PreviewResources
    ) -> Pixels:
        picture = resources.picture(_image_path(tile))
        if isinstance(picture, str):
            return paint_missing_image(picture, width, height)
        return fit_picture(picture, width, height, tile.fit)


PAINTED_KINDS: Mapping[str, TileKindPainter] = {
    "clock": _Clock(),
    "text": _Text(),
    "image": _Image(),
}
