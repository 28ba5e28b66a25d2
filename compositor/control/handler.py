"""Carrying out the wall's commands, whichever way they came (control socket, HTTP API).

:class:`CommandHandler` is the one place that says what each command does: it
checks what the command names against the layout on the wall (an unknown camera is
a :class:`NotFoundError` naming the nearest ones, a tile past the output's names
the count), changes the operators' overrides or the preset through the live layout
(:class:`~compositor.live.reload.LiveLayout`, which applies them to the wall with
the same checks as any other arrangement), and writes each change, applied or
refused, to the audit log and the event stream (:class:`~compositor.live.journal.Journal`).

It runs on the render loop (between two frames), called by
:meth:`CommandInbox.drain <compositor.control.inbox.CommandInbox.drain>` or the
control socket; nothing here blocks.
"""

from __future__ import annotations

__all__ = ["CommandHandler", "Wall", "nearest"]

import difflib
import secrets
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from compositor.control.commands import (
    Actor,
    ClearAlarm,
    ClearCallUp,
    ClearSolo,
    Command,
    GetCameras,
    GetLayout,
    GetStatus,
    ListAlarms,
    ListPresets,
    RaiseAlarm,
    Reload,
    Revert,
    SetCallUp,
    ShowPreset,
    Solo,
)
from compositor.core.clock import Clock
from compositor.core.errors import CompositorError, NotFoundError, RefusedError
from compositor.layout.hints import nearest_known
from compositor.layout.models import Layout, OutputConfig
from compositor.layout.places import screen_places, wall_extent
from compositor.live.journal import Journal
from compositor.live.operator import Alarm, CallUp, OperatorState, tile_count, tile_name
from compositor.live.operator import Solo as SoloView
from compositor.live.reload import LiveLayout, revert_layout

Reply = dict[str, Any]


class Wall(Protocol):
    """What the handler needs of the running wall (``WallApp`` is one)."""

    @property
    def output_ids(self) -> list[str]:
        """The outputs this wall shows (all of the layout's, or those of --outputs)."""
        ...

    def status(self) -> dict[str, Any]:
        """What status.json says."""
        ...

    def camera_report(self) -> list[dict[str, Any]]:
        """Every camera of the layout: state, reason, frames, frame ages, where shown."""
        ...

    def status_changed(self) -> None:
        """Write the status file now (not at its next second)."""
        ...

    def layout_changed(self, outcome: str) -> None:
        """A preset was chosen (or refused): counted for the metrics."""
        ...


def nearest(word: str, known: Iterable[str], count: int = 3) -> list[str]:
    """The known names ``word`` most likely mistypes, the likeliest first."""
    known = list(known)
    found = difflib.get_close_matches(word, known, n=count, cutoff=0.6)
    best = nearest_known(word, known)
    if best is not None:
        found = [best, *(k for k in found if k != best)]
    return found[:count]


def _alarm_id() -> str:
    # Short and not guessable from the last one: ids do not repeat across wall restarts.
    return secrets.token_hex(4)


class CommandHandler:
    """Carries out commands on ``wall`` through ``live``; audits and publishes each change."""

    def __init__(
        self,
        wall: Wall,
        live: LiveLayout,
        journal: Journal,
        clock: Clock,
        new_alarm_id: Callable[[], str] = _alarm_id,
    ) -> None:
        self._wall = wall
        self._live = live
        self._journal = journal
        self._clock = clock
        self._new_alarm_id = new_alarm_id

    def handle(self, command: Command, actor: Actor) -> Reply:
        """The reply to ``command`` (a JSON object); CompositorError if it cannot be done."""
        match command:
            case GetStatus():
                return {"status": self._wall.status()}
            case GetLayout():
                return self._layout()
            case GetCameras():
                return {"cameras": self._wall.camera_report()}
            case ListPresets():
                return {"presets": self._live.presets, "preset": self._live.preset}
            case ListAlarms():
                return self._alarms()
            case ShowPreset():
                return self._preset(command, actor)
            case Reload():
                self._live.request_reload("reload request")
                self._journal.change("reload", actor.name, actor.role.label, result="requested")
                return {"message": "reload requested"}
            case Revert():
                return self._revert(actor)
            case SetCallUp():
                return self._callup(command, actor)
            case ClearCallUp():
                return self._clear_callup(command, actor)
            case Solo():
                return self._solo(command, actor)
            case ClearSolo():
                return self._clear_solo(command, actor)
            case RaiseAlarm():
                return self._raise_alarm(command, actor)
            case ClearAlarm():
                return self._clear_alarm(command, actor)
        raise CompositorError(f"unknown command {command!r}")  # pragma: no cover: all matched

    # -- what the wall shows -------------------------------------------------------------

    def _layout(self) -> Reply:
        """Outputs where they hang, each tile with what the layout and the overrides put on
        it: enough to draw the wall and click a tile (the control page)."""
        live = self._live
        base = live.arranged_base
        operator = live.operator
        arranged = operator.arrange(base)
        places = screen_places(base)
        width, height = wall_extent(base, places)
        shown = set(self._wall.output_ids)
        outputs = []
        for output in base.outputs:
            place = places[output.id]
            on_wall = next(o for o in arranged.outputs if o.id == output.id)
            solo = operator.solos.get(output.id)
            placed = output.placed_tiles(base.labels)
            shows = _numbered(on_wall) if solo is None else [solo.camera] * len(placed)
            tiles = []
            for tile, now_tile in zip(placed, shows, strict=False):
                ref = (output.id, tile.number)
                callup = operator.callups.get(ref)
                alarm = operator.alarm_on(ref)
                tiles.append(
                    {
                        "number": tile.number,
                        "tile": tile_name(ref),
                        "rect": [tile.rect.x, tile.rect.y, tile.rect.w, tile.rect.h],
                        "kind": tile.kind,
                        "cameras": list(tile.cameras),
                        "shows": now_tile,
                        "callup": callup.camera if callup else None,
                        "alarm": alarm.id if alarm else None,
                    }
                )
            outputs.append(
                {
                    "id": output.id,
                    "size": list(output.size),
                    "place": [place.x, place.y, place.w, place.h],
                    "shown": output.id in shown,
                    "solo": solo.camera if solo else None,
                    "tiles": tiles,
                }
            )
        return {
            "layout": str(live.path),
            "preset": live.preset,
            "presets": live.presets,
            "wall": {"size": [width, height], "bezels": base.wall is not None},
            "outputs": outputs,
            "cameras": [
                {"id": camera_id, "name": base.camera_name(camera_id)} for camera_id in base.cameras
            ],
            "alarm_tiles": list(base.alarms.tiles) if base.alarms else [],
            **operator.describe(self._clock.now(), self._clock.wall_time()),
        }

    def _alarms(self) -> Reply:
        base = self._live.arranged_base
        described = self._live.operator.describe(self._clock.now(), self._clock.wall_time())
        return {
            "alarms": described["alarms"],
            "alarm_tiles": list(base.alarms.tiles) if base.alarms else [],
            "min_hold_s": base.alarms.min_hold_s if base.alarms else None,
        }

    # -- checks ------------------------------------------------------------------------

    def _output(self, layout: Layout, output_id: str) -> OutputConfig:
        shown = self._wall.output_ids
        output = next((o for o in layout.outputs if o.id == output_id), None)
        if output is None or output_id not in shown:
            close = nearest(output_id, shown)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise NotFoundError(
                f"unknown output {output_id!r}{hint}; the wall shows {', '.join(shown)}",
                nearest=close,
                outputs=list(shown),
            )
        return output

    def _tile(self, layout: Layout, output_id: str, number: int) -> OutputConfig:
        output = self._output(layout, output_id)
        count = tile_count(output)
        if number > count:
            raise NotFoundError(
                f"output {output_id} has {count} tile(s) (numbered 1 to {count} in the "
                f"layout's order): there is no tile {number}",
                tiles=count,
            )
        return output

    def _camera(self, layout: Layout, camera_id: str) -> None:
        if camera_id not in layout.cameras:
            close = nearest(camera_id, layout.cameras)
            hint = f"did you mean {', '.join(close)}?" if close else "see GET /api/cameras"
            raise NotFoundError(
                f"unknown camera {camera_id!r} ({hint}); the layout has "
                f"{len(layout.cameras)} cameras",
                nearest=close,
            )

    def _until(self, hold_s: float | None, now: float) -> float | None:
        return None if hold_s is None else now + hold_s

    # -- changes -------------------------------------------------------------------------

    def _change(
        self,
        action: str,
        actor: Actor,
        state: OperatorState,
        target: str,
        before: str | None,
        after: str | None,
        **detail: Any,
    ) -> str:
        """Show ``state`` on the wall; audit and publish it, applied or refused."""
        who = (actor.name, actor.role.label)
        try:
            message, _ = self._live.show_operator(state)
        except CompositorError as exc:
            self._journal.change(
                action,
                *who,
                target=target,
                before=before,
                after=after,
                result="refused",
                reason=str(exc),
                **detail,
            )
            raise RefusedError(f"{action} {target} refused: {exc}") from None
        self._journal.change(
            action, *who, target=target, before=before, after=after, result="applied", **detail
        )
        self._wall.status_changed()
        return message

    def _shown_on(self, output_id: str, number: int) -> str:
        arranged = self._live.operator.arrange(self._live.arranged_base)
        output = next(o for o in arranged.outputs if o.id == output_id)
        shows = _numbered(output)
        return shows[number - 1] if number <= len(shows) else "nothing"

    def _callup(self, command: SetCallUp, actor: Actor) -> Reply:
        base = self._live.arranged_base
        self._tile(base, command.output, command.tile)
        self._camera(base, command.camera)
        now = self._clock.now()
        callup = CallUp(
            command.output,
            command.tile,
            command.camera,
            actor.name,
            now,
            self._until(command.hold_s, now),
        )
        target = f"{command.output}.{command.tile}"
        before = self._shown_on(command.output, command.tile)
        state = self._live.operator.with_callup(callup)
        message = self._change(
            "callup.set", actor, state, target, before, command.camera, hold_s=command.hold_s
        )
        return {"message": f"{target}: {command.camera} ({message})", "tile": target}

    def _clear_callup(self, command: ClearCallUp, actor: Actor) -> Reply:
        base = self._live.arranged_base
        self._tile(base, command.output, command.tile)
        target = f"{command.output}.{command.tile}"
        before = self._shown_on(command.output, command.tile)
        state = self._live.operator.without_callup(command.output, command.tile)
        message = self._change("callup.clear", actor, state, target, before, None)
        after = self._shown_on(command.output, command.tile)
        return {"message": f"{target}: back to the layout ({after}; {message})", "tile": target}

    def _solo(self, command: Solo, actor: Actor) -> Reply:
        base = self._live.arranged_base
        self._output(base, command.output)
        self._camera(base, command.camera)
        now = self._clock.now()
        solo = SoloView(
            command.output, command.camera, actor.name, now, self._until(command.hold_s, now)
        )
        previous = self._live.operator.solos.get(command.output)
        state = self._live.operator.with_solo(solo)
        message = self._change(
            "solo.set",
            actor,
            state,
            command.output,
            previous.camera if previous else "tiles",
            command.camera,
            hold_s=command.hold_s,
        )
        return {"message": f"{command.output}: {command.camera} alone ({message})"}

    def _clear_solo(self, command: ClearSolo, actor: Actor) -> Reply:
        self._output(self._live.arranged_base, command.output)
        before = self._live.operator.solos.get(command.output)
        state = self._live.operator.without_solo(command.output)
        message = self._change(
            "solo.clear",
            actor,
            state,
            command.output,
            before.camera if before else None,
            "tiles",
        )
        return {"message": f"{command.output}: its tiles again ({message})"}

    def _raise_alarm(self, command: RaiseAlarm, actor: Actor) -> Reply:
        base = self._live.arranged_base
        if base.alarms is None:
            raise RefusedError(
                "the layout has no alarm tiles: add an `alarms:` section naming them "
                "(alarms: {tiles: [A1.1], min_hold_s: 10}) to show alarms"
            )
        self._camera(base, command.camera)
        now = self._clock.now()
        alarm = Alarm(
            self._new_alarm_id(),
            command.camera,
            command.priority,
            command.title,
            actor.name,
            now,
            self._clock.wall_time(),
            now + command.ttl_s,
        )
        state = self._live.operator.with_alarm(alarm)
        self._change(
            "alarm.raise",
            actor,
            state,
            alarm.id,
            None,
            command.camera,
            priority=command.priority,
            ttl_s=command.ttl_s,
            title=command.title,
        )
        tile = next(
            (
                tile_name(ref)
                for ref, on in self._live.operator.showing.items()
                if on.alarm == alarm.id
            ),
            None,
        )
        shown = f"on {tile}" if tile else "waiting for a tile (more urgent alarms are shown)"
        return {
            "id": alarm.id,
            "tile": tile,
            "message": f"alarm {alarm.id} ({command.camera}, priority {command.priority}): {shown}",
        }

    def _clear_alarm(self, command: ClearAlarm, actor: Actor) -> Reply:
        alarm = self._live.operator.alarms.get(command.id)
        state = self._live.operator.without_alarm(command.id)
        self._change("alarm.clear", actor, state, command.id, alarm.camera if alarm else None, None)
        return {"message": f"alarm {command.id} cleared"}

    def _preset(self, command: ShowPreset, actor: Actor) -> Reply:
        live = self._live
        before = live.preset
        try:
            result = live.select_preset(command.name)
        except NotFoundError:
            raise
        except CompositorError as exc:
            self._wall.layout_changed("refused")
            self._journal.change(
                "preset",
                actor.name,
                actor.role.label,
                before=before,
                after=command.name,
                result="refused",
                reason=str(exc),
            )
            raise RefusedError(f"preset {command.name or '(default)'} refused: {exc}") from None
        self._wall.layout_changed(result.outcome)
        self._journal.change(
            "preset",
            actor.name,
            actor.role.label,
            before=before,
            after=command.name,
            result="applied",
            message=result.message,
        )
        self._wall.status_changed()
        return {"message": result.message, "preset": live.preset}

    def _revert(self, actor: Actor) -> Reply:
        live = self._live
        try:
            entry = revert_layout(live.path, live.history)
        except CompositorError as exc:
            self._journal.change(
                "revert", actor.name, actor.role.label, result="refused", reason=str(exc)
            )
            raise RefusedError(str(exc)) from None
        except OSError as exc:
            self._journal.change(
                "revert", actor.name, actor.role.label, result="refused", reason=str(exc)
            )
            raise RefusedError(f"cannot write {live.path}: {exc.strerror or exc}") from None
        live.request_reload("revert")
        self._journal.change(
            "revert",
            actor.name,
            actor.role.label,
            target=str(live.path),
            after=str(entry.path),
            result="applied",
        )
        return {
            "message": f"restored {live.path} to the version applied at {entry.applied_at}; "
            "the wall applies it within a second",
        }


def _numbered(output: OutputConfig) -> Sequence[str]:
    """What each of ``output``'s tiles shows, in order: a camera id, or its kind."""
    shows = []
    for tile in output.tiles[: tile_count(output)]:
        if tile.camera is not None:
            shows.append(tile.camera)
        elif tile.tour is not None:
            shows.append("tour " + ", ".join(tile.tour))
        else:
            shows.append(tile.kind)
    return shows
