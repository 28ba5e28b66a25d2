"""Which of a camera's streams to decode: the sub-stream for small tiles, the main one
for big or spanning ones.

Decoding is most of the wall's CPU (benchmarks/README.md), and a 1080p main
stream decoded only to be shrunk into a 480x270 cell is the largest waste on a
wall of grids: a 640x360 sub-stream costs 0.5-0.6 ms a frame instead of
4.0-4.2 ms. So a camera with a ``url_low`` is decoded from it while every tile
showing it is small, and from its main ``url`` as soon as one tile is big (a
full screen, a spanning picture, a preset or a tour that enlarges it). The
choice follows the layout on every reload; switching is one reconnect, and the
tile keeps its last picture meanwhile.
"""

from __future__ import annotations

__all__ = ["SMALL_TILE_PIXELS", "CameraStreams", "chosen_urls"]

from collections.abc import Iterable, Mapping
from typing import Protocol

from compositor.core.decoding import DecodeSetting

# A tile up to a quarter of a 1080p screen (960x540: a 2x2 cell) is "small": a typical
# sub-stream (640x360 to 704x576) still gives it about one source pixel per screen pixel.
SMALL_TILE_PIXELS = 960 * 540


class CameraStreams(Protocol):
    """A camera's streams, as the pool needs them (the layout's camera model has these).

    A protocol, not the layout's model: decoders never load pydantic or the YAML reader.
    """

    @property
    def url(self) -> str: ...

    @property
    def url_low(self) -> str | None: ...

    @property
    def decode(self) -> DecodeSetting | None:
        """The camera's own decode setting (hwdecode.py); None: the wall's."""


def chosen_urls(
    cameras: Mapping[str, CameraStreams], boxes: Iterable[tuple[str, int, int]]
) -> dict[str, str]:
    """Camera id -> the URL to decode, for the picture boxes (camera, width, height) shown."""
    largest: dict[str, int] = {}
    for camera_id, width, height in boxes:
        largest[camera_id] = max(largest.get(camera_id, 0), width * height)
    urls = {}
    for camera_id, area in largest.items():
        config = cameras[camera_id]
        small = area <= SMALL_TILE_PIXELS
        urls[camera_id] = config.url_low if small and config.url_low else config.url
    return urls
