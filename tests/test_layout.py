from pathlib import Path

import pytest

from compositor.core.errors import LayoutError, UnknownPresetError
from compositor.core.geometry import Fit, TileRect
from compositor.core.redact import redact_url
from compositor.layout.models import LabelConfig
from compositor.layout.parse import load_layout, parse_layout

REPO = Path(__file__).resolve().parents[1]
ENV = {"CAM_USER": "operator", "CAM_PASS": "s3cret"}

ISSUE_EXAMPLE = """\
cameras:
  cam01: {name: "Concorde North", url: "rtsp://127.0.0.1:8554/cam01"}
  cam02: {name: "Pont d'Iena", url: "rtsp://${CAM_USER}:${CAM_PASS}@cam02.poc.example/stream1"}
  cam03: {url: "rtsp://127.0.0.1:8554/cam03"}
  cam04: {url: "rtsp://127.0.0.1:8554/cam04"}
  cam05: {url: "rtsp://127.0.0.1:8554/cam05"}
  cam06: {url: "rtsp://127.0.0.1:8554/cam06"}
outputs:
  - id: A1
    monitor: DP-1            # connector name or index; optional
    size: [1920, 1080]
    grid: 2x2                # rows x columns, filled in order
    tiles: [cam01, cam02, cam03, cam04]
  - id: A2
    size: [1920, 1080]
    tiles:
      - {camera: cam05, rect: [0, 0, 1280, 1080]}                # x, y, w, h in output pixels
      - {camera: cam06, rect: [1280, 0, 640, 540], fit: crop}    # fit: letterbox | crop | fill
"""


def _issues(text: str) -> list[str]:
    with pytest.raises(LayoutError) as info:
        parse_layout(text, "wall.yaml", ENV)
    return [str(issue) for issue in info.value.issues]


def test_the_issue_example_is_accepted() -> None:
    layout = parse_layout(ISSUE_EXAMPLE, "wall.yaml", ENV)
    assert layout.cameras["cam02"].url == "rtsp://operator:s3cret@cam02.poc.example/stream1"
    a1, a2 = layout.outputs
    assert a1.monitor == "DP-1"
    assert [t.rect for t in a1.placed_tiles()] == [
        TileRect(0, 0, 960, 540),
        TileRect(960, 0, 960, 540),
        TileRect(0, 540, 960, 540),
        TileRect(960, 540, 960, 540),
    ]
    assert [(t.camera, t.fit) for t in a2.placed_tiles()] == [
        ("cam05", Fit.LETTERBOX),
        ("cam06", Fit.CROP),
    ]
    assert layout.camera_name("cam03") == "cam03"


@pytest.mark.parametrize("name", ["poc-14.yaml", "demo.yaml"])
def test_shipped_layouts_load(name: str) -> None:
    layout = load_layout(REPO / "layouts" / name, env=ENV)
    assert len(layout.outputs) == 14
    assert all(o.size == (1920, 1080) for o in layout.outputs)
    grids = {o.grid for o in layout.outputs}
    assert {"1x1", "2x2", "3x3", "4x4"} <= grids


def test_unknown_key_is_located_at_the_key() -> None:
    text = ISSUE_EXAMPLE.replace("    grid: 2x2 ", "    gird: 2x2 ")
    assert "wall.yaml:12:5: unknown key 'gird' (did you mean 'grid'?)" in _issues(text)


def test_bad_fit_value_names_the_line() -> None:
    issues = _issues(ISSUE_EXAMPLE.replace("fit: crop", "fit: zoom"))
    assert len(issues) == 1 and issues[0].startswith("wall.yaml:18:")
    assert "letterbox" in issues[0]


def test_missing_environment_variable_is_an_error_at_the_url() -> None:
    with pytest.raises(LayoutError) as info:
        parse_layout(ISSUE_EXAMPLE, "wall.yaml", {"CAM_USER": "x"})
    assert str(info.value.issues[0]).startswith("wall.yaml:3:")
    assert "CAM_PASS is not set" in str(info.value)


def test_unknown_camera_suggests_the_nearest() -> None:
    issues = _issues(ISSUE_EXAMPLE.replace("tiles: [cam01,", "tiles: [cam_01,"))
    assert issues == ["wall.yaml:13:13: unknown camera 'cam_01' (did you mean 'cam01'?)"]


def test_tile_outside_output_and_too_many_grid_tiles() -> None:
    text = ISSUE_EXAMPLE.replace("[1280, 0, 640, 540]", "[1280, 0, 900, 540]").replace(
        "grid: 2x2 ", "grid: 1x2 "
    )
    issues = _issues(text)
    assert any(i.startswith("wall.yaml:13:") and "2 cells but 4 tiles" in i for i in issues)
    assert any(i.startswith("wall.yaml:18:") and "outside the output" in i for i in issues)


def test_duplicate_output_id() -> None:
    issues = _issues(ISSUE_EXAMPLE.replace("id: A2", "id: A1"))
    assert any(i.startswith("wall.yaml:14:") and "duplicate output id 'A1'" in i for i in issues)


def test_yaml_syntax_error_has_a_position() -> None:
    issues = _issues("cameras:\n  cam01: {url: [unclosed\noutputs: []\n")
    assert len(issues) == 1 and issues[0].startswith("wall.yaml:") and "YAML syntax" in issues[0]


@pytest.mark.parametrize(
    "text", ["", "- a list\n", "just text", "cameras: 3\noutputs: x\n", "\x00\x01binary"]
)
def test_junk_is_refused_cleanly(text: str) -> None:
    assert _issues(text)


def test_url_scheme_must_be_rtsp() -> None:
    issues = _issues(ISSUE_EXAMPLE.replace("rtsp://127.0.0.1:8554/cam03", "file:///etc/passwd"))
    assert any("scheme 'file' is not allowed" in i for i in issues)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LayoutError) as info:
        load_layout(tmp_path / "nope.yaml")
    assert "nope.yaml: no such file" in str(info.value)


def test_redact_url_hides_the_password() -> None:
    assert redact_url("rtsp://u:p@h:554/x") == "rtsp://u:***@h:554/x"
    assert redact_url("rtsp://h/x") == "rtsp://h/x"


# -- labels, tile kinds, sub-streams, presets ----------------------------------------------

EXTENDED = """\
labels: {position: top-left, size: 1.2}
cameras:
  cam01: {name: "Concorde North", url: "rtsp://h/1", url_low: "rtsp://${CAM_USER}:${CAM_PASS}@h/1s"}
  cam02: {url: "rtsp://h/2"}
  cam03: {url: "rtsp://h/3"}
  cam04: {url: "rtsp://h/4"}
  cam05: {url: "rtsp://h/5"}
  cam07: {url: "rtsp://h/7"}
outputs:
  - id: A1
    size: [1920, 1080]
    grid: 3x3
    tiles:
      - cam01
      - {camera: cam02, label: false}
      - {camera: cam03, label: {position: bottom-right, size: 1.5}}
      - {tour: [cam04, cam05], every: 4}
      - {clock: "%H:%M:%S"}
      - {text: "Incident room B - call 2200"}
      - {image: maps/city.png}
  - id: A2
    size: [1920, 1080]
    tiles:
      - {camera: cam01, rect: [0, 0, 960, 1080]}
      - {text: "North", rect: [960, 0, 960, 1080]}
presets:
  incident-north:
    outputs:
      - {id: A1, grid: 1x1, tiles: [cam07]}
  tiles-only:
    outputs:
      - {id: A1, tiles: [cam05, cam04]}
"""


@pytest.fixture
def layout_dir(tmp_path: Path) -> Path:
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "city.png").write_bytes(_png())
    (tmp_path / "wall.yaml").write_text(EXTENDED)
    return tmp_path


def _png() -> bytes:
    import cv2
    import numpy as np

    ok, data = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))
    assert ok
    return bytes(data)


def test_tile_kinds_labels_and_image_paths_are_resolved(layout_dir: Path) -> None:
    layout = load_layout(layout_dir / "wall.yaml", env=ENV)
    assert layout.source_dir == layout_dir
    assert layout.cameras["cam01"].url_low == "rtsp://operator:s3cret@h/1s"
    tiles = layout.placed_tiles("A1")
    assert [t.kind for t in tiles] == ["camera"] * 3 + ["tour", "clock", "text", "image"]
    assert [t.camera for t in tiles] == ["cam01", "cam02", "cam03", "cam04", "", "", ""]
    assert tiles[0].cameras == ("cam01",) and tiles[3].cameras == ("cam04", "cam05")
    assert tiles[3].every == 4
    assert (tiles[4].content, tiles[5].content) == ("%H:%M:%S", "Incident room B - call 2200")
    assert tiles[6].content == layout_dir / "maps" / "city.png"
    assert tiles[0].label == LabelConfig(position="top-left", size=1.2)
    assert tiles[1].label is None
    assert tiles[2].label == LabelConfig(position="bottom-right", size=1.5)
    assert tiles[3].label == tiles[0].label  # a tour names the camera it shows
    assert all(t.label is None for t in tiles[4:])
    assert tiles[0].box == (640, 360)  # WallApp's decoder key still works


def test_layout_wide_labels_off_and_a_tile_turning_its_own_on(layout_dir: Path) -> None:
    text = EXTENDED.replace("labels: {position: top-left, size: 1.2}", "labels: {show: false}")
    text = text.replace("{camera: cam02, label: false}", "{camera: cam02, label: true}")
    layout = parse_layout(text, "wall.yaml", ENV, source_dir=layout_dir)
    labels = [t.label for t in layout.placed_tiles("A1")[:3]]
    assert labels == [None, LabelConfig(), None]


def test_presets_replace_what_they_give(layout_dir: Path) -> None:
    layout = load_layout(layout_dir / "wall.yaml", env=ENV)
    north = layout.with_preset("incident-north")
    assert [(t.camera, t.rect) for t in north.placed_tiles("A1")] == [
        ("cam07", TileRect(0, 0, 1920, 1080))
    ]
    assert north.placed_tiles("A2") == layout.placed_tiles("A2")
    assert north.presets == layout.presets and north.source_dir == layout_dir
    kept_grid = layout.with_preset("tiles-only").outputs[0]
    assert kept_grid.grid == "3x3" and [t.camera for t in kept_grid.tiles] == ["cam05", "cam04"]
    assert layout.cameras_in_use() == {"cam01", "cam02", "cam03", "cam04", "cam05"}
    assert north.cameras_in_use() == {"cam01", "cam07"}
    with pytest.raises(UnknownPresetError, match="'nope': it has incident-north, tiles-only"):
        layout.with_preset("nope")


@pytest.mark.parametrize(
    ("tile", "message"),
    [
        ("{camera: cam01, text: hi}", "exactly one of camera, tour, clock, text, image (got"),
        ("{rect: [0, 0, 10, 10]}", "exactly one of camera, tour, clock, text, image"),
        ("{tour: [cam01]}", "'tour' needs at least 2 item(s), 1 given"),
        ("{camera: cam01, every: 5}", "`every` is for a tour tile"),
        ("{tour: [cam01, cam02], every: 0.5}", "greater than or equal to 1"),
        ("{clock: '%H:%M', label: false}", "a clock tile has no label"),
        ("{camera: cam01, label: {size: 9}}", "less than or equal to 4"),
        ("{camera: cam01, label: {position: middle}}", "'top-left'"),
        ("{text: '" + "x" * 501 + "'}", "at most 500 characters"),
        ("{tour: [cam01, cam_9]}", "unknown camera 'cam_9'"),
        ("{image: nowhere.png}", "image 'nowhere.png' ("),
        ("{image: ~nobody/map.png}", "image '~nobody/map.png' ("),  # no ~ expansion
        ('{image: "map\\0.png"}', "control character U+0000 in image"),
        ('{clock: "%H\\x01"}', "control character U+0001 in clock"),
    ],
)
def test_bad_tiles_are_located(tile: str, message: str, layout_dir: Path) -> None:
    text = EXTENDED.replace('- {text: "North", rect: [960, 0, 960, 1080]}', f"- {tile}")
    with pytest.raises(LayoutError) as info:
        parse_layout(text, "wall.yaml", ENV, source_dir=layout_dir)
    hits = [str(i) for i in info.value.issues if message in i.message]
    assert hits and all(h.startswith("wall.yaml:25:") for h in hits), info.value.issues


def test_an_image_that_is_not_a_picture_is_refused(layout_dir: Path) -> None:
    (layout_dir / "maps" / "city.png").write_text("not a png")
    with pytest.raises(LayoutError, match=r"wall.yaml:20:\d+: image 'maps/city.png' .* not a pic"):
        load_layout(layout_dir / "wall.yaml", env=ENV)


def test_url_low_is_checked_like_url() -> None:
    text = EXTENDED.replace("rtsp://${CAM_USER}:${CAM_PASS}@h/1s", "http://h/1s")
    issues = _issues(text)
    assert any(i.startswith("wall.yaml:3:") and "scheme 'http'" in i for i in issues)


def test_every_preset_is_checked_at_its_own_lines(layout_dir: Path) -> None:
    text = EXTENDED.replace("{id: A1, grid: 1x1, tiles: [cam07]}", "{id: A9, tiles: [cam07]}")
    text = text.replace("{id: A1, tiles: [cam05, cam04]}", "{id: A1, grid: 1x1, tiles: [cam8]}")
    with pytest.raises(LayoutError) as info:
        parse_layout(text, "wall.yaml", ENV, source_dir=layout_dir)
    assert [str(i) for i in info.value.issues] == [
        "wall.yaml:29:14: preset incident-north: unknown output 'A9' (outputs: A1, A2)",
        "wall.yaml:32:37: unknown camera 'cam8' (did you mean 'cam07'?)",
    ]


def test_a_preset_grid_too_small_for_the_output_tiles(layout_dir: Path) -> None:
    text = EXTENDED.replace("{id: A1, tiles: [cam05, cam04]}", "{id: A1, grid: 2x2}")
    with pytest.raises(LayoutError) as info:
        parse_layout(text, "wall.yaml", ENV, source_dir=layout_dir)
    (issue,) = info.value.issues
    assert str(issue).startswith("wall.yaml:32:9: grid 2x2 has 4 cells but 7 tiles")


WALL_WITH_PRESET = """\
cameras:
  main: {url: "rtsp://127.0.0.1/main"}
outputs:
  - {id: A1, size: [480, 270]}
  - {id: A2, size: [480, 270]}
wall:
  rows: 1
  columns: 2
  screen: {size_px: [480, 270], size_mm: [480, 270]}
  outputs: [A1, A2]
presets:
  wide:
    spans: [{camera: main, screens: [A1, A3]}]
"""


def test_a_screen_twice_on_the_wall_and_a_preset_span_off_it() -> None:
    text = WALL_WITH_PRESET.replace("outputs: [A1, A2]", "outputs: [A1, A1]")
    assert _issues(text) == [
        "wall.yaml:10:17: output A1 is on the wall twice (one screen each)",
        "wall.yaml:13:28: not on the wall: A3",
    ]
    layout = parse_layout(WALL_WITH_PRESET.replace("A3]", "A2]"), "wall.yaml", ENV)
    assert layout.placed_tiles("A2") == []
    wide = layout.with_preset("wide")
    assert [t.camera for t in wide.placed_tiles("A2")] == ["main"]
    # A spanning picture is labelled once: on the screen holding the label's corner.
    assert (
        wide.placed_tiles("A1")[0].label == LabelConfig() and not wide.placed_tiles("A2")[0].label
    )
