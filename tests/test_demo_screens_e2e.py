"""``videowall demo`` on a machine with no screen (what ``make demo`` does here): the log
says where the outputs go and why. On this host, whose only renderer is Mesa's software
one, the outputs are composed headless (demo/virtual_wall.py), snapshots show them, and
Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from compositor.demo.virtual_wall import choose_screens, start_virtual_wall
from tests.helpers.pixels import read_png
from tests.helpers.processes import free_port
from tests.helpers.walls import wait_until

pytestmark = pytest.mark.e2e


def test_the_demo_without_a_screen_says_where_its_outputs_go_and_why(tmp_path: Path) -> None:
    wall = start_virtual_wall(monitors=2, columns=2)  # what this host's X server draws with
    if wall.display is not None:
        wall.display.stop()
        pytest.skip(f"a GPU draws here ({wall.renderer.renderer}): the virtual wall is used")
    port = free_port()
    layout = tmp_path / "demo.yaml"
    layout.write_text(
        f"""\
cameras:
  camA: {{name: "Quay", url: "rtsp://127.0.0.1:{port}/camA"}}
outputs:
  - {{id: D1, size: [320, 180], grid: 1x1, tiles: [camA]}}
  - {{id: D2, size: [320, 180], grid: 1x1, tiles: [camA]}}
"""
    )
    snapshots, log = tmp_path / "snaps", tmp_path / "demo.log"
    env = {name: value for name, value in os.environ.items() if name != "DISPLAY"}
    with open(log, "w") as errors:
        demo = subprocess.Popen(
            [
                *(sys.executable, "-m", "compositor", "demo", str(layout), "--api", "off"),
                *("--snapshot", str(snapshots), "--every", "0.5", "--workers", "1"),
                *("--state-dir", str(tmp_path / "state")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )
        try:
            wait_until(lambda: "camera camA (Quay): live" in log.read_text(), 30, "camA live")
            wait_until(lambda: read_png(snapshots / "D2.png") is not None, 10, "a snapshot")
        finally:
            demo.send_signal(signal.SIGINT)
            demo.wait(timeout=20)
    text = log.read_text()
    assert demo.returncode == 0, text
    why = choose_screens(wall.renderer, 14).why
    assert f"no screen here, and no GPU: running headless. {why}; see what each output " in text
    assert f"{snapshots.resolve()}/<output>.png, refreshed every 0.5 s" in text
    assert "wall started: 2 outputs (D1, D2), 1 cameras, drawn at 25 fps" in text
    assert "Traceback" not in text
