"""The layout's typed models: cameras, outputs, tiles, the wall, spans, presets.

A layout names the cameras and, per output, where each camera goes. The
models check each field (``extra="forbid"``: a misspelt key is an error) and
expand ``${VAR}`` in URLs; :mod:`compositor.layout.parse` reads a file into
them with every error located, :mod:`compositor.layout.checks` checks across
fields; hiding passwords is :mod:`compositor.core.redact`.
"""

from __future__ import annotations

__all__ = [
    "AlarmsConfig",
    "CameraConfig",
    "LabelConfig",
    "Layout",
    "OutputConfig",
    "PlacedTile",
    "PresetConfig",
    "PresetOutputConfig",
    "TileConfig",
    "TileKind",
    "HOST_PLACEHOLDER",
    "RelayConfig",
    "GRID_PATTERN",
    "ENV_REF",
    "ID_PATTERN",
    "TILE_REF_PATTERN",
    "DEFAULT_PRESET",
    "ScreenConfig",
    "SpanConfig",
    "WallConfig",
    "relayed_cameras",
    "resolve_image",
]

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    FieldSerializationInfo,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from compositor.core.decoding import DecodeSetting
from compositor.core.errors import CompositorError, UnknownPresetError
from compositor.core.geometry import Fit, TileRect, grid_cells
from compositor.core.redact import Redactor, SecretUrl
from compositor.layout.wall import ScreenGeometry, WallGeometry

ALLOWED_URL_SCHEMES = ("rtsp", "rtsps")
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Ids name snapshot files, API paths, metrics labels and broker topics: letters (Latin,
# accents included: Écran-1), digits, '_', '.', '-'; never '/', a blank or a wildcard.
# Spelt as ranges, not \w, so editors' JSON-schema checks (JavaScript regexes) agree.
_ID_CHAR = "0-9A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f"
ID_PATTERN = f"^[{_ID_CHAR}][{_ID_CHAR}_.-]{{0,63}}$"
GRID_PATTERN = r"^[1-9][0-9]?x[1-9][0-9]?$"
# A tile as the preview and the API name it: output id, a dot, its number (1-based).
TILE_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.[1-9][0-9]{0,3}$"
# What `videowall preset --default` and POST /api/presets/default show: no preset.
DEFAULT_PRESET = "default"

Identifier = Annotated[str, Field(pattern=ID_PATTERN)]


class _StrictModel(BaseModel):
    # extra="forbid": a misspelt key is an error, never silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)


def _expand(url: str, env: Mapping[str, str]) -> SecretUrl:
    """``${VAR}`` from ``env``, and where the values went (they are hidden when shown)."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    at = length = 0
    for match in ENV_REF.finditer(url):
        name = match.group(1)
        if name not in env:
            raise ValueError(f"environment variable {name} is not set")
        literal = url[at : match.start()]
        parts += [literal, env[name]]
        length += len(literal)
        spans.append((length, length + len(env[name])))
        length += len(env[name])
        at = match.end()
    parts.append(url[at:])
    return SecretUrl("".join(parts), tuple(spans))


def _expand_url(url: str, env: Mapping[str, str]) -> str:
    """``${VAR}`` from ``env``, then the scheme and host checked; messages never show a password."""
    secret = _expand(url, env)
    expanded = secret.url
    scheme = urlsplit(expanded).scheme.lower()
    if scheme not in ALLOWED_URL_SCHEMES:
        allowed = ", ".join(f"{s}://" for s in ALLOWED_URL_SCHEMES)
        raise ValueError(f"URL scheme {scheme or '(none)'!r} is not allowed (use {allowed})")
    if not urlsplit(expanded).hostname:
        raise ValueError(f"URL {secret.shown()!r} has no host")
    return expanded


def _printable(value: str | None, what: str, allowed: str = "") -> str | None:
    """``value`` unless it holds a control character (painters and file names choke on them)."""
    bad = next((c for c in value or "" if ord(c) < 32 and c not in allowed), None)
    if bad is not None:
        raise ValueError(f"control character U+{ord(bad):04X} in {what}")
    return value


class CameraConfig(_StrictModel):
    # URLs hold passwords: left out of repr, and redacted in JSON (model_dump_json) so a
    # printed or saved dump never shows one; model_dump() in Python keeps them whole.
    name: str = Field(default="", max_length=200, description="Shown on the tile")
    url: str = Field(description="rtsp:// URL; ${VAR} is taken from the environment", repr=False)
    url_low: str | None = Field(
        default=None,
        description="The camera's sub-stream (rtsp://, ${VAR} allowed), used for small tiles",
        repr=False,
    )
    decode: DecodeSetting | None = Field(
        default=None,
        description="Where its pictures are decoded: cpu, cuda (NVIDIA), or auto (the best "
        "hardware decoder of the host); a device that cannot be used means the CPU. "
        "Omitted: the wall's --decode",
    )

    # Where in url and url_low the values of ${VAR} are: hidden wherever they are
    # shown (a token in the path, a whole host), not only in user:password@.
    _variables: dict[str, tuple[tuple[int, int], ...]] = PrivateAttr(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _printable_name(cls, name: str) -> str:
        return _printable(name, "name") or ""

    @field_serializer("url", "url_low", when_used="json-unless-none")
    def _redacted(self, url: str, info: FieldSerializationInfo) -> str:
        return SecretUrl(url, self._variables.get(info.field_name, ())).shown()

    @field_validator("url", "url_low")
    @classmethod
    def _expand_and_check_url(cls, url: str | None, info: ValidationInfo) -> str | None:
        if url is None:
            return None
        return _expand_url(url, (info.context or {}).get("env", os.environ))

    @model_validator(mode="wrap")
    @classmethod
    def _note_variables(
        cls, data: Any, handler: ModelWrapValidatorHandler[CameraConfig], info: ValidationInfo
    ) -> CameraConfig:
        camera = handler(data)
        if isinstance(data, dict):  # not a CameraConfig passed along: that one knows already
            env = (info.context or {}).get("env", os.environ)
            camera._variables = {
                name: _expand(data[name], env).spans
                for name in ("url", "url_low")
                if isinstance(data.get(name), str) and ENV_REF.search(data[name])
            }
        return camera

    def secret_urls(self) -> list[SecretUrl]:
        """The camera's URLs and where the values of their variables are."""
        urls = [SecretUrl(self.url, self._variables.get("url", ()))]
        if self.url_low is not None:
            urls.append(SecretUrl(self.url_low, self._variables.get("url_low", ())))
        return urls


LabelPosition = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class LabelConfig(_StrictModel):
    """The camera's name over its tile."""

    show: bool = Field(default=True, description="Show the label")
    position: LabelPosition = Field(default="bottom-left", description="Corner of the tile")
    size: float = Field(default=1.0, gt=0, le=4, description="Text size, 1 = normal")

    def merged(self, override: LabelConfig | None) -> LabelConfig | None:
        """This default with the keys ``override`` sets; None when the result is hidden."""
        if override is None:
            return self if self.show else None
        changes = {name: getattr(override, name) for name in override.model_fields_set}
        label = self.model_copy(update=changes)
        return label if label.show else None


def _label_shorthand(value: Any) -> Any:
    # `label: false` hides a tile's label, `label: true` shows it with the layout's style.
    return {"show": value} if isinstance(value, bool) else value


TileKind = Literal["camera", "tour", "clock", "text", "image"]
TILE_KINDS: tuple[TileKind, ...] = get_args(TileKind)
# Kinds whose value is a file path, resolved against the layout file's folder. A new
# tile kind is a field below and an entry in compose/kinds.py's registry.
PATH_KINDS: frozenset[str] = frozenset({"image"})
DEFAULT_TOUR_SECONDS = 10.0


def resolve_image(image: str, source_dir: Path | None) -> Path:
    """An image tile's path: relative paths start at the layout file's folder."""
    path = Path(image)  # no ~ expansion: the wall's user may not be the editor's
    return path if source_dir is None or path.is_absolute() else source_dir / path


def _tile_shorthand(value: Any) -> Any:
    # `tiles: [cam01, cam02]` is shorthand for `[{camera: cam01}, {camera: cam02}]`.
    return {"camera": value} if isinstance(value, str) else value


class TileConfig(_StrictModel):
    """One tile: exactly one of a camera, a tour, a clock, a text or an image."""

    # The schema says "exactly one kind" too, so editors flag a tile with two.
    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": [kind]} for kind in TILE_KINDS]}
    )

    camera: Identifier | None = Field(default=None, description="Camera id")
    tour: list[Identifier] | None = Field(
        default=None, min_length=2, description="Camera ids shown in turn, `every` seconds each"
    )
    every: float = Field(
        default=DEFAULT_TOUR_SECONDS, ge=1, le=3600, description="Seconds per camera of a tour"
    )
    clock: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="A clock: strftime format of the local time, e.g. '%H:%M:%S'",
    )
    text: str | None = Field(
        default=None, min_length=1, max_length=500, description="A text banner"
    )
    image: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="A static picture (PNG, JPEG); a relative path is from the layout's folder",
    )
    rect: tuple[int, int, int, int] | None = Field(
        default=None, description="x, y, width, height in output pixels"
    )
    fit: Fit = Field(default=Fit.LETTERBOX, description="letterbox | crop | fill")
    label: Annotated[
        LabelConfig | None,
        BeforeValidator(_label_shorthand, json_schema_input_type=bool | LabelConfig | None),
    ] = Field(
        default=None,
        description="true/false, or a style (show, position, size) over the layout's `labels`",
    )

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

    @field_validator("clock", "text", "image")
    @classmethod
    def _printable(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A banner may wrap lines; a clock format or a file name may not.
        return _printable(value, str(info.field_name), "\n\t" if info.field_name == "text" else "")

    @model_validator(mode="after")
    def _one_kind(self) -> TileConfig:
        given = [kind for kind in TILE_KINDS if getattr(self, kind) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a tile takes exactly one of {', '.join(TILE_KINDS)}"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if "every" in self.model_fields_set and given != ["tour"]:
            raise ValueError("`every` is for a tour tile (tour: [cam01, cam02, ...])")
        if self.label is not None and given[0] not in ("camera", "tour"):
            raise ValueError(f"a {given[0]} tile has no label (labels name cameras)")
        return self

    @property
    def kind(self) -> TileKind:
        return next(kind for kind in TILE_KINDS if getattr(self, kind) is not None)

    @property
    def cameras(self) -> tuple[str, ...]:
        """The cameras this tile shows: one, a tour's list, or none."""
        if self.camera is not None:
            return (self.camera,)
        return tuple(self.tour or ())

    def placed(
        self, rect: TileRect, labels: LabelConfig, source_dir: Path | None = None, number: int = 0
    ) -> PlacedTile:
        """This tile at ``rect``, its label and content (an image's path) resolved; ``number``:
        its place among its output's tiles (1-based)."""
        kind, cameras = self.kind, self.cameras
        content = None if cameras else getattr(self, kind)
        if kind in PATH_KINDS:
            content = resolve_image(str(content), source_dir)
        return PlacedTile(
            cameras[0] if cameras else "",
            rect,
            self.fit,
            kind=kind,
            cameras=cameras,
            every=self.every,
            content=content,
            label=labels.merged(self.label) if cameras else None,
            number=number,
        )


@dataclass(frozen=True, slots=True)
class PlacedTile:
    """A tile resolved to output pixels.

    A tile of a picture that spans several screens shows only ``window`` of
    the picture's ``box_w x box_h`` box; an ordinary tile shows its whole box.
    ``camera`` is the (first) camera shown, "" for a clock, text or image tile.
    """

    camera: str
    rect: TileRect
    fit: Fit
    box_w: int = 0  # 0: the box is the tile
    box_h: int = 0
    window: TileRect | None = None
    kind: TileKind = "camera"
    cameras: tuple[str, ...] = ()  # a camera tile: (camera,); a tour: its list; others: ()
    every: float = DEFAULT_TOUR_SECONDS  # a tour's seconds per camera
    # A painted tile's own value: a clock's strftime format, a text, an image's path
    # (resolved against the layout file's folder); None for camera tiles.
    content: str | Path | None = None
    label: LabelConfig | None = None  # None: no label
    # Its place among its output's own tiles, 1-based (the `A2.3` of the preview and the
    # API); 0 for a piece of a picture spanning screens.
    number: int = 0

    def __post_init__(self) -> None:
        if self.kind == "camera" and not self.cameras and self.camera:
            object.__setattr__(self, "cameras", (self.camera,))

    @property
    def box(self) -> tuple[int, int]:
        return (self.box_w, self.box_h) if self.box_w else (self.rect.w, self.rect.h)


Grid = Annotated[str, Field(pattern=GRID_PATTERN, description="rows x columns")]
Tiles = list[
    Annotated[TileConfig, BeforeValidator(_tile_shorthand, json_schema_input_type=str | TileConfig)]
]


def _grid_shape(grid: str | None) -> tuple[int, int] | None:
    if grid is None:
        return None
    rows, cols = grid.split("x")
    return int(rows), int(cols)


class OutputConfig(_StrictModel):
    id: Identifier
    monitor: str | int | None = Field(default=None, description="Connector name or index")
    size: tuple[Annotated[int, Field(gt=0, le=16384)], Annotated[int, Field(gt=0, le=16384)]]
    grid: Grid | None = None
    tiles: Tiles = Field(default_factory=list)

    @property
    def grid_shape(self) -> tuple[int, int] | None:
        return _grid_shape(self.grid)

    def placed_tiles(
        self, labels: LabelConfig | None = None, source_dir: Path | None = None
    ) -> list[PlacedTile]:
        """Tiles in output pixels: grid cells in order, or each tile's own rect."""
        labels = labels or LabelConfig()
        width, height = self.size
        shape = self.grid_shape
        if shape is not None:
            cells = grid_cells(width, height, *shape)
            return [
                t.placed(cell, labels, source_dir, number)
                for number, (t, cell) in enumerate(zip(self.tiles, cells, strict=False), 1)
            ]
        return [
            t.placed(TileRect(*t.rect), labels, source_dir, number)
            for number, t in enumerate(self.tiles, 1)
            if t.rect is not None
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


class PresetOutputConfig(_StrictModel):
    """An output's arrangement in a preset: what is given replaces the output's own."""

    id: Identifier = Field(description="The output this arranges")
    grid: Grid | None = Field(default=None, description="Omitted: the output's own grid")
    tiles: Tiles = Field(default_factory=list, description="Omitted: the output's own tiles")

    def applied_to(self, output: OutputConfig) -> OutputConfig:
        changes: dict[str, Any] = {
            name: getattr(self, name) for name in ("grid", "tiles") if name in self.model_fields_set
        }
        return output.model_copy(update=changes)


class PresetConfig(_StrictModel):
    """A named arrangement of the same wall: the outputs it lists, and optionally the spans."""

    outputs: list[PresetOutputConfig] = Field(default_factory=list)
    spans: list[SpanConfig] | None = Field(
        default=None, description="Replaces the layout's spans (omitted: the layout's own)"
    )


class AlarmsConfig(_StrictModel):
    """Where alarms raised by other systems (POST /api/alarms, `videowall alarm`) are shown."""

    tiles: list[Annotated[str, Field(pattern=TILE_REF_PATTERN)]] = Field(
        min_length=1,
        max_length=64,
        description="The tiles alarms take over, most important first: OUTPUT.N "
        "(output id, tile number from 1 in the output's order, as the preview shows them)",
    )
    min_hold_s: float = Field(
        default=10.0,
        ge=0,
        le=3600,
        description="An alarm on a tile stays at least this long before a more urgent one "
        "takes the tile (so a burst of alarms does not flicker)",
    )

    def tile_refs(self) -> list[tuple[str, int]]:
        """``A1.2`` -> ``("A1", 2)``, in order."""
        refs = []
        for ref in self.tiles:
            output, number = ref.rsplit(".", 1)
            refs.append((output, int(number)))
        return refs


HOST_PLACEHOLDER = "{camera}"  # in a relay's URL: the camera's id


class RelayConfig(_StrictModel):
    """An RTSP relay that restreams each camera by path (mediamtx, go2rtc, ...): the wall,
    on every host, pulls from the relay, so a camera serves one session to the relay
    however many hosts show it."""

    url: str = Field(
        description="The relay's URL of a camera, {camera} standing for its id: "
        "rtsp://relay:8554/{camera}; ${VAR} is taken from the environment",
        repr=False,
    )
    url_low: str | None = Field(
        default=None,
        description="The relay's URL of a camera's sub-stream (cameras with url_low); "
        "omitted: url with {camera}_low",
        repr=False,
    )
    cameras: list[Identifier] | None = Field(
        default=None, description="The cameras pulled through the relay (omitted: all)"
    )

    @field_validator("url", "url_low")
    @classmethod
    def _a_template(cls, url: str | None, info: ValidationInfo) -> str | None:
        # Kept as written (its ${VAR} are expanded in each camera's URL, where the
        # redaction knows them); checked here once, so an error points at the relay.
        if url is None:
            return None
        if HOST_PLACEHOLDER not in url:
            raise ValueError(f"the relay's URL must hold {HOST_PLACEHOLDER} (the camera's id)")
        _expand_url(
            url.replace(HOST_PLACEHOLDER, "camera"), (info.context or {}).get("env", os.environ)
        )
        return url

    def low_template(self) -> str:
        return self.url_low or self.url.replace(HOST_PLACEHOLDER, HOST_PLACEHOLDER + "_low")

    def relays(self, camera_id: str) -> bool:
        return self.cameras is None or camera_id in self.cameras


def relayed_cameras(data: Any, env: Mapping[str, str]) -> Any:
    """The raw layout ``data`` with its cameras' URLs the relay's (``relay:``), or as it is
    (no relay, or a relay section whose own errors are reported).

    Done on the raw data, before the models: each camera's URL is then expanded, checked
    and redacted like any other (the relay's ${VAR} included).
    """
    if not isinstance(data, dict) or not isinstance(data.get("relay"), dict):
        return data
    cameras = data.get("cameras")
    if not isinstance(cameras, dict):
        return data
    try:
        relay = RelayConfig.model_validate(data["relay"], context={"env": env})
    except ValueError:
        return data
    rewritten: dict[Any, Any] = {}
    for camera_id, camera in cameras.items():
        if not isinstance(camera, dict) or not relay.relays(str(camera_id)):
            rewritten[camera_id] = camera
            continue
        camera = {**camera, "url": relay.url.replace(HOST_PLACEHOLDER, str(camera_id))}
        if camera.get("url_low") is not None:
            camera["url_low"] = relay.low_template().replace(HOST_PLACEHOLDER, str(camera_id))
        rewritten[camera_id] = camera
    return {**data, "cameras": rewritten}


class Layout(_StrictModel):
    cameras: dict[Identifier, CameraConfig]
    outputs: list[OutputConfig] = Field(min_length=1)
    wall: WallConfig | None = None
    spans: list[SpanConfig] = Field(default_factory=list)
    labels: LabelConfig = Field(
        default_factory=LabelConfig, description="Camera labels on every tile unless it says"
    )
    presets: dict[Identifier, PresetConfig] = Field(
        default_factory=dict, description="Named arrangements: `videowall preset NAME`"
    )
    alarms: AlarmsConfig | None = Field(
        default=None, description="Tiles that show the cameras of alarms (the HTTP API's)"
    )
    hosts: dict[Identifier, Annotated[list[Identifier], Field(min_length=1)]] | None = Field(
        default=None,
        description="A wall over several hosts: the outputs each host shows "
        "(`videowall run LAYOUT --host NAME`); every output on exactly one host",
    )
    relay: RelayConfig | None = Field(
        default=None,
        description="Pull the cameras through an RTSP relay (one session per camera "
        "however many hosts show it)",
    )
    _source_dir: Path | None = PrivateAttr(default=None)
    # Outputs no spanning picture reaches (an operator showed one camera on them alone).
    _alone: frozenset[str] = PrivateAttr(default=frozenset())

    @property
    def source_dir(self) -> Path | None:
        """The layout file's folder (image paths are relative to it); None for a text."""
        return self._source_dir

    def camera_name(self, camera_id: str) -> str:
        return self.cameras[camera_id].name or camera_id

    def host_outputs(self, host: str) -> tuple[str, ...]:
        """The outputs host ``host`` shows (``--host``); CompositorError naming the hosts."""
        if self.hosts is None:
            raise CompositorError(
                f"--host {host}: the layout has no hosts section (hosts: {{left: [A1, A2], "
                "right: [B1, B2]}} names the outputs each host shows)"
            )
        if host not in self.hosts:
            raise CompositorError(f"--host {host}: the layout's hosts are {', '.join(self.hosts)}")
        return tuple(self.hosts[host])

    def host_of(self, output_id: str) -> str | None:
        """The host that shows ``output_id`` (None: the layout has no hosts section)."""
        for host, outputs in (self.hosts or {}).items():
            if output_id in outputs:
                return host
        return None

    def redactor(self) -> Redactor:
        """Hides the cameras' passwords and values of variables in what is shown."""
        return Redactor(url for camera in self.cameras.values() for url in camera.secret_urls())

    def with_preset(self, name: str) -> Layout:
        """The layout as preset ``name`` arranges it (``presets`` kept, so presets chain)."""
        preset = self.presets.get(name)
        if preset is None:
            raise UnknownPresetError(name, tuple(self.presets))
        changed = {p.id: p for p in preset.outputs}
        outputs = [changed[o.id].applied_to(o) if o.id in changed else o for o in self.outputs]
        spans = self.spans if preset.spans is None else preset.spans
        return self.model_copy(update={"outputs": outputs, "spans": spans})

    def alone_on(self, output_ids: frozenset[str]) -> Layout:
        """This layout with no spanning picture drawn on ``output_ids`` (the other screens
        keep their pieces: an operator's solo takes one screen out of a span)."""
        layout = self.model_copy()
        layout._alone = output_ids
        return layout

    def cameras_in_use(self) -> set[str]:
        """The cameras this arrangement shows (tiles, tours, spans), presets aside."""
        shown = {c for o in self.outputs for t in o.tiles for c in t.cameras}
        return shown | {s.camera for s in self.spans}

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
        tiles = output.placed_tiles(self.labels, self.source_dir)
        if self.wall is None or output_id not in self.wall_positions() or output_id in self._alone:
            return tiles
        row, column = self.wall_positions()[output_id]
        geometry = self.wall.geometry()
        for span in self.spans:
            box = self.span_box(span)
            for piece in geometry.project(box):
                if (piece.row, piece.column) == (row, column):
                    tiles.append(
                        PlacedTile(
                            span.camera,
                            piece.on_screen,
                            span.fit,
                            box.w,
                            box.h,
                            piece.of_picture,
                            label=_label_on_piece(self.labels, piece.of_picture, box),
                        )
                    )
        return tiles


def _label_on_piece(labels: LabelConfig, piece: TileRect, box: TileRect) -> LabelConfig | None:
    """A spanning picture's label goes on the one piece that holds the label's corner."""
    label = labels.merged(None)
    if label is None:
        return None
    vertical, horizontal = label.position.split("-")
    x = 0 if horizontal == "left" else box.w - 1
    y = 0 if vertical == "top" else box.h - 1
    return label if piece.x <= x < piece.right and piece.y <= y < piece.bottom else None
