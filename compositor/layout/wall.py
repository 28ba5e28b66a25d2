"""The physical wall: screens in rows and columns, with bezels, in one pixel space.

Wall pixels are screen pixels extended across the bezels: a bezel of 3 mm
on a screen of 160 px per cm is 48 wall pixels nobody sees. A picture placed
in wall pixels over several screens is cut so each screen shows only what
falls on its visible area, and straight lines stay straight from screen to
screen, as if the bezels hid part of one big picture. Pure geometry.
"""

from __future__ import annotations

__all__ = ["ScreenGeometry", "SpanPiece", "WallGeometry"]

from dataclasses import dataclass

from compositor.core.geometry import TileRect


@dataclass(frozen=True, slots=True)
class ScreenGeometry:
    """One screen model: its resolution, visible size and bezels (left, top, right, bottom)."""

    width_px: int
    height_px: int
    width_mm: float
    height_mm: float
    bezel_mm: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    @property
    def px_per_mm(self) -> tuple[float, float]:
        return self.width_px / self.width_mm, self.height_px / self.height_mm


@dataclass(frozen=True, slots=True)
class SpanPiece:
    """The part of a wall-placed picture that one screen shows."""

    row: int
    column: int
    on_screen: TileRect  # where, in the screen's own pixels
    of_picture: TileRect  # which part of the picture's box, in box pixels


@dataclass(frozen=True, slots=True)
class WallGeometry:
    rows: int
    columns: int
    screen: ScreenGeometry

    def _origin(self, index: int, along_x: bool) -> int:
        s = self.screen
        ppm_x, ppm_y = s.px_per_mm
        left, top, right, bottom = s.bezel_mm
        if along_x:
            pitch = left + s.width_mm + right
            return round((index * pitch + left) * ppm_x)
        pitch = top + s.height_mm + bottom
        return round((index * pitch + top) * ppm_y)

    def screen_rect(self, row: int, column: int) -> TileRect:
        """The visible area of screen (row, column) in wall pixels."""
        if not (0 <= row < self.rows and 0 <= column < self.columns):
            raise IndexError(f"no screen at row {row}, column {column}")
        return TileRect(
            self._origin(column, True),
            self._origin(row, False),
            self.screen.width_px,
            self.screen.height_px,
        )

    @property
    def size(self) -> tuple[int, int]:
        """The whole wall in wall pixels, outer bezels included."""
        last = self.screen_rect(self.rows - 1, self.columns - 1)
        ppm_x, ppm_y = self.screen.px_per_mm
        _, _, right, bottom = self.screen.bezel_mm
        return last.right + round(right * ppm_x), last.bottom + round(bottom * ppm_y)

    def project(self, box: TileRect) -> list[SpanPiece]:
        """Cut ``box`` (wall pixels) into the pieces the screens show, row by row."""
        pieces = []
        for row in range(self.rows):
            for column in range(self.columns):
                visible = self.screen_rect(row, column)
                common = visible.intersection(box)
                if common is None:
                    continue
                pieces.append(
                    SpanPiece(
                        row,
                        column,
                        common.offset(-visible.x, -visible.y),
                        common.offset(-box.x, -box.y),
                    )
                )
        return pieces
