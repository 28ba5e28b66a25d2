"""Drawing on tiles: the banner that says why a tile has no live picture.

OpenCV 5's FontFace renders Unicode (accents in camera names, the "·"
separator) with its built-in sans font, so no font file is needed.
"""

from __future__ import annotations

__all__ = ["BannerPainter"]

import cv2
import numpy as np
import numpy.typing as npt

from compositor.canvas import TileNotice

_BACKGROUND = {"error": (24, 24, 150), "info": (70, 60, 50)}  # BGR: dark red, slate
_TEXT = (255, 255, 255)


class BannerPainter:
    """Paints a :class:`TileNotice` as a band across the middle of a tile."""

    def __init__(self) -> None:
        self._font = cv2.FontFace("sans")

    def _text_width(self, text: str, size: int, weight: int) -> int:
        _, _, width, _ = cv2.getTextSize((4096, 512), text, (0, 0), self._font, size, weight)
        return int(width)

    def __call__(self, region: npt.NDArray[np.uint8], notice: TileNotice) -> None:
        tile_h, tile_w = region.shape[:2]
        if not notice.lines or tile_h < 8 or tile_w < 16:
            return
        size = int(min(48, max(9, tile_h / 9)))
        margin = max(2, size // 2)
        sizes: list[int] = []
        for index, line in enumerate(notice.lines):
            weight = 700 if index == 0 else 400
            line_size = size if index == 0 else max(8, int(size * 0.8))
            # Shrink a line until it fits the tile's width.
            while line_size > 8 and self._text_width(line, line_size, weight) > tile_w - 2 * margin:
                line_size -= 1
            sizes.append(line_size)
        line_gap = [int(s * 1.35) for s in sizes]
        band_h = min(tile_h, sum(line_gap) + 2 * margin)
        top = (tile_h - band_h) // 2
        region[top : top + band_h] = _BACKGROUND.get(notice.severity, _BACKGROUND["error"])
        baseline = top + margin
        for index, (line, line_size) in enumerate(zip(notice.lines, sizes, strict=True)):
            weight = 700 if index == 0 else 400
            baseline += line_gap[index]
            width = self._text_width(line, line_size, weight)
            x = max(margin, (tile_w - width) // 2)
            cv2.putText(
                region,
                line,
                (x, baseline - line_gap[index] // 5),
                _TEXT,
                self._font,
                line_size,
                weight,
            )
