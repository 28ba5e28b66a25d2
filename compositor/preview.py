"""``videowall preview``: the whole wall drawn from its layout, without touching the wall.

Every output sits where it hangs: on a described wall (``wall:``), in its row and
column with the bezels as gaps to scale; otherwise in rows of up to seven, in
monitor order. Camera tiles show their camera's name and id and the tile id
(``A2.3``: output A2, third tile); tours list their cameras; clocks, texts,
images and labels are drawn as the wall will draw them. A picture spanning
screens is drawn whole and cut at the bezels like the real one. Given
``frames`` (``--live``: one picture per camera, or why there is none), camera
tiles show those instead. Pure numpy/OpenCV: no camera is contacted here.
"""

from __future__ import annotations

__all__ = [
    "BACKGROUND",
    "DEFAULT_WIDTH",
    "preview_scale",
    "render_preview",
    "screen_places",
    "shown_cameras",
    "write_preview",
]

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from compositor.compose.kinds import PAINTED_KINDS, PreviewResources
from compositor.compose.notice import TileNotice
from compositor.compose.overlay import BannerPainter, TextFace
from compositor.compose.painters import (
    fit_picture,
    label_strip,
)
from compositor.core.errors import CompositorError
from compositor.core.files import write_file
from compositor.core.geometry import Fit, TileRect
from compositor.layout.models import Layout, OutputConfig, PlacedTile, SpanConfig
from compositor.layout.parse import load_layout
from compositor.layout.places import screen_places, wall_extent

Pixels = npt.NDArray[np.uint8]
Frames = Mapping[str, "Pixels | str"]  # camera id -> its picture, or why there is none

BACKGROUND = (32, 32, 32)  # BGR: the room behind the screens, and the bezels
SCREEN = (12, 12, 12)  # an output's empty area
DEFAULT_WIDTH = 2800  # the preview's width when no scale is asked for
MARGIN = 16
TAG_PX = 9  # smallest text of the tags and labels in a preview
MAX_SIDE = 20000  # pixels: a bigger PNG is a mistake, not a preview
# Each host's screens outlined in its colour (BGR), its name under them: which PC shows what.
HOST_COLOURS = ((0, 200, 255), (255, 160, 0), (120, 220, 80), (200, 90, 255), (90, 90, 255))
HOST_LINE = 3  # pixels, in the margin around a screen


def _tile_colour(camera_id: str) -> tuple[int, int, int]:
    """A muted colour per camera, stable from run to run (not Python's salted hash)."""
    digest = hashlib.sha1(camera_id.encode()).digest()
    return (60 + digest[0] % 110, 60 + digest[1] % 110, 60 + digest[2] % 110)


def _scaled(rect: TileRect, scale: float) -> TileRect:
    x0, y0 = round(rect.x * scale), round(rect.y * scale)
    return TileRect(x0, y0, round(rect.right * scale) - x0, round(rect.bottom * scale) - y0)


def preview_scale(layout: Layout, width: int = DEFAULT_WIDTH) -> float:
    """The scale (preview pixels per wall pixel) that makes the wall ``width`` wide."""
    return width / wall_extent(layout, screen_places(layout))[0]


def shown_cameras(layout: Layout) -> list[str]:
    """The cameras a still preview shows: each camera tile's, a tour's first, each span's."""
    shown: dict[str, None] = {}
    for output in layout.outputs:
        for tile in layout.placed_tiles(output.id):
            if tile.cameras:
                shown[tile.cameras[0]] = None
    return list(shown)


@dataclass
class _Painter:
    """What the drawing of one preview shares: the layout, the scale, caches."""

    layout: Layout
    scale: float
    frames: Frames | None
    wall_time: float
    banner: BannerPainter = field(default_factory=BannerPainter)
    face: TextFace = field(default_factory=TextFace)
    boxes: dict[tuple[object, ...], Pixels] = field(default_factory=dict)
    resources: PreviewResources = field(init=False)

    def __post_init__(self) -> None:
        self.resources = PreviewResources(self.wall_time)

    # -- pictures of whole boxes ---------------------------------------------------------

    def camera_box(self, camera_id: str, width: int, height: int, fit: Fit) -> Pixels:
        """A camera's picture for a box of ``width x height`` (preview pixels)."""
        key = ("camera", camera_id, width, height, fit)
        if key in self.boxes:
            return self.boxes[key]
        if self.frames is None:
            box = np.full((height, width, 3), _tile_colour(camera_id), dtype=np.uint8)
            cv2.rectangle(box, (0, 0), (width - 1, height - 1), SCREEN, 1)
        else:
            frame = self.frames.get(camera_id, "no picture")
            if isinstance(frame, str):
                box = np.full((height, width, 3), (40, 40, 40), dtype=np.uint8)
                name = self.layout.camera_name(camera_id)
                self.banner(box, TileNotice((name, frame), dim=False))
            else:
                box = fit_picture(frame, width, height, fit)
        self.boxes[key] = box
        return box

    def span_box(self, index: int, span: SpanConfig, width: int, height: int) -> Pixels:
        """A spanning picture, whole; the screens show its pieces between the bezels."""
        key = ("span", index, width, height)
        if key in self.boxes:
            return self.boxes[key]
        box = self.camera_box(span.camera, width, height, span.fit).copy()
        if self.frames is None:
            # Diagonals and a circle: straight lines stay straight across the bezels.
            light = tuple(min(255, c + 60) for c in _tile_colour(span.camera))
            thick = max(2, width // 250)
            cv2.line(box, (0, 0), (width - 1, height - 1), light, thick, cv2.LINE_AA)
            cv2.line(box, (0, height - 1), (width - 1, 0), light, thick, cv2.LINE_AA)
            radius = min(width, height) // 3
            cv2.circle(box, (width // 2, height // 2), radius, light, thick, cv2.LINE_AA)
            # The caption on the largest piece, where no bezel cuts it.
            assert self.layout.wall is not None
            wall_box = self.layout.span_box(span)
            pieces = self.layout.wall.geometry().project(wall_box)
            if pieces:
                piece = _scaled(max(pieces, key=lambda p: p.of_picture.area).of_picture, self.scale)
                region = box[piece.y : piece.bottom, piece.x : piece.right]
                lines = (
                    self.layout.camera_name(span.camera),
                    f"{span.camera} · span {index + 1}",
                )
                self.banner(region, TileNotice(lines, dim=False, severity="info"))
        self.boxes[key] = box
        return box

    # -- one tile ------------------------------------------------------------------------

    def tile(self, tile: PlacedTile, tile_id: str, width: int, height: int) -> Pixels:
        """A tile of an output's own (not a span piece), ``width x height`` preview pixels."""
        if tile.cameras:
            image = self.camera_box(tile.cameras[0], width, height, tile.fit).copy()
        else:  # painted as the wall paints it: the same registry entry
            image = PAINTED_KINDS[tile.kind].in_preview(tile, width, height, self.resources)
        if tile.cameras and self.frames is None:
            self.banner(image, TileNotice(self._caption(tile, tile_id), dim=False, severity="info"))
        self._label(image, tile)
        if not tile.cameras or self.frames is not None:
            self._tag(image, tile, tile_id)
        return image

    def _caption(self, tile: PlacedTile, tile_id: str) -> tuple[str, ...]:
        name = self.layout.camera_name
        if tile.kind == "camera":
            return (name(tile.camera), f"{tile.camera} · {tile_id}")
        listed = [f"{name(c)} ({c})" for c in tile.cameras]
        if len(listed) > 3:
            listed = [*listed[:2], f"+{len(listed) - 2} more"]
        return (f"tour · every {tile.every:g} s", *listed, tile_id)

    def _label(self, image: Pixels, tile: PlacedTile) -> None:
        if tile.label is None or not tile.cameras:
            return
        height, width = image.shape[:2]
        strip = label_strip(
            self.layout.camera_name(tile.cameras[0]),
            width,
            height,
            tile.label.position,
            tile.label.size,
            self.scale,
            TAG_PX,
        )
        if strip is not None:
            strip.apply(image)

    def _tag(self, image: Pixels, tile: PlacedTile, tile_id: str) -> None:
        """A small tag naming the tile, in a top corner the label does not use."""
        text = tile_id
        if tile.kind == "camera":
            text = f"{tile_id} · {tile.camera}"
        elif tile.kind == "tour":
            text = f"{tile_id} · tour 1/{len(tile.cameras)}"
        corner = "top-left" if tile.label and tile.label.position == "top-right" else "top-right"
        height, width = image.shape[:2]
        strip = label_strip(text, width, height, corner, 0.8, self.scale, TAG_PX)
        if strip is not None:
            strip.apply(image)

    # -- one output ----------------------------------------------------------------------

    def output(self, output: OutputConfig, width: int, height: int) -> Pixels:
        screen = np.full((height, width, 3), SCREEN, dtype=np.uint8)
        sx, sy = width / output.size[0], height / output.size[1]
        own = 0
        for tile in self.layout.placed_tiles(output.id):
            rect = TileRect(
                round(tile.rect.x * sx),
                round(tile.rect.y * sy),
                max(1, round(tile.rect.right * sx) - round(tile.rect.x * sx)),
                max(1, round(tile.rect.bottom * sy) - round(tile.rect.y * sy)),
            )
            region = screen[rect.y : rect.bottom, rect.x : rect.right]
            if tile.window is None:  # the output's own tile
                own += 1
                region[:] = self.tile(tile, f"{output.id}.{own}", rect.w, rect.h)
            else:
                self._span_piece(region, tile)
        self._badge(screen, output.id)
        return screen

    def _span_piece(self, region: Pixels, tile: PlacedTile) -> None:
        assert tile.window is not None
        index, span = next(
            (i, s)
            for i, s in enumerate(self.layout.spans)
            if s.camera == tile.camera
            and (self.layout.span_box(s).w, self.layout.span_box(s).h) == tile.box
        )
        box_w, box_h = round(tile.box_w * self.scale), round(tile.box_h * self.scale)
        box = self.span_box(index, span, max(1, box_w), max(1, box_h))
        if tile.label is not None:  # one label on the whole picture, as on the wall
            box = box.copy()
            self._label(box, tile)
        window = _scaled(tile.window, self.scale)
        piece = box[window.y : window.y + region.shape[0], window.x : window.x + region.shape[1]]
        region[: piece.shape[0], : piece.shape[1]] = piece

    def _badge(self, screen: Pixels, output_id: str) -> None:
        """The output id, large, in a dark badge at the top centre (labels use the corners)."""
        height, width = screen.shape[:2]
        size = max(10, height // 12)
        face = self.face
        pad = max(2, size // 4)
        text_w = face.width(output_id, size, 700)
        x = max(0, (width - text_w) // 2 - pad)
        cv2.rectangle(screen, (x, 0), (x + text_w + 2 * pad, size + 2 * pad), SCREEN, -1)
        face.put(screen, output_id, (x + pad, size + pad // 2), (255, 255, 255), size, 700)


def render_preview(
    layout: Layout,
    *,
    scale: float | None = None,
    width: int = DEFAULT_WIDTH,
    frames: Frames | None = None,
    wall_time: float | None = None,
    title: str = "",
) -> Pixels:
    """The wall as a BGR image: ``scale`` preview pixels per wall pixel (default: the
    scale that makes it ``width`` wide), plus a margin and a title line."""
    screens = screen_places(layout)
    if scale is None:
        scale = preview_scale(layout, width)
    right, bottom = wall_extent(layout, screens)
    title_h = 28 if title else 0
    size_w = round(right * scale) + 2 * MARGIN
    size_h = round(bottom * scale) + 2 * MARGIN + title_h
    if max(size_w, size_h) > MAX_SIDE:
        raise CompositorError(f"the preview would be {size_w}x{size_h}: use a smaller --scale")
    image = np.full((size_h, size_w, 3), BACKGROUND, dtype=np.uint8)
    painter = _Painter(layout, scale, frames, time.time() if wall_time is None else wall_time)
    if title:
        painter.face.put(image, title, (MARGIN, MARGIN + 14), (220, 220, 220), 18, 400)
    outputs = {o.id: o for o in layout.outputs}
    for output_id, place in screens.items():
        target = _scaled(place, scale).offset(MARGIN, MARGIN + title_h)
        if target.w < 1 or target.h < 1:
            continue
        screen = painter.output(outputs[output_id], target.w, target.h)
        image[target.y : target.bottom, target.x : target.right] = screen
    if layout.hosts:
        _outline_hosts(image, layout, screens, painter, scale, MARGIN + title_h)
    return image


def _outline_hosts(
    image: Pixels,
    layout: Layout,
    screens: dict[str, TileRect],
    painter: _Painter,
    scale: float,
    top: int,
) -> None:
    """Each host's part of the wall: its screens outlined in its colour, its name on each
    (in the margin and the screen's bottom-left corner, over no tile's label corner)."""
    for index, (host, output_ids) in enumerate((layout.hosts or {}).items()):
        colour = HOST_COLOURS[index % len(HOST_COLOURS)]
        for output_id in output_ids:
            place = screens.get(output_id)
            if place is None:
                continue
            target = _scaled(place, scale).offset(MARGIN, top)
            gap = HOST_LINE // 2 + 1
            cv2.rectangle(
                image,
                (target.x - gap, target.y - gap),
                (target.right - 1 + gap, target.bottom - 1 + gap),
                colour,
                HOST_LINE,
            )
            size = max(TAG_PX, min(18, target.h // 10))
            text = f"host {host}"
            text_w = painter.face.width(text, size, 700)
            x, y = target.x + 2, target.bottom - size - 6
            cv2.rectangle(image, (x, y), (x + text_w + 6, target.bottom - 2), colour, -1)
            painter.face.put(image, text, (x + 3, target.bottom - 6), (0, 0, 0), size, 700)


LIVE_TIMEOUT_S = 5.0  # per camera, for --live: a dead camera costs this, once


def write_preview(
    layout_path: Path,
    output: Path,
    *,
    preset: str | None = None,
    scale: float | None = None,
    width: int = DEFAULT_WIDTH,
    live: bool = False,
    wall_time: float | None = None,
) -> tuple[int, int]:
    """``videowall preview``: draw ``layout_path`` into the PNG ``output``; returns its size.

    With ``live``, one current picture of each camera shown is grabbed first
    (in parallel, ``LIVE_TIMEOUT_S`` each); only then are cameras contacted.
    """
    # Drawn without cameras, a preview needs none of their secrets: an unset ${VAR}
    # stands for itself. Grabbing pictures (live) needs them all.
    layout = load_layout(layout_path, unset_variables="error" if live else "allow")
    if preset is not None:
        layout = layout.with_preset(preset)
    if scale is not None and not 0.01 <= scale <= 2.0:
        raise CompositorError("--scale must be between 0.01 and 2 (preview pixels per pixel)")
    if not 200 <= width <= 16384:
        raise CompositorError("--width must be between 200 and 16384 pixels")
    frames: Frames | None = None
    if live:
        from compositor.sources.grab import grab_frames  # PyAV, only when asked for

        grabbed = grab_frames(
            {cid: layout.cameras[cid].url for cid in shown_cameras(layout)}, LIVE_TIMEOUT_S
        )
        # Why a camera has no picture is painted on its tile: without the values of
        # its ${VAR}s, which the grabbing (no layout at hand) could only hide by pattern.
        redactor = layout.redactor()
        frames = {
            cid: redactor.text(frame) if isinstance(frame, str) else frame
            for cid, frame in grabbed.items()
        }
    title = (
        layout_path.name + (f" · preset {preset}" if preset else "") + (" · live" if live else "")
    )
    image = render_preview(
        layout, scale=scale, width=width, frames=frames, wall_time=wall_time, title=title
    )
    try:
        ok, encoded = cv2.imencode(output.suffix or ".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    except cv2.error:
        ok = False
    if not ok:
        raise CompositorError(f"cannot write {output}: not a picture type (name it .png)")
    # Made new and renamed over the name: a link planted there (/tmp) is replaced, never
    # written through. Camera pictures (--live) are private, like the wall's snapshots.
    try:
        write_file(
            output.parent, output.name, encoded.tobytes(), 0o600 if live else 0o644, private=False
        )
    except OSError as exc:
        raise CompositorError(f"cannot write {output}: {exc.strerror or exc}") from None
    return image.shape[1], image.shape[0]
