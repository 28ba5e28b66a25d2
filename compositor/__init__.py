"""videowall: a video wall compositor.

Data flows one way: layout file -> camera sources (decoder processes) ->
latest-frame slots (shared memory) -> per-output canvas -> display.
"""

from __future__ import annotations

import importlib.metadata

from compositor.core.errors import CompositorError, DisplayError, LayoutError, SourceError

__all__ = ["CompositorError", "DisplayError", "LayoutError", "SourceError", "__version__"]

try:  # one source for the version: pyproject.toml, as installed
    __version__ = importlib.metadata.version("videowall")
except importlib.metadata.PackageNotFoundError:  # run from a checkout that was never installed
    __version__ = "0+unknown"
