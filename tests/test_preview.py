"""`videowall preview` draws the whole wall from a layout, without (or with) the cameras."""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.cli import main
from compositor.compose.painters import CLOCK_BACKGROUND, TEXT_BACKGROUND, ClockTile
from compositor.layout.parse import load_layout, parse_layout
from compositor.preview import (
    BACKGROUND,
    MARGIN,
    render_preview,
    screen_places,
    shown_cameras,
)
from tests.helpers.pixels import share_near

Pixels = npt.NDArray[np.uint8]
REPO = Path(__file__).resolve().parent.parent
ENV = {"CAM_USER": "operator", "CAM_PASS": "secret-pw"}
NOON = time.mktime((2026, 3, 14, 12, 0, 0, 0, 0, -1))


def is_background(pixels: Pixels) -> npt.NDArray[np.bool_]:
    return np.asarray((pixels == np.array(BACKGROUND, np.uint8)).all(axis=-1))


def test_poc14_is_drawn_in_two_rows_of_seven_in_well_under_a_second() -> None:
    layout = load_layout(REPO / "layouts" / "poc-14.yaml", env=ENV)
    started = time.monotonic()
    image = render_preview(layout)
    took = time.monotonic() - started
    assert 2000 <= image.shape[1] <= 3000, image.shape
    assert took < 5.0
    # Seven screens a row, with gaps of background between them; every screen drawn on.
    row = is_background(image[MARGIN + image.shape[0] // 4])
    starts = np.flatnonzero(np.diff(row.astype(np.int8)) == -1)  # background -> screen
    assert len(starts) == 7
    assert (~is_background(image[MARGIN:-MARGIN, MARGIN:-MARGIN])).mean() > 0.9


def test_outputs_without_a_wall_follow_their_monitor_indexes() -> None:
    outputs = "\n".join(
        f"  - {{id: {oid}, monitor: {index}, size: [640, 360]}}"
        for oid, index in (("X", 2), ("Y", 0), ("Z", 1), ("W", 3))
    )
    layout = parse_layout(f"cameras: {{}}\noutputs:\n{outputs}\n")
    places = screen_places(layout)
    assert [oid for oid, _ in sorted(places.items(), key=lambda kv: kv[1].x)] == [
        "Y",
        "Z",
        "X",
        "W",
    ]
    assert len({r.y for r in places.values()}) == 1  # four screens: one row


# A 1x2 wall of 1 px per mm with 40 mm bezels: the screens' visible areas are 80 wall
# pixels apart, and a picture spanning both loses those 80 columns behind the bezels.
SPAN_WALL = """
wall:
  rows: 1
  columns: 2
  screen: {size_px: [640, 360], size_mm: [640, 360], bezel_mm: 40}
labels: {show: false}
cameras:
  main: {url: "rtsp://127.0.0.1:9/main"}
spans:
  - {camera: main, rect: [40, 40, 1360, 280], fit: fill}
outputs:
  - {id: L, size: [640, 360]}
  - {id: R, size: [640, 360]}
"""


def test_a_span_lines_up_across_the_bezel_as_the_wall_geometry_says() -> None:
    layout = parse_layout(SPAN_WALL)
    # The camera's picture: a ramp, so each column says where in the picture it is.
    ramp = np.repeat(np.linspace(0, 255, 1360).astype(np.uint8)[None, :, None], 280, axis=0)
    scale = 0.5
    image = render_preview(layout, scale=scale, frames={"main": np.repeat(ramp, 3, axis=2)})
    assert image.shape == (440 * scale + 2 * MARGIN, 1440 * scale + 2 * MARGIN, 3)
    y = MARGIN + round(200 * scale)  # a row through the span, away from the output badges
    # The bezel between the screens (wall x 680..760) is background, whole.
    gap = image[y, MARGIN + round(680 * scale) : MARGIN + round(760 * scale)]
    assert is_background(gap).all()
    # Everywhere on both screens, the ramp is where the wall puts it.
    for wall_x in [*range(48, 676, 8), *range(764, 1396, 8)]:
        shown = int(image[y, MARGIN + int(wall_x * scale), 0])
        expected = 255 * (wall_x - 40) / 1360
        assert abs(shown - expected) <= 3, (wall_x, shown, expected)


def test_the_shipped_span_is_drawn_whole_and_the_bezels_stay_gaps() -> None:
    layout = load_layout(REPO / "layouts" / "wall-3x3-bezels.yaml", env=ENV)
    image = render_preview(layout, scale=1 / 8)
    places = screen_places(layout)
    a1, a2 = places["A1"], places["A2"]
    y = MARGIN + round((a1.y + a1.h * 0.8) / 8)
    gap = image[y, MARGIN + round(a1.right / 8) : MARGIN + round(a2.x / 8)]
    assert len(gap) and is_background(gap).all()
    left = image[y, MARGIN + round(a1.right / 8) - 3]
    right = image[y, MARGIN + round(a2.x / 8) + 3]
    assert not is_background(left) and not is_background(right)


def test_clock_text_image_tiles_and_labels_are_drawn_as_on_the_wall(tmp_path: Path) -> None:
    picture = np.zeros((100, 200, 3), np.uint8)
    picture[:] = (0, 200, 0)
    cv2.imwrite(str(tmp_path / "map.png"), picture)
    (tmp_path / "room.yaml").write_text(
        """
cameras:
  cam1: {name: "Gate", url: "rtsp://127.0.0.1:9/cam1"}
  cam2: {name: "Yard", url: "rtsp://127.0.0.1:9/cam2"}
outputs:
  - id: A1
    size: [960, 540]
    tiles:
      - {clock: "%H:%M:%S", rect: [0, 0, 480, 270]}
      - {text: "Incident room B", rect: [480, 0, 480, 270]}
      - {image: map.png, rect: [0, 270, 480, 270]}
      - {tour: [cam1, cam2], every: 5, rect: [480, 270, 480, 270], label: {position: top-right}}
"""
    )
    layout = load_layout(tmp_path / "room.yaml")
    image = render_preview(layout, scale=1.0, wall_time=NOON)[MARGIN:-MARGIN, MARGIN:-MARGIN]
    clock, text = image[:270, :480], image[:270, 480:]
    map_tile, tour = image[270:, :480], image[270:, 480:]
    # The clock as the wall paints it (below the tile's corner tag and the output badge).
    painted = ClockTile("%H:%M:%S", 480, 270)
    painted.update(NOON)
    assert np.array_equal(clock[80:], painted.pixels[80:])
    assert share_near(text, TEXT_BACKGROUND[::-1], 2) > 0.6
    # The map letterboxed: 2:1 into 16:9, bars above and below.
    assert (map_tile[5] == 0).all() and (map_tile[135, 10] == (0, 200, 0)).all()
    # The tour lists its cameras; its label (top-right) names the first one.
    assert (tour[5:35, 300:475] >= 200).all(axis=2).any()
    assert share_near(clock, CLOCK_BACKGROUND[::-1], 2) > 0.6


def test_shown_cameras_are_one_per_tile_a_tours_first() -> None:
    # A tour's later cameras are shown nowhere else here: only the rule can keep them out.
    layout = parse_layout("""\
cameras:
  first: {url: "rtsp://h/1"}
  later: {url: "rtsp://h/2"}
  plain: {url: "rtsp://h/3"}
  spanned: {url: "rtsp://h/4"}
wall: {rows: 1, columns: 2, screen: {size_px: [320, 180], size_mm: [600, 340], bezel_mm: 2}}
spans: [{camera: spanned, screens: [A1, A2]}]
outputs:
  - {id: A1, size: [320, 180], grid: 1x2, tiles: [plain, {tour: [first, later], every: 5}]}
  - {id: A2, size: [320, 180], grid: 1x1, tiles: [plain]}
""")
    assert shown_cameras(layout) == ["plain", "first", "spanned"]


def test_the_command_writes_a_png_with_a_preset_and_never_shows_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    layout = str(REPO / "layouts" / "wall-3x3-bezels.yaml")
    out = tmp_path / "wall.png"
    assert main(["preview", layout, "-o", str(out)]) == 0
    plain = cv2.imread(str(out))
    assert plain is not None and 2000 <= plain.shape[1] <= 3000
    assert main(["preview", layout, "-o", str(out), "--preset", "quiet", "--scale", "0.1"]) == 0
    quiet = cv2.imread(str(out))
    wall = load_layout(layout, env=ENV).wall
    assert wall is not None
    wall_w = wall.geometry().size[0]
    assert quiet is not None and quiet.shape[1] == round(wall_w * 0.1) + 2 * MARGIN
    assert main(["preview", layout, "-o", str(out), "--preset", "nope"]) == 2
    assert main(["preview", layout, "-o", "/nonexistent/x.png"]) == 2
    assert main(["preview", layout, "-o", str(out), "--scale", "50"]) == 2
    captured = capsys.readouterr()
    assert "unknown preset 'nope'" in captured.err and "quiet" in captured.err
    assert ENV["CAM_PASS"] not in captured.out + captured.err


def test_the_command_lines_default_width_is_the_previews() -> None:
    # The command line does not import the preview (its start time): its copy must agree.
    from compositor.cli import PREVIEW_WIDTH
    from compositor.preview import DEFAULT_WIDTH

    assert PREVIEW_WIDTH == DEFAULT_WIDTH
