"""One output as the wall composes it: its canvas, and all it shows besides frames.

A :class:`ComposedOutput` is built from the output's placed tiles in one
place, so its canvas tiles, their labels and tours, its painted tiles and its
starting banner can never disagree about which tile is which. The painted
kinds (clock, text, image) come from the registry in
:mod:`compositor.compose.kinds`, the same one the preview draws with.
"""

from __future__ import annotations

__all__ = ["ComposedOutput", "NoticeFor", "SlotFor"]

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from compositor.compose.canvas import CanvasTile, FrameSource, NoticePainter, OutputCanvas
from compositor.compose.kinds import PAINTED_KINDS, PaintedTile, WallResources
from compositor.compose.notice import TileNotice
from compositor.compose.painters import PlaneLabel, plane_label
from compositor.compose.pictures import PictureLoader
from compositor.compose.screen_notice import starting_notice
from compositor.core.frame_ages import FrameAges
from compositor.core.geometry import TileRect
from compositor.layout.models import PlacedTile

# The latest picture of a camera at a tile's size and fit (the decoders' slot).
SlotFor = Callable[[str, PlacedTile], FrameSource]
# What a camera tile says now, by output id, camera id (a tour's: the one it shows) and
# placed tile; None: nothing over a live picture.
NoticeFor = Callable[[str, str, PlacedTile], TileNotice | None]


@dataclass
class _Tour:
    index: int  # of the tile on the canvas
    cameras: tuple[str, ...]
    sources: tuple[FrameSource, ...]
    labels: tuple[PlaneLabel | None, ...]
    every: float
    showing: int = 0


class ComposedOutput:
    """One output's canvas with its camera tiles, labels, tours and painted tiles.

    :meth:`compose` before each frame is drawn: painted tiles repaint what
    changed (a clock's text, an image decoded meanwhile off the render loop),
    a tour switches to its next camera every ``every`` seconds (all of a
    tour's cameras keep decoding, so a switch shows a picture at once), then
    the canvas copies in the frames that moved.
    """

    def __init__(
        self,
        output_id: str,
        size: tuple[int, int],
        placed: Sequence[PlacedTile],
        *,
        slot_for: SlotFor,
        camera_name: Callable[[str], str],
        painter: NoticePainter,
        frame_ages: FrameAges,
        pictures: PictureLoader,
        now: float,
    ) -> None:
        self.id = output_id
        self.placed = list(placed)
        self.started = now
        # Canvas tile i is camera tile i: both are made here, from the same list.
        self.camera_tiles = [tile for tile in self.placed if tile.cameras]
        canvas_tiles = []
        self.tours: list[_Tour] = []
        for index, tile in enumerate(self.camera_tiles):
            labels = tuple(plane_label(camera_name(c), tile) for c in tile.cameras)
            first = tile.cameras[0]
            canvas_tiles.append(
                CanvasTile(
                    tile.rect,
                    slot_for(first, tile),
                    first,
                    tile.box_w,
                    tile.box_h,
                    tile.window,
                    overlay=labels[0],
                )
            )
            if tile.kind == "tour":
                sources = tuple(slot_for(camera, tile) for camera in tile.cameras)
                self.tours.append(_Tour(index, tile.cameras, sources, labels, tile.every))
        self.canvas = OutputCanvas(size[0], size[1], canvas_tiles, painter, frame_ages)
        resources = WallResources(pictures, now)
        self.painted: list[PaintedTile] = [
            PAINTED_KINDS[tile.kind].on_wall(tile, resources)
            for tile in self.placed
            if not tile.cameras
        ]
        # Texts at once, and pictures ready already (kept through a change); clocks when
        # the time of day is known, at the first compose.
        self._paint(now, None)
        self.starting = True  # its banner up until its first picture (never a black screen)

    @property
    def size(self) -> tuple[int, int]:
        return self.canvas.width, self.canvas.height

    @property
    def cameras(self) -> set[str]:
        return {camera for tile in self.camera_tiles for camera in tile.cameras}

    def shows(self, placed: Sequence[PlacedTile], size: tuple[int, int]) -> bool:
        """True if this output already shows ``placed`` at ``size``: kept through a change."""
        return list(placed) == self.placed and size == self.size

    def _paint(self, now: float, wall_time: float | None) -> None:
        for painted in self.painted:
            painted.update(self.canvas, now, wall_time)

    def refresh_notices(self, notice_for: NoticeFor) -> None:
        """Every camera tile's notice, as its camera's state says now."""
        for index, tile in enumerate(self.camera_tiles):
            camera_id = self.canvas.tiles[index].camera_id
            self.canvas.set_notice(index, notice_for(self.id, camera_id, tile))

    def update_starting(self, connecting: int) -> None:
        """The output's id and "starting: N cameras connecting" until pictures come.

        Down at its first camera picture, or once none of its cameras is still
        connecting (those that failed say why on their own tiles); then never again.
        """
        if not self.starting:
            return
        if self.canvas.frames_shown or not connecting:
            self.canvas.set_banner(None)
            self.starting = False
        else:
            self.canvas.set_banner(starting_notice(self.id, connecting))

    def compose(self, now: float, wall_time: float, notice_for: NoticeFor) -> list[TileRect]:
        """Bring the output to ``now``; the canvas rectangles that changed."""
        self._paint(now, wall_time)
        for tour in self.tours:
            showing = int((now - self.started) // tour.every) % len(tour.cameras)
            if showing != tour.showing:
                tour.showing = showing
                self.canvas.switch_source(
                    tour.index, tour.sources[showing], tour.cameras[showing], tour.labels[showing]
                )
                # The tile now tells the state of the camera it shows.
                tile = self.camera_tiles[tour.index]
                notice = notice_for(self.id, tour.cameras[showing], tile)
                self.canvas.set_notice(tour.index, notice)
        return self.canvas.compose(now)
