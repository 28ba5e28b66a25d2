"""The wall's commands: one typed request per thing an operator or a script can ask.

Every way in (the Unix socket's ``videowall preset``, an HTTP API, a broker)
turns what it received into one of these models and hands it to the wall's
:class:`~compositor.control.inbox.CommandInbox`; the render loop carries it out
between two frames. So a command means the same, and is checked the same way,
whichever transport brought it: a malformed one is refused with the field at
fault before it reaches the wall.

On the wire (the socket, a request body) a command is a JSON object whose
``command`` key names its kind: ``{"command": "preset", "name": "night"}``.
"""

from __future__ import annotations

__all__ = [
    "CLI",
    "Actor",
    "AlarmTitle",
    "CameraId",
    "ClearAlarm",
    "ClearCallUp",
    "ClearSolo",
    "Command",
    "GetCameras",
    "GetLayout",
    "GetStatus",
    "HoldSeconds",
    "ObjectId",
    "ListAlarms",
    "ListPresets",
    "RaiseAlarm",
    "Priority",
    "Reload",
    "Revert",
    "Role",
    "SetCallUp",
    "ShowPreset",
    "Solo",
    "TileNumber",
    "TtlSeconds",
    "parse_command",
]

from dataclasses import dataclass
from enum import IntEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from compositor.core.errors import CompositorError

MAX_HOLD_S = 7 * 24 * 3600.0  # a call-up or alarm held longer is a mistake, not a plan
MAX_TITLE = 200


class Role(IntEnum):
    """What a caller may do; each role may do what the ones below it may."""

    VIEWER = 1  # read: status, cameras, presets, alarms, snapshots
    OPERATOR = 2  # call-ups, solos, presets, alarms
    ADMIN = 3  # reload, revert, tokens

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked, for the audit log: a token's name and role, or the wall's own user."""

    name: str  # a token's name; "cli" (the control socket: the wall's own user); "file"
    role: Role


CLI = Actor("cli", Role.ADMIN)  # the control socket: only the wall's own user reaches it


class _Command(BaseModel):
    # extra="forbid": a misspelt field is an error, never silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True)

    # The least role that may send it (class-level, not a field).
    required_role: ClassVar[Role] = Role.ADMIN


# The fields the commands share, for every transport's request models to reuse (the
# HTTP API's bodies), so a value means and is checked the same whichever way it came.
ObjectId = Annotated[str, Field(min_length=1, max_length=64)]
CameraId = Annotated[str, Field(min_length=1, max_length=64, description="A camera's id")]
TileNumber = Annotated[
    int, Field(ge=1, le=10_000, description="The tile's number from 1, in the layout's order")
]
HoldSeconds = Annotated[
    float,
    Field(gt=0, le=MAX_HOLD_S, description="Seconds until it ends by itself (omitted: never)"),
]
Priority = Annotated[
    int, Field(ge=1, le=9, description="1 is the most urgent, 9 the least (as P1 in incidents)")
]
TtlSeconds = Annotated[
    float, Field(gt=0, le=MAX_HOLD_S, description="Seconds until the alarm ends by itself")
]


def _printable_title(title: str) -> str:
    # Painted on a tile and written to the audit log: one line of text, no control codes.
    bad = next((c for c in title if ord(c) < 32 or ord(c) == 127), None)
    if bad is not None:
        raise ValueError(f"control character U+{ord(bad):04X} in the title")
    return title


AlarmTitle = Annotated[
    str,
    Field(max_length=MAX_TITLE, description="Shown on the tile: ALARM · title · 0:42"),
    AfterValidator(_printable_title),
]
_Id = ObjectId
_Hold = HoldSeconds


class GetStatus(_Command):
    """What ``status.json`` says."""

    command: Literal["status"]
    required_role: ClassVar[Role] = Role.VIEWER


class GetLayout(_Command):
    """The arrangement on the wall: outputs, tiles, the preset, call-ups, solos, alarms."""

    command: Literal["layout"]
    required_role: ClassVar[Role] = Role.VIEWER


class GetCameras(_Command):
    """Every camera: state, reason, frames, frame age (p50/p99), where it is shown."""

    command: Literal["cameras"]
    required_role: ClassVar[Role] = Role.VIEWER


class ListPresets(_Command):
    """The layout's presets and the active one."""

    command: Literal["presets"]
    required_role: ClassVar[Role] = Role.VIEWER


class ShowPreset(_Command):
    """Show preset ``name``; ``None``: the layout's own arrangement. Clears call-ups and solos."""

    command: Literal["preset"]
    name: str | None = Field(default=None, max_length=64)
    required_role: ClassVar[Role] = Role.OPERATOR


class Reload(_Command):
    """Read the layout file again."""

    command: Literal["reload"]
    required_role: ClassVar[Role] = Role.ADMIN


class Revert(_Command):
    """Write the previously applied layout back into the layout file (the wall applies it)."""

    command: Literal["revert"]
    required_role: ClassVar[Role] = Role.ADMIN


class SetCallUp(_Command):
    """Show ``camera`` on tile ``tile`` (1-based, in the layout's order) of ``output``,
    until cleared, a preset switch, or ``hold_s`` seconds."""

    command: Literal["callup"]
    output: _Id
    tile: int = Field(ge=1, le=10_000)
    camera: _Id
    hold_s: _Hold | None = None
    required_role: ClassVar[Role] = Role.OPERATOR


class ClearCallUp(_Command):
    """Give tile ``tile`` of ``output`` back to the layout."""

    command: Literal["clear_callup"]
    output: _Id
    tile: int = Field(ge=1, le=10_000)
    required_role: ClassVar[Role] = Role.OPERATOR


class Solo(_Command):
    """Show one camera on the whole of ``output``."""

    command: Literal["solo"]
    output: _Id
    camera: _Id
    hold_s: _Hold | None = None
    required_role: ClassVar[Role] = Role.OPERATOR


class ClearSolo(_Command):
    """Give ``output`` its tiles back."""

    command: Literal["clear_solo"]
    output: _Id
    required_role: ClassVar[Role] = Role.OPERATOR


class RaiseAlarm(_Command):
    """Bring ``camera`` onto the layout's alarm tiles, highest priority first."""

    command: Literal["alarm"]
    camera: _Id
    priority: Priority = 5
    ttl_s: TtlSeconds = 60.0
    title: AlarmTitle = ""
    required_role: ClassVar[Role] = Role.OPERATOR


class ClearAlarm(_Command):
    """End alarm ``id``."""

    command: Literal["clear_alarm"]
    id: _Id
    required_role: ClassVar[Role] = Role.OPERATOR


class ListAlarms(_Command):
    """The alarms shown and queued."""

    command: Literal["alarms"]
    required_role: ClassVar[Role] = Role.VIEWER


Command = Annotated[
    GetStatus
    | GetLayout
    | GetCameras
    | ListPresets
    | ShowPreset
    | Reload
    | Revert
    | SetCallUp
    | ClearCallUp
    | Solo
    | ClearSolo
    | RaiseAlarm
    | ClearAlarm
    | ListAlarms,
    Field(discriminator="command"),
]

_COMMAND: TypeAdapter[Command] = TypeAdapter(Command)
KINDS = tuple(
    model.model_fields["command"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in (
        GetStatus,
        GetLayout,
        GetCameras,
        ListPresets,
        ShowPreset,
        Reload,
        Revert,
        SetCallUp,
        ClearCallUp,
        Solo,
        ClearSolo,
        RaiseAlarm,
        ClearAlarm,
        ListAlarms,
    )
)


def _field_errors(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in error["loc"][1:]) or "request"
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            message = f"unknown command: it is one of {', '.join(KINDS)}"
            where = "command"
        elif error["type"] == "union_tag_not_found":
            message = "missing: the request names its kind in 'command'"
            where = "command"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def parse_command(data: Any) -> Command:
    """A request as received (a decoded JSON value) -> a checked command.

    CompositorError naming every field at fault (``tile: Input should be greater
    than or equal to 1``); never echoes a value, which could be a secret.
    """
    if not isinstance(data, dict):
        raise CompositorError("a request is a JSON object with a 'command' key")
    try:
        return _COMMAND.validate_python(data)
    except ValidationError as exc:
        raise CompositorError(f"bad request: {_field_errors(exc)}") from None
