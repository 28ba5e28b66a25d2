"""``videowall demo`` (what ``make demo`` runs) prints its control page's address and a
fresh operator token, which calls a camera up on the running demo wall as curl would;
the token is on standard output only, never in the log."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers.processes import free_port, read_lines

pytestmark = [pytest.mark.e2e, pytest.mark.alone]


def test_the_demo_prints_its_page_and_an_operator_token_that_calls_a_camera_up(
    tmp_path: Path,
) -> None:
    port = free_port()
    layout = tmp_path / "demo.yaml"
    layout.write_text(
        f"""\
cameras:
  camA: {{name: "Quay", url: "rtsp://127.0.0.1:{port}/camA"}}
  camB: {{name: "Bridge", url: "rtsp://127.0.0.1:{port}/camB"}}
outputs:
  - {{id: D1, size: [320, 180], grid: 1x1, tiles: [camA]}}
"""
    )
    state, log = tmp_path / "state", tmp_path / "demo.log"
    with open(log, "w") as errors:
        demo = subprocess.Popen(
            [
                *(sys.executable, "-m", "compositor", "demo", str(layout), "--headless"),
                *("--api", "127.0.0.1:0", "--state-dir", str(state), "--workers", "1"),
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            lines = read_lines(demo, 3, 60)
            assert len(lines) == 3, (lines, log.read_text())
            assert lines[0].startswith("control page: http://127.0.0.1:")
            url = lines[0].split(": ", 1)[1]
            assert lines[1].startswith("operator token (demo-operator, for this demo): vw_")
            token = lines[1].rsplit(" ", 1)[1]
            assert lines[2].strip() == f"curl -H 'Authorization: Bearer {token}' {url}api/status"

            assert httpx.get(url).status_code == 200  # the page
            headers = {"Authorization": f"Bearer {token}"}
            called = httpx.put(
                url + "api/outputs/D1/tiles/1", json={"camera": "camB"}, headers=headers
            )
            assert called.status_code == 200, called.text
            status = json.loads((state / "status.json").read_text())
            assert [(c["tile"], c["camera"], c["by"]) for c in status["callups"]] == [
                ("D1.1", "camB", "demo-operator")
            ]
            audit = [json.loads(line) for line in (state / "audit.jsonl").read_text().splitlines()]
            assert [e["action"] for e in audit][:2] == ["token.add", "callup.set"]
        finally:
            demo.send_signal(signal.SIGINT)
            demo.communicate(timeout=20)
    assert demo.returncode == 0
    text = log.read_text()
    assert "Traceback" not in text and token not in text
    assert "control page and HTTP API" in text
