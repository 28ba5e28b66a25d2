"""`videowall validate` and `videowall schema`: every problem at once, located, with hints."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from compositor.cli import main
from compositor.core.errors import LayoutError
from compositor.layout.parse import parse_layout
from compositor.layout.validate import validate_text

REPO = Path(__file__).resolve().parent.parent
SECRET = "s3cr3t-Pa55"
# "Billion laughs": 9**7 values from a few hundred bytes once aliases are expanded.
ALIAS_BOMB = b"a: &a [1,1,1,1,1,1,1,1,1]\n" + b"".join(
    f"{b}: &{b} [{','.join(['*' + a] * 9)}]\n".encode()
    for a, b in zip("abcdef", "bcdefg", strict=True)
)

BROKEN = """\
cameras:
  cam71: {name: North, url: "rtsp://10.0.0.1/a"}
  cam72: {name: South, url: "http://10.0.0.2/b"}
  cam73: {name: East}
  cam74: {name: West, url: "rtsp://10.0.0.4/d"}
outputs:
  - id: A1
    size: [1920, 1080]
    grid: 2x2
    tiles: [cam17, cam71, cam74, cam71, cam74]
  - id: A2
    size: [1920, 1080]
    tiles:
      - {camera: cam71, rect: [0, 0, 1000, 1080]}
      - {camera: cam74, rect: [900, 0, 1100, 1080]}
  - id: A3
    size: [1920, 1080]
    grd: 3x3
    tiles: []
"""


def test_every_error_is_reported_at_once_with_its_place_and_hint() -> None:
    report = validate_text(BROKEN, "wall.yaml")
    assert not report.ok
    assert [str(issue) for issue in report.errors] == [
        "wall.yaml:3:29: URL scheme 'http' is not allowed (use rtsp://, rtsps://)",
        "wall.yaml:4:3: missing required key 'url'",
        "wall.yaml:10:5: grid 2x2 has 4 cells but 5 tiles are given",
        "wall.yaml:10:13: unknown camera 'cam17' (did you mean 'cam71'?)",
        "wall.yaml:15:25: tile [900, 0, 1100, 1080] lies outside the output A2 (1920x1080)",
        "wall.yaml:15:25: tile 2 [900, 0, 1100, 1080] overlaps tile 1 [0, 0, 1000, 1080] "
        "of output A2",
        "wall.yaml:18:5: unknown key 'grd' (did you mean 'grid'?)",
    ]


def test_yaml_syntax_errors_and_duplicate_keys_are_located() -> None:
    report = validate_text("cameras:\n  a: {url: rtsp://h/x\noutputs: []\n", "w.yaml")
    assert len(report.errors) == 1 and report.errors[0].line >= 2
    assert "YAML syntax error" in report.errors[0].message
    duplicate = "cameras:\n  a: {url: 'rtsp://h/a'}\n  a: {url: 'rtsp://u:pw@h/b'}\noutputs: []\n"
    # The duplicate does not hide the rest of the file; the values (URLs) are not echoed.
    assert [str(issue) for issue in validate_text(duplicate, "d.yaml").errors] == [
        "d.yaml:3:3: duplicate key 'a' (first on line 2)",
        "d.yaml:4:1: 'outputs' needs at least 1 item(s), 0 given",
    ]


def test_a_key_that_is_a_list_of_mappings_is_located_not_a_crash() -> None:
    # YAML allows any node as a key; the reader makes keys dict keys, and these are not
    # hashable (found by the punctuation fuzz test).
    for text, where in (
        ("cameras:\n  [{a: b}]: {url: 'rtsp://h/a'}\noutputs: []\n", "w.yaml:2:3"),
        ("? [[x]]\n: y\n", "w.yaml:1:3"),
        ("cameras: {}\noutputs: [{? {a: [1]}: 2}]\n", "w.yaml:2:14"),
    ):
        errors = [str(issue) for issue in validate_text(text, "w.yaml").errors]
        assert errors == [f"{where}: a key must be a name, not a list or a mapping"], text


def test_warnings_do_not_fail() -> None:
    text = """\
cameras:
  cam01: {url: "rtsp://10.0.0.1/a"}
  spare: {url: "rtsp://10.0.0.2/b"}
outputs:
  - {id: A1, size: [640, 360], grid: 2x2, tiles: [cam01], monitor: DP-9}
  - {id: A2, size: [640, 360], grid: 1x1, tiles: [cam01], monitor: 5}
"""
    monitors = ["DP-1", "DP-2"]
    report = validate_text(text, "w.yaml", monitors=monitors)
    assert report.ok
    warnings = [f"{w.line}: {w.message}" for w in report.warnings]
    assert warnings == [
        "3: camera 'spare' is never shown",
        "5: grid 2x2 has 4 cells but 1 tiles: 3 cell(s) stay black",
        "5: monitor 'DP-9' is not connected (connected: DP-1, DP-2)",
        "6: monitor index 5: the X server has 2 monitors",
    ]
    assert any(": warning: camera 'spare'" in line for line in report.lines())
    assert validate_text(text, "w.yaml").notes == ["monitors not checked: no X display to ask"]


def test_the_command_exits_1_on_errors_and_0_on_warnings_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    broken, good = tmp_path / "broken.yaml", tmp_path / "good.yaml"
    broken.write_text(BROKEN)
    good.write_text(
        "cameras:\n  a: {url: 'rtsp://h/a'}\n  b: {url: 'rtsp://h/b'}\n"
        "outputs:\n  - {id: A1, size: [640, 360], grid: 1x1, tiles: [a]}\n"
    )
    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"{good}:3:3: warning: camera 'b' is never shown" in out
    assert f"{good}: ok: 2 cameras, 1 outputs, 1 tiles" in out
    assert main(["validate", str(good), str(broken), str(tmp_path / "missing.yaml")]) == 1
    out = capsys.readouterr().out
    assert f"{broken}:10:13: unknown camera 'cam17'" in out
    assert f"{tmp_path / 'missing.yaml'}: no such file" in out


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02binary\xff\xfe junk",
        b"\xff\xfe\xfd not utf-8",
        ALIAS_BOMB,
        b"[" * 5000 + b"]" * 5000,
        b"cameras: " + b"x" * (3 * 1024 * 1024),
        b"\xef\xbb\xbfcameras: {}\noutputs: []\n",
        b"? [a, b]\n: c\n1: 2\n~: null\n",
    ],
    ids=["binary", "latin1", "alias-bomb", "deep", "huge", "bom", "odd-keys"],
)
def test_hostile_files_get_a_clear_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    completed = subprocess.run(
        [sys.executable, "-m", "compositor", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1, completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout
    assert str(path) in completed.stdout


def test_the_schema_is_valid_json_and_the_committed_copy_is_current(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    schema = json.loads(printed)
    assert schema["additionalProperties"] is False
    assert {"cameras", "outputs", "wall", "spans"} <= set(schema["properties"])
    committed = (REPO / "layouts" / "layout.schema.json").read_text()
    assert committed == printed, "run: videowall schema > layouts/layout.schema.json"


@pytest.mark.parametrize(
    "text",
    [
        ALIAS_BOMB.decode(),
        ALIAS_BOMB.decode() + "a: duplicate\n",  # the duplicate-key walk meets the bomb too
        ALIAS_BOMB.decode().replace("g: &g", "outputs: &g") + "cameras: {<<: *g}\n",
        "a: &a ["
        + ",".join(["x"] * 500)
        + "]\n"
        + "".join(
            f"k{n}: &k{n} [*{'a' if n == 0 else f'k{n - 1}'}, *{'a' if n == 0 else f'k{n - 1}'}]\n"
            for n in range(40)
        ),
    ],
    ids=["bomb", "bomb-and-duplicate", "bomb-merged", "doubling"],
)
def test_alias_bombs_are_refused_in_bounded_memory(text: str) -> None:
    tracemalloc.start()
    try:
        report = validate_text(text, "bomb.yaml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not report.ok and all(issue.message for issue in report.errors)
    assert peak < 64 * 1024 * 1024, f"{peak / 1e6:.0f} MB"


MIXED = """\
labels: {position: middle}
cameras:
  cam01: {url: "rtsp://h/1"}
  cam02: {url: "http://h/2"}
  cam03: {url: "rtsp://h/3"}
outputs:
  - id: A1
    size: [1920, 1080]
    grid: 2x2
    tiles: [cam01, cam20, {tour: [cam01, cam3]}, {image: maps/none.png}, cam02]
  - id: A2
    size: [1920, 1080]
    tile: [cam01]
  - id: A3
    size: [1920, 1080]
    tiles:
      - {clock: "%H:%M", rect: [0, 0, 1000, 100]}
      - {text: "hi", rect: [900, 50, 1100, 100]}
presets:
  night:
    outputs:
      - {id: A4, grid: 1x1, tiles: [cam01]}
      - {id: A1, grid: 1x1, tiles: [cam05]}
      - id: A3
        tiles: [{camera: cam01, rect: [0, 0, 10, 10]}, {camera: cam01, rect: [5, 5, 9, 9]}]
"""


def test_model_and_semantic_errors_of_every_section_come_together(tmp_path: Path) -> None:
    path = tmp_path / "mixed.yaml"
    path.write_text(MIXED)
    from compositor.layout.validate import validate_file

    assert [str(issue) for issue in validate_file(path).errors] == [
        f"{path}:1:20: Input should be 'top-left', 'top-right', 'bottom-left' or 'bottom-right'",
        f"{path}:4:16: URL scheme 'http' is not allowed (use rtsp://, rtsps://)",
        f"{path}:10:5: grid 2x2 has 4 cells but 5 tiles are given",
        f"{path}:10:20: unknown camera 'cam20' (did you mean 'cam02'?)",
        f"{path}:10:42: unknown camera 'cam3' (did you mean 'cam03'?)",
        f"{path}:10:58: image 'maps/none.png' ({tmp_path}/maps/none.png) not found",
        f"{path}:13:5: unknown key 'tile' (did you mean 'tiles'?)",
        f"{path}:18:22: tile [900, 50, 1100, 100] lies outside the output A3 (1920x1080)",
        f"{path}:18:22: tile 2 [900, 50, 1100, 100] overlaps tile 1 [0, 0, 1000, 100] of output A3",
        f"{path}:22:14: preset night: unknown output 'A4' (outputs: A1, A2, A3)",
        f"{path}:23:37: unknown camera 'cam05' (did you mean 'cam03'?)",
        f"{path}:25:72: tile 2 [5, 5, 9, 9] overlaps tile 1 [0, 0, 10, 10] of output A3",
    ]


def test_cameras_shown_by_tours_or_presets_only_are_used() -> None:
    text = """\
cameras:
  a: {url: "rtsp://h/a"}
  b: {url: "rtsp://h/b"}
  c: {url: "rtsp://h/c"}
  d: {url: "rtsp://h/d"}
  spare: {url: "rtsp://h/e"}
outputs:
  - {id: A1, size: [640, 360], grid: 1x2, tiles: [a, {tour: [b, c]}]}
presets:
  night: {outputs: [{id: A1, grid: 1x1, tiles: [d]}]}
"""
    report = validate_text(text, "w.yaml")
    assert report.ok
    assert [f"{w.line}:{w.col}: {w.message}" for w in report.warnings] == [
        "6:3: camera 'spare' is never shown"
    ]


def test_the_note_says_why_monitors_were_not_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("cameras: {a: {url: 'rtsp://h/a'}}\noutputs: [{id: A1, size: [9, 9]}]\n")
    monkeypatch.delenv("DISPLAY", raising=False)
    assert main(["validate", str(good)]) == 0
    assert f"{good}: note: monitors not checked: no X display to ask" in capsys.readouterr().out
    monkeypatch.setenv("DISPLAY", ":97")  # nothing listens there
    assert main(["validate", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"{good}: note: monitors not checked: " in out and "no X display" not in out


def test_the_wall_is_checked_while_a_camera_url_is_wrong() -> None:
    text = """\
cameras:
  main: {url: "http://127.0.0.1/main"}
outputs:
  - {id: A1, size: [480, 270]}
  - {id: A2, size: [480, 200]}
wall:
  rows: 1
  columns: 3
  screen: {size_px: [480, 270], size_mm: [480, 270]}
spans:
  - {camera: mian, screens: [A1, A3]}
"""
    assert [str(issue) for issue in validate_text(text, "w.yaml").errors] == [
        "w.yaml:2:15: URL scheme 'http' is not allowed (use rtsp://, rtsps://)",
        "w.yaml:5:14: output A2 is 480x200 but the wall's screens are 480x270",
        "w.yaml:6:1: a wall of 1x3 screens needs 3 outputs, 2 given",
        "w.yaml:11:14: unknown camera 'mian' (did you mean 'main'?)",
        "w.yaml:11:20: not on the wall: A3",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "cameras:\n" + "".join(f"  c{n}: {{url: 'rtsp://h/{n}'}}\n" for n in range(21_000)),
        "x: [" + ",".join(["1"] * 21_000) + "]\n",
        "x: '" + "a" * 1_100_000 + "'\n",
    ],
    ids=["many-lines", "many-items", "long"],
)
def test_absurdly_large_layouts_are_refused_before_parsing(text: str) -> None:
    with pytest.raises(LayoutError, match="refused") as caught:
        parse_layout(text, "big.yaml")
    assert "a layout is a few kB" in str(caught.value) or "a few hundred" in str(caught.value)
