"""The monitors of the X server, by connector name, and which output goes where.

Read with ``xrandr --listmonitors`` (a cheap query: it does not make the
driver probe its outputs), so watching for a screen that disappears costs
the render loop nothing: a background thread polls, the loop compares.
No pyglet here: ``videowall screens`` and layout validation use this too.
"""

from __future__ import annotations

__all__ = [
    "Monitor",
    "MonitorWatcher",
    "OutputPlacement",
    "ask_monitors",
    "assign_monitors",
    "parse_listmonitors",
    "query_monitors",
]

import os
import re
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from compositor.core.errors import CompositorError, DisplayError

# " 0: +*DUMMY0 480/127x270/71+0+0  DUMMY0": flags (+ active, * primary), name,
# width/mm x height/mm + x + y, then the output (connector) name.
_MONITOR_LINE = re.compile(
    r"^\s*\d+:\s+(?P<flags>[+*]*)(?P<name>\S+)\s+(?P<w>\d+)/\d+x(?P<h>\d+)/\d+"
    r"\+(?P<x>-?\d+)\+(?P<y>-?\d+)(?:\s+(?P<output>\S+))?"
)


@dataclass(frozen=True, slots=True)
class Monitor:
    name: str  # the RandR connector ("DP-1", "HDMI-A-2", "DUMMY3")
    x: int
    y: int
    width: int
    height: int
    primary: bool = False

    def describe(self) -> str:
        primary = "  primary" if self.primary else ""
        return f"{self.name:<10} {self.width}x{self.height}+{self.x}+{self.y}{primary}"


def parse_listmonitors(text: str) -> list[Monitor]:
    """Monitors from ``xrandr --listmonitors`` output, left to right, top to bottom."""
    found = []
    for line in text.splitlines():
        match = _MONITOR_LINE.match(line)
        if match:
            found.append(
                Monitor(
                    match["output"] or match["name"],
                    int(match["x"]),
                    int(match["y"]),
                    int(match["w"]),
                    int(match["h"]),
                    "*" in match["flags"],
                )
            )
    return sorted(found, key=lambda m: (m.y, m.x))


def query_monitors(display_name: str | None = None, timeout: float = 5.0) -> list[Monitor]:
    """Ask the X server for its monitors; DisplayError if it cannot be asked."""
    command = ["xrandr", "--listmonitors"]
    if display_name:
        command[1:1] = ["-display", display_name]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except FileNotFoundError:
        raise DisplayError("xrandr is not installed (Debian package x11-xserver-utils)") from None
    except subprocess.TimeoutExpired:
        raise DisplayError(f"xrandr did not answer within {timeout:g} s") from None
    if result.returncode != 0:
        shown = display_name or "$DISPLAY"
        detail = result.stderr.strip().splitlines()[-1:] or ["no reason given"]
        raise DisplayError(f"cannot list the monitors of X display {shown!r}: {detail[0]}")
    return parse_listmonitors(result.stdout)


@dataclass(frozen=True, slots=True)
class OutputPlacement:
    output_id: str
    wanted: str | int | None  # what the layout asked for
    monitor: Monitor | None  # where it goes; None: no such monitor (or none free)


def assign_monitors(
    outputs: Sequence[tuple[str, str | int | None]], monitors: Sequence[Monitor]
) -> list[OutputPlacement]:
    """Place each ``(output id, monitor wanted)``: by connector name or index, and
    outputs that name none take the remaining monitors in position order."""
    by_name = {m.name: m for m in monitors}
    taken: set[str] = set()
    chosen: dict[str, Monitor | None] = {}
    for output_id, wanted in outputs:
        monitor: Monitor | None = None
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            monitor = monitors[wanted] if 0 <= wanted < len(monitors) else None
        elif isinstance(wanted, str):
            monitor = by_name.get(wanted)
        if monitor is not None:
            taken.add(monitor.name)
        chosen[output_id] = monitor
    free = [m for m in monitors if m.name not in taken]
    for output_id, wanted in outputs:
        if wanted is None and free:
            chosen[output_id] = free.pop(0)
    return [OutputPlacement(o, wanted, chosen[o]) for o, wanted in outputs]


class MonitorWatcher:
    """Polls the monitor list in a thread; ``latest`` is the newest answer (None if none yet)."""

    def __init__(self, display_name: str | None, every: float = 1.0) -> None:
        self._display_name = display_name
        self._every = every
        self._stop = threading.Event()
        self.latest: tuple[Monitor, ...] | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._poll, name="monitor-watch", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.latest = tuple(query_monitors(self._display_name))
                self.error = None
            except DisplayError as exc:
                self.error = str(exc)  # keep the last good list: do not close screens on a hiccup
            self._stop.wait(self._every)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=6.0)


def ask_monitors(display_name: str | None) -> tuple[list[str] | None, str]:
    """The X server's monitors' connector names, or None and why they could not be asked.

    For ``videowall validate``, which needs no screen: a failure is a note, not an error.
    """
    if not (display_name or os.environ.get("DISPLAY")):
        return None, "no X display to ask"
    try:
        return [monitor.name for monitor in query_monitors(display_name)], ""
    except CompositorError as exc:
        return None, str(exc)
