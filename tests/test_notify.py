"""systemd's notify protocol, against a real datagram socket bound by the test."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from compositor.app import RunOptions, WallApp
from compositor.core.clock import ManualClock, MonotonicClock
from compositor.demo.testcams import SyntheticCameraServer
from compositor.layout.parse import parse_layout
from compositor.service.notify import (
    NotifySocket,
    ServiceNotifier,
    notify_address,
    watchdog_interval,
)
from tests.notify_socket import NotifyListener


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    bound = NotifyListener(tmp_path / "notify")
    yield bound
    bound.close()


def test_the_environment_names_the_socket_and_the_watchdog() -> None:
    assert notify_address({"NOTIFY_SOCKET": "/run/systemd/notify"}) == "/run/systemd/notify"
    assert notify_address({"NOTIFY_SOCKET": "@wall"}) == b"\0wall"  # the abstract namespace
    assert notify_address({}) is None
    assert notify_address({"NOTIFY_SOCKET": "vsock:2:1234"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "20000000"}, pid=7) == 20.0
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "7"}, pid=7) == 20.0
    # Inherited by a child, the watchdog is not the child's to ping.
    assert watchdog_interval({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "8"}, pid=7) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}, pid=7) is None
    assert watchdog_interval({}, pid=7) is None


def test_ready_once_pings_at_half_the_watchdog_and_status_at_most_every_two_seconds(
    listener: NotifyListener,
) -> None:
    clock = ManualClock()
    env = {"NOTIFY_SOCKET": str(listener.path), "WATCHDOG_USEC": "2000000"}
    notifier = ServiceNotifier.from_environment(clock, env)
    assert notifier is not None and notifier.ping_every == 1.0
    notifier.mark_ready("2/2 outputs, 0/3 cameras live")
    notifier.mark_ready("again")  # once only
    assert [m for _, m in listener.receive(0.2)] == [
        "READY=1\nSTATUS=2/2 outputs, 0/3 cameras live"
    ]
    pings = []
    for _ in range(10):  # 2.5 s of ticks every 0.25 s: a ping every second
        notifier.loop_alive()
        pings += [m for _, m in listener.receive(0.02)]
        clock.advance(0.25)
    assert pings == ["WATCHDOG=1"] * 3
    notifier.status("2/2 outputs, 0/3 cameras live")  # unchanged: nothing
    clock.advance(1.0)
    notifier.status("2/2 outputs, 3/3 cameras live")
    assert [m for _, m in listener.receive(0.1)] == ["STATUS=2/2 outputs, 3/3 cameras live"]
    notifier.status("2/2 outputs, 2/3 cameras live")  # too soon after the last
    assert listener.receive(0.1) == []
    clock.advance(2.0)
    notifier.status("2/2 outputs, 2/3 cameras live")
    notifier.stopping()
    assert [m for _, m in listener.receive(0.1)] == [
        "STATUS=2/2 outputs, 2/3 cameras live",
        "STOPPING=1\nSTATUS=stopping",
    ]
    notifier.close()


def test_an_abstract_socket_is_reached_too() -> None:
    name = f"videowall-test-{os.getpid()}"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(b"\0" + name.encode())
    receiver.settimeout(2.0)
    try:
        notifier = ServiceNotifier.from_environment(ManualClock(), {"NOTIFY_SOCKET": f"@{name}"})
        assert notifier is not None and notifier.ping_every is None  # no watchdog asked
        notifier.mark_ready()
        assert receiver.recv(100) == b"READY=1"
        notifier.loop_alive()  # without a watchdog: nothing
        notifier.close()
    finally:
        receiver.close()


def test_a_service_manager_that_does_not_read_never_blocks_the_loop(
    listener: NotifyListener, caplog: pytest.LogCaptureFixture
) -> None:
    channel = NotifySocket(str(listener.path))
    with caplog.at_level(logging.WARNING):
        # Nobody reads: a blocking send would hang here (and the test time out).
        results = [channel.send("WATCHDOG=1") for _ in range(5000)]
    assert results[0] and not results[-1], "the queue fills, and sends are dropped"
    assert len([r for r in caplog.records if "cannot notify" in r.message]) == 1, "said once"
    channel.close()


def test_nothing_is_sent_outside_a_notify_service() -> None:
    assert ServiceNotifier.from_environment(ManualClock(), {}) is None


@pytest.mark.e2e
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
