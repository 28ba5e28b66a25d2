"""A real wall with its HTTP API, for the API's end-to-end tests: ``videowall run`` in a
subprocess (headless, its API on a free port of 127.0.0.1), tokens made with
``videowall token add``, the real RTSP test cameras."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import numpy.typing as npt

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.processes import videowall

Pixels = npt.NDArray[np.uint8]
ROLES = ("viewer", "operator", "admin")


def api_layout_text(server: SyntheticCameraServer, o1: str = "[red, green]") -> str:
    """O1: red and green side by side; O2: blue whole, its tile the alarm tile."""
    cameras = "".join(
        f'  {c}: {{name: "{c.capitalize()}", url: "{server.url(c)}"}}\n'
        for c in ("red", "green", "blue")
    )
    return f"""\
labels: {{show: false}}
cameras:
{cameras}outputs:
  - {{id: O1, size: [320, 180], grid: 1x2, tiles: {o1}}}
  - {{id: O2, size: [320, 180], tiles: [{{camera: blue, rect: [0, 0, 320, 180]}}]}}
alarms: {{tiles: [O2.1], min_hold_s: 2}}
presets:
  swap:
    outputs: [{{id: O1, tiles: [green, red]}}]
"""


class ApiWall:
    """``videowall run LAYOUT --headless --api 127.0.0.1:0`` with a token per role."""

    def __init__(self, folder: Path, layout_text: str, *more: str) -> None:
        self.layout = folder / "wall.yaml"
        self.state = folder / "state"
        self.layout.write_text(layout_text)
        self.tokens: dict[str, str] = {}
        for role in ROLES:
            made = videowall(
                "token", "add", f"{role}1", "--role", role, "--state-dir", str(self.state)
            )
            assert made.returncode == 0, made.stderr
            self.tokens[role] = made.stdout.strip()
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "compositor", "run", str(self.layout), "--headless"),
                *("--state-dir", str(self.state), "--api", "127.0.0.1:0", *more),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = ""
        self.url = self._wait_for_api()

    def _wait_for_api(self, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the wall stopped: {self.process.communicate()[0]}")
            try:
                status = json.loads((self.state / "status.json").read_text())
            except (OSError, ValueError):
                status = {}
            if status.get("api"):
                return str(status["api"])
            time.sleep(0.1)
        raise AssertionError("the wall's API did not start")

    def client(self, role: str | None = "operator", **options: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        options.setdefault("timeout", 10)
        return httpx.Client(base_url=self.url, headers=headers, **options)

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state / "status.json").read_text())
        return data

    def snapshot(self, output: str, role: str = "viewer") -> Pixels:
        with self.client(role) as client:
            answer = client.get(f"/api/outputs/{output}/snapshot.jpg")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "image/jpeg"
        pixels = cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR)
        assert pixels is not None
        return np.asarray(pixels, np.uint8)

    def audit(self) -> list[dict[str, Any]]:
        lines = (self.state / "audit.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def stop(self) -> str:
        if self.process.poll() is None:
            self.process.terminate()
        self.output, _ = self.process.communicate(timeout=20)
        return self.output
