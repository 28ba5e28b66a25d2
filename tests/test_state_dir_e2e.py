"""The state folder end to end: full, read-only, vanished or unsafe under a running wall."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchmarks.tmpfs import fill, remount, tmpfs
from compositor.app import WallApp
from compositor.control.unix_socket import send_request
from compositor.demo.testcams import SyntheticCameraServer
from compositor.live.reload import LayoutHistory
from tests.helpers.layouts import layout_text
from tests.helpers.pixels import shows, shows_png
from tests.helpers.processes import videowall, videowall_in_thread
from tests.helpers.walls import apply_edit, tick_until, wait_until

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: mounts a tmpfs, chowns folders to another user"
)
NOBODY = 65534  # another user (Debian's nobody)

pytestmark = pytest.mark.e2e


def problems(app: WallApp) -> str:
    return "\n".join(app.status()["state_problems"])


def picture_moves(app: WallApp) -> None:
    """The wall still composes new pictures: the synthetic cameras' ball moves."""
    before = app.canvases["O1"].to_bgr()
    tick_until(
        app,
        lambda: not np.array_equal(app.canvases["O1"].to_bgr(), before),
        3,
        "a new picture on the canvas",
    )


def ask(app: WallApp, socket_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    """A control request to an in-process wall, its render loop ticking meanwhile."""
    reply: dict[str, Any] = {}

    def send() -> None:
        reply.update(send_request(socket_path, request, timeout=5.0))

    sender = threading.Thread(target=send)
    sender.start()
    while sender.is_alive():
        app.tick()
        time.sleep(0.02)
    return reply


def error_lines(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.ERROR and word in r.getMessage()
    ]


@needs_root
def test_a_full_state_filesystem_loses_no_edit_and_recovers(
    camera_server: SyntheticCameraServer,
    wall: Callable[..., WallApp],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    path = tmp_path / "wall.yaml"
    with tmpfs(tmp_path / "state") as state:
        app = wall(layout_text(camera_server, ["red", "green"]), layout_path=path, state_dir=state)
        assert app.live is not None
        tick_until(
            app, lambda: shows(app.canvases["O1"].to_bgr(), "1x2", ["red", "green"]), 15, "up"
        )
        filler = fill(state)

        # Two valid edits and a broken one on the full disk: applied, applied, refused.
        last = layout_text(camera_server, ["green", "red"], "2x1")
        for text, grid in ((layout_text(camera_server, ["green", "red"]), "1x2"), (last, "2x1")):
            apply_edit(app, path, text)
            assert app.live.last_result.outcome == "applied", app.live.last_result
            tick_until(
                app, lambda g=grid: shows(app.canvases["O1"].to_bgr(), g, ["green", "red"]), 2, "on"
            )
        apply_edit(app, path, layout_text(camera_server, ["red", "nope"]))
        assert app.live.last_result.outcome == "refused"
        picture_moves(app)
        tick_until(app, lambda: "status" in problems(app), 3, "the status write failing")
        said = problems(app)
        assert "history" in said and "No space left on device" in said, said
        # Said once each, however many writes failed.
        assert len(error_lines(caplog, "history")) == 1, error_lines(caplog, "history")
        assert len(error_lines(caplog, "status.json")) == 1, error_lines(caplog, "status.json")
        left = [name for _, _, names in os.walk(state) for name in names if name.endswith(".tmp")]
        assert not left, f"temp files left: {left}"
        # The socket still answers, and tells of the trouble.
        reply = ask(app, state / "control.sock", {"command": "status"})
        assert "No space left on device" in "\n".join(reply["status"]["state_problems"])

        filler.unlink()  # space again: the applied layout is kept, the status written
        tick_until(app, lambda: not problems(app), 3, "recovered")
        assert LayoutHistory(state / "history").entries()[-1].text() == last
        status = json.loads((state / "status.json").read_text())
        assert status["state_problems"] == [] and status["last_reload"]["outcome"] == "refused"
        assert any("written again" in r.getMessage() for r in caplog.records)


@needs_root
def test_a_wall_started_on_a_full_filesystem_runs_and_leaves_no_socket(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    path, snaps = tmp_path / "wall.yaml", tmp_path / "snaps"
    path.write_text(layout_text(camera_server, ["red", "green"]))
    with tmpfs(tmp_path / "state") as state:
        fill(state)
        wall = run_wall_process(path, state, snaps)
        try:
            wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["red", "green"]), 20, "wall up")
            listed = videowall("preset", "--list", "--state-dir", str(state))
            assert listed.returncode == 0, listed.stderr
            # No status.json could be written: the wall itself answers, and says why.
            shown = videowall("status", "--state-dir", str(state))
            assert shown.returncode == 0, shown
            assert "the wall itself answered" in shown.stdout, shown.stdout
            assert "NOT WRITTEN" in shown.stdout and "No space left on device" in shown.stdout
            path.write_text(layout_text(camera_server, ["green", "red"]))
            wait_until(lambda: shows_png(snaps / "O1.png", "1x2", ["green", "red"]), 5, "edited")
        finally:
            wall.send_signal(signal.SIGTERM)
            output, _ = wall.communicate(timeout=15)
        assert wall.returncode == 0, output
        assert "Traceback" not in output, output
        assert "No space left on device" in output
        assert not (state / "control.sock").exists(), "a stale socket left"


@needs_root
def test_a_read_only_state_filesystem_at_start_and_while_running(
    camera_server: SyntheticCameraServer,
    wall: Callable[..., WallApp],
    tmp_path: Path,
) -> None:
    path = tmp_path / "wall.yaml"
    with tmpfs(tmp_path / "state") as state:
        remount(state, "ro")  # at start: no status, history nor socket can be made
        app = wall(layout_text(camera_server, ["red", "green"]), layout_path=path, state_dir=state)
        assert app.live is not None
        tick_until(
            app, lambda: shows(app.canvases["O1"].to_bgr(), "1x2", ["red", "green"]), 15, "up"
        )
        said = problems(app)
        assert "Read-only file system" in said and "control socket" in said, said
        apply_edit(app, path, layout_text(camera_server, ["green", "red"]))
        assert app.live.last_result.outcome == "applied"

        remount(state, "rw")  # back: the socket is served, the applied layout kept
        tick_until(app, lambda: not problems(app), 3, "recovered")
        assert ask(app, state / "control.sock", {"command": "presets"})["ok"]
        kept = LayoutHistory(state / "history").entries()
        assert [entry.text() for entry in kept] == [path.read_text()]

        remount(state, "ro")  # while running (ext4's errors=remount-ro)
        apply_edit(app, path, layout_text(camera_server, ["red", "green"]))
        assert app.live.last_result.outcome == "applied"
        apply_edit(app, path, layout_text(camera_server, ["red", "nope"]))
        assert app.live.last_result.outcome == "refused"
        tick_until(app, lambda: "Read-only" in problems(app), 3, "said")
        picture_moves(app)
        assert ask(app, state / "control.sock", {"command": "presets"})["ok"]
        remount(state, "rw")
        tick_until(app, lambda: not problems(app), 3, "recovered again")
        assert len(LayoutHistory(state / "history").entries()) == 2


def test_a_state_folder_removed_under_a_running_wall_comes_back(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    path, state = tmp_path / "wall.yaml", tmp_path / "state"
    app = wall(layout_text(camera_server, ["red", "green"]), layout_path=path, state_dir=state)
    tick_until(app, lambda: shows(app.canvases["O1"].to_bgr(), "1x2", ["red", "green"]), 15, "up")
    assert ask(app, state / "control.sock", {"command": "presets"})["ok"]
    shutil.rmtree(state)

    tick_until(app, lambda: (state / "control.sock").exists(), 3, "the socket back")
    assert state.stat().st_mode & 0o777 == 0o700
    assert ask(app, state / "control.sock", {"command": "presets"})["ok"]
    tick_until(app, lambda: (state / "status.json").exists(), 3, "the status back")
    assert [e.text() for e in LayoutHistory(state / "history").entries()] == [path.read_text()]
    assert not problems(app)
    picture_moves(app)
    preset = videowall_in_thread(app, "preset", "--list", "--state-dir", str(state))
    assert preset.returncode == 0, preset.stderr


@needs_root
@pytest.mark.parametrize("how", ["owned by another user", "writable by others"])
def test_a_state_folder_others_can_write_is_refused(
    how: str,
    camera_server: SyntheticCameraServer,
    wall: Callable[..., WallApp],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path, state = tmp_path / "wall.yaml", tmp_path / "state"
    state.mkdir(mode=0o700)
    victim = tmp_path / "root-owned.conf"
    victim.write_text("precious\n")
    (state / "status.json").symlink_to(victim)
    if how == "owned by another user":
        os.chown(state, NOBODY, NOBODY)
    else:
        os.chmod(state, 0o777)
    app = wall(layout_text(camera_server, ["red", "green"]), layout_path=path, state_dir=state)
    assert app.live is not None  # edits are still followed
    tick_until(app, lambda: shows(app.canvases["O1"].to_bgr(), "1x2", ["red", "green"]), 15, "up")
    apply_edit(app, path, layout_text(camera_server, ["green", "red"]))
    assert app.live.last_result.outcome == "applied"
    time.sleep(1.1)
    app.tick()
    assert victim.read_text() == "precious\n"
    assert sorted(os.listdir(state)) == ["status.json"], "nothing written in the folder"
    assert how.split()[-1] in problems(app)  # "user" / "others"
    assert len(error_lines(caplog, str(state))) == 1, error_lines(caplog, str(state))
    for command in (["status"], ["revert", str(path)], ["preset", "--list"]):
        refused = videowall(*command, "--state-dir", str(state))
        assert refused.returncode == 2, (command, refused.stdout, refused.stderr)
        assert str(state) in refused.stderr and "Traceback" not in refused.stderr


def run_wall_process(path: Path, state: Path, snaps: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "compositor", "run", str(path), "--headless"),
            *("--state-dir", str(state), "--snapshot", str(snaps), "--every", "0.2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
