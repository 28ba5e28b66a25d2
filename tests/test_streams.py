"""A camera's sub-stream for small tiles, its main stream for big ones, switched as the
layout changes."""

from __future__ import annotations

from compositor.layout.models import CameraConfig
from compositor.sources.streams import chosen_urls

MAIN, LOW = "rtsp://h/main", "rtsp://h/low"


def test_small_tiles_take_the_sub_stream_and_one_big_tile_the_main() -> None:
    cameras = {
        "both": CameraConfig(url=MAIN, url_low=LOW),
        "main_only": CameraConfig(url=MAIN),
    }
    small = [("both", 480, 270), ("both", 960, 540), ("main_only", 480, 270)]
    assert chosen_urls(cameras, small) == {"both": LOW, "main_only": MAIN}
    assert chosen_urls(cameras, [*small, ("both", 1920, 1080)])["both"] == MAIN
