"""`videowall doctor` end to end: the demo layout's every item, a camera on a wrong port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from compositor.demo import demo_cameras
from compositor.demo.testcams import SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.parse import load_layout

ROOT = Path(__file__).resolve().parents[1]


pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo_server() -> Iterator[SyntheticCameraServer]:
    layout = load_layout(ROOT / "layouts" / "demo.yaml")
    with SyntheticCameraServer(demo_cameras(layout)) as server:
        yield server


def _doctor(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "compositor", "doctor", *arguments],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_the_doctor_on_the_demo_layout_reports_every_item_and_names_a_camera_on_a_wrong_port(
    demo_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    text = (ROOT / "layouts" / "demo.yaml").read_text()
    text = text.replace("127.0.0.1:8554", f"127.0.0.1:{demo_server.port}")
    text = text.replace(f"127.0.0.1:{demo_server.port}/cam07", "127.0.0.1:1/cam07")  # wrong port
    layout = tmp_path / "demo.yaml"
    layout.write_text(text)
    with VirtualDisplay.dummy_wall(monitors=2, columns=2, mode=(320, 180)) as x:
        result = _doctor(
            str(layout), "--display", x.name, "--json", "--state-dir", str(tmp_path / "s")
        )
    report = json.loads(result.stdout)
    checks = report["checks"]
    items = {check["item"] for check in checks}
    assert items == {
        "layout", "x server", "monitor", "opengl", "pyav", "codecs", "hardware decoding",
        "shared memory", "state folder", "wall", "clock", "camera",
    }  # fmt: skip
    by_item = {check["item"]: check for check in checks}
    assert by_item["layout"]["level"] == "OK" and "16 cameras" in by_item["layout"]["detail"]
    assert by_item["x server"]["detail"].startswith(f"{x.name}: 2 monitors")
    # 14 outputs, 2 monitors: two outputs shown (scaled), twelve without a screen.
    monitors = [c for c in checks if c["item"] == "monitor"]
    assert sum(c["level"] == "FAIL" for c in monitors) == 12
    assert "scaled" in monitors[0]["detail"] and "Hz" in monitors[0]["detail"]
    assert "software rendering: llvmpipe" in by_item["opengl"]["detail"]  # no GPU here
    assert by_item["opengl"]["level"] == "WARN"
    assert by_item["pyav"]["data"]["pyav"].split(".")[0] in ("17", "18")
    assert "h264 (15 cameras)" in by_item["codecs"]["detail"]
    assert "none usable on this machine (no GPU device)" in by_item["hardware decoding"]["detail"]
    assert by_item["shared memory"]["level"] == "OK"
    assert by_item["clock"]["detail"].split(" ")[0] in ("synchronised", "not", "synchronisation")
    cameras = {c["data"]["camera"]: c for c in checks if c["item"] == "camera"}
    assert len(cameras) == 16
    wrong = cameras.pop("cam07")
    assert wrong["level"] == "FAIL" and wrong["detail"].startswith(
        "cam07 (Porte Maillot): connection refused"
    )
    assert "127.0.0.1:1" in wrong["fix"]
    assert all(c["level"] == "OK" and "live, h264" in c["detail"] for c in cameras.values())
    assert result.returncode == report["exit"] == 2


def test_the_doctor_in_text_says_what_to_do_and_exits_2_on_failures(tmp_path: Path) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text("""cameras:
  gate: {name: Gate, url: "rtsp://cam:secret@127.0.0.1:1/live"}
outputs:
  - {id: A1, size: [320, 180], grid: 1x1, tiles: [gate]}
""")
    result = _doctor(str(layout), "--timeout", "2", env={"DISPLAY": ""})
    lines = result.stdout.splitlines()
    assert result.returncode == 2
    assert "FAIL  x server           no X display given" in lines
    assert any(
        line.startswith("FAIL  camera             gate (Gate): connection refused")
        for line in lines
    )
    assert "secret" not in result.stdout, "never a password"
    assert lines[-1].endswith("FAIL (exit 2)")
    broken = tmp_path / "broken.yaml"
    broken.write_text("outputs: [\n")
    result = _doctor(str(broken), env={"DISPLAY": ""})
    assert result.returncode == 2 and result.stdout.startswith("FAIL  layout")
