"""Checks of a layout that need more than one field: cameras that exist, tiles that fit
their output and do not overlap, a wall that matches its outputs, presets that name
real outputs, image files that can be read.

Each issue is ``(path, message)``; the path (``("outputs", 2, "tiles", 0, "camera")``)
is turned into ``file:line:col`` by :mod:`compositor.layout.models`. The checks also run on
the parts of a layout that validated while other parts did not (:func:`partial_issues`),
so a technician sees every problem in one go.
"""

from __future__ import annotations

__all__ = ["IssueAt", "image_problem", "layout_issues", "partial_issues"]

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from compositor.core.geometry import TileRect
from compositor.core.picture_header import (
    MAX_IMAGE_BYTES,
    READABLE_FORMATS,
    header_of_path,
    pixel_problem,
)
from compositor.layout.hints import nearest_known
from compositor.layout.models import (
    DEFAULT_PRESET,
    AlarmsConfig,
    Layout,
    OutputConfig,
    PresetConfig,
    SpanConfig,
    TileConfig,
    WallConfig,
    resolve_image,
)

IssuePath = tuple[str | int, ...]
IssueAt = tuple[IssuePath, str]
_Part = TypeVar("_Part", OutputConfig, SpanConfig, PresetConfig, WallConfig, AlarmsConfig)


@dataclass(frozen=True)
class _Known:
    """What the rest of the layout defines, for the checks of one part."""

    camera_ids: frozenset[str] | None  # None: the cameras section is broken, do not check
    source_dir: Path | None


def layout_issues(layout: Layout) -> list[IssueAt]:
    """Every problem of a layout whose parts each validated."""
    known = _Known(frozenset(layout.cameras), layout.source_dir)
    outputs = [(("outputs", index), output) for index, output in enumerate(layout.outputs)]
    issues = _wall_issues(layout)
    issues += _span_issues(layout, [(("spans", i), s) for i, s in enumerate(layout.spans)], known)
    issues += _outputs_issues(outputs, known)
    by_id: dict[str, OutputConfig | None] = {o.id: o for o in layout.outputs}
    if layout.alarms is not None:
        issues += _alarm_issues(layout.alarms, by_id)
    if layout.hosts is not None:
        issues += _host_issues(layout.hosts, by_id)
    if layout.relay is not None and layout.relay.cameras is not None:
        issues += _relay_issues(layout.relay.cameras, known)
    for name, preset in layout.presets.items():
        issues += _preset_issues(name, preset, by_id, known)
        if preset.spans is not None and not any(
            p.id not in by_id for p in preset.outputs
        ):  # a preset naming unknown outputs has its error already
            spans = [(("presets", name, "spans", i), s) for i, s in enumerate(preset.spans)]
            issues += _span_issues(layout.with_preset(name), spans, known)
    return issues


def partial_issues(data: Any, source_dir: Path | None) -> list[IssueAt]:
    """The checks of the outputs, spans and presets that are valid on their own, in a
    layout that is not: an unknown camera in one output shows with a typo in another."""
    if not isinstance(data, dict):
        return []
    cameras = data.get("cameras")
    camera_ids = frozenset(str(k) for k in cameras) if isinstance(cameras, dict) else None
    known = _Known(camera_ids or None, source_dir)
    raw_outputs = data.get("outputs")
    outputs: list[tuple[IssuePath, OutputConfig]] = []
    by_id: dict[str, OutputConfig | None] = {}
    for index, raw in enumerate(raw_outputs if isinstance(raw_outputs, list) else []):
        output = _valid(OutputConfig, raw)
        if output is not None:
            outputs.append((("outputs", index), output))
            by_id.setdefault(output.id, output)
        elif isinstance(raw, dict) and isinstance(raw.get("id"), str):
            by_id.setdefault(raw["id"], None)  # it exists; its own errors are reported
    issues = _outputs_issues(outputs, known)
    raw_spans = data.get("spans")
    spans: list[tuple[IssuePath, SpanConfig]] = []
    for index, raw in enumerate(raw_spans if isinstance(raw_spans, list) else []):
        span = _valid(SpanConfig, raw)
        if span is not None:
            spans.append((("spans", index), span))
    wall = _valid(WallConfig, data["wall"]) if data.get("wall") is not None else None
    whole = isinstance(raw_outputs, list) and len(outputs) == len(raw_outputs)
    if whole and (wall is not None or data.get("wall") is None):
        # Every output is valid, and the wall too: its geometry and the spans can be checked.
        outputs_only = [o for _, o in outputs]
        layout = Layout.model_construct(cameras={}, outputs=outputs_only, wall=wall, spans=[])
        issues += _wall_issues(layout) + _span_issues(layout, spans, known)
    else:
        for base, span in spans:
            issues += _camera_issues((*base, "camera"), span.camera, known)
    alarms = _valid(AlarmsConfig, data["alarms"]) if data.get("alarms") is not None else None
    if alarms is not None and whole:
        issues += _alarm_issues(alarms, by_id)
    relay = data.get("relay")
    relayed = relay.get("cameras") if isinstance(relay, dict) else None
    if isinstance(relayed, list):
        issues += _relay_issues([str(c) for c in relayed], known)
    hosts = data.get("hosts")
    if whole and isinstance(hosts, dict):
        valid_hosts = {
            str(name): [str(o) for o in outputs]
            for name, outputs in hosts.items()
            if isinstance(outputs, list) and all(isinstance(o, str) for o in outputs)
        }
        issues += _host_issues(valid_hosts, by_id, whole=len(valid_hosts) == len(hosts))
    raw_presets = data.get("presets")
    if isinstance(raw_presets, dict) and isinstance(raw_outputs, list):
        for name, raw in raw_presets.items():
            preset = _valid(PresetConfig, raw)
            if preset is not None:
                issues += _preset_issues(str(name), preset, by_id, known)
    return issues


def _valid(model: type[_Part], raw: Any) -> _Part | None:
    try:
        return model.model_validate(raw)
    except ValidationError:
        return None  # its own errors are reported already


def image_problem(path: Path) -> str | None:
    """Why the picture file at ``path`` cannot be shown, or None if it can."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return "not found"
    except (OSError, ValueError) as exc:  # ValueError: a name the OS cannot take
        return f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if not stat.S_ISREG(info.st_mode):
        return "is not a file"
    if info.st_size > MAX_IMAGE_BYTES:
        return f"is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    import cv2  # here: only a layout with an image tile needs OpenCV to load

    if not cv2.haveImageReader(str(path)):
        return f"is not a picture OpenCV can read ({READABLE_FORMATS})"
    # The size it declares, not its size on disk: 581 KB of PNG can be 12000x12000.
    try:
        header = header_of_path(path)
    except (OSError, ValueError) as exc:
        return f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    return pixel_problem(header)


def _camera_issues(where: IssuePath, camera: str, known: _Known) -> list[IssueAt]:
    if known.camera_ids is None or camera in known.camera_ids:
        return []
    close = nearest_known(camera, known.camera_ids)
    hint = f" (did you mean {close!r}?)" if close else ""
    return [(where, f"unknown camera {camera!r}{hint}")]


def _tile_issues(where: IssuePath, tile: TileConfig, known: _Known) -> list[IssueAt]:
    issues: list[IssueAt] = []
    if tile.camera is not None:
        issues += _camera_issues((*where, "camera"), tile.camera, known)
    for index, camera in enumerate(tile.tour or ()):
        issues += _camera_issues((*where, "tour", index), camera, known)
    if tile.image is not None:
        path = resolve_image(tile.image, known.source_dir)
        problem = image_problem(path)
        if problem is not None:
            shown = repr(tile.image) + (f" ({path})" if str(path) != tile.image else "")
            issues.append(((*where, "image"), f"image {shown} {problem}"))
    return issues


def _outputs_issues(
    outputs: Sequence[tuple[IssuePath, OutputConfig]], known: _Known
) -> list[IssueAt]:
    """Checks of outputs, each given with its path (some may be missing: invalid)."""
    issues: list[IssueAt] = []
    seen_ids: set[str] = set()
    for base, output in outputs:
        if output.id in seen_ids:
            issues.append(((*base, "id"), f"duplicate output id {output.id!r}"))
        seen_ids.add(output.id)
        issues += _one_output_issues(base, output, known)
    return issues


def _one_output_issues(base: IssuePath, output: OutputConfig, known: _Known) -> list[IssueAt]:
    issues: list[IssueAt] = []
    width, height = output.size
    shape = output.grid_shape
    placed: list[tuple[int, TileRect]] = []
    for t_index, tile in enumerate(output.tiles):
        where: IssuePath = (*base, "tiles", t_index)
        issues += _tile_issues(where, tile, known)
        if shape is not None and tile.rect is not None:
            issues.append(((*where, "rect"), "a tile of a grid output takes no rect"))
        if shape is None and tile.rect is None:
            issues.append((where, "tile needs a rect [x, y, w, h] (or give the output a grid)"))
        if tile.rect is not None and shape is None:
            rect = TileRect(*tile.rect)
            if not TileRect(0, 0, width, height).contains(rect):
                issues.append(
                    (
                        (*where, "rect"),
                        f"tile {list(tile.rect)} lies outside the output "
                        f"{output.id} ({width}x{height})",
                    )
                )
            for other_index, other in placed:
                if rect.intersection(other):
                    issues.append(
                        (
                            (*where, "rect"),
                            f"tile {t_index + 1} {list(tile.rect)} overlaps tile "
                            f"{other_index + 1} {[other.x, other.y, other.w, other.h]} "
                            f"of output {output.id}",
                        )
                    )
            placed.append((t_index, rect))
    if shape is not None and len(output.tiles) > shape[0] * shape[1]:
        issues.append(
            (
                (*base, "tiles"),
                f"grid {output.grid} has {shape[0] * shape[1]} cells "
                f"but {len(output.tiles)} tiles are given",
            )
        )
    return issues


def _preset_issues(
    name: str,
    preset: PresetConfig,
    outputs: Mapping[str, OutputConfig | None],
    known: _Known,
) -> list[IssueAt]:
    """A preset's outputs: known, listed once, and right once applied to their output.

    ``outputs`` maps each output id to its config (None: the output is invalid itself).
    """
    issues: list[IssueAt] = []
    if name == DEFAULT_PRESET:
        issues.append(
            (
                ("presets", name),
                f"a preset cannot be called {DEFAULT_PRESET!r}: the name stands for the "
                "layout's own arrangement (videowall preset --default, POST "
                "/api/presets/default); rename it",
            )
        )
    seen: set[str] = set()
    for index, arrangement in enumerate(preset.outputs):
        where: IssuePath = ("presets", name, "outputs", index)
        if arrangement.id not in outputs:
            close = nearest_known(arrangement.id, outputs)
            hint = f" (did you mean {close!r}?)" if close else f" (outputs: {', '.join(outputs)})"
            issues.append(
                ((*where, "id"), f"preset {name}: unknown output {arrangement.id!r}{hint}")
            )
            continue
        if arrangement.id in seen:
            issues.append(((*where, "id"), f"preset {name} lists output {arrangement.id} twice"))
            continue
        seen.add(arrangement.id)
        output = outputs[arrangement.id]
        if output is None:
            continue
        # What the output has wrong anyway is reported once, at the output itself.
        own = {message for _, message in _one_output_issues((), output, known)}
        arranged = arrangement.applied_to(output)
        issues += [
            (path, message)
            for path, message in _one_output_issues(where, arranged, known)
            if message not in own
        ]
    return issues


def _alarm_issues(
    alarms: AlarmsConfig, outputs: Mapping[str, OutputConfig | None]
) -> list[IssueAt]:
    """Alarm tiles that exist (in the layout's own arrangement), each named once.

    A preset may give an output fewer tiles: there, an alarm tile it lacks is skipped
    while the preset is shown (alarms go to the others), which is no error.
    """
    issues: list[IssueAt] = []
    seen: set[tuple[str, int]] = set()
    for index, (output_id, number) in enumerate(alarms.tile_refs()):
        where: IssuePath = ("alarms", "tiles", index)
        if output_id not in outputs:
            close = nearest_known(output_id, outputs)
            hint = f" (did you mean {close!r}?)" if close else f" (outputs: {', '.join(outputs)})"
            issues.append((where, f"alarm tile {output_id}.{number}: unknown output{hint}"))
            continue
        output = outputs[output_id]
        if output is None:
            continue  # the output's own errors are reported
        count = len(output.placed_tiles())
        if number > count:
            issues.append(
                (where, f"alarm tile {output_id}.{number}: output {output_id} has {count} tile(s)")
            )
        elif (output_id, number) in seen:
            issues.append((where, f"alarm tile {output_id}.{number} is listed twice"))
        seen.add((output_id, number))
    return issues


def _host_issues(
    hosts: Mapping[str, Sequence[str]],
    outputs: Mapping[str, OutputConfig | None],
    whole: bool = True,
) -> list[IssueAt]:
    """Every output on exactly one host: none unknown, none twice, none left out.

    ``whole``: every host's list is valid, so an output on none is an error (else the
    broken list may hold it)."""
    issues: list[IssueAt] = []
    placed: dict[str, str] = {}
    for host, names in hosts.items():
        for index, output_id in enumerate(names):
            where: IssuePath = ("hosts", host, index)
            if output_id not in outputs:
                close = nearest_known(output_id, outputs)
                hint = (
                    f" (did you mean {close!r}?)" if close else f" (outputs: {', '.join(outputs)})"
                )
                issues.append((where, f"host {host}: unknown output {output_id}{hint}"))
            elif output_id in placed:
                twice = "twice" if placed[output_id] == host else f"on host {placed[output_id]} too"
                issues.append(
                    (where, f"host {host}: output {output_id} is listed {twice} (one host each)")
                )
            else:
                placed[output_id] = host
    left_out = [output_id for output_id in outputs if output_id not in placed]
    if left_out and whole:
        issues.append(
            (("hosts",), f"outputs on no host: {', '.join(left_out)} (each output is on one host)")
        )
    return issues


def _relay_issues(cameras: Sequence[str], known: _Known) -> list[IssueAt]:
    return [
        issue
        for index, camera in enumerate(cameras)
        for issue in _camera_issues(("relay", "cameras", index), camera, known)
    ]


def _wall_issues(layout: Layout) -> list[IssueAt]:
    issues: list[IssueAt] = []
    wall = layout.wall
    if wall is None:
        return issues
    outputs = {o.id: o for o in layout.outputs}
    ids = wall.outputs or [o.id for o in layout.outputs]
    if len(ids) != wall.rows * wall.columns:
        issues.append(
            (
                ("wall", "outputs") if wall.outputs else ("wall",),
                f"a wall of {wall.rows}x{wall.columns} screens needs {wall.rows * wall.columns} "
                f"outputs, {len(ids)} given",
            )
        )
    placed: set[str] = set()
    for index, output_id in enumerate(wall.outputs or []):
        if output_id not in outputs:
            issues.append((("wall", "outputs", index), f"unknown output {output_id!r}"))
        elif output_id in placed:
            message = f"output {output_id} is on the wall twice (one screen each)"
            issues.append((("wall", "outputs", index), message))
        placed.add(output_id)
    for o_index, output in enumerate(layout.outputs):
        if output.id in ids and output.size != wall.screen.size_px:
            issues.append(
                (
                    ("outputs", o_index, "size"),
                    f"output {output.id} is {output.size[0]}x{output.size[1]} but the wall's "
                    f"screens are {wall.screen.size_px[0]}x{wall.screen.size_px[1]}",
                )
            )
    return issues


def _span_issues(
    layout: Layout, spans: Sequence[tuple[IssuePath, SpanConfig]], known: _Known
) -> list[IssueAt]:
    """Spans (each with its path) on ``layout``'s wall."""
    issues: list[IssueAt] = []
    wall = layout.wall
    if wall is None:
        if spans:
            first = spans[0][0][:-1]
            issues.append((first, "spans need a `wall:` section (rows, columns, screen)"))
        return issues
    wall_w, wall_h = wall.geometry().size
    where = layout.wall_positions()
    for base, span in spans:
        issues += _camera_issues((*base, "camera"), span.camera, known)
        if (span.rect is None) == (span.screens is None):
            issues.append((base, "a span takes either `rect` (wall pixels) or `screens`"))
            continue
        if span.screens is not None:
            unknown = [s for s in span.screens if s not in where]
            if unknown:
                issues.append(((*base, "screens"), f"not on the wall: {', '.join(unknown)}"))
                continue
        box = layout.span_box(span)
        if box.w <= 0 or box.h <= 0 or not TileRect(0, 0, wall_w, wall_h).contains(box):
            issues.append(
                (
                    (*base, "rect"),
                    f"span {[box.x, box.y, box.w, box.h]} lies outside the wall "
                    f"({wall_w}x{wall_h} wall pixels)",
                )
            )
    return issues
