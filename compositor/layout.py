"""The layout file: typed models, YAML loading with line numbers, ``${VAR}`` expansion.

A layout names the cameras and, per output, where each camera goes. Loading
either returns a fully checked :class:`Layout` or raises :class:`LayoutError`
with every problem found, each located as ``file:line:col``.
"""

from __future__ import annotations

__all__ = [
    "CameraConfig",
    "Layout",
    "OutputConfig",
    "PlacedTile",
    "TileConfig",
    "ParsedLayout",
    "load_layout",
    "parse_layout",
    "parse_layout_document",
    "read_layout_text",
    "redact_secrets",
    "redact_url",
]

import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from compositor.errors import LayoutError, LayoutIssue
from compositor.geometry import Fit, TileRect, grid_cells
from compositor.wall import ScreenGeometry, WallGeometry

MAX_LAYOUT_BYTES = 2 * 1024 * 1024  # a layout is a few kB; refuse anything absurd early
ALLOWED_URL_SCHEMES = ("rtsp", "rtsps")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"

Identifier = Annotated[str, Field(pattern=_ID_PATTERN)]


class _StrictModel(BaseModel):
    # extra="forbid": a misspelt key is an error, never silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraConfig(_StrictModel):
    name: str = Field(default="", max_length=200, description="Shown on the tile")
    url: str = Field(description="rtsp:// URL; ${VAR} is taken from the environment")

    @field_validator("url")
    @classmethod
    def _expand_and_check_url(cls, url: str, info: ValidationInfo) -> str:
        env: Mapping[str, str] = (info.context or {}).get("env", os.environ)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in env:
                raise ValueError(f"environment variable {name} is not set")
            return env[name]

        expanded = _ENV_REF.sub(substitute, url)
        scheme = urlsplit(expanded).scheme.lower()
        if scheme not in ALLOWED_URL_SCHEMES:
            allowed = ", ".join(f"{s}://" for s in ALLOWED_URL_SCHEMES)
            raise ValueError(f"URL scheme {scheme or '(none)'!r} is not allowed (use {allowed})")
        if not urlsplit(expanded).hostname:
            raise ValueError(f"URL {redact_url(expanded)!r} has no host")
        return expanded


def _tile_shorthand(value: Any) -> Any:
    # `tiles: [cam01, cam02]` is shorthand for `[{camera: cam01}, {camera: cam02}]`.
    return {"camera": value} if isinstance(value, str) else value


class TileConfig(_StrictModel):
    camera: Identifier
    rect: tuple[int, int, int, int] | None = Field(
        default=None, description="x, y, width, height in output pixels"
    )
    fit: Fit = Fit.LETTERBOX

    @field_validator("rect")
    @classmethod
    def _positive_rect(
        cls, rect: tuple[int, int, int, int] | None
    ) -> tuple[int, int, int, int] | None:
        if rect is not None:
            x, y, w, h = rect
            if x < 0 or y < 0:
                raise ValueError(f"rect position must not be negative, got x={x}, y={y}")
            if w <= 0 or h <= 0:
                raise ValueError(f"rect size must be positive, got {w}x{h}")
        return rect


@dataclass(frozen=True, slots=True)
class PlacedTile:
    """A tile resolved to output pixels.

    A tile of a picture that spans several screens shows only ``window`` of
    the picture's ``box_w x box_h`` box; an ordinary tile shows its whole box.
    """

    camera: str
    rect: TileRect
    fit: Fit
    box_w: int = 0  # 0: the box is the tile
    box_h: int = 0
    window: TileRect | None = None

    @property
    def box(self) -> tuple[int, int]:
        return (self.box_w, self.box_h) if self.box_w else (self.rect.w, self.rect.h)


class OutputConfig(_StrictModel):
    id: Identifier
    monitor: str | int | None = Field(default=None, description="Connector name or index")
    size: tuple[Annotated[int, Field(gt=0, le=16384)], Annotated[int, Field(gt=0, le=16384)]]
    grid: str | None = Field(default=None, pattern=r"^[1-9][0-9]?x[1-9][0-9]?$")
    tiles: list[Annotated[TileConfig, BeforeValidator(_tile_shorthand)]] = Field(
        default_factory=list
    )

    @property
    def grid_shape(self) -> tuple[int, int] | None:
        if self.grid is None:
            return None
        rows, cols = self.grid.split("x")
        return int(rows), int(cols)

    def placed_tiles(self) -> list[PlacedTile]:
        """Tiles in output pixels: grid cells in order, or each tile's own rect."""
        width, height = self.size
        shape = self.grid_shape
        if shape is not None:
            cells = grid_cells(width, height, *shape)
            return [
                PlacedTile(t.camera, cell, t.fit)
                for t, cell in zip(self.tiles, cells, strict=False)
            ]
        return [
            PlacedTile(t.camera, TileRect(*t.rect), t.fit) for t in self.tiles if t.rect is not None
        ]


def _four_bezels(value: Any) -> Any:
    # `bezel_mm: 1.8` is shorthand for the same bezel on all four sides.
    return [value] * 4 if isinstance(value, int | float) else value


class ScreenConfig(_StrictModel):
    size_px: tuple[Annotated[int, Field(gt=0)], Annotated[int, Field(gt=0)]] = Field(
        description="Resolution of each screen: width, height"
    )
    size_mm: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = Field(
        description="Visible picture size of each screen in mm: width, height"
    )
    bezel_mm: Annotated[
        tuple[
            Annotated[float, Field(ge=0)],
            Annotated[float, Field(ge=0)],
            Annotated[float, Field(ge=0)],
            Annotated[float, Field(ge=0)],
        ],
        BeforeValidator(_four_bezels),
    ] = Field(default=(0.0, 0.0, 0.0, 0.0), description="left, top, right, bottom (or one number)")


class WallConfig(_StrictModel):
    """The physical wall: identical screens in rows and columns."""

    rows: int = Field(gt=0, le=64)
    columns: int = Field(gt=0, le=64)
    screen: ScreenConfig
    outputs: list[Identifier] | None = Field(
        default=None, description="Output ids row by row (default: the outputs in order)"
    )

    def geometry(self) -> WallGeometry:
        s = self.screen
        return WallGeometry(
            self.rows, self.columns, ScreenGeometry(*s.size_px, *s.size_mm, s.bezel_mm)
        )


class SpanConfig(_StrictModel):
    """A picture placed on the wall, over as many screens as it covers."""

    camera: Identifier
    rect: tuple[int, int, int, int] | None = Field(
        default=None, description="x, y, width, height in wall pixels (bezels included)"
    )
    screens: tuple[Identifier, Identifier] | None = Field(
        default=None, description="cover from this output's screen to that one's (corners)"
    )
    fit: Fit = Fit.LETTERBOX


class Layout(_StrictModel):
    cameras: dict[Identifier, CameraConfig]
    outputs: list[OutputConfig] = Field(min_length=1)
    wall: WallConfig | None = None
    spans: list[SpanConfig] = Field(default_factory=list)

    def camera_name(self, camera_id: str) -> str:
        return self.cameras[camera_id].name or camera_id

    def wall_positions(self) -> dict[str, tuple[int, int]]:
        """Output id -> (row, column) on the wall; empty without a wall section."""
        if self.wall is None:
            return {}
        ids = self.wall.outputs or [o.id for o in self.outputs]
        return {oid: divmod(i, self.wall.columns) for i, oid in enumerate(ids)}

    def span_box(self, span: SpanConfig) -> TileRect:
        """A span's box in wall pixels (the layout must have a wall)."""
        assert self.wall is not None
        if span.rect is not None:
            return TileRect(*span.rect)
        assert span.screens is not None
        geometry = self.wall.geometry()
        where = self.wall_positions()
        first = geometry.screen_rect(*where[span.screens[0]])
        last = geometry.screen_rect(*where[span.screens[1]])
        x0, y0 = min(first.x, last.x), min(first.y, last.y)
        return TileRect(
            x0, y0, max(first.right, last.right) - x0, max(first.bottom, last.bottom) - y0
        )

    def placed_tiles(self, output_id: str) -> list[PlacedTile]:
        """The tiles of one output: its own, then its pieces of the spans over it."""
        output = next(o for o in self.outputs if o.id == output_id)
        tiles = output.placed_tiles()
        if self.wall is None or output_id not in self.wall_positions():
            return tiles
        row, column = self.wall_positions()[output_id]
        geometry = self.wall.geometry()
        for span in self.spans:
            box = self.span_box(span)
            for piece in geometry.project(box):
                if (piece.row, piece.column) == (row, column):
                    tiles.append(
                        PlacedTile(
                            span.camera, piece.on_screen, span.fit, box.w, box.h, piece.of_picture
                        )
                    )
        return tiles


# --- semantic checks (need the whole layout, located by path) -------------------------

_Path = tuple[str | int, ...]


def _wall_issues(layout: Layout) -> list[tuple[_Path, str]]:
    issues: list[tuple[_Path, str]] = []
    wall = layout.wall
    if wall is None:
        if layout.spans:
            issues.append((("spans",), "spans need a `wall:` section (rows, columns, screen)"))
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
    for index, output_id in enumerate(wall.outputs or []):
        if output_id not in outputs:
            issues.append((("wall", "outputs", index), f"unknown output {output_id!r}"))
    for o_index, output in enumerate(layout.outputs):
        if output.id in ids and output.size != wall.screen.size_px:
            issues.append(
                (
                    ("outputs", o_index, "size"),
                    f"output {output.id} is {output.size[0]}x{output.size[1]} but the wall's "
                    f"screens are {wall.screen.size_px[0]}x{wall.screen.size_px[1]}",
                )
            )
    wall_w, wall_h = wall.geometry().size
    where = layout.wall_positions()
    for s_index, span in enumerate(layout.spans):
        base: _Path = ("spans", s_index)
        if span.camera not in layout.cameras:
            issues.append(((*base, "camera"), _unknown_camera(span.camera, layout.cameras)))
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


def _semantic_issues(layout: Layout) -> list[tuple[_Path, str]]:
    return _wall_issues(layout) + _output_issues(
        list(enumerate(layout.outputs)), set(layout.cameras)
    )


def _output_issues(
    outputs: Sequence[tuple[int, OutputConfig]], camera_ids: set[str]
) -> list[tuple[_Path, str]]:
    """Checks of the outputs that need more than one field: ``outputs`` are (index, output)
    so the outputs that validated can be checked while others have errors of their own."""
    issues: list[tuple[_Path, str]] = []
    seen_ids: set[str] = set()
    for o_index, output in outputs:
        base: _Path = ("outputs", o_index)
        if output.id in seen_ids:
            issues.append(((*base, "id"), f"duplicate output id {output.id!r}"))
        seen_ids.add(output.id)
        width, height = output.size
        shape = output.grid_shape
        placed: list[tuple[int, TileRect]] = []
        for t_index, tile in enumerate(output.tiles):
            where: _Path = (*base, "tiles", t_index)
            if tile.camera not in camera_ids:
                issues.append(((*where, "camera"), _unknown_camera(tile.camera, camera_ids)))
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


def _partial_issues(data: Any) -> list[tuple[_Path, str]]:
    """Semantic checks of the outputs that are valid on their own, in a layout that is not.

    So a technician sees an unknown camera in one output together with a typo in
    another, not one after fixing the other.
    """
    if not isinstance(data, dict):
        return []
    cameras = data.get("cameras")
    camera_ids = {str(k) for k in cameras} if isinstance(cameras, dict) else set()
    raw_outputs = data.get("outputs")
    if not camera_ids or not isinstance(raw_outputs, list):
        return []
    valid: list[tuple[int, OutputConfig]] = []
    for index, raw in enumerate(raw_outputs):
        try:
            valid.append((index, OutputConfig.model_validate(raw)))
        except ValidationError:
            continue  # its own errors are reported already
    return _output_issues(valid, camera_ids)


def _nearest(word: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The known word ``word`` most likely mistypes; a swap of letters (cam17 for cam71)
    counts as closer than a changed letter (cam74)."""

    def score(candidate: str) -> tuple[float, bool]:
        ratio = difflib.SequenceMatcher(None, word, candidate).ratio()
        return ratio, sorted(word) == sorted(candidate)

    scored = [(score(k), k) for k in known]
    scored = [(sc, k) for sc, k in scored if sc[0] >= cutoff]
    if not scored:
        return None
    return max(scored, key=lambda item: (item[0][0] + (0.1 if item[0][1] else 0.0), item[1]))[1]


def _unknown_camera(camera: str, camera_ids: Iterable[str]) -> str:
    close = _nearest(camera, camera_ids)
    hint = f" (did you mean {close!r}?)" if close else ""
    return f"unknown camera {camera!r}{hint}"


# --- YAML with positions ----------------------------------------------------------------


MAX_LAYOUT_NODES = 100_000  # a real layout has a few thousand; aliases could make billions


class _TooManyNodes(Exception):
    pass


def _plain(node: Any, budget: list[int] | None = None) -> Any:
    """ruamel's round-trip types -> plain dict/list/str/int, so pydantic sees plain data.

    YAML aliases are expanded here, so a "billion laughs" file of a few hundred
    bytes would grow without bound: ``budget`` counts the nodes made and stops it.
    """
    if budget is None:
        budget = [MAX_LAYOUT_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise _TooManyNodes
    if isinstance(node, dict):
        return {
            str(k) if not isinstance(k, int | float) else k: _plain(v, budget)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_plain(v, budget) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node


def _position(root: Any, path: _Path, at_key: bool = False) -> tuple[int, int]:
    """1-based line and column of the deepest node of ``path`` present in the YAML tree.

    ``at_key`` points at the last key itself rather than its value (an unknown key).
    """
    line, col = 1, 1
    node = root
    for key in path:
        if isinstance(node, CommentedMap) and key in node:
            # The key's position names the offending entry; its value may be a long block.
            k_line, k_col = node.lc.key(key)
            line, col = k_line + 1, k_col + 1
            value = node[key]
            if not isinstance(value, CommentedMap | CommentedSeq) and not at_key:
                v_line, v_col = node.lc.value(key)
                line, col = v_line + 1, v_col + 1
            node = value
        elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
            i_line, i_col = node.lc.item(key)
            line, col = i_line + 1, i_col + 1
            node = node[key]
        else:
            break
    return line, col


def _known_keys() -> set[str]:
    """Every key the layout format knows, for "did you mean" hints."""
    models: list[type[BaseModel]] = [
        Layout,
        CameraConfig,
        OutputConfig,
        TileConfig,
        WallConfig,
        ScreenConfig,
        SpanConfig,
    ]
    return {name for model in models for name in model.model_fields}


def _message(error: Any) -> str:
    loc = error.get("loc", ())
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        if not loc:
            return "unknown key"
        close = _nearest(str(loc[-1]), _known_keys())
        hint = f" (did you mean {close!r}?)" if close else ""
        return f"unknown key {loc[-1]!r}{hint}"
    if kind == "missing":
        return f"missing required key {loc[-1]!r}" if loc else "missing required key"
    message = str(error.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


@dataclass(frozen=True)
class ParsedLayout:
    """A checked layout and where its parts are in the file (for warnings)."""

    layout: Layout
    source: str
    root: Any  # the ruamel tree, which knows each node's line and column

    def issue(self, path: tuple[str | int, ...], message: str) -> LayoutIssue:
        return LayoutIssue(self.source, *_position(self.root, path), message)


def _read_yaml(text: str, source: str) -> CommentedMap:
    try:
        root = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
        problem = exc.problem or exc.context or "invalid YAML"
        raise LayoutError(
            [LayoutIssue(source, line, col, f"YAML syntax error: {problem}")]
        ) from None
    except (YAMLError, ValueError, RecursionError) as exc:
        raise LayoutError([LayoutIssue(source, 0, 0, f"not valid YAML: {exc}")]) from None
    if not isinstance(root, CommentedMap):
        raise LayoutError(
            [LayoutIssue(source, 1, 1, "a layout must be a mapping with 'cameras' and 'outputs'")]
        )
    return root


def parse_layout_document(
    text: str, source: str = "<layout>", env: Mapping[str, str] | None = None
) -> ParsedLayout:
    """Parse and check layout ``text``; every problem found is in the LayoutError."""
    root = _read_yaml(text, source)
    try:
        data = _plain(root)
    except _TooManyNodes:
        raise LayoutError(
            [
                LayoutIssue(
                    source,
                    1,
                    1,
                    f"the layout expands to over {MAX_LAYOUT_NODES} values "
                    "(YAML aliases repeated?): refused",
                )
            ]
        ) from None
    except RecursionError:
        raise LayoutError([LayoutIssue(source, 1, 1, "the layout is nested too deeply")]) from None
    context = {"env": os.environ if env is None else env}
    try:
        layout = Layout.model_validate(data, context=context)
    except ValidationError as exc:
        issues = [
            LayoutIssue(
                source,
                *_position(root, tuple(err["loc"]), at_key=err["type"] == "extra_forbidden"),
                _message(err),
            )
            for err in exc.errors()
        ]
        issues += [LayoutIssue(source, *_position(root, p), m) for p, m in _partial_issues(data)]
        issues.sort(key=lambda issue: (issue.line, issue.col))
        raise LayoutError(issues) from None
    except RecursionError:
        raise LayoutError([LayoutIssue(source, 1, 1, "the layout is nested too deeply")]) from None
    semantic = _semantic_issues(layout)
    if semantic:
        raise LayoutError(
            [LayoutIssue(source, *_position(root, path), msg) for path, msg in semantic]
        )
    return ParsedLayout(layout, source, root)


def parse_layout(
    text: str, source: str = "<layout>", env: Mapping[str, str] | None = None
) -> Layout:
    """Parse and check layout ``text``; ``source`` names it in error messages."""
    return parse_layout_document(text, source, env).layout


def read_layout_text(path: str | Path) -> str:
    """The text of a layout file; LayoutError (never OSError) if it cannot be used."""
    path = Path(path)
    try:
        # Read at most one byte past the limit: the size on disk may lie (/dev/zero).
        with path.open("rb") as handle:
            data = handle.read(MAX_LAYOUT_BYTES + 1)
        if len(data) > MAX_LAYOUT_BYTES:
            raise LayoutError(
                [
                    LayoutIssue(
                        str(path),
                        0,
                        0,
                        f"file is over {MAX_LAYOUT_BYTES} bytes; a layout is a few kB",
                    )
                ]
            )
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise LayoutError([LayoutIssue(str(path), 0, 0, "no such file")]) from None
    except UnicodeDecodeError as exc:
        raise LayoutError(
            [LayoutIssue(str(path), 0, 0, f"not UTF-8 text (byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise LayoutError([LayoutIssue(str(path), 0, 0, f"cannot read: {exc.strerror}")]) from None
    if "\0" in text:
        raise LayoutError([LayoutIssue(str(path), 0, 0, "binary data, not a YAML text file")])
    return text.removeprefix("\ufeff")


def load_layout(path: str | Path, env: Mapping[str, str] | None = None) -> Layout:
    """Read and check the layout file at ``path``."""
    return parse_layout(read_layout_text(path), str(path), env)


def redact_url(url: str) -> str:
    """``rtsp://user:secret@host/x`` -> ``rtsp://user:***@host/x``: never show a password."""
    parts = urlsplit(url)
    if parts.password is None and "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostport}").geturl()


_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@\s]*@")


def redact_secrets(text: str) -> str:
    """Every ``scheme://user:password@`` in free text (an FFmpeg message, say) -> ``user:***@``."""
    return _USERINFO.sub(r"\g<scheme>\g<user>:***@", text)
