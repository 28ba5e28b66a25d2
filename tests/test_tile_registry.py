"""One registry of painted tile kinds, used by the wall and the preview alike."""

from __future__ import annotations

import time
from typing import get_args

import numpy as np
import pytest

from compositor.compose.kinds import PAINTED_KINDS, PreviewResources
from compositor.compose.output import ComposedOutput
from compositor.compose.overlay import BannerPainter
from compositor.compose.pictures import PictureLoader
from compositor.core.frame_ages import FrameAges
from compositor.core.geometry import TileRect
from compositor.layout.models import PATH_KINDS, Layout, TileConfig, TileKind
from compositor.layout.parse import parse_layout

NOON = time.mktime((2026, 3, 14, 12, 0, 0, 0, 0, -1))


def test_every_kind_that_is_no_camera_has_one_painter_and_nothing_else_has_one() -> None:
    # A new kind in the model without a painter (or a painter for no kind) fails here.
    cameras = {"camera", "tour"}
    assert set(PAINTED_KINDS) == set(get_args(TileKind)) - cameras
    assert set(PAINTED_KINDS) >= PATH_KINDS
    assert all(kind in TileConfig.model_fields for kind in get_args(TileKind))


def _painted_output(
    layout: Layout, size: tuple[int, int], pictures: PictureLoader
) -> ComposedOutput:
    """Output A1 of ``layout``, which has painted tiles only, as the wall composes it."""
    return ComposedOutput(
        "A1",
        size,
        layout.placed_tiles("A1"),
        slot_for=lambda camera, tile: pytest.fail("no camera tile here"),
        camera_name=str,
        painter=BannerPainter(),
        frame_ages=FrameAges(),
        pictures=pictures,
        now=0.0,
    )


@pytest.mark.parametrize("tile", ['{text: "Incident room B - call 2200"}', '{clock: "%H:%M:%S"}'])
def test_the_wall_paints_a_tile_as_the_preview_does(tile: str) -> None:
    layout = parse_layout(
        f"cameras: {{}}\noutputs:\n  - {{id: A1, size: [480, 270], grid: 1x1, tiles: [{tile}]}}\n"
    )
    (placed,) = layout.placed_tiles("A1")
    preview = PAINTED_KINDS[placed.kind].in_preview(placed, 480, 270, PreviewResources(NOON))
    pictures = PictureLoader()
    try:
        composed = _painted_output(layout, (480, 270), pictures)
        composed.compose(0.0, NOON, lambda output, camera, tile: None)
    finally:
        pictures.close()
    canvas = composed.canvas
    on_wall = canvas.to_bgr()
    r = TileRect(0, 0, 480, 270)
    # The wall keeps I420: the same picture within the rounding of a YUV round trip.
    difference = np.abs(on_wall[r.y : r.bottom, r.x : r.right].astype(int) - preview)
    assert np.percentile(difference, 99) <= 24, "the wall and the preview paint alike"
    assert float(difference.mean()) < 4.0


def _clock_output(rect: str, pictures: PictureLoader) -> ComposedOutput:
    layout = parse_layout(
        "cameras: {}\noutputs:\n  - id: A1\n    size: [481, 271]\n"
        f'    tiles: [{{clock: "%H:%M:%S", rect: {rect}}}]\n'
    )
    return _painted_output(layout, (481, 271), pictures)


@pytest.mark.parametrize("rect", ["[0, 0, 480, 270]", "[1, 1, 479, 269]", "[3, 2, 401, 133]"])
def test_a_clock_repainted_where_its_digits_change_is_the_clock_painted_whole(rect: str) -> None:
    pictures = PictureLoader()
    try:
        ticking = _clock_output(rect, pictures)
        # An hour: seconds, minutes and the hour turning (11:59:59 -> 12:00:12 changes all).
        seconds = range(0, 3601, 13)
        for second in seconds:
            ticking.compose(0.0, NOON - 1 + second, lambda output, camera, tile: None)
        whole = _clock_output(rect, pictures)
        whole.compose(0.0, NOON - 1 + seconds[-1], lambda output, camera, tile: None)
    finally:
        pictures.close()
    for mine, theirs in zip(
        (ticking.canvas.y, ticking.canvas.u, ticking.canvas.v),
        (whole.canvas.y, whole.canvas.u, whole.canvas.v),
        strict=True,
    ):
        assert np.array_equal(mine, theirs)
    # One painted region for the tile, however many parts of it were put (a bounded table).
    assert list(ticking.canvas._painted) == [ticking.placed[0].rect]
