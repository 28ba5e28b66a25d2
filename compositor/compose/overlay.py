"""Drawing on tiles: the banner that says why a tile has no live picture.

OpenCV 5's FontFace renders Unicode (accents in camera names, the "·"
separator) with its built-in sans font, so no font file is needed.
"""

from __future__ import annotations

__all__ = ["BannerPainter", "TextFace"]

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from compositor.compose.notice import TileNotice

# BGR: dark red, slate, and amber for alarms (apart from a failure's red at a glance).
_BACKGROUND = {"error": (24, 24, 150), "info": (70, 60, 50), "alarm": (0, 110, 210)}
_TEXT = (255, 255, 255)


class TextFace:
    """OpenCV's built-in sans font: measuring and drawing Unicode text, shared by all painters.

    ``size`` is in pixels (about the height of a line); ``weight`` is 400 regular, 700 bold.
    """

    def __init__(self) -> None:
        self._font = cv2.FontFace("sans")

    def width(self, text: str, size: int, weight: int = 400) -> int:
        _, _, width, _ = cv2.getTextSize((4096, 512), text, (0, 0), self._font, size, weight)
        return int(width)

    def fitting_size(
        self, text: str, max_width: int, size: int, weight: int = 400, min_size: int = 8
    ) -> int:
        """The largest size up to ``size`` at which ``text`` is at most ``max_width`` wide
        (``min_size`` if none is)."""
        cap, width = size, self.width(text, size, weight)
        if width > max_width:
            # Width grows about linearly with size: start near the answer, then step to it.
            size = max(min_size, min(cap, size * max_width // max(1, width)))
            while size < cap and self.width(text, size + 1, weight) <= max_width:
                size += 1
        while size > min_size and self.width(text, size, weight) > max_width:
            size -= 1
        return size

    def put(
        self,
        region: npt.NDArray[np.uint8],
        text: str,
        baseline: tuple[int, int],
        colour: tuple[int, int, int],
        size: int,
        weight: int = 400,
    ) -> None:
        """Draw ``text`` with its baseline starting at ``baseline`` (x, y)."""
        cv2.putText(region, text, baseline, colour, self._font, size, weight)


@dataclass(frozen=True, slots=True)
class _Band:
    top: int
    height: int
    margin: int
    sizes: tuple[int, ...]  # text size of each line


class BannerPainter:
    """Paints a :class:`TileNotice` as a band across the middle of a tile (BGR).

    ``band`` tells which rows a notice will cover, so a canvas that keeps
    its pixels in YUV converts just those rows (see
    :class:`compositor.compose.canvas.NoticePainter`).
    """

    def __init__(self) -> None:
        self._font = cv2.FontFace("sans")
        self._last: tuple[tuple[int, int, TileNotice], _Band | None] | None = None

    def _text_width(self, text: str, size: int, weight: int) -> int:
        _, _, width, _ = cv2.getTextSize((4096, 512), text, (0, 0), self._font, size, weight)
        return int(width)

    def _layout(self, tile_w: int, tile_h: int, notice: TileNotice) -> _Band | None:
        key = (tile_w, tile_h, notice)
        if self._last is not None and self._last[0] == key:
            return self._last[1]  # band() then __call__ for the same notice: measure once
        band = None
        if notice.lines and tile_h >= 8 and tile_w >= 16:
            size = int(min(48, max(9, tile_h / 9)))
            margin = max(2, size // 2)
            sizes: list[int] = []
            for index, line in enumerate(notice.lines):
                weight = 700 if index == 0 else 400
                line_size = size if index == 0 else max(8, int(size * 0.8))
                # Shrink a line until it fits the tile's width.
                while (
                    line_size > 8
                    and self._text_width(line, line_size, weight) > tile_w - 2 * margin
                ):
                    line_size -= 1
                sizes.append(line_size)
            band_h = min(tile_h, sum(int(s * 1.35) for s in sizes) + 2 * margin)
            # Even rows where the tile allows: the band then owns whole chroma cells, so
            # the canvas can keep it and put it back over each new frame unchanged.
            band_h = min(tile_h & ~1, band_h + (band_h & 1)) or band_h
            top = 0 if notice.at_top else ((tile_h - band_h) // 2) & ~1
            band = _Band(top, band_h, margin, tuple(sizes))
        self._last = (key, band)
        return band

    def band(self, width: int, height: int, notice: TileNotice) -> tuple[int, int]:
        """The rows ``[top, bottom)`` of a ``width x height`` tile the notice covers."""
        band = self._layout(width, height, notice)
        return (0, 0) if band is None else (band.top, band.top + band.height)

    def __call__(self, region: npt.NDArray[np.uint8], notice: TileNotice) -> None:
        tile_h, tile_w = region.shape[:2]
        band = self._layout(tile_w, tile_h, notice)
        if band is None:
            return
        top = band.top
        region[top : top + band.height] = _BACKGROUND.get(notice.severity, _BACKGROUND["error"])
        line_gap = [int(s * 1.35) for s in band.sizes]
        baseline = top + band.margin
        for index, (line, line_size) in enumerate(zip(notice.lines, band.sizes, strict=True)):
            weight = 700 if index == 0 else 400
            baseline += line_gap[index]
            width = self._text_width(line, line_size, weight)
            x = max(band.margin, (tile_w - width) // 2)
            cv2.putText(
                region,
                line,
                (x, baseline - line_gap[index] // 5),
                _TEXT,
                self._font,
                line_size,
                weight,
            )
