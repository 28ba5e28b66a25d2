"""What one output shows besides camera frames: painted tiles, tours and camera labels.

Built from the output's placed tiles next to its canvas, and brought up to
date before each composition. The painted kinds (clock, text, image) come
from the registry in :mod:`compositor.compose.kinds`, the same one the
preview draws with.
"""

from __future__ import annotations

__all__ = ["OutputTiles"]

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compositor.compose.canvas import FrameSource, OutputCanvas
from compositor.compose.kinds import PAINTED_KINDS, PaintedTile, WallResources
from compositor.compose.painters import PlaneLabel, plane_label
from compositor.compose.pictures import PictureLoader
from compositor.layout.models import PlacedTile


@dataclass
class _Tour:
    index: int  # of the tile on the canvas
    cameras: tuple[str, ...]
    sources: tuple[FrameSource, ...]
    labels: tuple[PlaneLabel | None, ...]
    every: float
    showing: int = 0


class OutputTiles:
    """One output's painted tiles, tours and camera labels.

    Made for one canvas and the placed tiles it was built from (camera tiles
    in order, as the canvas has them). :meth:`update` before each
    composition: each painted tile repaints what changed (a clock's text, an
    image decoded meanwhile off the render loop), and a tour switches to its
    next camera every ``every`` seconds (all of a tour's cameras keep
    decoding, so a switch shows a picture at once).
    """

    def __init__(
        self,
        canvas: OutputCanvas,
        placed: Sequence[PlacedTile],
        camera_name: Callable[[str], str],
        source: Callable[[str, PlacedTile], FrameSource],
        now: float,
        pictures: PictureLoader,
    ) -> None:
        self.canvas = canvas
        self.started = now
        self.tours: list[_Tour] = []
        camera_tiles = [tile for tile in placed if tile.cameras]
        for index, (canvas_tile, tile) in enumerate(zip(canvas.tiles, camera_tiles, strict=True)):
            labels = tuple(plane_label(camera_name(c), tile) for c in tile.cameras)
            canvas_tile.overlay = labels[0]
            if tile.kind == "tour":
                sources = tuple(source(camera, tile) for camera in tile.cameras)
                self.tours.append(_Tour(index, tile.cameras, sources, labels, tile.every))
        resources = WallResources(pictures, now)
        self.painted: list[PaintedTile] = [
            PAINTED_KINDS[tile.kind].on_wall(tile, resources) for tile in placed if not tile.cameras
        ]
        # Texts at once, and pictures ready already (kept through a change); clocks too.
        self._paint(now, None)

    def _paint(self, now: float, wall_time: float | None) -> None:
        for painted in self.painted:
            painted.update(self.canvas, now, wall_time)

    def update(self, now: float, wall_time: float) -> list[int]:
        """Bring painted tiles and tours to ``now``; the canvas tiles whose tour switched
        camera."""
        self._paint(now, wall_time)
        switched = []
        for tour in self.tours:
            showing = int((now - self.started) // tour.every) % len(tour.cameras)
            if showing != tour.showing:
                tour.showing = showing
                self.canvas.switch_source(
                    tour.index,
                    tour.sources[showing],
                    tour.cameras[showing],
                    tour.labels[showing],
                )
                switched.append(tour.index)
        return switched
