"""The test cameras' colours, and checks on what a wall shows."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Pixels = npt.NDArray[np.uint8]

# RGB backgrounds of the test cameras; pictures are checked in BGR.
RED = (200, 40, 40)
GREEN = (40, 160, 60)
BLUE = (40, 70, 200)
COLOURS = {"red": RED, "green": GREEN, "blue": BLUE}
ERROR_BAND = (24, 24, 150)  # BGR of the banner behind a failing tile's text (overlay.py)


def bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return rgb[2], rgb[1], rgb[0]


def share_near(region: Pixels, rgb: tuple[int, int, int], tol: int = 40) -> float:
    """Fraction of the pixels of ``region`` within ``tol`` of colour ``rgb`` (per channel)."""
    distance = np.abs(region.astype(np.int16) - np.array(bgr(rgb), np.int16)).max(axis=2)
    return float((distance <= tol).mean())


def is_black(region: Pixels, tol: int = 24) -> bool:
    return int(region.max()) <= tol


def banner_share(tile: Pixels) -> float:
    """How much of ``tile`` is the error banner's colour."""
    # The banner is painted in BGR and kept in YUV: its colour comes back within rounding.
    distance = np.abs(tile.astype(np.int16) - np.array(ERROR_BAND, np.int16)).max(axis=2)
    return float((distance <= 3).mean())


def changed(before: Pixels, after: Pixels) -> float:
    """Fraction of pixels that differ noticeably: the ball and the clock move."""
    return float((np.abs(before.astype(np.int16) - after).max(axis=2) > 40).mean())


def tiles_of(pixels: Pixels, grid: str) -> list[Pixels]:
    rows, cols = (int(n) for n in grid.split("x"))
    h, w = pixels.shape[0] // rows, pixels.shape[1] // cols
    return [
        pixels[r * h : (r + 1) * h, c * w : (c + 1) * w] for r in range(rows) for c in range(cols)
    ]


def shows(pixels: Pixels, grid: str, cameras: list[str]) -> bool:
    """Each tile's middle is mostly its camera's colour (pictures are letterboxed)."""
    for tile, camera in zip(tiles_of(pixels, grid), cameras, strict=True):
        h, w = tile.shape[:2]
        middle = tile[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
        if share_near(middle, COLOURS[camera]) < 0.6:
            return False
    return True


def shows_png(path: Path, grid: str, cameras: list[str]) -> bool:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.exists() else None
    return image is not None and shows(image, grid, cameras)


def read_png(path: Path) -> Pixels | None:
    """A snapshot as BGR, None if not written yet; a partial file fails the test."""
    if not path.exists():
        return None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} is not a whole PNG (a reader saw a partial file)"
    return image
