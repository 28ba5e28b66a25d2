"""The decoders' memory limit end to end: a worker out of memory is named and restarted."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.layout.models import CameraConfig
from compositor.sources.limits import (
    SourceLimits,
)
from compositor.sources.pool import DecoderPool

pytestmark = pytest.mark.e2e


def test_a_decoder_that_runs_out_of_memory_is_named_and_started_again_later_and_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 100 MB: under what a decoder process needs for itself (about 300), so it cannot even
    # start its camera's thread, and exits saying so; the pool names it and its cameras.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        url = f"rtsp://127.0.0.1:{probe.getsockname()[1]}/a"  # nothing listens once closed
    pool = DecoderPool(
        {"a": CameraConfig(url=url)},
        [("a", 64, 64, Fit.LETTERBOX)],
        MonotonicClock(),
        workers=1,
        limits=SourceLimits(worker_memory_mb=100),
    )
    try:
        pool.start()
        with caplog.at_level(logging.ERROR, logger="compositor.sources.pool"):
            deadline = time.monotonic() + 30
            while "restarting it in 1 s" not in caplog.text and time.monotonic() < deadline:
                pool.supervise()
                time.sleep(0.1)
    finally:
        pool.stop()
    assert (
        "decoder worker 0 (cameras: a) ran out of memory (its limit: 100 MB, --worker-memory); "
        "restarting it (restart #1)"
    ) in caplog.text
    # Dying again as soon as it started: the next start waits 1 s, then 2, 4... 30.
    assert "restarting it in 1 s (2 deaths in a row, each within 10 s of its start)" in caplog.text
