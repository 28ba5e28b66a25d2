"""The canvas, composed from fake frame sources: no server, no screen."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from compositor.canvas import CanvasTile, OutputCanvas, TileNotice
from compositor.geometry import TileRect
from compositor.slots import FrameView


class FakeSource:
    def __init__(self) -> None:
        self.number = 0
        self.picture: npt.NDArray[np.uint8] | None = None
        self.views = 0

    def push(self, picture: npt.NDArray[np.uint8]) -> None:
        self.number += 1
        self.picture = picture

    def view(self) -> FrameView | None:
        self.views += 1
        if self.picture is None:
            return None
        return FrameView(self.number, self.picture, 0.0)

    def intact(self, view: FrameView) -> bool:
        return True


def solid(w: int, h: int, value: int) -> npt.NDArray[np.uint8]:
    return np.full((h, w, 3), value, np.uint8)


def test_frames_land_centred_in_their_tiles_with_black_bars() -> None:
    left, right = FakeSource(), FakeSource()
    canvas = OutputCanvas(
        200,
        100,
        [
            CanvasTile(TileRect(0, 0, 100, 100), left, "a"),
            CanvasTile(TileRect(100, 0, 100, 100), right, "b"),
        ],
    )
    left.push(solid(100, 56, 50))  # a 16:9 picture letterboxed in a square tile
    dirty = canvas.compose()
    assert dirty == [TileRect(0, 0, 100, 100)]
    assert canvas.pixels[22:78, 0:100].min() == 50
    assert canvas.pixels[0:22, 0:100].max() == 0 and canvas.pixels[78:, 0:100].max() == 0
    assert canvas.pixels[:, 100:].max() == 0


def test_unchanged_tiles_are_not_touched() -> None:
    source = FakeSource()
    canvas = OutputCanvas(10, 10, [CanvasTile(TileRect(0, 0, 10, 10), source, "a")])
    source.push(solid(10, 10, 9))
    assert canvas.compose()
    views = source.views
    assert canvas.compose() == []
    assert source.views == views  # no read at all when the frame number did not move


def test_size_change_clears_the_old_bars() -> None:
    source = FakeSource()
    canvas = OutputCanvas(10, 10, [CanvasTile(TileRect(0, 0, 10, 10), source, "a")])
    source.push(solid(10, 10, 200))
    canvas.compose()
    source.push(solid(10, 4, 100))
    canvas.compose()
    assert canvas.pixels[0:3].max() == 0 and canvas.pixels[3:7].min() == 100


def test_notice_dims_the_last_picture_and_goes_when_frames_return() -> None:
    painted: list[TileNotice] = []
    source = FakeSource()
    canvas = OutputCanvas(
        10,
        10,
        [CanvasTile(TileRect(0, 0, 10, 10), source, "a")],
        lambda region, n: painted.append(n),
    )
    source.push(solid(10, 10, 90))
    canvas.compose()
    notice = TileNotice(("NO SIGNAL · a",), dim=True)
    canvas.set_notice(0, notice)
    assert canvas.compose() == [TileRect(0, 0, 10, 10)]
    assert painted == [notice] and canvas.pixels.max() == 30
    assert canvas.compose() == []  # the same notice is not painted twice
    canvas.set_notice(0, None)
    source.push(solid(10, 10, 80))
    assert canvas.compose() == [TileRect(0, 0, 10, 10)]
    assert canvas.pixels.min() == 80


def test_a_notice_removed_before_any_new_frame_restores_the_last_picture() -> None:
    source = FakeSource()
    canvas = OutputCanvas(4, 4, [CanvasTile(TileRect(0, 0, 4, 4), source, "a")])
    source.push(solid(4, 4, 90))
    canvas.compose()
    canvas.set_notice(0, TileNotice(("x",), dim=True))
    canvas.compose()
    canvas.set_notice(0, None)
    canvas.compose()
    assert canvas.pixels.min() == 90


def test_a_spanning_picture_shows_its_window_on_each_screen() -> None:
    """A 300x100 box over two 140x100 screens with a 20 px bezel between them."""
    source = FakeSource()
    picture = np.zeros((100, 300, 3), np.uint8)
    picture[:, :, 0] = np.arange(300, dtype=np.uint16).clip(0, 255).astype(np.uint8)[None, :]
    left = OutputCanvas(
        140,
        100,
        [CanvasTile(TileRect(0, 0, 140, 100), source, "m", 300, 100, TileRect(0, 0, 140, 100))],
    )
    right = OutputCanvas(
        140,
        100,
        [CanvasTile(TileRect(0, 0, 140, 100), source, "m", 300, 100, TileRect(160, 0, 140, 100))],
    )
    source.push(picture)
    left.compose()
    right.compose()
    assert (left.pixels[:, :, 0] == picture[:, :140, 0]).all()
    assert (right.pixels[:, :, 0] == picture[:, 160:300, 0]).all()  # 140..159 behind the bezel


def test_a_letterboxed_spanning_picture_leaves_bars_on_the_outer_screens() -> None:
    source = FakeSource()
    right = OutputCanvas(
        100,
        100,
        [CanvasTile(TileRect(0, 0, 100, 100), source, "m", 200, 100, TileRect(100, 0, 100, 100))],
    )
    source.push(solid(120, 100, 77))  # centred in the 200-wide box: x 40..160
    right.compose()
    assert right.pixels[:, :60].min() == 77 and right.pixels[:, 60:].max() == 0
