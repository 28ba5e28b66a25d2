"""Never a black screen, on the canvas: a starting output's banner, whole-screen notices."""

from __future__ import annotations

import numpy as np

from compositor.compose.canvas import CanvasTile, OutputCanvas
from compositor.compose.overlay import BannerPainter
from compositor.compose.screen_notice import (
    notice_canvas,
    paint_screen_notice,
    starting_notice,
    unused_monitor_picture,
)
from compositor.core.geometry import TileRect
from tests.helpers.sources import FakeSource, solid

STARTING = starting_notice("A1", 4)


def _canvas(source: FakeSource) -> OutputCanvas:
    return OutputCanvas(
        320, 180, [CanvasTile(TileRect(0, 0, 320, 180), source, "cam")], BannerPainter()
    )


def _band_rows(canvas: OutputCanvas) -> tuple[int, int]:
    top, bottom = BannerPainter().band(canvas.width, canvas.height, STARTING)
    return top, bottom


def test_the_starting_banner_names_the_output_and_the_cameras_connecting() -> None:
    assert STARTING.lines == ("A1", "starting: 4 cameras connecting")
    assert starting_notice("B7", 1).lines[1] == "starting: 1 camera connecting"
    assert STARTING.severity == "info"


def test_a_black_starting_canvas_shows_the_banner_at_once() -> None:
    canvas = _canvas(FakeSource())
    canvas.set_banner(STARTING)
    dirty = canvas.compose()
    top, bottom = _band_rows(canvas)
    assert TileRect(0, top, 320, bottom - top) in dirty
    pixels = canvas.to_bgr()
    band = pixels[top:bottom]
    # The banner's slate background and white text, on a screen that would be black.
    assert (np.abs(band.astype(int) - (70, 60, 50)).max(axis=2) <= 3).mean() > 0.5
    assert (band.min(axis=2) > 200).mean() > 0.01, "its text"
    # Exactly what the banner painter draws on black: the id and the line, nothing else.
    expected = np.zeros((180, 320, 3), np.uint8)
    expected[:] = canvas.to_bgr()[0, 0]
    BannerPainter()(expected, STARTING)
    # ... kept in 4:2:0 like any painted region.
    reference = OutputCanvas(320, 180, [])
    reference.put_bgr(TileRect(0, 0, 320, 180), expected)
    reference.compose()
    assert np.abs(band.astype(int) - reference.to_bgr()[top:bottom]).max() <= 1
    assert int(pixels[:top].max()) <= 20 and int(pixels[bottom:].max()) <= 20, "black elsewhere"


def test_pictures_go_on_under_the_banner_and_come_back_whole_when_it_goes() -> None:
    source = FakeSource()
    with_banner, plain = _canvas(source), _canvas(source)
    with_banner.set_banner(STARTING)
    top, bottom = _band_rows(with_banner)
    for value in (60, 120, 200):
        source.push(solid(320, 180, value))
        with_banner.compose()
        plain.compose()
        shown = with_banner.to_bgr()
        reference = plain.to_bgr()
        assert (shown[:top] == reference[:top]).all() and (
            shown[bottom:] == reference[bottom:]
        ).all()
        assert not (shown[top:bottom] == reference[top:bottom]).all(), "the banner stays on top"
    assert with_banner.frames_shown == 3
    with_banner.set_banner(None)
    dirty = with_banner.compose()
    assert TileRect(0, top, 320, bottom - top) in dirty
    assert (with_banner.to_bgr() == plain.to_bgr()).all(), "the picture beneath, exactly"
    assert with_banner.compose() == [], "and then nothing more to do"


def test_a_painted_region_under_the_banner_is_kept_for_when_it_goes() -> None:
    canvas = OutputCanvas(320, 180, [], BannerPainter())
    canvas.set_banner(STARTING)
    canvas.compose()
    # A clock repainted while the banner is up: its new picture is what the band hides.
    canvas.put_bgr(TileRect(0, 0, 320, 180), solid(320, 180, 90))
    canvas.compose()
    top, bottom = _band_rows(canvas)
    assert not (canvas.to_bgr()[top:bottom] == 90).all()
    canvas.set_banner(None)
    canvas.compose()
    assert (np.abs(canvas.to_bgr().astype(int) - 90) <= 1).all()


def test_an_unchanged_banner_over_an_unchanged_canvas_costs_nothing() -> None:
    source = FakeSource()
    canvas = _canvas(source)
    canvas.set_banner(STARTING)
    source.push(solid(320, 180, 60))
    canvas.compose()
    assert canvas.compose() == []
    canvas.set_banner(starting_notice("A1", 3))
    assert canvas.compose(), "a new count is painted"


def test_a_screen_notice_fits_many_lines_and_says_how_many_more() -> None:
    lines = [
        f"wall.yaml:{n}:3: unknown camera 'cam{n}' (did you mean 'cam0{n}'?)" for n in range(60)
    ]
    image = paint_screen_notice(
        480, 270, "DUMMY0", lines, footer="watching wall.yaml", severity="error"
    )
    assert image.shape == (270, 480, 3)
    assert tuple(image[2, 2]) == (30, 30, 110), "dark red: an error"
    assert (image.min(axis=2) > 200).mean() > 0.005, "text on it"
    tiny = paint_screen_notice(10, 10, "x", ["y"])
    assert tiny.shape == (10, 10, 3)


def test_an_unused_monitor_says_which_it_is_and_that_no_output_is_on_it() -> None:
    canvas = unused_monitor_picture("DUMMY3", 480, 270, "demo.yaml")
    assert (canvas.width, canvas.height) == (480, 270)
    pixels = canvas.to_bgr()
    assert (np.abs(pixels.astype(int) - (60, 48, 36)).max(axis=2) <= 3).mean() > 0.6
    assert (pixels.min(axis=2) > 200).mean() > 0.01
    footer = "videowall: give an output `monitor: DUMMY3` to use it"
    same = notice_canvas(480, 270, "DUMMY3", ["no output of demo.yaml on this screen"], footer)
    assert (same.to_bgr() == pixels).all()
