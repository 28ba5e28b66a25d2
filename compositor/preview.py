"""``videowall preview``: the whole wall drawn from its layout, without any camera.

Every output sits where it hangs: on a described wall (``wall:``), in its row and
column with the bezels as gaps to scale; otherwise in rows of up to seven, in
order. Each tile is labelled with its camera's name and id and its tile id
(``A2.3``: output A2, third tile); each screen with its output id. Pure
numpy/OpenCV: a technician can look at a change before it reaches the wall.
"""

from __future__ import annotations

__all__ = ["render_preview"]

import hashlib

import cv2
import numpy as np
import numpy.typing as npt

from compositor.canvas import TileNotice
from compositor.geometry import TileRect
from compositor.layout import Layout, OutputConfig
from compositor.overlay import BannerPainter

Pixels = npt.NDArray[np.uint8]

BACKGROUND = (32, 32, 32)  # BGR: the room behind the screens, and the bezels
SCREEN = (12, 12, 12)  # an output's empty area
PER_ROW = 7  # outputs per row without a wall section: the poc wall's 7x2


def _tile_colour(camera_id: str) -> tuple[int, int, int]:
    """A muted colour per camera, stable from run to run (not Python's salted hash)."""
    digest = hashlib.sha1(camera_id.encode()).digest()
    return (60 + digest[0] % 110, 60 + digest[1] % 110, 60 + digest[2] % 110)


def _screen_rects(layout: Layout, gap: int) -> dict[str, TileRect]:
    """Each output's place in preview space, at full scale (output pixels)."""
    if layout.wall is not None:
        geometry = layout.wall.geometry()
        return {
            output_id: geometry.screen_rect(row, column)
            for output_id, (row, column) in layout.wall_positions().items()
        }
    rects: dict[str, TileRect] = {}
    x = y = row_h = 0
    for index, output in enumerate(layout.outputs):
        if index and index % PER_ROW == 0:
            x, y, row_h = 0, y + row_h + gap, 0
        rects[output.id] = TileRect(x, y, *output.size)
        x += output.size[0] + gap
        row_h = max(row_h, output.size[1])
    return rects


def _scaled(rect: TileRect, scale: float) -> TileRect:
    x0, y0 = round(rect.x * scale), round(rect.y * scale)
    return TileRect(x0, y0, round(rect.right * scale) - x0, round(rect.bottom * scale) - y0)


def render_preview(layout: Layout, width: int = 3200) -> Pixels:
    """The wall as a BGR image about ``width`` pixels wide (plus a margin)."""
    gap = max(o.size[0] for o in layout.outputs) // 25
    screens = _screen_rects(layout, gap)
    right = max(r.right for r in screens.values())
    bottom = max(r.bottom for r in screens.values())
    scale = width / right
    margin = 16
    image = np.full(
        (round(bottom * scale) + 2 * margin, round(right * scale) + 2 * margin, 3),
        BACKGROUND,
        dtype=np.uint8,
    )
    painter = BannerPainter()
    outputs = {o.id: o for o in layout.outputs}
    for output_id, place in screens.items():
        if output_id not in outputs:
            continue
        target = _scaled(place, scale).offset(margin, margin)
        screen = _draw_output(layout, outputs[output_id], target.w, target.h, painter)
        image[target.y : target.bottom, target.x : target.right] = screen
    if layout.wall is not None:
        for span in layout.spans:
            box = _scaled(layout.span_box(span), scale).offset(margin, margin)
            box = box.intersection(TileRect(0, 0, image.shape[1], image.shape[0])) or box
            region = image[box.y : box.bottom, box.x : box.right]
            lines = (layout.camera_name(span.camera), f"{span.camera} · span")
            painter(region, TileNotice(lines, dim=False, severity="info"))
    return image


def _draw_output(
    layout: Layout, output: OutputConfig, width: int, height: int, painter: BannerPainter
) -> Pixels:
    screen = np.full((height, width, 3), SCREEN, dtype=np.uint8)
    sx, sy = width / output.size[0], height / output.size[1]
    own = len(output.placed_tiles())
    for index, tile in enumerate(layout.placed_tiles(output.id)):
        rect = TileRect(
            round(tile.rect.x * sx),
            round(tile.rect.y * sy),
            max(1, round(tile.rect.w * sx)),
            max(1, round(tile.rect.h * sy)),
        )
        region = screen[rect.y : rect.bottom, rect.x : rect.right]
        region[:] = _tile_colour(tile.camera)
        # A thin dark edge so neighbouring tiles of similar colours stay apart.
        cv2.rectangle(region, (0, 0), (rect.w - 1, rect.h - 1), SCREEN, 1)
        if index < own:  # the output's own tiles; span pieces are labelled once, whole
            lines = (
                layout.camera_name(tile.camera),
                f"{tile.camera} · {output.id}.{index + 1}",
            )
            painter(region, TileNotice(lines, dim=False, severity="info"))
    # The output id in a dark badge at the top-left corner, readable over any tile.
    size = max(10, height // 12)
    font = cv2.FontFace("sans")
    _, _, text_w, _ = cv2.getTextSize((4096, 512), output.id, (0, 0), font, size, 700)
    pad = max(2, size // 4)
    cv2.rectangle(screen, (0, 0), (int(text_w) + 2 * pad, size + 2 * pad), SCREEN, -1)
    cv2.putText(screen, output.id, (pad, size + pad // 2), (255, 255, 255), font, size, 700)
    return screen
