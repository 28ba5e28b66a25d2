"""Where each output hangs, in wall pixels: on a described wall in its row and column
(the bezels as gaps to scale), otherwise in rows of up to seven, in monitor order.

Shared by ``videowall preview`` and the control page, which draw the wall alike.
"""

from __future__ import annotations

__all__ = ["MAX_PER_ROW", "screen_places", "wall_extent"]

import math
from collections.abc import Mapping

from compositor.core.geometry import TileRect
from compositor.layout.models import Layout, OutputConfig

MAX_PER_ROW = 7  # outputs per row without a wall section: the poc wall's 7x2


def _screen_order(layout: Layout) -> list[OutputConfig]:
    """Outputs in monitor order when every output names a monitor index, else as listed."""
    outputs = list(layout.outputs)
    if all(isinstance(o.monitor, int) and not isinstance(o.monitor, bool) for o in outputs):
        outputs.sort(key=lambda o: int(o.monitor or 0))
    return outputs


def _rows(outputs: list[OutputConfig], gap: int, top: int = 0) -> dict[str, TileRect]:
    """Outputs in rows of up to seven, as even as the count allows (8 -> 4 + 4), with gaps."""
    if not outputs:
        return {}
    per_row = math.ceil(len(outputs) / math.ceil(len(outputs) / MAX_PER_ROW))
    rects: dict[str, TileRect] = {}
    x, y, row_h = 0, top, 0
    for index, output in enumerate(outputs):
        if index and index % per_row == 0:
            x, y, row_h = 0, y + row_h + gap, 0
        rects[output.id] = TileRect(x, y, *output.size)
        x += output.size[0] + gap
        row_h = max(row_h, output.size[1])
    return rects


def screen_places(layout: Layout) -> dict[str, TileRect]:
    """Each output's place in wall pixels (output pixels when there is no wall)."""
    gap = max(o.size[0] for o in layout.outputs) // 25
    if layout.wall is None:
        return _rows(_screen_order(layout), gap)
    geometry = layout.wall.geometry()
    rects = {
        output_id: geometry.screen_rect(row, column)
        for output_id, (row, column) in layout.wall_positions().items()
    }
    # Outputs that are not on the wall (a desk monitor, say) in a row under it.
    others = [o for o in _screen_order(layout) if o.id not in rects]
    return rects | _rows(others, gap, geometry.size[1] + 2 * gap)


def wall_extent(layout: Layout, places: Mapping[str, TileRect]) -> tuple[int, int]:
    """Width and height of everything drawn, in wall pixels: a wall with its outer bezels."""
    right = max(r.right for r in places.values())
    bottom = max(r.bottom for r in places.values())
    if layout.wall is not None:
        wall_w, wall_h = layout.wall.geometry().size
        right, bottom = max(right, wall_w), max(bottom, wall_h)
    return right, bottom
