"""Passwords end to end: never in a running wall's log, status or tiles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SECRET = "s3cr3t-Pa55"


pytestmark = pytest.mark.e2e


def test_credentials_never_appear_in_the_log_of_a_running_wall(tmp_path: Path) -> None:
    """Cameras failing in several ways, with a password from the environment: the log
    (every camera state change, every reason) never shows it."""
    from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer

    camera = SyntheticCamera("red", "red", 160, 90, 10, (220, 30, 30))
    with SyntheticCameraServer([camera], user="operator", password=SECRET) as server:
        port = server.port
        layout = tmp_path / "wall.yaml"
        layout.write_text(
            "cameras:\n"
            f"  good: {{url: 'rtsp://operator:${{CAM_PASS}}@127.0.0.1:{port}/red', "
            f"url_low: 'rtsp://operator:${{CAM_PASS}}@127.0.0.1:{port}/red'}}\n"
            f"  missing: {{url: 'rtsp://operator:${{CAM_PASS}}@127.0.0.1:{port}/nope'}}\n"
            f"  wrong: {{url: 'rtsp://operator:${{CAM_PASS}}x@127.0.0.1:{port}/red'}}\n"
            "  refused: {url: 'rtsp://operator:${CAM_PASS}@127.0.0.1:1/x'}\n"
            "outputs:\n"
            "  - {id: O1, size: [320, 180], grid: 2x2, tiles: [good, missing, wrong, refused]}\n"
        )
        env = dict(os.environ, CAM_PASS=SECRET)
        process = subprocess.Popen(
            [sys.executable, "-m", "compositor", "run", str(layout), "--headless", "-v"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            time.sleep(6)
        finally:
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=15)
    assert "camera good" in output and "live" in output, output
    assert "camera refused" in output and "connection refused" in output, output
    assert SECRET not in output


def test_a_running_wall_shows_no_password_of_a_dvr_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """status.json, `videowall status`, the control socket's status and the tiles of a
    wall whose DVR cameras (password in the path, from ${VAR}) fail."""
    import json
    import threading

    from compositor.app import RunOptions, WallApp
    from compositor.control.unix_socket import send_request
    from compositor.layout.parse import load_layout
    from tests.helpers.walls import tick_until

    monkeypatch.setenv("CAM_PASS", SECRET)
    path, state = tmp_path / "wall.yaml", tmp_path / "state"
    path.write_text(
        "cameras:\n"
        "  dvr: {url: 'rtsp://127.0.0.1:1/user=admin&password=${CAM_PASS}&channel=1&stream=0.sdp'}\n"
        "  token: {url: 'rtsp://127.0.0.1:1/live/${CAM_PASS}/main'}\n"
        "outputs:\n  - {id: O1, size: [640, 180], grid: 1x2, tiles: [dvr, token]}\n"
    )
    app = WallApp(load_layout(path), RunOptions(headless=True, layout_path=path, state_dir=state))
    try:
        app.start()
        tick_until(app, lambda: set(app.camera_states.values()) == {"retrying"}, 15, "failing")
        # A decoder that quotes its URL in its reason (as some FFmpeg messages do).
        url = app.layout.cameras["token"].url
        app.pool.status_board.publish(app.pool.index_of("token"), reason=f"cannot open {url}")
        app._refresh_health(app.clock.now())
        shown = json.dumps(app.status())
        assert "cannot open rtsp://127.0.0.1:1/live/***/main" in shown, shown
        app._write_status_now()
        reply: dict[str, object] = {}
        asking = threading.Thread(
            target=lambda: reply.update(send_request(state / "control.sock", {"command": "status"}))
        )
        asking.start()
        while asking.is_alive():
            app.tick()
        printed = subprocess.run(
            [sys.executable, "-m", "compositor", "status", "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        seen = shown + json.dumps(reply) + (state / "status.json").read_text() + printed.stdout
        assert "password=***" in seen and "live/***/main" in printed.stdout, printed.stdout
        assert SECRET not in seen
        lines = [line for n in app.cameras.notices.values() if n is not None for line in n.lines]
        assert "cannot open rtsp://127.0.0.1:1/live/***/main" in lines, lines
        assert SECRET not in "\n".join(lines)
    finally:
        app.close()
