"""How each camera of the running wall is doing, as the wall judges it, and who hears of it.

The decoders publish what they do (connecting, live, retrying, the frames'
timing) in the status board; :class:`CameraWatch` turns that into each
camera's state (live, delayed, stalled, connecting, retrying, stopped: the
rules are :func:`compositor.compose.health.assess`), the notice its tiles
show, a log line and an event when a state changes, a line when a camera
starts or stops giving up frames, and the wall's one-line summary. Its tables
hold the cameras of the layout on the wall, no more: the wall runs for months.
"""

from __future__ import annotations

__all__ = ["DECODING", "CameraWatch"]

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from compositor.compose.health import assess
from compositor.compose.notice import TileNotice
from compositor.slots import CameraStatus

log = logging.getLogger("compositor.app")  # the wall's own lines, under its usual name

# What a camera decodes, by its skip level (sources/budget.py), in status.json and the log.
DECODING = ("every frame", "reference frames only")


class CameraWatch:
    """The cameras' states and notices; :meth:`refresh` a few times a second."""

    def __init__(
        self,
        publish: Callable[[str, dict[str, Any]], None],
        observe: Callable[[str, CameraStatus], None] | None = None,
    ) -> None:
        self._publish = publish  # an event: the API's event stream
        self._observe = observe  # each status read, for the metrics' reconnect counts
        self.states: dict[str, str] = {}
        self.notices: dict[str, TileNotice | None] = {}
        self._skipping: dict[str, int] = {}  # skip levels, as last logged

    def state(self, camera_id: str) -> str:
        return self.states.get(camera_id, "starting")

    def refresh(
        self,
        statuses: Mapping[str, CameraStatus],
        name: Callable[[str], str],
        now: float,
        wall_now: float,
    ) -> None:
        """Judge every camera of ``statuses`` (its decoder's status, secrets hidden)."""
        notices = {}
        for camera_id, status in statuses.items():
            health = assess(name(camera_id), status, now, wall_now)
            self._note_skipping(camera_id, name(camera_id), status.skipping)
            if self._observe is not None:
                self._observe(camera_id, status)
            notices[camera_id] = health.notice
            if self.states.get(camera_id) != health.state:
                self.states[camera_id] = health.state
                self._publish(
                    "camera", {"camera": camera_id, "state": health.state, "reason": status.reason}
                )
                detail = status.reason
                log.log(
                    logging.INFO if health.state in ("live", "connecting") else logging.WARNING,
                    "camera %s (%s): %s%s",
                    camera_id,
                    name(camera_id),
                    health.state,
                    f" ({detail})" if detail and health.state != "live" else "",
                )
        self.notices = notices

    def forget(self, keep: Iterable[str]) -> None:
        """Only the cameras of ``keep`` (those still decoded) are kept in the tables."""
        kept = set(keep)
        for table in (self.states, self._skipping):
            for camera_id in set(table) - kept:
                del table[camera_id]

    def summary(self) -> str:
        """``12 live; 2 retrying (cam03, cam07)``: the wall in one line."""
        counts: dict[str, list[str]] = {}
        for camera_id, state in self.states.items():
            counts.setdefault(state, []).append(camera_id)
        return "; ".join(
            f"{len(ids)} {state}" + ("" if state == "live" else f" ({', '.join(ids)})")
            for state, ids in sorted(counts.items())
        )

    def _note_skipping(self, camera_id: str, name: str, level: int) -> None:
        """Say when a camera gives up frames because the host is behind, and when it stops."""
        before = self._skipping.get(camera_id, 0)
        if level != before:
            self._skipping[camera_id] = level
            log.log(
                logging.WARNING if level > before else logging.INFO,
                "camera %s (%s): %s%s",
                camera_id,
                name,
                "decoding " + DECODING[min(level, len(DECODING) - 1)],
                " (the host cannot keep up: small tiles give up frames first)"
                if level > before
                else "",
            )
