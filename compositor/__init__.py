"""videowall: a video wall compositor.

Data flows one way: layout file -> camera sources (decoder processes) ->
latest-frame slots (shared memory) -> per-output canvas -> display.
"""

from __future__ import annotations

import importlib.metadata
import os

from compositor.core.errors import CompositorError, DisplayError, LayoutError, SourceError
from compositor.core.picture_header import MAX_IMAGE_PIXELS

# OpenCV reads its own limit of pixels per picture once, as it loads: set here, before
# any part of the wall imports it, so a picture that slipped past the wall's own checks
# (compositor.compose.pictures) still cannot make OpenCV allocate a bomb's pixels. Its
# default is 1 Gpx; an operator's own setting is kept.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_IMAGE_PIXELS))

__all__ = ["CompositorError", "DisplayError", "LayoutError", "SourceError", "__version__"]

try:  # one source for the version: pyproject.toml, as installed
    __version__ = importlib.metadata.version("videowall")
except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
