"""Logs end to end: the decoder processes log in the wall's format."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_the_decoder_processes_log_in_the_walls_format(tmp_path: Path) -> None:
    """A camera that refuses: its decoder process says so, as JSON like the wall."""
    layout = tmp_path / "wall.yaml"
    layout.write_text("""cameras:
  gone: {url: "rtsp://127.0.0.1:1/nothing"}
outputs:
  - {id: O1, size: [160, 90], grid: 1x1, tiles: [gone]}
""")
    wall = subprocess.Popen(
        [sys.executable, "-m", "compositor", "run", str(layout), "--headless", "--workers", "1",
         "--log-format", "json", "--log-level", "info", "--state-dir", str(tmp_path / "state")],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert wall.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            line = wall.stderr.readline()
            if not line:
                break
            lines.append(line)
            if '"process": "decoder-0"' in line and "connection refused" in line:
                break
    finally:
        wall.send_signal(signal.SIGTERM)
        _, rest = wall.communicate(timeout=15)
    entries = [json.loads(line) for line in [*lines, *rest.splitlines()] if line.strip()]
    decoder = [e for e in entries if e["process"] == "decoder-0"]
    assert any("connection refused" in e["message"] for e in decoder), entries
    assert {e["process"] for e in entries} == {"wall", "decoder-0"}
    assert wall.returncode == 0
