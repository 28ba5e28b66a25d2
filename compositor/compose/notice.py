"""What a tile says over (or instead of) its picture: the reason it is not live.

Its own module so that the painters (:mod:`compositor.compose.overlay`) and
the rules deciding notices (:mod:`compositor.compose.health`) need not import
the canvas.
"""

from __future__ import annotations

__all__ = ["TileNotice"]

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TileNotice:
    """Text shown over a tile: why it has no live picture, or the alarm it shows."""

    lines: tuple[str, ...]
    dim: bool  # keep the last picture, dimmed, under the banner
    severity: str = "error"  # "error" (red), "info" (neutral) or "alarm" (amber)
    # Across the top of the tile instead of its middle: an alarm's banner leaves the
    # picture it calls attention to in view.
    at_top: bool = False
