"""What a camera may make its decoder use: the wall's limits, as given and as kept."""

from __future__ import annotations

import pytest

from compositor.cli import build_parser
from compositor.sources.limits import (
    DEFAULT_MAX_PIXELS,
    SourceLimits,
    describe_pixels,
    parse_pixels,
)


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
