"""The canvas, composed from fake frame sources: no server, no screen."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from compositor.compose.canvas import CanvasTile, OutputCanvas
from compositor.compose.notice import TileNotice
from compositor.core.colour import Matrix, bgr_to_planes, planes_to_bgr
from compositor.core.geometry import TileRect
from tests.helpers.sources import FakeSource, solid

Pixels = npt.NDArray[np.uint8]


class RecordingPainter:
    """Paints a band of rows ``[top, bottom)`` white and remembers each notice."""

    def __init__(self, top: int = 0, bottom: int = 0) -> None:
        self.top, self.bottom = top, bottom
        self.painted: list[TileNotice] = []

    def band(self, width: int, height: int, notice: TileNotice) -> tuple[int, int]:
        return self.top, self.bottom

    def __call__(self, region: Pixels, notice: TileNotice) -> None:
        self.painted.append(notice)
        region[self.top : self.bottom] = 255


def black(canvas: OutputCanvas, rect: TileRect) -> bool:
    """Y 16 and no colour over ``rect`` (its whole chroma cells)."""
    y = canvas.y[rect.y : rect.bottom, rect.x : rect.right]
    c = TileRect(rect.x // 2, rect.y // 2, rect.w // 2, rect.h // 2)
    u = canvas.u[c.y : c.bottom, c.x : c.right]
    v = canvas.v[c.y : c.bottom, c.x : c.right]
    return bool((y == 16).all() and (u == 128).all() and (v == 128).all())


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
    assert black(canvas, TileRect(0, 0, 200, 100))  # a new canvas is black
    left.push(solid(100, 56, 50))  # a 16:9 picture letterboxed in a square tile
    dirty = canvas.compose()
    assert dirty == [TileRect(0, 0, 100, 100)]
    pixels = canvas.to_bgr()
    assert pixels[22:78, 0:100].min() >= 49 and pixels[22:78, 0:100].max() <= 51
    assert pixels[0:22, 0:100].max() == 0 and pixels[78:, 0:100].max() == 0
    assert black(canvas, TileRect(0, 0, 100, 22)) and black(canvas, TileRect(0, 78, 100, 22))
    assert pixels[:, 100:].max() == 0


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
    # Centred at an even offset: (10 - 4) / 2 = 3 rounds to 2.
    assert black(canvas, TileRect(0, 0, 10, 2)) and black(canvas, TileRect(0, 6, 10, 4))
    assert abs(int(canvas.to_bgr()[2:6].min()) - 100) <= 1


def test_notice_dims_the_last_picture_and_goes_when_frames_return() -> None:
    painter = RecordingPainter(4, 6)
    source = FakeSource()
    canvas = OutputCanvas(10, 10, [CanvasTile(TileRect(0, 0, 10, 10), source, "a")], painter)
    source.push(solid(10, 10, 90))
    canvas.compose()
    notice = TileNotice(("NO SIGNAL · a",), dim=True)
    canvas.set_notice(0, notice)
    assert canvas.compose() == [TileRect(0, 0, 10, 10)]
    assert painter.painted == [notice]
    pixels = canvas.to_bgr()
    assert pixels[4:6].min() == 255  # the banner
    dimmed = np.concatenate([pixels[:4], pixels[6:]])
    assert abs(int(dimmed.min()) - 30) <= 1 and abs(int(dimmed.max()) - 30) <= 1  # a third
    assert canvas.compose() == []  # the same notice is not painted twice
    canvas.set_notice(0, None)
    source.push(solid(10, 10, 80))
    assert canvas.compose() == [TileRect(0, 0, 10, 10)]
    assert abs(int(canvas.to_bgr().min()) - 80) <= 1


def test_dimming_keeps_the_colour_a_third_as_bright() -> None:
    source = FakeSource()
    canvas = OutputCanvas(8, 8, [CanvasTile(TileRect(0, 0, 8, 8), source, "a")])
    source.push(np.full((8, 8, 3), (30, 60, 210), np.uint8))  # BGR: a red
    canvas.compose()
    canvas.set_notice(0, TileNotice(("x",), dim=True))
    canvas.compose()
    assert np.abs(canvas.to_bgr()[0, 0].astype(int) - (10, 20, 70)).max() <= 2


def test_a_banner_changes_only_its_own_rows() -> None:
    source = FakeSource()
    painter = RecordingPainter(top=3, bottom=7)  # odd top: the band widens to whole cells
    canvas = OutputCanvas(16, 12, [CanvasTile(TileRect(0, 0, 16, 12), source, "a")], painter)
    rng = np.random.default_rng(5)
    source.push(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    canvas.compose()
    before = canvas.y.copy(), canvas.u.copy()
    canvas.set_notice(0, TileNotice(("x",), dim=False))
    canvas.compose()
    assert (canvas.y[3:7] == 235).all()  # white
    assert (canvas.y[:2] == before[0][:2]).all() and (canvas.y[8:] == before[0][8:]).all()
    assert (canvas.u[:1] == before[1][:1]).all() and (canvas.u[4:] == before[1][4:]).all()


def test_a_banner_over_a_live_picture_is_painted_once_and_put_back_on_each_frame() -> None:
    """A delayed camera's notice stays over frames that keep coming: painted once (the
    band is opaque), copied back over each new frame, the picture around it new."""
    source = FakeSource()
    painter = RecordingPainter(top=4, bottom=8)
    canvas = OutputCanvas(16, 12, [CanvasTile(TileRect(0, 0, 16, 12), source, "a")], painter)
    notice = TileNotice(("DELAYED · a",), dim=False)
    canvas.set_notice(0, notice)
    rng = np.random.default_rng(6)
    for _ in range(5):
        picture = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        source.push(picture)
        assert canvas.compose() == [TileRect(0, 0, 16, 12)]
        y, u, _ = bgr_to_planes(picture, Matrix.BT601)
        assert (canvas.y[4:8] == 235).all() and (canvas.u[2:4] == 128).all()
        assert (canvas.y[:4] == y[:4]).all() and (canvas.y[8:] == y[8:]).all()
        assert (canvas.u[:2] == u[:2]).all() and (canvas.u[4:] == u[4:]).all()
    assert painter.painted == [notice]  # painted once; the other frames got a copy


def test_a_notice_removed_before_any_new_frame_restores_the_last_picture() -> None:
    source = FakeSource()
    canvas = OutputCanvas(4, 4, [CanvasTile(TileRect(0, 0, 4, 4), source, "a")])
    source.push(solid(4, 4, 90))
    canvas.compose()
    canvas.set_notice(0, TileNotice(("x",), dim=True))
    canvas.compose()
    canvas.set_notice(0, None)
    canvas.compose()
    assert abs(int(canvas.to_bgr().min()) - 90) <= 1


def test_a_spanning_picture_shows_its_window_on_each_screen() -> None:
    """A 300x100 box over two 140x100 screens with a 20 px bezel between them."""
    source = FakeSource()
    luma = np.tile(np.arange(300, dtype=np.uint16).clip(16, 235).astype(np.uint8), (100, 1))
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
    chroma = np.full((50, 150), 128, np.uint8)
    source.push_planes(luma, chroma, chroma)
    left.compose()
    right.compose()
    assert (left.y == luma[:, :140]).all()
    assert (right.y == luma[:, 160:300]).all()  # 140..159 behind the bezel


def test_a_letterboxed_spanning_picture_leaves_bars_on_the_outer_screens() -> None:
    source = FakeSource()
    right = OutputCanvas(
        100,
        100,
        [CanvasTile(TileRect(0, 0, 100, 100), source, "m", 200, 100, TileRect(100, 0, 100, 100))],
    )
    source.push(solid(120, 100, 77))  # centred in the 200-wide box: x 40..160
    right.compose()
    pixels = right.to_bgr()
    assert abs(int(pixels[:, :60].min()) - 77) <= 1 and black(right, TileRect(60, 0, 40, 100))


def test_at_an_odd_edge_luma_is_exact_and_each_chroma_cell_has_one_owner() -> None:
    """Tiles 0..5 and 5..10: pixels 4 and 5 share a chroma cell; it is the left tile's."""
    left, right = FakeSource(), FakeSource()
    canvas = OutputCanvas(
        10,
        2,
        [
            CanvasTile(TileRect(0, 0, 5, 2), left, "l"),
            CanvasTile(TileRect(5, 0, 5, 2), right, "r"),
        ],
    )
    # Pictures one pixel wider than their odd tiles (the decoder rounds sizes up to even).
    left.push_planes(np.full((2, 6), 50, np.uint8), *[np.full((1, 3), 100, np.uint8)] * 2)
    right.push_planes(np.full((2, 6), 200, np.uint8), *[np.full((1, 3), 150, np.uint8)] * 2)
    canvas.compose()
    assert canvas.y[0].tolist() == [50] * 5 + [200] * 5
    assert canvas.u[0].tolist() == [100, 100, 100, 150, 150]
    right.push_planes(np.full((2, 6), 201, np.uint8), *[np.full((1, 3), 151, np.uint8)] * 2)
    canvas.compose()  # the right tile alone: the shared cell stays the left tile's
    assert canvas.u[0].tolist() == [100, 100, 100, 151, 151]


def test_each_tile_keeps_its_frames_matrix_and_the_majority_is_the_base() -> None:
    sd, hd, span = FakeSource(), FakeSource(), FakeSource()
    canvas = OutputCanvas(
        320,
        100,
        [
            CanvasTile(TileRect(0, 0, 100, 100), sd, "sd"),
            CanvasTile(TileRect(100, 0, 220, 100), hd, "hd"),
            CanvasTile(TileRect(50, 0, 100, 100), span, "span"),  # drawn over both
        ],
    )
    assert canvas.matrices() == (Matrix.BT601, ())
    red = np.full((100, 100, 3), (40, 40, 200), np.uint8)
    sd.push(red, Matrix.BT601)
    hd.push(np.full((100, 220, 3), (40, 40, 200), np.uint8), Matrix.BT709)
    span.push(red, Matrix.BT601)
    canvas.compose()
    base, overrides = canvas.matrices()
    assert base is Matrix.BT709  # 220 px wide of BT.709 against 2 x 100 of BT.601
    # The span comes after the BT.601 tile it overlaps, so it is drawn again after it.
    assert overrides == (
        (TileRect(0, 0, 100, 100), Matrix.BT601),
        (TileRect(50, 0, 100, 100), Matrix.BT601),
    )
    # Every part is converted with its own matrix: the same red everywhere.
    assert np.abs(canvas.to_bgr().astype(int) - (40, 40, 200)).max() <= 2
    frozen = canvas.freeze()
    hd.push(np.zeros((100, 220, 3), np.uint8), Matrix.BT709)
    canvas.compose()
    assert np.abs(frozen.to_bgr().astype(int) - (40, 40, 200)).max() <= 2  # a copy


def test_put_bgr_paints_a_region_in_yuv_and_reports_it() -> None:
    canvas = OutputCanvas(21, 11, [])  # odd sizes too
    image = np.zeros((5, 7, 3), np.uint8)
    image[:, :, 1] = 180  # green
    rect = TileRect(3, 3, 7, 5)  # odd corner
    canvas.put_bgr(rect, image, Matrix.BT709)
    assert canvas.compose() == [rect] and canvas.compose() == []
    assert canvas.matrices() == (Matrix.BT709, ())
    pixels = canvas.to_bgr()
    # Luma exact everywhere; colour in the chroma cells the rectangle owns (from its
    # first even pixel): the odd first row and column show the cell's other owner, here
    # the black background, as grey of the same brightness.
    assert np.abs(pixels[4:8, 4:10].astype(int) - (0, 180, 0)).max() <= 2
    assert (canvas.y[3:8, 3:10] == canvas.y[5, 5]).all()
    assert pixels[:3].max() == 0 and pixels[8:].max() == 0 and pixels[:, 10:].max() == 0


def test_yuv_to_bgr_follows_the_recommendations() -> None:
    """BT.601 and BT.709 limited range, against the formulas in floating point."""
    rng = np.random.default_rng(7)
    y = rng.integers(16, 236, (8, 8), dtype=np.uint8)
    u = rng.integers(16, 241, (4, 4), dtype=np.uint8)
    v = rng.integers(16, 241, (4, 4), dtype=np.uint8)
    for matrix, (kr, kb) in ((Matrix.BT601, (0.299, 0.114)), (Matrix.BT709, (0.2126, 0.0722))):
        kg = 1 - kr - kb
        c = (y.astype(float) - 16) * 255 / 219
        d = np.repeat(np.repeat(u.astype(float) - 128, 2, 0), 2, 1) * 255 / 224
        e = np.repeat(np.repeat(v.astype(float) - 128, 2, 0), 2, 1) * 255 / 224
        r = c + 2 * (1 - kr) * e
        g = c - 2 * (1 - kb) * kb / kg * d - 2 * (1 - kr) * kr / kg * e
        b = c + 2 * (1 - kb) * d
        expected = np.clip(np.rint(np.stack([b, g, r], axis=2)), 0, 255)
        assert np.abs(planes_to_bgr(y, u, v, matrix) - expected).max() <= 1


class MarkOverlay:
    """Sets the first row of a tile's luma to 235, as a label strip would paint it."""

    def __init__(self, rect: TileRect) -> None:
        self.rect = rect
        self.applied = 0

    def apply(self, y: Pixels, u: Pixels, v: Pixels) -> None:
        self.applied += 1
        y[self.rect.y, self.rect.x : self.rect.right] = 235


def test_an_overlay_is_drawn_over_every_new_frame_and_a_tour_switches_sources() -> None:
    first, second = FakeSource(), FakeSource()
    rect = TileRect(0, 0, 8, 8)
    overlay = MarkOverlay(rect)
    canvas = OutputCanvas(8, 8, [CanvasTile(rect, first, "a", overlay=overlay)])
    first.push(solid(8, 8, 60))
    canvas.compose()
    first.push(solid(8, 8, 70))
    canvas.compose()
    assert overlay.applied == 2 and (canvas.y[0] == 235).all() and (canvas.y[1:] != 235).all()
    second.push(solid(8, 4, 200))  # another shape: the old picture must not show around it
    canvas.switch_source(0, second, "b", None)
    assert canvas.compose() == [rect]
    assert canvas.tiles[0].camera_id == "b" and overlay.applied == 2
    assert black(canvas, TileRect(0, 0, 8, 2)) and black(canvas, TileRect(0, 6, 8, 2))
    assert abs(int(canvas.to_bgr()[2:6].min()) - 200) <= 1
