from pathlib import Path

import pytest

from compositor.errors import LayoutError
from compositor.geometry import Fit, TileRect
from compositor.layout import load_layout, parse_layout, redact_url

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
