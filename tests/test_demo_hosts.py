"""``videowall demo --hosts 2`` (what ``make demo ARGS="--hosts 2"`` runs): a broker and
two wall processes on this machine, each host's control page and operator token
printed; a preset through one page's API shows on both hosts. A small layout on the
demo's test cameras (the full demo wall is 14 outputs of 1080p: too much for the CI
machine's two cores beside the rest of the suite)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers.processes import free_port, read_lines

pytestmark = [pytest.mark.e2e, pytest.mark.alone]


def test_the_demo_as_two_hosts_prints_both_pages_and_switches_both(tmp_path: Path) -> None:
    port = free_port()
    layout = tmp_path / "demo2.yaml"
    layout.write_text(
        f"""\
labels: {{show: false}}
cameras:
  camA: {{name: "Quay", url: "rtsp://127.0.0.1:{port}/camA"}}
  camB: {{name: "Bridge", url: "rtsp://127.0.0.1:{port}/camB"}}
outputs:
  - {{id: A1, size: [160, 90], grid: 1x1, tiles: [camA]}}
  - {{id: B1, size: [160, 90], grid: 1x1, tiles: [camB]}}
hosts: {{left: [A1], right: [B1]}}
presets:
  incident: {{outputs: [{{id: A1, tiles: [camB]}}, {{id: B1, tiles: [camA]}}]}}
"""
    )
    log = tmp_path / "demo.log"
    with open(log, "w") as errors:
        demo = subprocess.Popen(
            [
                *(sys.executable, "-m", "compositor", "demo", str(layout), "--hosts", "2"),
                *("--headless", "--workers", "1", "--state-dir", str(tmp_path / "state")),
                *("--snapshot", str(tmp_path / "snapshots")),
            ],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
        try:
            lines = read_lines(demo, 5, 90)
            assert len(lines) == 5, (lines, log.read_text()[-3000:])
            pages = {}
            for page, token in ((lines[0], lines[1]), (lines[2], lines[3])):
                host = page.split("(", 1)[1].split(")", 1)[0]
                pages[host] = (page.rsplit(" ", 1)[1], token.rsplit(" ", 1)[1])
            assert set(pages) == {"left", "right"}
            url, token = pages["right"]
            headers = {"Authorization": f"Bearer {token}"}
            answer = httpx.post(f"{url}api/presets/incident", headers=headers, timeout=10)
            assert answer.status_code == 200, answer.text
            deadline = time.monotonic() + 15
            seen: dict[str, object] = {}
            while time.monotonic() < deadline and set(seen.values()) != {"incident"}:
                for host, (page_url, page_token) in pages.items():
                    presets = httpx.get(
                        f"{page_url}api/presets",
                        headers={"Authorization": f"Bearer {page_token}"},
                        timeout=10,
                    )
                    seen[host] = presets.json()["preset"]
                time.sleep(0.2)
            assert seen == {"left": "incident", "right": "incident"}
        finally:
            demo.send_signal(signal.SIGINT)
            try:
                demo.wait(timeout=30)
            except subprocess.TimeoutExpired:
                demo.kill()
                raise
    assert demo.returncode == 0, log.read_text()[-3000:]
    assert not [p for p in (tmp_path / "state").rglob("control.sock")]  # both hosts stopped
