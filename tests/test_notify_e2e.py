"""systemd's notify protocol end to end: a headless wall under a real notify socket."""

from __future__ import annotations

import time

import pytest

from compositor.app import RunOptions, WallApp
from compositor.core.clock import MonotonicClock
from compositor.demo.testcams import SyntheticCameraServer
from compositor.layout.parse import parse_layout
from compositor.service.notify import (
    ServiceNotifier,
)
from tests.helpers.notify_socket import NotifyListener

pytestmark = pytest.mark.e2e


def test_a_headless_wall_is_ready_once_composed_and_says_how_many_cameras_are_live(
    camera_server: SyntheticCameraServer, listener: NotifyListener
) -> None:
    layout = parse_layout(
        f"""cameras:
  red: {{url: "{camera_server.url("red")}"}}
  gone: {{url: "rtsp://127.0.0.1:1/nothing"}}
outputs:
  - {{id: O1, size: [160, 90], grid: 1x1, tiles: [red]}}
  - {{id: O2, size: [160, 90], grid: 1x1, tiles: [gone]}}
""",
        "notify.yaml",
    )
    env = {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "400000"}
    notifier = ServiceNotifier.from_environment(MonotonicClock(), env)
    app = WallApp(layout, RunOptions(headless=True, workers=1), notifier=notifier)
    try:
        app.start()
        app.tick()  # one composition of every output: ready
        assert listener.wait_for("READY=1", 1.0) == "READY=1\nSTATUS=2/2 outputs, 0/2 cameras live"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # ticking, and reading as systemd would
            app.tick()
            got = [m for _, m in listener.receive(0.04)]
            if "STATUS=2/2 outputs, 1/2 cameras live" in got:
                break
        else:
            raise AssertionError(f"no STATUS with red live; got {listener.messages[-5:]}")
        assert app.camera_states["red"] == "live"
        pings = [t for t, m in listener.messages if m == "WATCHDOG=1"]
        assert len(pings) >= 3, "pinged from the ticks"
    finally:
        app.close()
        assert notifier is not None
        notifier.close()
