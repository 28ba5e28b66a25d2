"""What a camera may make its decoder use: the wall's limits, as given and as kept."""

from __future__ import annotations

import logging
import socket
import time

import pytest

from compositor.cli import build_parser
from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.layout.models import CameraConfig
from compositor.sources.limits import (
    DEFAULT_MAX_PIXELS,
    SourceLimits,
    describe_pixels,
    parse_pixels,
)
from compositor.sources.pool import DecoderPool


def test_sizes_and_pixel_counts_are_read() -> None:
    assert parse_pixels("7680x4320") == DEFAULT_MAX_PIXELS == parse_pixels("33177600")
    assert parse_pixels(" 3840 X 2160 ") == 3840 * 2160
    with pytest.raises(ValueError, match="not a picture size"):
        parse_pixels("4K")
    assert describe_pixels(8192 * 8192) == "67.1 megapixels"
    # No block FFmpeg allocates may exceed twice a picture at the limit, nor go under 64 MiB.
    assert SourceLimits().max_block_bytes == 64 << 20
    assert SourceLimits(max_pixels=10**8).max_block_bytes == 2 * 10**8


def test_the_command_line_takes_the_limits_and_refuses_nonsense(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = build_parser().parse_args(
        ["run", "wall.yaml", "--max-pixels", "3840x2160", "--worker-memory", "4096"]
    )
    assert (args.max_pixels, args.worker_memory) == (3840 * 2160, 4096)
    for flag, value, said in (
        ("--max-pixels", "huge", "not a picture size"),
        ("--worker-memory", "64", "needs about 300 MB"),
    ):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["run", "wall.yaml", flag, value])
        assert said in capsys.readouterr().err


@pytest.mark.e2e
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
