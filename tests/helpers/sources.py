"""A stand-in for a decoder's slot, and plain pictures, for composition tests without
decoders."""

from __future__ import annotations

import numpy as np

from compositor.core.colour import Matrix, bgr_to_planes
from compositor.slots import FrameView
from tests.helpers.pixels import Pixels


class FakeSource:
    """A frame source (what a tile reads: a slot on the wall) fed by the test."""

    def __init__(self) -> None:
        self.number = 0
        self.frame: FrameView | None = None
        self.views = 0

    def push(self, picture: Pixels, matrix: Matrix = Matrix.BT601) -> None:
        """A BGR picture, as the decoder would publish it: I420 planes."""
        self.number += 1
        self.frame = FrameView(self.number, *bgr_to_planes(picture, matrix), 0.0, matrix)

    def push_planes(self, y: Pixels, u: Pixels, v: Pixels) -> None:
        self.number += 1
        self.frame = FrameView(self.number, y, u, v, 0.0, Matrix.BT601)

    def view(self) -> FrameView | None:
        self.views += 1
        return self.frame

    def intact(self, view: FrameView) -> bool:
        return True


def solid(w: int, h: int, value: int) -> Pixels:
    """A ``w x h`` BGR picture of one grey."""
    return np.full((h, w, 3), value, np.uint8)
