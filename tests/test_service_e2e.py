"""The wall as systemd runs it: `videowall run` in a child process under a notify socket.

Real parts only: the command line, a real X server (Xvfb), the test cameras, a
datagram socket bound here as systemd's, a journal stream's device and inode.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from compositor.demo.testcams import SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from tests.helpers.notify_socket import NotifyListener

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

WATCHDOG_S = 1.0  # WATCHDOG_USEC asked of the wall: it pings every 0.5 s


def _layout(server: SyntheticCameraServer) -> str:
    return f"""labels: {{show: false}}
cameras:
  red: {{url: "{server.url("red")}"}}
outputs:
  - {{id: O1, size: [320, 180], grid: 1x1, tiles: [red]}}
"""


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    bound = NotifyListener(tmp_path / "notify")
    yield bound
    bound.close()


def _start(arguments: list[str], env: dict[str, str], **popen: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "compositor", *arguments], env={**os.environ, **env}, **popen
    )


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise


def test_a_wall_tells_systemd_it_is_ready_pings_from_its_loop_and_goes_quiet_when_wedged(
    camera_server: SyntheticCameraServer,
    x_display: VirtualDisplay,
    listener: NotifyListener,
    tmp_path: Path,
) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text(_layout(camera_server))
    env = {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6))}
    wall = _start(
        ["run", str(layout), "--windowed", "--display", x_display.name, "--fps", "10",
         "--state-dir", str(tmp_path / "state")],
        env,
    )  # fmt: skip
    try:
        ready = listener.wait_for("READY=1", 60)
        assert ready.startswith("READY=1\nSTATUS=1/1 outputs, "), ready
        listener.wait_for("STATUS=1/1 outputs, 1/1 cameras live", 30)
        pings = [m for _, m in listener.receive(2.0) if m == "WATCHDOG=1"]
        assert len(pings) >= 2, "the loop pings twice a watchdog interval"

        # The X server hangs (a frozen driver, a stuck compositor): the render loop blocks
        # in its next draw, and with it the pings. systemd would kill the wall now.
        assert x_display.pid is not None
        os.kill(x_display.pid, signal.SIGSTOP)
        try:
            listener.receive(1.0)  # what the loop sent before it blocked
            quiet = listener.receive(3 * WATCHDOG_S)
            assert "WATCHDOG=1" not in [m for _, m in quiet], "a wedged loop must not ping"
            assert wall.poll() is None, "the process lives on: only its loop is stuck"
        finally:
            os.kill(x_display.pid, signal.SIGCONT)
        listener.wait_for("WATCHDOG=1", 10)  # the loop draws again, and pings
        assert _stop(wall) == 0
        assert "STOPPING=1" in listener.wait_for("STOPPING=1", 5)
    finally:
        if wall.poll() is None:
            wall.kill()
            wall.wait()


def test_a_broken_layout_at_boot_shows_why_waits_and_starts_once_fixed(
    camera_server: SyntheticCameraServer, listener: NotifyListener, tmp_path: Path
) -> None:
    """Headless: the notice is a canvas, written with the snapshots; stderr is the journal."""
    layout = tmp_path / "wall.yaml"
    good = _layout(camera_server)
    layout.write_text(good.replace("tiles: [red]", "tiles: [rde]"))  # a typo at boot
    snapshots = tmp_path / "snapshots"
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        # The journal's stream is identified by device and inode (sd_journal_stream_fd(3)).
        status = os.fstat(stderr.fileno())
        env = {
            "NOTIFY_SOCKET": str(listener.path),
            "WATCHDOG_USEC": str(int(WATCHDOG_S * 1e6)),
            "JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}",
        }
        wall = _start(
            ["run", str(layout), "--headless", "--wait-for-valid-layout", "--state-dir",
             str(tmp_path / "state"), "--snapshot", str(snapshots), "--every", "0.2"],
            env,
            stderr=stderr,
        )  # fmt: skip
    try:
        ready = listener.wait_for("READY=1", 60)
        assert f"STATUS=layout broken: 1 error in {layout}; waiting" in ready
        listener.wait_for("WATCHDOG=1", 5)  # the waiting wall is alive, and says so
        notice = snapshots / "layout-error.png"
        deadline = time.monotonic() + 10
        while not notice.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        import cv2

        picture = cv2.imread(str(notice))
        assert picture is not None and picture.shape == (720, 1280, 3)
        red = (np.abs(picture.astype(int) - (30, 30, 110)).max(axis=2) <= 4).mean()
        assert red > 0.5, "a screen of errors, not a black one"
        assert (picture.min(axis=2) > 200).mean() > 0.002, "with its text"
        text = log.read_text()
        # journalctl -p err shows it: the ERROR lines carry <3>, every line of them.
        error_lines = [line for line in text.splitlines() if line.startswith("<3>")]
        assert any("cannot be shown" in line for line in error_lines), text
        assert any(f"{layout}:5:" in line and "rde" in line for line in error_lines), text
        assert all(line[:3] in ("<3>", "<4>", "<6>", "<7>") for line in text.splitlines()), text

        layout.write_text(good)  # fixed: the wall starts by itself
        listener.wait_for("STATUS=1/1 outputs, 1/1 cameras live", 40)
        output = snapshots / "O1.png"
        deadline = time.monotonic() + 10
        while not output.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert output.exists(), "the real wall's output"
        assert _stop(wall) == 0
        assert "<6>INFO compositor.fallback: layout" in log.read_text()
    finally:
        if wall.poll() is None:
            wall.kill()
            wall.wait()
