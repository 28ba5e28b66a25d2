"""videowall: a video wall compositor.

Data flows one way: layout file -> camera sources (decoder processes) ->
latest-frame slots (shared memory) -> per-output canvas -> display.
"""

from __future__ import annotations

from compositor.core.errors import CompositorError, DisplayError, LayoutError, SourceError

__all__ = ["CompositorError", "DisplayError", "LayoutError", "SourceError", "__version__"]

__version__ = "0.1.0"
