"""What operators put on the wall over the layout: call-ups, solos and alarms.

One more arrangement on top of the preset::

    layout file -> preset -> operator overrides -> WallApp.apply_layout

so what an operator does is checked, applied and kept like any other arrangement:
cameras that stay keep their decoders, tiles that do not move keep their pictures.

- A **call-up** puts a camera on one tile (``A1.2``: output A1, its second tile in
  the layout's order) until it is cleared, a preset is chosen, or its hold runs out.
- A **solo** shows one camera on a whole output (no spanning picture reaches it).
- An **alarm** brings a camera onto the layout's alarm tiles (its ``alarms:``
  section): the most urgent first (priority 1 before 9, then the oldest), the rest
  waiting. An alarm on a tile stays there at least ``min_hold_s`` (even past its
  ``ttl_s``) before a more urgent one may take the tile, so a burst of alarms does
  not make the wall flicker; an operator's clear takes it off at once.

Precedence on one tile: a solo covers its whole output; an alarm covers a call-up,
which comes back when the alarm leaves.

Pure: an :class:`OperatorState` is immutable, every change returns a new one, and
time comes in as arguments (the wall's injected clock), so all of it is tested
without a wall.
"""

from __future__ import annotations

__all__ = [
    "MAX_ALARMS",
    "Alarm",
    "CallUp",
    "Note",
    "OnTile",
    "OperatorState",
    "Solo",
    "TileRef",
    "tile_count",
    "tile_name",
]

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from compositor.core.clock import local_iso
from compositor.core.errors import NotFoundError, RefusedError
from compositor.layout.models import Layout, OutputConfig, TileConfig

TileRef = tuple[str, int]  # output id, tile number from 1
MAX_ALARMS = 200  # alarms shown and waiting; past this, new ones are refused, not queued


def tile_name(ref: TileRef) -> str:
    return f"{ref[0]}.{ref[1]}"


@dataclass(frozen=True, slots=True)
class CallUp:
    output: str
    tile: int
    camera: str
    by: str  # who asked: a token's name, "cli"
    since: float  # monotonic
    until: float | None  # monotonic; None: until cleared


@dataclass(frozen=True, slots=True)
class Solo:
    output: str
    camera: str
    by: str
    since: float
    until: float | None


@dataclass(frozen=True, slots=True)
class Alarm:
    id: str
    camera: str
    priority: int  # 1 (most urgent) .. 9
    title: str
    by: str
    raised_at: float  # monotonic
    raised_wall: float  # seconds since the epoch, for people
    expires_at: float  # monotonic: raised_at + ttl_s

    @property
    def rank(self) -> tuple[int, float, str]:
        """Sorts the most urgent first: priority, then the oldest."""
        return (self.priority, self.raised_at, self.id)


@dataclass(frozen=True, slots=True)
class OnTile:
    alarm: str  # its id
    since: float  # monotonic: when it took the tile


@dataclass(frozen=True, slots=True)
class Note:
    """Something the state did by itself (a hold ran out, an alarm took a tile), or an
    override a new layout has no place for; for the audit log and the event stream."""

    action: str  # "callup.ended", "callup.dropped", "alarm.shown", ...
    target: str  # "A1.2", an alarm's id, an output
    before: str | None = None
    after: str | None = None
    reason: str = ""
    audit: bool = True  # False: only worth an event (an alarm moving between tiles)


def _camera_tile(original: TileConfig, camera: str) -> TileConfig:
    """``camera`` where ``original`` was: its rectangle, fit and label style kept."""
    return TileConfig(
        camera=camera,
        rect=original.rect,
        fit=original.fit,
        label=original.label if original.cameras else None,
    )


def _what(tile: TileConfig) -> str:
    """A tile as the audit log says it: its camera, or its kind."""
    if tile.camera is not None:
        return tile.camera
    if tile.tour is not None:
        return "tour " + ",".join(tile.tour)
    return tile.kind


@dataclass(frozen=True)
class OperatorState:
    """Call-ups by tile, solos by output, alarms by id, and which alarm is on which tile.

    Never changed in place: each method returns a new state.
    """

    callups: Mapping[TileRef, CallUp] = field(default_factory=dict)
    solos: Mapping[str, Solo] = field(default_factory=dict)
    alarms: Mapping[str, Alarm] = field(default_factory=dict)
    showing: Mapping[TileRef, OnTile] = field(default_factory=dict)

    # -- changes ---------------------------------------------------------------------------

    def with_callup(self, callup: CallUp) -> OperatorState:
        return replace(self, callups={**self.callups, (callup.output, callup.tile): callup})

    def without_callup(self, output: str, tile: int) -> OperatorState:
        if (output, tile) not in self.callups:
            held = ", ".join(tile_name(ref) for ref in self.callups) or "none"
            raise NotFoundError(f"tile {output}.{tile} has no call-up (call-ups: {held})")
        return replace(
            self, callups={ref: c for ref, c in self.callups.items() if ref != (output, tile)}
        )

    def with_solo(self, solo: Solo) -> OperatorState:
        return replace(self, solos={**self.solos, solo.output: solo})

    def without_solo(self, output: str) -> OperatorState:
        if output not in self.solos:
            held = ", ".join(self.solos) or "none"
            raise NotFoundError(f"output {output} shows no solo (solos: {held})")
        return replace(self, solos={o: s for o, s in self.solos.items() if o != output})

    def without_views(self) -> OperatorState:
        """No call-ups and no solos (a preset was chosen); alarms stay."""
        return replace(self, callups={}, solos={})

    def with_alarm(self, alarm: Alarm) -> OperatorState:
        if len(self.alarms) >= MAX_ALARMS:
            raise RefusedError(
                f"{len(self.alarms)} alarms are shown or waiting already: clear some first"
            )
        return replace(self, alarms={**self.alarms, alarm.id: alarm})

    def without_alarm(self, alarm_id: str) -> OperatorState:
        if alarm_id not in self.alarms:
            known = ", ".join(self.alarms) or "none"
            raise NotFoundError(f"no alarm {alarm_id!r} (alarms: {known})")
        return replace(
            self,
            alarms={i: a for i, a in self.alarms.items() if i != alarm_id},
            showing={t: on for t, on in self.showing.items() if on.alarm != alarm_id},
        )

    # -- time and the layout ---------------------------------------------------------------

    def settled(
        self, layout: Layout, now: float, outputs: Iterable[str] | None = None
    ) -> tuple[OperatorState, list[Note]]:
        """This state on ``layout`` (the preset's arrangement) at ``now``: overrides the
        layout has no room for dropped, holds and alarms that ran out ended, alarm tiles
        given to the most urgent alarms. ``outputs``: those the wall shows (None: all).
        """
        shown = {o.id: o for o in layout.outputs if outputs is None or o.id in set(outputs)}
        notes: list[Note] = []
        callups: dict[TileRef, CallUp] = {}
        for ref, callup in self.callups.items():
            reason = _no_room(shown, layout, callup.output, callup.tile, callup.camera)
            if reason:
                notes.append(Note("callup.dropped", tile_name(ref), callup.camera, None, reason))
            elif callup.until is not None and callup.until <= now:
                held = f"held {callup.until - callup.since:g} s"
                notes.append(Note("callup.ended", tile_name(ref), callup.camera, None, held))
            else:
                callups[ref] = callup
        solos: dict[str, Solo] = {}
        for output_id, solo in self.solos.items():
            reason = _no_room(shown, layout, output_id, None, solo.camera)
            if reason:
                notes.append(Note("solo.dropped", output_id, solo.camera, None, reason))
            elif solo.until is not None and solo.until <= now:
                held = f"held {solo.until - solo.since:g} s"
                notes.append(Note("solo.ended", output_id, solo.camera, None, held))
            else:
                solos[output_id] = solo
        hold = layout.alarms.min_hold_s if layout.alarms is not None else 0.0
        alarms: dict[str, Alarm] = {}
        on_tile = {on.alarm: on for on in self.showing.values()}
        for alarm_id, alarm in self.alarms.items():
            if alarm.camera not in layout.cameras:
                reason = f"camera {alarm.camera} is no longer in the layout"
                notes.append(Note("alarm.dropped", alarm_id, alarm.camera, None, reason))
                continue
            shown_since = on_tile[alarm_id].since if alarm_id in on_tile else None
            held_enough = shown_since is None or now - shown_since >= hold
            if alarm.expires_at <= now and held_enough:
                ttl = f"ttl {alarm.expires_at - alarm.raised_at:g} s over"
                notes.append(Note("alarm.expired", alarm_id, alarm.camera, None, ttl))
                continue
            alarms[alarm_id] = alarm
        state = replace(self, callups=callups, solos=solos, alarms=alarms)
        showing, moved = state._assign(_alarm_tiles(layout, shown, solos), now, hold)
        state = replace(state, showing=showing)
        return state, notes + moved

    def _assign(
        self, tiles: list[TileRef], now: float, hold: float
    ) -> tuple[dict[TileRef, OnTile], list[Note]]:
        """Alarm tiles to the most urgent alarms, each kept at least ``hold`` seconds."""
        alarms = self.alarms
        showing = {
            ref: on for ref, on in self.showing.items() if ref in tiles and on.alarm in alarms
        }
        notes: list[Note] = []
        taken = {on.alarm for on in showing.values()}
        waiting = sorted((a for a in alarms.values() if a.id not in taken), key=lambda a: a.rank)
        for ref in tiles:
            if ref not in showing and waiting:
                alarm = waiting.pop(0)
                showing[ref] = OnTile(alarm.id, now)
                notes.append(Note("alarm.shown", alarm.id, None, tile_name(ref), audit=False))
        # A more urgent alarm takes the tile of the least urgent one whose hold is over;
        # that one waits again. Choosing the least urgent means no chain of moves.
        for alarm in list(waiting):
            candidates = [
                (ref, on)
                for ref, on in showing.items()
                if now - on.since >= hold and alarms[on.alarm].priority > alarm.priority
            ]
            if not candidates:
                break  # the alarms after this one are less urgent: none takes a tile either
            ref, on = max(candidates, key=lambda item: alarms[item[1].alarm].rank)
            showing[ref] = OnTile(alarm.id, now)
            waiting.remove(alarm)
            notes.append(Note("alarm.shown", alarm.id, None, tile_name(ref), audit=False))
            notes.append(
                Note("alarm.queued", on.alarm, tile_name(ref), None, f"{alarm.id} is more urgent")
            )
        return showing, notes

    def next_deadline(self, layout: Layout, now: float) -> float | None:
        """The next moment after ``now`` when :meth:`settled` may change something."""
        hold = layout.alarms.min_hold_s if layout.alarms is not None else 0.0
        moments = [c.until for c in self.callups.values() if c.until is not None]
        moments += [s.until for s in self.solos.values() if s.until is not None]
        on_tile = {on.alarm: on for on in self.showing.values()}
        for alarm in self.alarms.values():
            shown = on_tile.get(alarm.id)
            moments.append(max(alarm.expires_at, shown.since + hold if shown else 0.0))
        if len(on_tile) < len(self.alarms):  # some wait: a tile's hold ending may free it
            moments += [on.since + hold for on in self.showing.values()]
        future = [m for m in moments if m > now]
        return min(future) if future else None

    def arrange(self, layout: Layout) -> Layout:
        """``layout`` with these overrides: call-ups, alarms over them, solos over all."""
        if not (self.callups or self.solos or self.showing):
            return layout
        by_output: dict[str, dict[int, str]] = {}
        for (output_id, number), callup in self.callups.items():
            by_output.setdefault(output_id, {})[number] = callup.camera
        for (output_id, number), on in self.showing.items():
            by_output.setdefault(output_id, {})[number] = self.alarms[on.alarm].camera
        outputs: list[OutputConfig] = []
        for output in layout.outputs:
            solo = self.solos.get(output.id)
            if solo is not None:
                output = output.model_copy(
                    update={"grid": "1x1", "tiles": [TileConfig(camera=solo.camera)]}
                )
            elif output.id in by_output:
                tiles = list(output.tiles)
                for number, camera in by_output[output.id].items():
                    if number <= len(tiles):
                        tiles[number - 1] = _camera_tile(tiles[number - 1], camera)
                output = output.model_copy(update={"tiles": tiles})
            outputs.append(output)
        arranged = layout.model_copy(update={"outputs": outputs})
        return arranged.alone_on(frozenset(self.solos)) if self.solos else arranged

    # -- what it shows -------------------------------------------------------------------

    def alarm_on(self, ref: TileRef) -> Alarm | None:
        on = self.showing.get(ref)
        return self.alarms.get(on.alarm) if on is not None else None

    def describe(self, now: float, wall_now: float) -> dict[str, Any]:
        """For the status file and the API: every override, with times people read."""

        def when(moment: float) -> str:
            return local_iso(wall_now - (now - moment))

        def left(until: float | None) -> float | None:
            return None if until is None else round(max(0.0, until - now), 1)

        tile_of = {on.alarm: tile_name(ref) for ref, on in self.showing.items()}
        return {
            "callups": [
                {
                    "tile": tile_name(ref),
                    "output": c.output,
                    "number": c.tile,
                    "camera": c.camera,
                    "by": c.by,
                    "since": when(c.since),
                    "hold_left_s": left(c.until),
                }
                for ref, c in sorted(self.callups.items())
            ],
            "solos": [
                {
                    "output": s.output,
                    "camera": s.camera,
                    "by": s.by,
                    "since": when(s.since),
                    "hold_left_s": left(s.until),
                }
                for _, s in sorted(self.solos.items())
            ],
            "alarms": [
                {
                    "id": a.id,
                    "camera": a.camera,
                    "priority": a.priority,
                    "title": a.title,
                    "by": a.by,
                    "raised_at": local_iso(a.raised_wall),
                    "age_s": round(now - a.raised_at, 1),
                    "ttl_left_s": round(max(0.0, a.expires_at - now), 1),
                    "tile": tile_of.get(a.id),  # None: waiting for a tile
                }
                for a in sorted(self.alarms.values(), key=lambda a: a.rank)
            ],
        }


def tile_count(output: OutputConfig) -> int:
    """How many tiles an output has, numbered from 1 in the layout's order."""
    shape = output.grid_shape
    return min(len(output.tiles), shape[0] * shape[1]) if shape else len(output.tiles)


def _no_room(
    shown: Mapping[str, OutputConfig],
    layout: Layout,
    output_id: str,
    tile: int | None,
    camera: str,
) -> str:
    """Why an override of ``output_id`` (tile ``tile``) with ``camera`` cannot stay, or ""."""
    output = shown.get(output_id)
    if output is None:
        return f"output {output_id} is no longer on the wall"
    if tile is not None and tile > tile_count(output):
        return f"output {output_id} has {tile_count(output)} tile(s) now"
    if camera not in layout.cameras:
        return f"camera {camera} is no longer in the layout"
    return ""


def _alarm_tiles(
    layout: Layout, shown: Mapping[str, OutputConfig], solos: Mapping[str, Solo]
) -> list[TileRef]:
    """The alarm tiles this arrangement has (a preset may have fewer; a solo hides them)."""
    if layout.alarms is None:
        return []
    return [
        (output_id, number)
        for output_id, number in layout.alarms.tile_refs()
        if output_id in shown and output_id not in solos and number <= tile_count(shown[output_id])
    ]
