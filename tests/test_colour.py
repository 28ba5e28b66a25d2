"""Colours through the real pipeline: cameras encoding known colours as BT.601, BT.709
and full-range JPEG, decoded, scaled in YUV, composed, converted in the display's
shader, shown in a real window and read back with glReadPixels."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from compositor.core.colour import Matrix, bgr_to_planes, planes_to_bgr
from compositor.core.geometry import Fit
from compositor.demo.testcams import SyntheticCamera
from compositor.sources.camera import colour_matrix, plan_scaling
from tests.helpers.pixels import bgr

RED = (200, 40, 40)  # RGB
GREEN = (40, 180, 60)
TOLERANCE = 6  # per channel, of 255


def test_the_wrong_matrix_would_be_seen() -> None:
    """The colours are chosen so that decoding with the other matrix misses by far more
    than the tolerance: the window test below can tell the matrices apart."""
    for rgb in (RED, GREEN):
        picture = np.full((2, 2, 3), bgr(rgb), np.uint8)
        for made, read in ((Matrix.BT601, Matrix.BT709), (Matrix.BT709, Matrix.BT601)):
            wrong = planes_to_bgr(*bgr_to_planes(picture, made), read)[0, 0]
            assert np.abs(wrong.astype(int) - bgr(rgb)).max() > 2 * TOLERANCE


def test_the_matrix_is_what_the_stream_signals_else_guessed_by_height() -> None:
    assert colour_matrix(1, 480) is Matrix.BT709  # BT.709 signalled on an SD picture
    assert colour_matrix(6, 1080) is Matrix.BT601  # SMPTE 170M on an HD one
    assert colour_matrix(5, 1080) is Matrix.BT601  # BT.470BG (JPEG, PAL)
    assert colour_matrix(2, 576) is Matrix.BT601  # unspecified: SD
    assert colour_matrix(2, 720) is Matrix.BT709  # unspecified: HD


def test_scaling_plans_are_even_for_i420() -> None:
    # A 4:3 picture letterboxed into an odd 275x155 tile: 207x155 rounds up to 208x156.
    plan = plan_scaling(640, 480, 275, 155, Fit.LETTERBOX, Fraction(1))
    assert (plan.width, plan.height) == (208, 156) and plan.crop.w == 208
    # Cropped to fill an odd tile: the middle, at even offsets, the tile rounded up.
    plan = plan_scaling(1920, 1080, 275, 275, Fit.CROP, Fraction(1))
    assert plan.height == 276 and plan.width % 2 == 0
    assert (plan.crop.w, plan.crop.h) == (276, 276)
    assert plan.crop.x % 2 == 0 and plan.crop.y == 0
    assert abs(plan.crop.x - (plan.width - 276) / 2) <= 1
    # Downscales average (no aliasing); a picture already at its size is not scaled.
    assert plan_scaling(1920, 1080, 480, 270, Fit.FILL, Fraction(1)).interpolation.name == "AREA"
    same = plan_scaling(640, 360, 640, 360, Fit.LETTERBOX, Fraction(1))
    assert (same.width, same.height) == (640, 360)


def test_a_test_cameras_colorimetry_cannot_reach_the_pipeline_text() -> None:
    with pytest.raises(ValueError, match="colorimetry"):
        SyntheticCamera("x", "x", colorimetry="bt709 ! filesink location=/tmp/x")
