"""Prometheus metrics: what the loop counts, what a scrape reads, parsed by Prometheus's
own parsers, and a real Prometheus server scraping a running wall."""

from __future__ import annotations

import pytest

from compositor.core.errors import CompositorError
from compositor.core.histogram import Buckets
from compositor.metrics.collector import parse_listen_address
from compositor.metrics.counters import REASONS, ReconnectCounter, WallCounters, reason_category
from compositor.slots import CameraState, CameraStatus

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _status(state: CameraState, since: float, attempts: int, reason: str = "") -> CameraStatus:
    return CameraStatus(state, since, 0.0, 0, 0.0, attempts, (0, 0), reason)


def test_failure_reasons_become_a_few_label_values() -> None:
    assert reason_category("connection refused") == "refused"
    assert reason_category("not found (404): check the path") == "not_found"
    assert reason_category("unauthorised (401): check the credentials") == "unauthorised"
    assert reason_category("timeout: no data from the camera") == "timeout"
    assert reason_category("stream ended: the camera closed the connection") == "stream_ended"
    assert reason_category("no valid stream (timeout, or not an RTSP camera)") == "no_stream"
    assert reason_category("stream error: Invalid argument") == "stream_error"
    assert reason_category("SomethingNew: who knows") == "other"
    assert len(REASONS) == len(set(REASONS)) <= 16


def test_each_failed_connection_is_counted_once_by_its_reason() -> None:
    counter = ReconnectCounter()
    # Connecting, refused, retried and refused again, then live, then dropped.
    sequence = [
        _status(CameraState.CONNECTING, 10.0, 1),
        _status(CameraState.RETRYING, 10.0, 1, "connection refused"),
        _status(CameraState.RETRYING, 10.0, 1, "connection refused"),  # seen again: not new
        _status(CameraState.CONNECTING, 10.0, 2),
        _status(CameraState.RETRYING, 10.0, 2, "connection refused"),
        _status(CameraState.LIVE, 14.0, 0),
        _status(CameraState.RETRYING, 50.0, 0, "stream ended: the camera closed the connection"),
    ]
    for status in sequence:
        counter.observe("cam07", status)
    assert counter.reading() == {"cam07": {"refused": 2, "stream_ended": 1}}
    counter.keep_only(["cam01"])  # cam07 left the layout: forgotten
    assert counter.reading() == {}


def test_the_loop_counters_stay_as_big_as_the_layout() -> None:
    counters = WallCounters()
    for output in ("A1", "A2", "A1"):
        counters.drew(output)
    counters.layout_change("applied")
    counters.layout_change("refused")
    counters.layout_change("nonsense")  # not a result: not a new label value
    assert counters.draws() == {"A1": 2, "A2": 1}
    assert counters.layout_changes() == {"applied": 1, "refused": 1, "unchanged": 0}
    counters.keep_outputs(["A2"])
    assert counters.draws() == {"A2": 1}
    buckets = Buckets((0.01, 0.1))
    for value in (0.005, 0.01, 0.05, 3.0):
        buckets.observe(value)
    reading = buckets.reading()
    assert reading.cumulative == (2, 3, 4) and reading.count == 4
    assert reading.total == pytest.approx(3.065)


def test_metrics_are_served_only_on_loopback_without_a_token() -> None:
    assert parse_listen_address("127.0.0.1:9480") == ("127.0.0.1", 9480)
    assert parse_listen_address("localhost:9480") == ("127.0.0.1", 9480)
    assert parse_listen_address("[::1]:9480") == ("::1", 9480)
    for wrong in ("0.0.0.0:9480", "10.1.2.3:9480", "wall.example:9480", "127.0.0.1", ":x"):
        with pytest.raises(CompositorError):
            parse_listen_address(wrong)
