"""The `wall:` and `spans:` sections of a layout: parsing, errors, pieces per screen."""

from __future__ import annotations

import pytest

from compositor.core.errors import LayoutError
from compositor.core.geometry import TileRect
from compositor.layout.parse import parse_layout

WALL = """\
cameras:
  main: {url: "rtsp://127.0.0.1/main"}
  small: {url: "rtsp://127.0.0.1/small"}
outputs:
  - {id: A1, size: [480, 270], grid: 1x1, tiles: [small]}
  - {id: A2, size: [480, 270]}
  - {id: B1, size: [480, 270]}
  - {id: B2, size: [480, 270]}
wall:
  rows: 2
  columns: 2
  screen: {size_px: [480, 270], size_mm: [480, 270], bezel_mm: 10}
spans:
  - {camera: main, screens: [A1, B2]}
"""


def test_a_span_over_two_by_two_screens_gives_each_its_piece() -> None:
    layout = parse_layout(WALL, "wall.yaml")
    assert layout.wall is not None and layout.wall.geometry().size == (1000, 580)
    box = layout.span_box(layout.spans[0])
    assert box == TileRect(10, 10, 980, 560)  # from A1's top-left to B2's bottom-right
    a1 = layout.placed_tiles("A1")
    assert [t.camera for t in a1] == ["small", "main"]  # spans draw over the output's tiles
    span_a1 = a1[1]
    assert (span_a1.rect, span_a1.window) == (TileRect(0, 0, 480, 270), TileRect(0, 0, 480, 270))
    span_b2 = layout.placed_tiles("B2")[0]
    assert span_b2.box == (980, 560)
    assert span_b2.window == TileRect(500, 290, 480, 270)  # 20 px of bezel skipped each way


def test_span_by_rect_may_cover_part_of_a_screen() -> None:
    layout = parse_layout(
        WALL.replace("screens: [A1, B2]", "rect: [400, 0, 200, 100]"), "wall.yaml"
    )
    a2 = layout.placed_tiles("A2")
    assert [(t.rect, t.window) for t in a2] == [(TileRect(0, 0, 90, 90), TileRect(110, 10, 90, 90))]
    assert layout.placed_tiles("B1") == []


@pytest.mark.parametrize(
    ("change", "message", "line"),
    [
        (("rect: [400, 0, 200, 100]", None), "lies outside the wall", 0),
        (
            ("size: [480, 270]}\n  - {id: B1", "size: [480, 200]}\n  - {id: B1"),
            "output A2 is 480x200 but the wall's screens are 480x270",
            6,
        ),
        (("rows: 2", "rows: 3"), "a wall of 3x2 screens needs 6 outputs, 4 given", 9),
        (("screens: [A1, B2]", "screens: [A1, C9]"), "not on the wall: C9", 14),
        (("camera: main", "camera: mian"), "unknown camera 'mian' (did you mean 'main'?)", 14),
    ],
)
def test_wall_errors_are_located(change: tuple[str, str | None], message: str, line: int) -> None:
    old, new = change
    text = (
        WALL.replace(old, new)
        if new
        else WALL.replace("screens: [A1, B2]", "rect: [900, 500, 200, 100]")
    )
    with pytest.raises(LayoutError) as info:
        parse_layout(text, "wall.yaml")
    issues = [str(i) for i in info.value.issues]
    assert any(message in i for i in issues), issues
    if line:
        assert any(i.startswith(f"wall.yaml:{line}:") and message in i for i in issues), issues


def test_spans_need_a_wall() -> None:
    text = WALL.split("wall:")[0] + "spans:\n  - {camera: main, rect: [0, 0, 10, 10]}\n"
    with pytest.raises(LayoutError, match="spans need a `wall:` section"):
        parse_layout(text, "wall.yaml")
