"""What the hosts of a wall say to each other on the broker, typed.

Every message is a JSON object checked by a pydantic model with ``extra="forbid"``:
a garbled, hostile or future message is refused with one log line naming the topic
and the field at fault (never its value), and the wall goes on. A message is at most
:data:`MAX_MESSAGE_BYTES`.

An :class:`Order` is a command to every host: what to do (one of the wall's own
commands, :mod:`compositor.control.commands`, limited to those that change what the
wall shows), when (``at``, a wall-clock instant), who asked and on which host. The
same order is the retained value of the part of the state it sets
(:func:`state_key`), so the broker's retained messages *are* the wall's state.
"""

from __future__ import annotations

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Health",
    "MessageRefused",
    "Order",
    "SharedCommand",
    "Topics",
    "command_of",
    "parse_health",
    "parse_order",
    "state_key",
]

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from compositor.control.commands import (
    ClearAlarm,
    ClearCallUp,
    ClearSolo,
    RaiseAlarm,
    SetCallUp,
    ShowPreset,
    Solo,
)
from compositor.layout.models import ID_PATTERN

MAX_MESSAGE_BYTES = 16 * 1024  # an order is ~400 bytes, a host's health under 4 KB
MAX_OUTPUTS = 256  # listed in one host's health
HostName = Annotated[str, Field(pattern=ID_PATTERN)]
OrderId = Annotated[str, Field(pattern=r"^[0-9a-f]{8,32}$")]
# Seconds since the epoch, from 2001 to 2286: a clock at 0 or in ms is refused, not obeyed.
WallInstant = Annotated[float, Field(gt=1e9, lt=1e10)]

# The commands an order carries: those that change what the wall shows. Reading
# commands stay on the host asked; reload and revert are about its own layout file.
SharedCommand = Annotated[
    ShowPreset | SetCallUp | ClearCallUp | Solo | ClearSolo | RaiseAlarm | ClearAlarm,
    Field(discriminator="command"),
]
SHARED_KINDS = frozenset(
    {"preset", "callup", "clear_callup", "solo", "clear_solo", "alarm", "clear_alarm"}
)


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Order(_Message):
    """A command for every host of the wall, to apply at ``at``."""

    v: Literal[1] = 1
    id: OrderId  # unique: a host that has it already ignores it
    origin: HostName  # the host that took it
    at: WallInstant  # when every host applies it (wall clock)
    taken: WallInstant  # when it was taken (wall clock)
    by: str = Field(min_length=1, max_length=64)  # a token's name, "cli"
    role: Literal["operator", "admin"]
    # A raised alarm's id, the same on every host (so any host can clear it).
    alarm_id: OrderId | None = None
    layout: str = Field(pattern=r"^[0-9a-f]{12}$")  # the taker's layout version
    command: SharedCommand

    @property
    def stamp(self) -> tuple[float, str, str]:
        """Orders compare by this: the instant, then the host and id (no two equal)."""
        return (self.at, self.origin, self.id)


class Health(_Message):
    """A host as it says it is; retained, ``offline`` by its last will."""

    v: Literal[1] = 1
    host: HostName
    state: Literal["online", "offline"]
    at: WallInstant  # when it was sent (the sender's wall clock)
    layout: str | None = Field(default=None, pattern=r"^[0-9a-f]{12}$")
    outputs: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        default_factory=list, max_length=MAX_OUTPUTS
    )
    outputs_up: int = Field(default=0, ge=0, le=MAX_OUTPUTS)
    cameras_live: int = Field(default=0, ge=0, le=100_000)
    cameras: int = Field(default=0, ge=0, le=100_000)
    api: str | None = Field(default=None, max_length=200)
    clock_synchronised: bool | None = None


class MessageRefused(ValueError):
    """A message that is not one of ours; the reason names no value."""


_M = TypeVar("_M", bound=_Message)


def _parse(model: type[_M], payload: bytes) -> _M:
    if len(payload) > MAX_MESSAGE_BYTES:
        raise MessageRefused(f"{len(payload)} bytes (at most {MAX_MESSAGE_BYTES})")
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise MessageRefused("not JSON (UTF-8 text)") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'message'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)[:3]
        )
        raise MessageRefused(fields) from None


def parse_order(payload: bytes) -> Order:
    return _parse(Order, payload)


def parse_health(payload: bytes) -> Health:
    return _parse(Health, payload)


_SHARED: TypeAdapter[SharedCommand] = TypeAdapter(SharedCommand)


def command_of(data: dict[str, Any]) -> SharedCommand:
    """A shared command from a plain dict (a replayed order's, its hold shortened)."""
    return _SHARED.validate_python(data)


def state_key(order: Order) -> str:
    """The part of the wall's state ``order`` sets: its retained topic under ``state/``."""
    command = order.command
    match command:
        case ShowPreset():
            return "preset"
        case SetCallUp() | ClearCallUp():
            return f"callup/{command.output}/{command.tile}"
        case Solo() | ClearSolo():
            return f"solo/{command.output}"
        case RaiseAlarm():
            return f"alarm/{order.alarm_id}"
        case ClearAlarm():
            return f"alarm/{command.id}"
    raise AssertionError(f"not a shared command: {command!r}")  # pragma: no cover


@dataclass(frozen=True)
class Topics:
    """The topics of one wall: ``videowall/<wall>/...``."""

    wall: str

    @property
    def prefix(self) -> str:
        return f"videowall/{self.wall}"

    @property
    def command(self) -> str:
        return f"{self.prefix}/command"

    def state(self, key: str) -> str:
        return f"{self.prefix}/state/{key}"

    @property
    def all_state(self) -> str:
        return f"{self.prefix}/state/#"

    def host(self, name: str) -> str:
        return f"{self.prefix}/host/{name}"

    @property
    def all_hosts(self) -> str:
        return f"{self.prefix}/host/+"

    def sync(self, client_id: str) -> str:
        return f"{self.prefix}/sync/{client_id}"

    def key_of(self, topic: str) -> str | None:
        """``.../state/preset`` -> ``preset``; None for another topic."""
        head = f"{self.prefix}/state/"
        return topic[len(head) :] if topic.startswith(head) else None

    def host_of(self, topic: str) -> str | None:
        head = f"{self.prefix}/host/"
        return topic[len(head) :] if topic.startswith(head) else None
