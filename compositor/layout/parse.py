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
from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from compositor.core.errors import LayoutError, LayoutIssue
from compositor.core.redact import redact_secrets
from compositor.layout.checks import IssuePath, layout_issues, partial_issues
from compositor.layout.hints import nearest_known
from compositor.layout.models import (
    ENV_REF,
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
    RelayConfig,
    ScreenConfig,
    SpanConfig,
    TileConfig,
    WallConfig,
    relayed_cameras,
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
        RelayConfig,
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
                f"{str(error.get('input'))[:70]!r} is not a valid id: letters (accented Latin "
                "letters too: Écran-1), digits, '_', '.', '-', starting with a letter or digit, "
                "at most 64 (no blanks or '/': ids name files, API paths and metrics)"
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
    # ${VAR} names the environment lacked (unset_variables="allow"): where each is first
    # used, the message saying how many URLs and which lines.
    unset: Mapping[str, LayoutIssue] = field(default_factory=dict)

    def issue(self, path: tuple[str | int, ...], message: str) -> LayoutIssue:
        return LayoutIssue(self.source, *position(self.root, path), message)


UnsetVariables = Literal["error", "allow"]
# How many lines an "unset variable" message names before it says how many more.
_LINES_SHOWN = 8


def _unset_variables(data: Any, env: Mapping[str, str]) -> dict[str, list[IssuePath]]:
    """``${VAR}`` names in camera URLs that ``env`` lacks, each with where it is used."""
    unset: dict[str, list[IssuePath]] = {}
    cameras = data.get("cameras") if isinstance(data, dict) else None
    for camera_id, camera in cameras.items() if isinstance(cameras, dict) else ():
        for key in ("url", "url_low"):
            url = camera.get(key) if isinstance(camera, dict) else None
            for match in ENV_REF.finditer(url if isinstance(url, str) else ""):
                if match.group(1) not in env:
                    unset.setdefault(match.group(1), []).append(("cameras", camera_id, key))
    return unset


def _unset_relay_variables(data: Any, env: Mapping[str, str]) -> dict[str, list[IssuePath]]:
    """``${VAR}`` names in the relay's URLs that ``env`` lacks (as for the cameras')."""
    relay = data.get("relay") if isinstance(data, dict) else None
    unset: dict[str, list[IssuePath]] = {}
    for key in ("url", "url_low"):
        url = relay.get(key) if isinstance(relay, dict) else None
        for match in ENV_REF.finditer(url if isinstance(url, str) else ""):
            if match.group(1) not in env:
                unset.setdefault(match.group(1), []).append(("relay", key))
    return unset


def _lines(root: Any, paths: list[IssuePath]) -> str:
    lines = sorted({position(root, path)[0] for path in paths})
    shown = ", ".join(str(line) for line in lines[:_LINES_SHOWN])
    more = f" and {len(lines) - _LINES_SHOWN} more" if len(lines) > _LINES_SHOWN else ""
    urls = f"{len(paths)} URL{'s' if len(paths) > 1 else ''}"
    return f"{urls}, line{'s' if len(lines) > 1 else ''} {shown}{more}"


def parse_layout_document(
    text: str,
    source: str = "<layout>",
    env: Mapping[str, str] | None = None,
    source_dir: Path | None = None,
    unset_variables: UnsetVariables = "error",
) -> ParsedLayout:
    """Parse and check layout ``text``; every problem found is in the LayoutError.

    ``source_dir`` is the folder relative image paths start from (default: the
    current one). A ``${VAR}`` the environment lacks is one error per variable,
    naming every line that uses it; ``unset_variables="allow"`` (validating or
    previewing on a laptop without the cameras' secrets) puts the variable's name
    in its place instead and lists it in :attr:`ParsedLayout.unset`.
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
    environment: Mapping[str, str] = os.environ if env is None else env
    unset = _unset_variables(data, environment)
    unset.update(
        (name, paths)
        for name, paths in _unset_relay_variables(data, environment).items()
        if name not in unset
    )
    if unset:  # the name stands in for the value: every other check still runs
        environment = ChainMap(dict(environment), {name: name.lower() for name in unset})
    context = {"env": environment}
    try:
        layout = Layout.model_validate(relayed_cameras(data, environment), context=context)
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
    if unset_variables == "error":
        found += [
            (paths[0], f"environment variable {name} is not set ({_lines(root, paths)})", False)
            for name, paths in unset.items()
        ]
    # A message may quote a value, and a value may be a URL with a password in it.
    issues = duplicates + [
        LayoutIssue(source, *position(root, path, at_key), redact_secrets(message))
        for path, message, at_key in found
    ]
    if issues:
        raise LayoutError(sorted(issues, key=lambda issue: (issue.line, issue.col)))
    unset_issues = {
        name: LayoutIssue(source, *position(root, paths[0]), _lines(root, paths))
        for name, paths in unset.items()
    }
    return ParsedLayout(layout, source, root, unset_issues)


def parse_layout(
    text: str,
    source: str = "<layout>",
    env: Mapping[str, str] | None = None,
    source_dir: Path | None = None,
    unset_variables: UnsetVariables = "error",
) -> Layout:
    """Parse and check layout ``text``; ``source`` names it in error messages."""
    return parse_layout_document(text, source, env, source_dir, unset_variables).layout


def load_layout(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    unset_variables: UnsetVariables = "error",
) -> Layout:
    """Read and check the layout file at ``path``."""
    return parse_layout(
        read_layout_text(path), str(path), env, Path(path).absolute().parent, unset_variables
    )
