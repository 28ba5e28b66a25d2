"""Layouts on the test cameras, and changing a layout file as a person does."""

from __future__ import annotations

import os
from pathlib import Path

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.pixels import COLOURS


def layout_text(
    server: SyntheticCameraServer,
    tiles: list[str],
    grid: str = "1x2",
    extra: str = "",
    more_cameras: list[str] | None = None,
) -> str:
    """One output O1 of 320x180 showing the colour cameras ``tiles`` in ``grid``."""
    cameras = sorted((set(tiles) | set(more_cameras or [])) & set(COLOURS))
    lines = ["cameras:"]
    lines += [f"  {c}: {{name: '{c.title()}', url: '{server.url(c)}'}}" for c in cameras]
    lines += [
        "outputs:",
        "  - id: O1",
        "    size: [320, 180]",
        f"    grid: {grid}",
        f"    tiles: [{', '.join(tiles)}]",
    ]
    return "\n".join(lines) + "\n" + extra


def grid_layout(cameras: dict[str, str], tile: tuple[int, int] = (320, 180)) -> str:
    """One output O1 with camera id -> URL ``cameras`` in a grid of up to 6 columns of
    ``tile``-sized cells, no labels (the fault tests measure the pictures)."""
    ids = list(cameras)
    cols = min(len(ids), 6)
    rows = (len(ids) + cols - 1) // cols
    lines = ["labels: {show: false}", "cameras:"]
    lines += [f"  {cid}: {{name: 'Cam {cid}', url: '{url}'}}" for cid, url in cameras.items()]
    lines += [
        "outputs:",
        "  - id: O1",
        f"    size: [{tile[0] * cols}, {tile[1] * rows}]",
        f"    grid: {rows}x{cols}",
        f"    tiles: [{', '.join(ids)}]",
    ]
    return "\n".join(lines) + "\n"


def line_of(text: str, word: str) -> int:
    """The first line of ``text`` holding ``word``, 1-based."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if word in line)


def save(path: Path, text: str) -> None:
    """As most editors save: a new file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.swp")
    tmp.write_text(text)
    os.replace(tmp, path)
