"""The benchmark's workload: N cameras and the tiles they are shown on, the same for every runner.

Cameras cycle through 1080p25, 720p25 and 576p25 (1024x576) clips. Tiles are
sized like ``layouts/poc-14.yaml``: outputs of 1920x1080, mostly 4x4 grids
(480x270 tiles) and 3x3 grids (640x360), and every twelfth camera full screen
on an output of its own (1920x1080). Camera ``i``:

* ``i % 12 == 0``: full screen (a 1x1 output);
* odd ``i``: a 480x270 cell of a 4x4 output;
* other ``i``: a 640x360 cell of a 3x3 output.

Every runner composes exactly these tiles, at exactly these rectangles.

Each camera also has a sub-stream (``url_low``, the 640x360 clip): the main
runners never see it (:meth:`Workload.main_streams`); the sub-stream runners
get it as the wall's layout does (``url_low`` beside ``url``: the wall's pool
chooses) or already chosen (:meth:`Workload.decoded_streams`: each camera's
URL is the one the wall decodes, by the wall's own rule).
"""

from __future__ import annotations

__all__ = [
    "RESOLUTIONS",
    "ROOM_LAYOUT",
    "BenchCamera",
    "BenchOutput",
    "BenchTile",
    "Workload",
    "make_grid_workload",
    "make_workload",
    "room_workload",
]

import io
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from compositor.core.geometry import grid_cells

REPO = Path(__file__).resolve().parent.parent
# The city operation centre's own layout (issue 18 item 2): 14 screens, 40 cameras.
ROOM_LAYOUT = REPO / "layouts" / "control-room-14.yaml"

# name: (width, height); the clips of benchmarks/clips.py
RESOLUTIONS: dict[str, tuple[int, int]] = {
    "1080p": (1920, 1080),
    "720p": (1280, 720),
    "576p": (1024, 576),
}
RESOLUTION_CYCLE = ("1080p", "720p", "576p")
OUTPUT_W, OUTPUT_H = 1920, 1080
FULL_EVERY = 12


@dataclass(frozen=True)
class BenchCamera:
    id: str
    resolution: str  # a key of RESOLUTIONS
    width: int
    height: int
    fps: int
    url: str = ""  # set once the server runs
    url_low: str = ""  # its sub-stream (640x360), if the runner is to know it


@dataclass(frozen=True)
class BenchTile:
    camera: str
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True)
class BenchOutput:
    id: str
    width: int
    height: int
    rows: int
    columns: int
    tiles: tuple[BenchTile, ...]


@dataclass(frozen=True)
class Workload:
    cameras: tuple[BenchCamera, ...]
    outputs: tuple[BenchOutput, ...]
    # The wall's layout file, when the workload is one (the room): its cameras' URLs are
    # filled in by with_urls; empty: grids of the tiles above (layout_yaml).
    layout: str = ""

    @property
    def fps(self) -> int:
        return max(c.fps for c in self.cameras)

    def camera(self, camera_id: str) -> BenchCamera:
        return next(c for c in self.cameras if c.id == camera_id)

    def tiles(self) -> list[tuple[BenchOutput, BenchTile]]:
        return [(o, t) for o in self.outputs for t in o.tiles]

    def with_urls(self, urls: dict[str, str], low: dict[str, str] | None = None) -> Workload:
        """The cameras at these URLs (and sub-streams, ``low``)."""
        cameras = tuple(
            replace(c, url=urls[c.id], url_low=(low or {}).get(c.id, "")) for c in self.cameras
        )
        return replace(self, cameras=cameras)

    def main_streams(self) -> Workload:
        """Every camera on its main stream only (no ``url_low``)."""
        return replace(self, cameras=tuple(replace(c, url_low="") for c in self.cameras))

    def chosen_urls(self) -> dict[str, str]:
        """Camera id -> the URL the wall decodes for these tiles: its ``url_low`` while
        every tile showing it is small (``compositor.sources.streams.chosen_urls``)."""
        from compositor.layout.models import CameraConfig
        from compositor.sources.streams import chosen_urls

        configs = {c.id: CameraConfig(url=c.url, url_low=c.url_low or None) for c in self.cameras}
        return chosen_urls(configs, ((t.camera, t.w, t.h) for _, t in self.tiles()))

    def decoded_streams(self) -> Workload:
        """Every camera at the URL the wall would decode (main or sub-stream), no ``url_low``:
        for runners that do not choose by themselves (FFmpeg, the floor)."""
        chosen = self.chosen_urls()
        cameras = tuple(replace(c, url=chosen[c.id], url_low="") for c in self.cameras)
        return replace(self, cameras=cameras, layout="")  # a chosen URL is no layout's

    def summary(self) -> dict[str, object]:
        sizes: dict[str, int] = {}
        for _, tile in self.tiles():
            key = f"{tile.w}x{tile.h}"
            sizes[key] = sizes.get(key, 0) + 1
        mix: dict[str, int] = {}
        for camera in self.cameras:
            mix[camera.resolution] = mix.get(camera.resolution, 0) + 1
        return {
            "cameras": len(self.cameras),
            "outputs": len(self.outputs),
            "camera_resolutions": mix,
            "tile_sizes": sizes,
            "fps": self.fps,
        }

    def layout_yaml(self) -> str:
        """The wall's layout file for this workload (grids, one tile per camera; or the
        room's layout, with the cameras' URLs)."""
        if self.layout:
            return _with_urls(self.layout, self.cameras)
        lines = ["cameras:"]
        for c in self.cameras:
            low = f", url_low: '{c.url_low}'" if c.url_low else ""
            lines.append(f"  {c.id}: {{url: '{c.url}'{low}}}")
        lines.append("outputs:")
        for output in self.outputs:
            lines += [
                f"  - id: {output.id}",
                f"    size: [{output.width}, {output.height}]",
                f"    grid: {output.rows}x{output.columns}",
                f"    tiles: [{', '.join(t.camera for t in output.tiles)}]",
            ]
        return "\n".join(lines) + "\n"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Workload:
        raw = json.loads(text)
        cameras = tuple(BenchCamera(**c) for c in raw["cameras"])
        outputs = tuple(
            BenchOutput(
                o["id"],
                o["width"],
                o["height"],
                o["rows"],
                o["columns"],
                tuple(BenchTile(**t) for t in o["tiles"]),
            )
            for o in raw["outputs"]
        )
        return cls(cameras, outputs, raw.get("layout", ""))


def make_workload(count: int, fps: int = 25) -> Workload:
    if count < 1:
        raise ValueError("a workload needs at least one camera")
    cameras = []
    # kind -> (rows, columns); the open output of each grid kind fills up in order
    grids = {"full": (1, 1), "480": (4, 4), "640": (3, 3)}
    open_outputs: dict[str, list[str]] = {}
    outputs: list[tuple[str, str, list[str]]] = []  # id, kind, cameras
    for i in range(count):
        resolution = RESOLUTION_CYCLE[i % len(RESOLUTION_CYCLE)]
        width, height = RESOLUTIONS[resolution]
        camera_id = f"cam{i + 1:02d}"
        cameras.append(BenchCamera(camera_id, resolution, width, height, fps))
        kind = "full" if i % FULL_EVERY == 0 else ("480" if i % 2 else "640")
        rows, columns = grids[kind]
        members = open_outputs.get(kind)
        if members is None or len(members) >= rows * columns:
            members = []
            open_outputs[kind] = members
            outputs.append((f"O{len(outputs) + 1}", kind, members))
        members.append(camera_id)
    built = []
    for output_id, kind, members in outputs:
        rows, columns = grids[kind]
        cells = grid_cells(OUTPUT_W, OUTPUT_H, rows, columns)
        tiles = tuple(
            BenchTile(camera_id, cell.x, cell.y, cell.w, cell.h)
            for camera_id, cell in zip(members, cells, strict=False)
        )
        built.append(BenchOutput(output_id, OUTPUT_W, OUTPUT_H, rows, columns, tiles))
    return Workload(tuple(cameras), tuple(built))


def make_grid_workload(count: int, resolution: str = "720p", fps: int = 25) -> Workload:
    """``count`` cameras of one resolution, each on a 480x270 cell of 4x4 grids: the
    wall of issue 18's degrade report (eight 720p cameras on a 4x4 grid). Camera ids
    ``g01``, ``g02``...: another stream than the mixed workload's ``cam01``."""
    if count < 1:
        raise ValueError("a workload needs at least one camera")
    width, height = RESOLUTIONS[resolution]
    cameras = tuple(
        BenchCamera(f"g{i + 1:02d}", resolution, width, height, fps) for i in range(count)
    )
    cells = grid_cells(OUTPUT_W, OUTPUT_H, 4, 4)
    outputs: list[BenchOutput] = []
    for first in range(0, count, 16):
        members = cameras[first : first + 16]
        tiles = tuple(
            BenchTile(c.id, cell.x, cell.y, cell.w, cell.h)
            for c, cell in zip(members, cells, strict=False)
        )
        outputs.append(BenchOutput(f"O{len(outputs) + 1}", OUTPUT_W, OUTPUT_H, 4, 4, tiles))
    return Workload(cameras, tuple(outputs))


def room_workload(count: int = 40, fps: int = 25, path: Path = ROOM_LAYOUT) -> Workload:
    """The room's layout as it is meant to run, its first ``count`` cameras on the bench's
    clips (camera ``i`` 1080p, 720p, 576p in turn, as :func:`make_workload`; each with a
    640x360 sub-stream, so the wall decodes the main stream only for big and spanning
    pictures). With fewer than all its cameras, tiles of the others are left out (a
    tour keeps the cameras it has left): the same screens, fewer pictures.

    Its tiles (:attr:`Workload.outputs`) are the picture boxes each camera is shown at,
    a tour's at each of its cameras (what the floor needs: sizes and tiers).
    """
    from ruamel.yaml import YAML

    from compositor.layout.parse import parse_layout

    yaml = YAML()
    data = yaml.load(path.read_text())
    ids = list(data["cameras"])[:count]
    if count < 1 or len(ids) < count:
        raise ValueError(f"the room has {len(data['cameras'])} cameras, not {count}")
    keep = set(ids)
    data["cameras"] = {c: {"name": str(data["cameras"][c].get("name", c)), "url": c} for c in ids}
    data.pop("presets", None)  # they name cameras a smaller room does not have
    data["spans"] = [s for s in data.get("spans", []) if s["camera"] in keep]
    for output in data["outputs"]:
        if "tiles" in output:
            cut = (_room_tile(tile, keep, path.parent) for tile in output["tiles"])
            output["tiles"] = [tile for tile in cut if tile is not None]
    text = io.StringIO()
    yaml.dump(data, text)
    layout = parse_layout(_with_urls(text.getvalue(), ()), str(path), source_dir=path.parent)
    cameras = []
    for i, camera_id in enumerate(ids):
        resolution = RESOLUTION_CYCLE[i % len(RESOLUTION_CYCLE)]
        width, height = RESOLUTIONS[resolution]
        cameras.append(BenchCamera(camera_id, resolution, width, height, fps))
    outputs: list[BenchOutput] = []
    for output in layout.outputs:
        tiles = tuple(
            BenchTile(camera, tile.rect.x, tile.rect.y, *tile.box)
            for tile in layout.placed_tiles(output.id)
            for camera in tile.cameras
        )
        outputs.append(BenchOutput(output.id, output.size[0], output.size[1], 0, 0, tiles))
    return Workload(tuple(cameras), tuple(outputs), text.getvalue())


def _room_tile(tile: Any, keep: set[str], folder: Path) -> Any:
    """A tile of the room kept as it is, its camera or tour cut to the cameras kept, or
    None; an image's path made absolute (the bench's layout lives elsewhere)."""
    if isinstance(tile, str):
        return tile if tile in keep else None
    if "camera" in tile:
        return tile if tile["camera"] in keep else None
    if "tour" in tile:
        tour = [c for c in tile["tour"] if c in keep]
        if not tour:
            return None
        if len(tour) == 1:  # a tour is of two cameras or more: one left is shown as itself
            del tile["tour"]
            tile.pop("every", None)
            tile["camera"] = tour[0]
            return tile
        tile["tour"] = tour
        return tile
    if "image" in tile:
        tile["image"] = str((folder / str(tile["image"])).resolve())
    return tile


def _with_urls(layout: str, cameras: tuple[BenchCamera, ...]) -> str:
    """The room layout with each camera's ``url`` (written as its id) set to the bench's
    URLs, and ``url_low`` where the camera has one."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(layout)
    by_id = {c.id: c for c in cameras}
    for camera_id, config in data["cameras"].items():
        camera = by_id.get(camera_id)
        config["url"] = camera.url if camera is not None and camera.url else f"rtsp://{camera_id}"
        if camera is not None and camera.url_low:
            config["url_low"] = camera.url_low
    text = io.StringIO()
    yaml.dump(data, text)
    return text.getvalue()
