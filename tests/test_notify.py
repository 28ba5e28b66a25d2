"""systemd's notify protocol, against a real datagram socket bound by the test."""

from __future__ import annotations

import logging
import os
import socket

import pytest

from compositor.core.clock import ManualClock
from compositor.service.notify import (
    NotifySocket,
    ServiceNotifier,
    notify_address,
    watchdog_interval,
)
from tests.helpers.notify_socket import NotifyListener


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
