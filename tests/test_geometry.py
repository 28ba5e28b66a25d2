from fractions import Fraction

import pytest

from compositor.core.geometry import Fit, TileRect, grid_cells, plan_fit


def test_grid_cells_cover_the_output_exactly() -> None:
    cells = grid_cells(1920, 1080, 3, 3)
    assert len(cells) == 9
    assert cells[0] == TileRect(0, 0, 640, 360)
    assert sum(c.area for c in cells) == 1920 * 1080
    for i, a in enumerate(cells):
        for b in cells[i + 1 :]:
            assert a.intersection(b) is None


def test_grid_cells_with_remainders_have_no_gap() -> None:
    cells = grid_cells(1001, 7, 3, 7)
    assert sum(c.area for c in cells) == 1001 * 7
    assert max(c.right for c in cells) == 1001
    assert max(c.bottom for c in cells) == 7


def test_grid_fills_row_by_row() -> None:
    cells = grid_cells(200, 100, 2, 2)
    assert [(c.x, c.y) for c in cells] == [(0, 0), (100, 0), (0, 50), (100, 50)]


def test_letterbox_wide_picture_in_tall_tile_gets_bars_above_and_below() -> None:
    plan = plan_fit(1920, 1080, 400, 400)
    assert (plan.scaled_w, plan.scaled_h) == (400, 225)
    assert (plan.offset_x, plan.offset_y) == (0, 87)
    assert plan.placed == TileRect(0, 87, 400, 225)


def test_letterbox_honours_sample_aspect_ratio() -> None:
    # PAL 704x576 with SAR 12:11 is a 4:3 picture (768x576 in square pixels).
    plan = plan_fit(704, 576, 640, 360, Fit.LETTERBOX, Fraction(12, 11))
    assert (plan.scaled_w, plan.scaled_h) == (480, 360)
    assert plan.offset_x == 80
    square = plan_fit(704, 576, 640, 360)
    assert square.scaled_w == 440  # without SAR the picture would be too narrow


def test_crop_fills_the_tile_and_cuts_the_sides() -> None:
    plan = plan_fit(1920, 1080, 300, 300, Fit.CROP)
    assert plan.scaled_h == 300 and plan.scaled_w == 533
    assert plan.crop == TileRect(116, 0, 300, 300)
    assert plan.placed == TileRect(0, 0, 300, 300)


def test_fill_stretches() -> None:
    plan = plan_fit(640, 480, 320, 90, Fit.FILL)
    assert (plan.scaled_w, plan.scaled_h) == (320, 90)
    assert plan.placed == TileRect(0, 0, 320, 90)


@pytest.mark.parametrize("fit", list(Fit))
@pytest.mark.parametrize(
    ("src", "box"), [((1, 1), (1, 1)), ((4000, 3), (5, 900)), ((3, 4000), (900, 5))]
)
def test_extreme_shapes_stay_inside_the_tile(
    fit: Fit, src: tuple[int, int], box: tuple[int, int]
) -> None:
    plan = plan_fit(*src, *box, fit)
    assert TileRect(0, 0, *box).contains(plan.placed)
    assert plan.scaled_w >= plan.crop.right and plan.scaled_h >= plan.crop.bottom


def test_empty_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        plan_fit(0, 10, 10, 10)
