"""Reading a layout: YAML text to a checked :class:`Layout`, every error located.

Loading either returns a fully checked layout or raises :class:`LayoutError`
with every problem found, each at its ``file:line:col``: the YAML is read
safely by :mod:`compositor.layout.yaml_reader`, validated against the models
(:mod:`compositor.layout.models`), then checked across fields
(:mod:`compositor.layout.checks`).
"""

from __future__ import annotations

__all__ = [
    "ParsedLayout",
    "load_layout",
    "parse_layout",
    "parse_layout_document",
]

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from compositor.core.errors import LayoutError, LayoutIssue
from compositor.core.redact import redact_secrets
from compositor.layout.checks import layout_issues, partial_issues
from compositor.layout.hints import nearest_known
from compositor.layout.models import (
    GRID_PATTERN,
    ID_PATTERN,
    TILE_REF_PATTERN,
    AlarmsConfig,
    CameraConfig,
    LabelConfig,
    Layout,
    OutputConfig,
    PresetConfig,
    PresetOutputConfig,
    ScreenConfig,
    SpanConfig,
    TileConfig,
    WallConfig,
)
from compositor.layout.yaml_reader import (
    MAX_LAYOUT_NODES,
    TooManyNodes,
    plain,
    position,
    read_layout_text,
    read_yaml,
    refuse_absurd_size,
)


def _known_keys() -> set[str]:
    """Every key the layout format knows, for "did you mean" hints."""
    models: list[type[BaseModel]] = [
        Layout,
        CameraConfig,
        OutputConfig,
        TileConfig,
        LabelConfig,
        WallConfig,
        ScreenConfig,
        SpanConfig,
        PresetConfig,
        PresetOutputConfig,
        AlarmsConfig,
    ]
    return {name for model in models for name in model.model_fields}


def _message(error: Any) -> str:
    loc = error.get("loc", ())
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        if not loc:
            return "unknown key"
        close = nearest_known(str(loc[-1]), _known_keys())
        hint = f" (did you mean {close!r}?)" if close else ""
        return f"unknown key {loc[-1]!r}{hint}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing required key"
    if kind == "too_short" and loc and isinstance(loc[-1], str):
        context = error.get("ctx", {})
        wanted, given = context.get("min_length"), context.get("actual_length")
        return f"{loc[-1]!r} needs at least {wanted} item(s), {given} given"
    if kind == "string_type" and isinstance(error.get("input"), int | float | None):
        # Only numbers and null are echoed: a string could be a URL with a password.
        given = error["input"]
        if given is None:
            return "expected text, got nothing (null)"
        return f"expected text, got {given!r}: write it in quotes ('{given}')"
    if kind == "string_pattern_mismatch":
        pattern = error.get("ctx", {}).get("pattern")
        if pattern == ID_PATTERN:
            return (
                f"{str(error.get('input'))[:70]!r} is not a valid id: letters, digits, '_', "
                "'.', '-', starting with a letter or digit, at most 64"
            )
        if pattern == GRID_PATTERN:
            return "a grid is rows x columns, e.g. 2x3 (1 to 99 each)"
        if pattern == TILE_REF_PATTERN:
            return (
                f"{str(error.get('input'))[:70]!r} is not a tile: write OUTPUT.N, the output's "
                "id and the tile's number from 1 (A1.2: output A1, second tile)"
            )
    if kind == "model_type" and "tiles" in loc:
        return "a tile is a camera id or a mapping (camera, tour, clock, text or image)"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


@dataclass(frozen=True)
class ParsedLayout:
    """A checked layout and where its parts are in the file (for warnings)."""

    layout: Layout
    source: str
    root: Any  # the ruamel tree, which knows each node's line and column

    def issue(self, path: tuple[str | int, ...], message: str) -> LayoutIssue:
        return LayoutIssue(self.source, *position(self.root, path), message)


def parse_layout_document(
    text: str,
    source: str = "<layout>",
    env: Mapping[str, str] | None = None,
    source_dir: Path | None = None,
) -> ParsedLayout:
    """Parse and check layout ``text``; every problem found is in the LayoutError.

    ``source_dir`` is the folder relative image paths start from (default: the
    current one).
    """
    refuse_absurd_size(text, source)
    root, duplicates = read_yaml(text, source)
    try:
        data = plain(root)
    except TooManyNodes:
        message = f"the layout expands to over {MAX_LAYOUT_NODES} values (YAML aliases repeated?)"
        message += ": refused"
        raise LayoutError([*duplicates, LayoutIssue(source, 1, 1, message)]) from None
    except RecursionError:
        message = "the layout is nested too deeply"
        raise LayoutError([*duplicates, LayoutIssue(source, 1, 1, message)]) from None
    context = {"env": os.environ if env is None else env}
    try:
        layout = Layout.model_validate(data, context=context)
    except ValidationError as exc:
        found = [
            (tuple(err["loc"]), _message(err), err["type"] == "extra_forbidden")
            for err in exc.errors()
        ]
        found += [(path, message, False) for path, message in partial_issues(data, source_dir)]
    except RecursionError:
        raise LayoutError([LayoutIssue(source, 1, 1, "the layout is nested too deeply")]) from None
    else:
        layout._source_dir = source_dir
        found = [(path, message, False) for path, message in layout_issues(layout)]
    # A message may quote a value, and a value may be a URL with a password in it.
    issues = duplicates + [
        LayoutIssue(source, *position(root, path, at_key), redact_secrets(message))
        for path, message, at_key in found
    ]
    if issues:
        raise LayoutError(sorted(issues, key=lambda issue: (issue.line, issue.col)))
    return ParsedLayout(layout, source, root)


def parse_layout(
    text: str,
    source: str = "<layout>",
    env: Mapping[str, str] | None = None,
    source_dir: Path | None = None,
) -> Layout:
    """Parse and check layout ``text``; ``source`` names it in error messages."""
    return parse_layout_document(text, source, env, source_dir).layout


def load_layout(path: str | Path, env: Mapping[str, str] | None = None) -> Layout:
    """Read and check the layout file at ``path``."""
    return parse_layout(read_layout_text(path), str(path), env, Path(path).absolute().parent)
