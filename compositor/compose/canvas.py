"""Composition: one canvas per output, as I420 planes, tiles copied in as their frames change.

Pure numpy. A tile reads its :class:`FrameSource` (a shared-memory slot in
the running wall, anything with the same three members in tests), and only
tiles with a new frame or a new notice are touched: an unchanged wall costs
a few attribute reads per tile and nothing else.

The canvas holds what the decoders give and the display shows: a Y plane
and half-size U and V planes in limited range (black is Y 16, U = V = 128),
so a camera's picture is copied, never converted. Each tile remembers the
colour matrix of its frames (BT.601 or BT.709, see :meth:`OutputCanvas.matrices`).

Geometry. Luma is placed pixel-exact: a tile covers exactly its rectangle
and a spanning picture is cut exactly where the wall geometry says. Chroma
comes in cells of 2x2 pixels, so a tile edge at an odd pixel shares a cell
with its neighbour: such a cell belongs to the tile holding its first
(even) pixel, and the other tile's edge pixels show that tile's colour (a
one-pixel fringe at most, and stable: two tiles never fight over a cell).
Pictures sit at even offsets in their box (letterbox bars may differ by a
pixel from exact centring).

Notices (banners) are drawn by a BGR painter: only the banner's rows go
to BGR and back, when the notice changes.

An output-wide banner (:meth:`OutputCanvas.set_banner`: a starting output's
id and how many cameras are still connecting) lies over every tile. The
canvas keeps what the band hides, so tiles go on updating under it, and when
it is taken away the picture beneath is back, exactly.
"""

from __future__ import annotations

__all__ = [
    "CanvasImage",
    "CanvasTile",
    "FrameSource",
    "NoticePainter",
    "OutputCanvas",
    "TileOverlay",
    "TilePlanes",
    "tile_planes",
]

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from compositor.compose.notice import TileNotice
from compositor.core.colour import (
    BLACK_Y,
    NEUTRAL_C,
    Matrix,
    bgr_to_chroma,
    bgr_to_luma,
    chroma_cells,
    chroma_cover,
    chroma_size,
    planes_to_bgr,
)
from compositor.core.frame_ages import FrameAges
from compositor.core.geometry import TileRect
from compositor.slots import FrameView

Pixels = npt.NDArray[np.uint8]  # BGR, (height, width, 3)
Plane = npt.NDArray[np.uint8]


class FrameSource(Protocol):
    """The latest picture of one camera at the tile's size (see :class:`FrameSlot`)."""

    @property
    def number(self) -> int: ...

    def view(self) -> FrameView | None: ...

    def intact(self, view: FrameView) -> bool: ...


class NoticePainter(Protocol):
    """Draws a notice on a tile, in BGR (see :class:`compositor.compose.overlay.BannerPainter`)."""

    def band(self, width: int, height: int, notice: TileNotice) -> tuple[int, int]:
        """The rows ``[top, bottom)`` of a ``width x height`` tile that painting touches."""
        ...

    def __call__(self, region: Pixels, notice: TileNotice) -> None:
        """Paint ``notice`` on ``region``, the whole tile: every pixel of the band's rows
        (opaque; the rows may hold anything before), nothing outside them."""
        ...


class TileOverlay(Protocol):
    """Drawn over each new frame of a tile, in the planes (a camera's name label)."""

    def apply(self, y: Plane, u: Plane, v: Plane) -> None: ...


class _NoPainter:
    def band(self, width: int, height: int, notice: TileNotice) -> tuple[int, int]:
        return 0, 0

    def __call__(self, region: Pixels, notice: TileNotice) -> None:
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
    matrix: Matrix = Matrix.BT601  # colour matrix of the tile's YUV (its frames')
    overlay: TileOverlay | None = None  # drawn over every frame (a label), under notices
    # The notice band as painted (key, band, Y, U, V): opaque, so a delayed camera's
    # frames get it back by three copies instead of a paint through BGR each.
    band_cache: tuple[object, TileRect, Plane, Plane, Plane] | None = None


def _even_offset(free: int) -> int:
    """Half of ``free`` (the room around a picture in its box), rounded to even towards 0."""
    return int(free / 4) * 2


def _base_and_overrides(
    regions: Sequence[tuple[TileRect, Matrix]],
) -> tuple[Matrix, tuple[tuple[TileRect, Matrix], ...]]:
    area: Counter[Matrix] = Counter()
    for rect, matrix in regions:
        area[matrix] += rect.area
    base = Matrix.BT709 if area[Matrix.BT709] > area[Matrix.BT601] else Matrix.BT601
    overrides: list[tuple[TileRect, Matrix]] = []
    for rect, matrix in regions:
        # A region of the base matrix drawn over an override (a span over a tile)
        # must be drawn again after it.
        if matrix != base or any(rect.intersection(r) for r, _ in overrides):
            overrides.append((rect, matrix))
    return base, tuple(overrides)


@dataclass(frozen=True, slots=True)
class CanvasImage:
    """A canvas at one moment: its planes, and the matrix of each part.

    ``base`` is the matrix of the whole picture; each of ``overrides``, in
    order, is a rectangle drawn with its own matrix over what came before.
    """

    y: Plane
    u: Plane
    v: Plane
    base: Matrix
    overrides: tuple[tuple[TileRect, Matrix], ...]

    def to_bgr(self) -> Pixels:
        """The picture as BGR, (height, width, 3): what the display shows."""
        pixels = planes_to_bgr(self.y, self.u, self.v, self.base)
        for rect, matrix in self.overrides:
            pixels[rect.y : rect.bottom, rect.x : rect.right] = _region_to_bgr(
                self.y, self.u, self.v, rect, matrix
            )
        return pixels


def _region_to_bgr(y: Plane, u: Plane, v: Plane, rect: TileRect, matrix: Matrix) -> Pixels:
    """BGR of ``rect`` of the planes (its chroma cells taken whole, then cut)."""
    x0, y0 = rect.x & ~1, rect.y & ~1
    cover = chroma_cover(rect)
    bgr = planes_to_bgr(
        y[y0 : rect.bottom, x0 : rect.right],
        u[cover.y : cover.bottom, cover.x : cover.right],
        v[cover.y : cover.bottom, cover.x : cover.right],
        matrix,
    )
    return bgr[rect.y - y0 :, rect.x - x0 :]


TilePlanes = tuple[Plane, Plane, Plane]  # Y, and the U and V cells a rectangle owns


def tile_planes(image: Pixels, rect: TileRect, matrix: Matrix) -> TilePlanes:
    """The planes a BGR ``image`` of ``rect``'s size puts on a canvas at ``rect``.

    Only the parity of ``rect.x`` and ``rect.y`` matters (which chroma cells the
    rectangle owns): planes made for ``TileRect(x & 1, y & 1, w, h)`` fit ``rect``.
    """
    y = bgr_to_luma(image, matrix)
    c = chroma_cells(rect)
    if c.w <= 0 or c.h <= 0:
        empty = np.zeros((max(c.h, 0), max(c.w, 0)), np.uint8)
        return y, empty, empty.copy()
    # The owned cells start at the first even pixel: skip an odd first column/row.
    u, v = bgr_to_chroma(image[rect.y & 1 :, rect.x & 1 :], matrix)
    return y, np.ascontiguousarray(u[: c.h, : c.w]), np.ascontiguousarray(v[: c.h, : c.w])


class OutputCanvas:
    """The picture of one output: I420 planes ``y`` (h, w), ``u`` and ``v`` (h/2, w/2).

    Odd sizes are allowed (the chroma planes round up).
    """

    def __init__(
        self,
        width: int,
        height: int,
        tiles: Sequence[CanvasTile],
        painter: NoticePainter | None = None,
        ages: FrameAges | None = None,
    ) -> None:
        self.width, self.height = width, height
        cw, ch = chroma_size(width, height)
        self.y: Plane = np.full((height, width), BLACK_Y, np.uint8)
        self.u: Plane = np.full((ch, cw), NEUTRAL_C, np.uint8)
        self.v: Plane = np.full((ch, cw), NEUTRAL_C, np.uint8)
        self.tiles = list(tiles)
        for tile in self.tiles:
            if tile.window is None:
                tile.box_w, tile.box_h = tile.rect.w, tile.rect.h
                tile.window = TileRect(0, 0, tile.rect.w, tile.rect.h)
        self._painter: NoticePainter = painter if painter is not None else _NoPainter()
        self._ages = ages
        self._painted: dict[TileRect, Matrix] = {}  # regions put in BGR, by rectangle
        self._pending: list[TileRect] = []  # put since the last compose
        self._matrices: tuple[int, Matrix, tuple[tuple[TileRect, Matrix], ...]] | None = None
        self.matrix_version = 0  # grows whenever a tile's or region's matrix changes
        self.torn_reads = 0  # reads skipped because the decoder overtook them
        self.frames_shown = 0  # camera pictures put on this canvas, all tiles together
        # The output-wide banner: wanted, and as painted (its band, what the band hides
        # as Y, U, V, and the banner's own planes to put back without painting again).
        self._banner: TileNotice | None = None
        self._banner_painted: _PaintedBanner | None = None

    def set_banner(self, notice: TileNotice | None) -> None:
        """Show ``notice`` across the middle of the whole output, over every tile (None: none).

        Painted by the next :meth:`compose`; the tiles under it keep updating.
        """
        self._banner = notice

    @property
    def banner(self) -> TileNotice | None:
        return self._banner

    def set_notice(self, index: int, notice: TileNotice | None) -> None:
        self.tiles[index].notice = notice

    def compose(self, now: float | None = None) -> list[TileRect]:
        """Bring every tile up to date; return the rectangles that changed.

        With ``now`` (on the decoders' monotonic clock), the age of each new
        frame is recorded in the canvas's :class:`FrameAges`.
        """
        dirty, self._pending = self._pending, []
        painted = self._banner_painted
        if painted is not None:
            if painted.notice == self._banner and not self._band_touched(painted.band, dirty):
                return self._compose_tiles(dirty, now)  # nothing under the band moves
            self._restore_under(painted)  # the tiles work on the picture without the banner
        dirty = self._compose_tiles(dirty, now)
        if self._banner is not None:
            self._paint_banner(self._banner, dirty)
        elif painted is not None:
            self._banner_painted = None  # gone: the band shows what it hid
            self.matrix_version += 1
            dirty.append(painted.band)
        return dirty

    def _compose_tiles(self, dirty: list[TileRect], now: float | None) -> list[TileRect]:
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

    # -- what other code needs ----------------------------------------------------------

    def switch_source(
        self, index: int, source: FrameSource, camera_id: str, overlay: TileOverlay | None = None
    ) -> None:
        """Show another camera in tile ``index`` (a tour): its next frame is drawn whole."""
        tile = self.tiles[index]
        tile.source, tile.camera_id, tile.overlay = source, camera_id, overlay
        tile.shown_number = 0
        tile.placed = None  # its picture may sit elsewhere: the bars are cleared

    def put_bgr(
        self,
        rect: TileRect,
        image: Pixels,
        matrix: Matrix = Matrix.BT601,
        *,
        part_of: TileRect | None = None,
    ) -> None:
        """Put a BGR ``image`` (rect.h, rect.w, 3) at ``rect``: a painted tile, a pattern.

        The rectangle is reported as changed by the next :meth:`compose`; it
        should not overlap camera tiles (the later painting wins). ``part_of``:
        ``rect`` is a part of that painted tile (a clock's changed digits), put
        with whole chroma cells (even ``x`` and ``y``, even sizes up to the
        tile's edge); the canvas knows the tile's matrix, not each part's.
        """
        if image.shape[:2] != (rect.h, rect.w):
            raise ValueError(f"image {image.shape[:2]} does not fit {rect}")
        self.put_planes(rect, tile_planes(image, rect, matrix), matrix, part_of=part_of)

    def put_planes(
        self,
        rect: TileRect,
        planes: TilePlanes,
        matrix: Matrix,
        *,
        part_of: TileRect | None = None,
    ) -> None:
        """As :meth:`put_bgr`, with what :func:`tile_planes` made of the picture: three
        copies, no conversion (a picture converted off the render loop: compose.pictures)."""
        y, u, v = planes
        c = chroma_cells(rect)
        if y.shape != (rect.h, rect.w) or u.shape != (c.h, c.w) or v.shape != (c.h, c.w):
            raise ValueError(f"planes {y.shape}, {u.shape} do not fit {rect}")
        region = rect if part_of is None else part_of
        if part_of is not None and rect.intersection(part_of) != rect:
            raise ValueError(f"{rect} is not a part of {part_of}")
        self._write(rect, planes)
        # One entry per painted tile, whatever parts of it are put: a bounded table.
        if self._painted.get(region) != matrix:
            self._painted[region] = matrix
            self.matrix_version += 1
        self._pending.append(rect)
        banner = self._banner_painted
        if banner is not None and rect.intersection(banner.band):
            # The new picture is what the band hides now; compose puts the banner back.
            self._save_under(banner, rect.intersection(banner.band))

    def matrices(self) -> tuple[Matrix, tuple[tuple[TileRect, Matrix], ...]]:
        """The matrix of the most area, and, in drawing order, the rectangles that differ."""
        cached = self._matrices
        if cached is None or cached[0] != self.matrix_version:
            regions = [(tile.rect, tile.matrix) for tile in self.tiles]
            regions += list(self._painted.items())
            if self._banner_painted is not None:  # over everything: drawn last
                regions.append((self._banner_painted.band, BANNER_MATRIX))
            cached = (self.matrix_version, *_base_and_overrides(regions))
            self._matrices = cached
        return cached[1], cached[2]

    def freeze(self) -> CanvasImage:
        """A copy of the planes and matrices now (cheap: three memory copies)."""
        base, overrides = self.matrices()
        return CanvasImage(self.y.copy(), self.u.copy(), self.v.copy(), base, overrides)

    def to_bgr(self) -> Pixels:
        """The canvas as BGR (height, width, 3), byte for byte what the display shows."""
        base, overrides = self.matrices()
        return CanvasImage(self.y, self.u, self.v, base, overrides).to_bgr()

    # -- planes -------------------------------------------------------------------------

    def _fill(self, rect: TileRect, luma: int = BLACK_Y, chroma: int = NEUTRAL_C) -> None:
        self.y[rect.y : rect.bottom, rect.x : rect.right] = luma
        c = chroma_cells(rect)
        self.u[c.y : c.bottom, c.x : c.right] = chroma
        self.v[c.y : c.bottom, c.x : c.right] = chroma

    def _write(self, rect: TileRect, planes: TilePlanes) -> None:
        y, u, v = planes
        c = chroma_cells(rect)
        self.y[rect.y : rect.bottom, rect.x : rect.right] = y
        self.u[c.y : c.bottom, c.x : c.right] = u
        self.v[c.y : c.bottom, c.x : c.right] = v

    def _dim(self, rect: TileRect) -> None:
        """To a third: Y toward black, U and V toward no colour (RGB / 3, exactly linear)."""
        luma = self.y[rect.y : rect.bottom, rect.x : rect.right]
        np.take(_DIM_LUMA, luma, out=luma)
        c = chroma_cells(rect)
        for plane in (self.u, self.v):
            cells = plane[c.y : c.bottom, c.x : c.right]
            np.take(_DIM_CHROMA, cells, out=cells)

    # -- tiles --------------------------------------------------------------------------

    # -- the output-wide banner ---------------------------------------------------------

    def _band_touched(self, band: TileRect, dirty: list[TileRect]) -> bool:
        """Will this compose change anything under ``band``? (The same tests as compose's.)"""
        if any(rect.intersection(band) for rect in dirty):
            return True
        for tile in self.tiles:
            if not tile.rect.intersection(band):
                continue
            if (
                tile.source.number != tile.shown_number
                or tile.notice != tile.painted_notice
                or (tile.notice is None and tile.painted_notice is not None)
            ):
                return True
        return False

    def _restore_under(self, painted: _PaintedBanner) -> None:
        band, c = painted.band, chroma_cells(painted.band)
        self.y[band.y : band.bottom, band.x : band.right] = painted.under[0]
        self.u[c.y : c.bottom, c.x : c.right] = painted.under[1]
        self.v[c.y : c.bottom, c.x : c.right] = painted.under[2]

    def _save_under(self, painted: _PaintedBanner, part: TileRect | None = None) -> None:
        """Keep the planes of ``part`` of the band (all of it by default) as what it hides."""
        band = painted.band
        part = part or band
        y, u, v = painted.under
        c, cb = chroma_cells(part), chroma_cells(band)
        y[part.y - band.y : part.bottom - band.y, part.x - band.x : part.right - band.x] = self.y[
            part.y : part.bottom, part.x : part.right
        ]
        for mine, plane in ((u, self.u), (v, self.v)):
            mine[c.y - cb.y : c.bottom - cb.y, c.x - cb.x : c.right - cb.x] = plane[
                c.y : c.bottom, c.x : c.right
            ]

    def _paint_banner(self, notice: TileNotice, dirty: list[TileRect]) -> None:
        """Keep what the band covers, then put the banner over it (painted once per notice)."""
        previous = self._banner_painted
        top, bottom = self._painter.band(self.width, self.height, notice)
        top, bottom = top & ~1, min(self.height, bottom + (bottom & 1))  # whole chroma cells
        if bottom <= top:
            return
        band = TileRect(0, top, self.width, bottom - top)
        c = chroma_cells(band)
        if previous is not None and previous.band == band:
            painted = previous
        else:
            if previous is not None:
                dirty.append(previous.band)  # a band of another size: its old rows are back
            under = (
                np.empty((band.h, band.w), np.uint8),
                np.empty((c.h, c.w), np.uint8),
                np.empty((c.h, c.w), np.uint8),
            )
            painted = _PaintedBanner(band, under, notice, None)
            self.matrix_version += 1
        self._save_under(painted)
        if painted.planes is None or painted.notice != notice:
            scratch = np.empty((self.height, self.width, 3), np.uint8)  # only the band is used
            scratch[top:bottom] = _region_to_bgr(self.y, self.u, self.v, band, BANNER_MATRIX)
            self._painter(scratch, notice)
            self._write(band, tile_planes(scratch[top:bottom], band, BANNER_MATRIX))
            painted.planes = (
                self.y[top:bottom].copy(),
                self.u[c.y : c.bottom, c.x : c.right].copy(),
                self.v[c.y : c.bottom, c.x : c.right].copy(),
            )
            painted.notice = notice
        else:
            self.y[top:bottom] = painted.planes[0]
            self.u[c.y : c.bottom, c.x : c.right] = painted.planes[1]
            self.v[c.y : c.bottom, c.x : c.right] = painted.planes[2]
        self._banner_painted = painted
        dirty.append(band)

    # -- camera pictures ----------------------------------------------------------------

    def _copy_frame(self, tile: CanvasTile, now: float | None = None) -> bool:
        view = tile.source.view()
        if view is None:
            return False
        w, h = view.width, view.height
        rect, window = tile.rect, tile.window
        assert window is not None  # set in __init__
        # The picture sits centred in its box (letterbox); this tile shows `window` of the box.
        in_box = TileRect(_even_offset(tile.box_w - w), _even_offset(tile.box_h - h), w, h)
        shown = in_box.intersection(window)
        placed = shown.offset(rect.x - window.x, rect.y - window.y) if shown else None
        if placed != tile.placed or tile.painted_notice is not None or tile.dimmed:
            # The picture moved (size change) or a notice covered the bars: clear the tile.
            self._fill(rect)
        if shown is not None and placed is not None:
            src = shown.offset(-in_box.x, -in_box.y)
            np.copyto(
                self.y[placed.y : placed.bottom, placed.x : placed.right],
                view.y[src.y : src.bottom, src.x : src.right],
            )
            # Each owned cell takes the source cell under its first pixel.
            c = chroma_cells(placed)
            sx = (2 * c.x - placed.x + src.x) // 2
            sy = (2 * c.y - placed.y + src.y) // 2
            for plane, source in ((self.u, view.u), (self.v, view.v)):
                np.copyto(
                    plane[c.y : c.bottom, c.x : c.right],
                    source[sy : sy + c.h, sx : sx + c.w],
                )
        if tile.overlay is not None:
            tile.overlay.apply(self.y, self.u, self.v)
        if not tile.source.intact(view):
            # The decoder reused the buffer mid-copy; the next frame is already there.
            self.torn_reads += 1
            tile.shown_number = 0
            return True
        if self._ages is not None and now is not None and view.number != tile.shown_number:
            self._ages.add(tile.camera_id, now - view.captured_at)
        if view.matrix != tile.matrix:
            tile.matrix = view.matrix
            self.matrix_version += 1
        tile.placed = placed
        tile.shown_number = view.number
        self.frames_shown += 1
        tile.painted_notice = None
        tile.dimmed = False
        if tile.notice is not None:
            self._paint_notice(tile)
        return True

    def _paint_notice(self, tile: CanvasTile) -> None:
        rect, notice = tile.rect, tile.notice
        if notice is None:
            # No picture to put back (it never came): leave the tile black.
            self._fill(rect)
            tile.dimmed = False
        else:
            if notice.dim and not tile.dimmed:
                self._dim(rect)  # keep the last picture visible but clearly not live
                tile.dimmed = True
            elif not notice.dim and tile.dimmed:
                self._fill(rect)
                tile.dimmed = False
            self._paint_band(tile, notice)
        tile.painted_notice = notice

    def _paint_band(self, tile: CanvasTile, notice: TileNotice) -> None:
        """The painter's rows to BGR, painted, and back: nothing else of the tile moves."""
        rect = tile.rect
        key = (notice, tile.matrix, rect)
        cached = tile.band_cache
        if cached is not None and cached[0] == key:
            _, band, y, u, v = cached
            c = chroma_cells(band)
            self.y[band.y : band.bottom, band.x : band.right] = y
            self.u[c.y : c.bottom, c.x : c.right] = u
            self.v[c.y : c.bottom, c.x : c.right] = v
            return
        top, bottom = self._painter.band(rect.w, rect.h, notice)
        # Whole chroma cells where the tile allows, so the band's colour is its own.
        y0 = max(rect.y, (rect.y + max(0, top)) & ~1)
        y1 = min(rect.bottom, rect.y + bottom + ((rect.y + bottom) & 1))
        if y1 <= y0:
            return
        band = TileRect(rect.x, y0, rect.w, y1 - y0)
        scratch = np.empty((rect.h, rect.w, 3), np.uint8)  # rows outside the band unused
        rows = slice(y0 - rect.y, y1 - rect.y)
        only_painted = (y0, y1) == (rect.y + top, rect.y + bottom)
        if not only_painted:
            # A row of picture beside the band shares its chroma cells: it goes through BGR
            # too. The band's own rows are painted whole (opaque): what is under them is
            # not converted for nothing (a 1920-wide band: 19 -> 8 ms a paint, measured).
            scratch[rows] = _region_to_bgr(self.y, self.u, self.v, band, tile.matrix)
        self._painter(scratch, notice)
        self._write(band, tile_planes(scratch[rows], band, tile.matrix))
        if only_painted:  # no picture in it: kept, and put back over each new frame
            c = chroma_cells(band)
            tile.band_cache = (
                key,
                band,
                self.y[y0:y1, rect.x : rect.right].copy(),
                self.u[c.y : c.bottom, c.x : c.right].copy(),
                self.v[c.y : c.bottom, c.x : c.right].copy(),
            )


BANNER_MATRIX = Matrix.BT601  # the banner is painted in BGR and kept in this matrix


@dataclass(slots=True)
class _PaintedBanner:
    band: TileRect  # whole width, even rows
    under: tuple[Plane, Plane, Plane]  # what the band hides: Y, U, V
    notice: TileNotice
    planes: tuple[Plane, Plane, Plane] | None  # the banner as painted, to put back


def _dim_table(centre: int) -> npt.NDArray[np.uint8]:
    value = np.arange(256, dtype=np.int32)
    return (centre + np.floor_divide(value - centre, 3)).clip(0, 255).astype(np.uint8)


_DIM_LUMA = _dim_table(BLACK_Y)
_DIM_CHROMA = _dim_table(NEUTRAL_C)
