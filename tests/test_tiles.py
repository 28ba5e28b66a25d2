"""Painters of the tiles that are not camera pictures, and the camera label strip."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.compose.painters import (
    CLOCK_BACKGROUND,
    TEXT_BACKGROUND,
    ClockTile,
    PlaneLabel,
    fit_picture,
    label_strip,
    load_picture,
    paint_image,
    paint_text,
    plane_label,
)
from compositor.core.colour import Matrix, bgr_to_planes, planes_to_bgr
from compositor.core.geometry import Fit, TileRect
from compositor.layout.models import LabelConfig, PlacedTile

Pixels = npt.NDArray[np.uint8]
NOON = time.mktime((2026, 3, 14, 12, 0, 0, 0, 0, -1))  # local time, as the wall shows it


def ink_box(image: Pixels, threshold: int = 200) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of the white text pixels."""
    ys, xs = np.nonzero((image >= threshold).all(axis=2))
    assert len(xs), "no text drawn"
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def text_rows(image: Pixels) -> int:
    """How many separate bands of rows carry text: the number of lines drawn."""
    has_ink = np.any((image >= 200).all(axis=2), axis=1).astype(np.int8)
    return int((np.diff(np.concatenate([[0], has_ink])) == 1).sum())


# --- clock ------------------------------------------------------------------------------


def test_the_clock_repaints_only_when_its_text_changes() -> None:
    clock = ClockTile("%H:%M:%S", 480, 270)
    assert clock.update(NOON)
    assert clock.text == "12:00:00"
    first = clock.pixels
    assert not clock.update(NOON + 0.4)  # the same second: nothing to do
    assert clock.pixels is first
    assert clock.update(NOON + 1.0)
    assert clock.text == "12:00:01"
    assert not np.array_equal(clock.pixels, first)


def test_the_clock_is_large_and_centred() -> None:
    clock = ClockTile("%H:%M", 640, 360)
    clock.update(NOON)
    x0, y0, x1, y1 = ink_box(clock.pixels)
    assert x1 - x0 > 640 * 0.6  # large: most of the width
    assert abs((x0 + x1) / 2 - 320) < 12 and abs((y0 + y1) / 2 - 180) < 20
    assert (clock.pixels[0, 0] == CLOCK_BACKGROUND).all()


def test_a_clock_of_two_lines_and_odd_formats_draw(tmp_path: Path) -> None:
    clock = ClockTile("%H:%M\n%d %b %Y", 480, 270)
    clock.update(NOON)
    assert text_rows(clock.pixels) == 2
    for fmt in ("", "%", "no codes at all", "%Q"):
        odd = ClockTile(fmt, 100, 60)
        odd.update(NOON)  # never raises
        assert odd.pixels.shape == (60, 100, 3)


# --- text -------------------------------------------------------------------------------


def test_a_short_text_is_one_large_centred_line() -> None:
    image = paint_text("Incident room B", 960, 270)
    assert text_rows(image) == 1
    x0, _, x1, _ = ink_box(image)
    assert x1 - x0 > 960 * 0.6
    assert abs((x0 + x1) / 2 - 480) < 12
    assert (image[0, 0] == TEXT_BACKGROUND).all()


def test_a_long_text_wraps_and_stays_inside_the_tile() -> None:
    text = "Évacuation du quai 3 en cours : merci de suivre les consignes du personnel. " * 3
    image = paint_text(text, 480, 270)
    assert text_rows(image) >= 3
    x0, y0, x1, y1 = ink_box(image)
    assert x0 > 0 and y0 > 0 and x1 < 480 and y1 < 270


def test_text_that_cannot_fit_never_fails() -> None:
    for width, height in ((40, 20), (8, 8), (1, 1), (300, 30)):
        image = paint_text("x" * 500, width, height)
        assert image.shape == (height, width, 3)
    assert paint_text("   ", 200, 100).shape == (100, 200, 3)


# --- image ------------------------------------------------------------------------------


@pytest.fixture
def tall_png(tmp_path: Path) -> Path:
    picture = np.zeros((300, 200, 3), np.uint8)
    picture[:] = (0, 200, 0)
    path = tmp_path / "map.png"
    assert cv2.imwrite(str(path), picture)
    return path


def test_an_image_is_fitted_like_a_camera_picture(tall_png: Path) -> None:
    letterbox = paint_image(tall_png, 480, 270, Fit.LETTERBOX)
    # 200x300 into 480x270: 180x270 in the middle, black bars left and right.
    assert (letterbox[:, :150] == 0).all() and (letterbox[:, 330:] == 0).all()
    assert (letterbox[:, 151:329] == (0, 200, 0)).all()
    for fit in (Fit.CROP, Fit.FILL):
        assert (paint_image(tall_png, 480, 270, fit) == (0, 200, 0)).all()


def test_transparent_and_grey_images_are_shown(tmp_path: Path) -> None:
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[:, :5] = (255, 255, 255, 255)  # left half opaque white, right half transparent
    assert cv2.imwrite(str(tmp_path / "logo.png"), rgba)
    picture = load_picture(tmp_path / "logo.png")
    assert not isinstance(picture, str)
    assert (picture[:, :5] == 255).all() and (picture[:, 5:] == 0).all()
    assert cv2.imwrite(str(tmp_path / "grey.png"), np.full((4, 4), 77, np.uint8))
    grey = load_picture(tmp_path / "grey.png")
    assert not isinstance(grey, str) and grey.shape == (4, 4, 3)


def test_a_missing_or_broken_image_shows_why(tmp_path: Path) -> None:
    assert load_picture(tmp_path / "nope.png") == "image not found: nope.png"
    (tmp_path / "junk.png").write_bytes(b"not a png at all")
    assert load_picture(tmp_path / "junk.png") == "image unreadable: junk.png"
    panel = paint_image(tmp_path / "nope.png", 480, 270)
    assert panel.shape == (270, 480, 3)
    red = (panel[:, :, 2] > 120) & (panel[:, :, 0] < 60)
    assert red.mean() > 0.05  # the notice band
    assert ink_box(panel)  # and its text


def test_fit_picture_upscales_small_pictures() -> None:
    tiny = np.full((9, 16, 3), 99, np.uint8)
    assert (fit_picture(tiny, 1920, 1080, Fit.LETTERBOX) == 99).all()


# --- labels -----------------------------------------------------------------------------


def picture(width: int = 480, height: int = 270) -> Pixels:
    return np.full((height, width, 3), (40, 160, 200), np.uint8)


@pytest.mark.parametrize("position", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_a_label_sits_in_its_corner(position: str) -> None:
    strip = label_strip("Concorde North", 480, 270, position)
    assert strip is not None
    r = strip.rect
    assert (r.x < 240) == position.endswith("left")
    assert (r.y < 135) == position.startswith("top")
    assert r.x >= 0 and r.right <= 480 and r.y >= 0 and r.bottom <= 270
    tile = picture()
    strip.apply(tile)
    inside = tile[r.y : r.bottom, r.x : r.right]
    outside = tile.copy()
    outside[r.y : r.bottom, r.x : r.right] = (40, 160, 200)
    assert (outside == (40, 160, 200)).all()  # nothing else touched
    assert (inside >= 200).all(axis=2).any()  # the name, in white
    # Translucent: where there is no text, the picture shows through, darkened.
    corner = inside[1, 1].astype(int)
    assert 0 < corner[1] < 160 and corner[1] > 30


def test_the_blend_is_what_bgr_and_alpha_say() -> None:
    strip = label_strip("Pont d'Iéna", 640, 360, "top-left", 1.5)
    assert strip is not None
    tile = picture(640, 360)
    under = tile[: strip.rect.bottom, : strip.rect.right].copy()
    strip.apply(tile)
    r = strip.rect
    alpha = strip.alpha[:, :, None].astype(float) / 255
    expected = strip.bgr * alpha + under[r.y : r.bottom, r.x : r.right] * (1 - alpha)
    assert np.abs(tile[r.y : r.bottom, r.x : r.right] - expected).max() <= 2


def test_label_size_and_long_names() -> None:
    small = label_strip("Bastille", 480, 270, size=1.0)
    big = label_strip("Bastille", 480, 270, size=2.0)
    assert small is not None and big is not None and big.rect.h > small.rect.h
    long = label_strip("A very long camera name that could never fit on a small tile", 240, 135)
    assert long is not None and long.rect.right <= 240
    assert label_strip("Bastille", 30, 20) is None  # too small to carry a name


@pytest.mark.parametrize("x, y", [(0, 0), (7, 3)])
def test_a_label_on_i420_planes_looks_as_on_bgr(x: int, y: int) -> None:
    strip = label_strip("Gare de Lyon East", 480, 270, "bottom-right")
    assert strip is not None
    tile = picture()
    canvas = np.zeros((300, 500, 3), np.uint8)
    canvas[y : y + 270, x : x + 480] = tile
    for matrix in Matrix:
        y_plane, u_plane, v_plane = bgr_to_planes(canvas, matrix)
        before = planes_to_bgr(y_plane, u_plane, v_plane, matrix)
        PlaneLabel(strip, x, y).apply(y_plane, u_plane, v_plane)
        after = planes_to_bgr(y_plane, u_plane, v_plane, matrix).astype(int)
        expected = before.copy()
        strip.apply(expected[y : y + 270, x : x + 480])
        r = strip.rect.offset(x, y)
        # Outside the strip's chroma cells nothing moved; inside, the same blend as on BGR
        # (but for a one-pixel fringe where a chroma cell is shared with the picture).
        outside = np.ones(after.shape[:2], bool)
        outside[r.y - 1 : r.bottom + 1, r.x - 1 : r.right + 1] = False
        assert (after[outside] == before[outside]).all()
        inside = np.abs(after - expected)[r.y + 1 : r.bottom - 1, r.x + 1 : r.right - 1]
        assert inside.mean() < 3 and np.percentile(inside, 99) < 40, matrix


def test_a_spanning_picture_has_one_label_on_the_screen_that_holds_its_corner() -> None:
    label = LabelConfig(position="bottom-left")
    # A 1280x720 picture over 2x2 screens of 640x360 (no bezels): four windows.
    pieces = [
        PlacedTile(
            "main",
            TileRect(0, 0, 640, 360),
            Fit.LETTERBOX,
            1280,
            720,
            TileRect(x, y, 640, 360),
            label=label,
        )
        for y in (0, 360)
        for x in (0, 640)
    ]
    labels = [plane_label("Main camera", piece) for piece in pieces]
    assert [lab is not None for lab in labels] == [False, False, True, False]
    whole = label_strip("Main camera", 1280, 720, "bottom-left")
    shown = labels[2]
    assert whole is not None and shown is not None
    # The strip is sized for the whole picture, at its place within the bottom-left screen.
    assert shown.rect == whole.rect.offset(0, -360)
    own = plane_label("Main camera", PlacedTile("main", TileRect(0, 0, 640, 360), Fit.LETTERBOX))
    assert own is None  # no label configured on this tile
