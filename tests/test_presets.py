"""Presets switched on a running wall with ``videowall preset``, through the real
command line and the wall's control socket; cameras in both arrangements keep
their decoders, and the active preset outlives a reload of the file."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from compositor.control.unix_socket import send_request
from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.layouts import layout_text, save
from tests.helpers.pixels import shows_png
from tests.helpers.processes import read_status, run_wall, videowall
from tests.helpers.walls import wait_until

pytestmark = pytest.mark.e2e


PRESETS = """\
presets:
  incident:
    outputs:
      - {id: O1, grid: 1x2, tiles: [blue, red]}
  red-only:
    outputs:
      - {id: O1, grid: 1x1, tiles: [red]}
"""


def test_preset_switches_lists_survives_a_reload_and_names_the_known_ones(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    path, state, snaps = tmp_path / "wall.yaml", tmp_path / "state", tmp_path / "snaps"
    # blue is only in the preset: the file's own arrangement shows red and green.
    text = layout_text(camera_server, ["red", "green"], extra=PRESETS, more_cameras=["blue"])
    path.write_text(text)
    wall = run_wall(path, state, snaps)
    try:
        wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 20, "wall up")
        pids = read_status(state)["decoder_pids"]
        listed = videowall("preset", "--list", "--state-dir", str(state))
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.splitlines() == [
            "  incident",
            "  red-only",
            "* (default: the layout as written)",
        ]

        switched = videowall("preset", "incident", "--state-dir", str(state))
        assert switched.returncode == 0, switched.stderr
        assert "preset incident" in switched.stdout
        wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["blue", "red"]), 3, "preset shown")
        status = read_status(state)
        assert status["preset"] == "incident" and set(status["cameras"]) == {"red", "blue"}
        assert status["decoder_pids"] == pids
        listed = videowall("preset", "--list", "--layout", str(path), "--state-dir", str(state))
        assert "* incident" in listed.stdout.splitlines()

        # The file is edited (a camera renamed): the preset stays on.
        save(path, text.replace("name: 'Red'", "name: 'Red North'"))
        wait_until(lambda: read_status(state)["cameras"]["red"]["name"] == "Red North", 3, "reload")
        status = read_status(state)
        assert status["preset"] == "incident" and status["last_reload"]["outcome"] == "applied"
        assert shows_png(snaps / "O1.png", "1x2", ["blue", "red"])

        wrong = videowall("preset", "incidnet", "--state-dir", str(state))
        assert wrong.returncode == 2
        assert "incidnet" in wrong.stderr and "incident, red-only" in wrong.stderr
        assert "Traceback" not in wrong.stderr

        # Within a second: the wall answers once the new arrangement is in place.
        started = time.monotonic()
        reply = send_request(state / "control.sock", {"command": "preset", "name": "red-only"})
        assert reply["ok"] and time.monotonic() - started < 1.0, reply
        wait_until(lambda: shows_png(snaps / "O1.png", "1x1", ["red"]), 1, "red-only shown")

        back = videowall("preset", "--default", "--state-dir", str(state))
        assert back.returncode == 0, back.stderr
        wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 3, "default")
        assert read_status(state)["preset"] is None
    finally:
        wall.send_signal(signal.SIGTERM)
        output, _ = wall.communicate(timeout=10)
    assert wall.returncode == 0 and "Traceback" not in output, output

    nobody = videowall("preset", "incident", "--state-dir", str(state))
    assert nobody.returncode == 2 and "no wall is running" in nobody.stderr
