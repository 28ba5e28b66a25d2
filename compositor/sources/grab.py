"""One current picture from each camera, for ``videowall preview --live``.

Each camera is opened with the wall's own stream options, decoded up to its
first picture, and closed; all cameras at once, each bounded by a timeout,
so a dead camera costs its timeout and nothing more. A camera that fails
gives the reason a tile would show, never its URL or password.
"""

from __future__ import annotations

__all__ = ["grab_frame", "grab_frames"]

import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np
import numpy.typing as npt

from compositor.sources.camera import (
    describe_error,
    describe_look_error,
    open_for_a_look,
    picture_too_large,
)
from compositor.sources.limits import DEFAULT_MAX_PIXELS

Pixels = npt.NDArray[np.uint8]

MAX_PARALLEL = 16  # opens at once: enough for a wall, few enough for a small host


def _first_picture(container: Any, deadline: float) -> Pixels | str:
    if not container.streams.video:
        return "no video in the stream"
    stream = container.streams.video[0]
    if stream.codec_context is None:
        return "unsupported codec: FFmpeg has no decoder for this video"
    codec = stream.codec_context
    too_large = picture_too_large(codec.width, codec.height, DEFAULT_MAX_PIXELS)
    if too_large is not None:
        return too_large
    for packet in container.demux(stream):
        for frame in packet.decode():
            # Square pixels: a PAL 704x576 camera with 12:11 pixels is 768 wide.
            sar = Fraction(stream.codec_context.sample_aspect_ratio or 1)
            width = max(2, round(frame.width * sar)) if sar > 0 else frame.width
            pixels = frame.to_ndarray(format="bgr24", width=width, height=frame.height)
            return np.ascontiguousarray(pixels, dtype=np.uint8)
        if time.monotonic() > deadline:
            return "timeout: no picture from the camera"
    return "stream ended before a picture"


def grab_frame(url: str, timeout_s: float = 5.0) -> Pixels | str:
    """The first picture of the stream at ``url`` as BGR, or why there is none."""
    deadline = time.monotonic() + 2 * timeout_s
    try:
        container = open_for_a_look(url, timeout_s)
    except Exception as exc:  # any failure is this camera's, and said on its tile
        return describe_look_error(exc)
    try:
        return _first_picture(container, deadline)
    except Exception as exc:
        return describe_error(exc)
    finally:
        container.close()


def grab_frames(urls: Mapping[str, str], timeout_s: float = 5.0) -> dict[str, Pixels | str]:
    """``grab_frame`` for every camera id -> URL, in parallel."""
    if not urls:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(urls))) as pool:
        futures = {cid: pool.submit(grab_frame, url, timeout_s) for cid, url in urls.items()}
        return {cid: future.result() for cid, future in futures.items()}
