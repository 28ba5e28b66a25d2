"""The running wall's status file, ``<state dir>/status.json``, and how it is printed.

Written about once a second by the render loop (atomically: a reader never
sees half a file), read by ``videowall status``, monitoring scripts and the
tests. URLs in it are redacted (``rtsp://user:***@host/...``).
"""

from __future__ import annotations

__all__ = [
    "STATUS_FILE",
    "StatusWriter",
    "format_status",
    "locate_state_dir",
    "process_identity",
    "read_status",
    "wall_alive",
]

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from compositor.core.errors import CompositorError
from compositor.core.files import UnsafeFolder, check_private_folder, write_file
from compositor.core.proc import process_start
from compositor.core.redact import redact_secrets
from compositor.live.state_dir import StateDir, default_state_dir, describe, state_base

log = logging.getLogger(__name__)

STATUS_FILE = "status.json"
WRITE_EVERY_S = 1.0

Status = dict[str, Any]


class StatusWriter:
    """Writes the status in ``state`` every ``every`` seconds (or at once when asked).

    A failure (a full or read-only disk, the folder gone or refused) is said once
    through ``state`` and tried again at the next write: the wall runs on.
    """

    def __init__(self, state: StateDir, every: float = WRITE_EVERY_S) -> None:
        self.state = state
        self.path = state.path / STATUS_FILE
        self.every = every
        self._next = 0.0

    def maybe_write(self, now: float, build: Callable[[], Status], force: bool = False) -> None:
        if now < self._next and not force:
            return
        self._next = now + self.every
        if not self.state.ensure():
            return
        status = build()
        if "state_problems" in status:
            # Written, it is not a problem: the file must not say it cannot be written.
            status["state_problems"] = self.state.problems(but=STATUS_FILE)
        try:
            text = json.dumps(status, indent=2) + "\n"
            write_file(self.state.path, STATUS_FILE, text.encode(), 0o600)
        except (OSError, UnsafeFolder) as exc:
            self.state.failed(STATUS_FILE, f"cannot write {self.path}: {describe(exc)}")
            return
        self.state.recovered(STATUS_FILE)


def read_status(state_dir: Path) -> Status:
    """The status in ``state_dir``; CompositorError if none, or if others could have written it."""
    check_private_folder(state_dir)
    path = state_dir / STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CompositorError(
            f"no status in {state_dir}: no wall has run with this state folder"
        ) from None
    except (OSError, ValueError) as exc:
        raise CompositorError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise CompositorError(f"{path} is not a status file")
    return data


def wall_alive(status: Status) -> bool:
    """Is the wall that wrote ``status`` still running?"""
    pid = status.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    # The pid may have been reused by another program: its start time tells.
    started = process_start(pid)
    return started is not None and started == status.get("pid_start")


def process_identity() -> dict[str, Any]:
    """This process, as :func:`wall_alive` recognises it later."""
    pid = os.getpid()
    return {"pid": pid, "pid_start": process_start(pid)}


def format_status(status: Status) -> list[str]:
    """The status as a person reads it."""
    alive = wall_alive(status)
    lines = [
        f"wall:     {'running' if alive else 'NOT RUNNING'} (pid {status.get('pid')}), "
        f"status of {status.get('updated_at')}",
        f"layout:   {status.get('layout')}",
        f"applied:  {status.get('applied_at')}"
        + (f" (kept as {status['applied_version']})" if status.get("applied_version") else ""),
    ]
    presets = status.get("presets") or []
    preset = status.get("preset")
    lines.append(
        f"preset:   {preset or '(none: the layout as written)'}"
        + (f"; presets: {', '.join(presets)}" if presets else "; the layout has no presets")
    )
    last = status.get("last_reload") or {}
    if last:
        lines.append(
            f"last change: {last.get('outcome')} ({last.get('trigger')}) at {last.get('at')}"
            + (f": {last['message']}" if last.get("message") else "")
        )
        lines += [f"  {redact_secrets(str(error))}" for error in last.get("errors") or []]
    problems = status.get("state_problems") or []
    if problems:
        lines.append("NOT WRITTEN (the wall runs on, and tries again every second):")
        lines += [f"  {problem}" for problem in problems]
    for callup in status.get("callups") or []:
        lines.append(
            f"call-up:  {callup.get('tile')} shows {callup.get('camera')} (by {callup.get('by')}"
            + (f", {callup['hold_left_s']:.0f} s left" if callup.get("hold_left_s") else "")
            + ")"
        )
    for solo in status.get("solos") or []:
        lines.append(f"solo:     {solo.get('output')} shows {solo.get('camera')} alone")
    for alarm in status.get("alarms") or []:
        where = f"on {alarm['tile']}" if alarm.get("tile") else "waiting"
        lines.append(
            f"alarm:    {alarm.get('id')} {alarm.get('camera')} priority {alarm.get('priority')} "
            f"{where}" + (f": {alarm['title']}" if alarm.get("title") else "")
        )
    if status.get("api"):
        lines.append(f"api:      {status['api']}")
    lines += _cluster_lines(status.get("cluster"))
    outputs = status.get("outputs") or []
    if outputs:
        lines.append("outputs:  " + ", ".join(_output_text(output) for output in outputs))
    cameras = status.get("cameras") or {}
    lines.append(f"cameras:  {len(cameras)}")
    width = max((len(camera_id) for camera_id in cameras), default=0)
    name_width = max((len(str(camera.get("name", ""))) for camera in cameras.values()), default=0)
    for camera_id, camera in cameras.items():
        # Hidden by the wall already; again here for a status file written by an older one.
        reason = f" ({redact_secrets(str(camera['reason']))})" if camera.get("reason") else ""
        decoding = str(camera.get("decoding", "every frame"))
        if decoding != "every frame":
            reason += f" [host behind: {decoding}]"
        decoder = str(camera.get("decoder") or "")
        if decoder and decoder != "cpu":  # a GPU's, or why not (the CPU is the usual)
            reason += f" [decoder: {decoder}]"
        lines.append(
            f"  {camera_id:<{width}}  {camera.get('state', '?'):<10} "
            f"{camera.get('frames', 0):>8} frames  {camera.get('name', ''):<{name_width}}  "
            f"{redact_secrets(str(camera.get('url', '')))}{reason}"
        )
    return lines


def _cluster_lines(cluster: Any) -> list[str]:
    """A wall over several hosts (compositor.cluster): the broker, each host, a layout
    version that differs."""
    if not isinstance(cluster, dict):
        return []
    broker = cluster.get("broker") or {}
    lines = [
        f"broker:   {broker.get('url')} "
        + ("connected" if broker.get("connected") else "AWAY (state and pictures kept)")
        + f"; wall {cluster.get('wall')}, this host {cluster.get('host')}"
    ]
    for host in cluster.get("hosts") or []:
        offset = host.get("clock_offset_ms")
        lines.append(
            f"  host {host.get('host')}: {host.get('state')}"
            + (
                f", {host.get('outputs_up')}/{len(host.get('outputs') or [])} outputs, "
                f"{host.get('cameras_live')}/{host.get('cameras')} cameras live"
                if host.get("cameras") is not None
                else ""
            )
            + (
                f", clock {offset:+.1f} ms"
                if offset is not None and not host.get("this_host")
                else ""
            )
        )
    if cluster.get("layout_mismatch"):
        lines.append(
            f"LAYOUT DIFFERS from: {', '.join(cluster['layout_mismatch'])} (this one is "
            f"{cluster.get('layout')}): orders for outputs it lacks are refused"
        )
    return lines


def _output_text(output: dict[str, Any]) -> str:
    size = output.get("size") or ["?", "?"]
    return f"{output.get('id')} {size[0]}x{size[1]}"


def locate_state_dir(layout: Path | None, state_dir: Path | None) -> Path:
    """The state folder a command talks about: as given, the layout's, or the running wall's.

    UnsafeFolder if others could write in it: what is there (a status, the
    history revert puts back, a socket posing as the wall) cannot be trusted.
    """
    if state_dir is not None:
        check_private_folder(state_dir)
        return state_dir
    if layout is not None:
        folder = default_state_dir(layout)
        check_private_folder(folder)
        return folder
    base = state_base()
    running = []
    for folder in sorted(base.glob("*")) if base.is_dir() else []:
        try:
            if wall_alive(read_status(folder)):
                running.append(folder)
        except CompositorError:
            continue
    if len(running) == 1:
        return running[0]
    if not running:
        raise CompositorError(
            f"no running wall found (state folders in {base}): name the layout file"
        )
    raise CompositorError(
        "several walls are running; name the layout file (or --state-dir): "
        + ", ".join(str(folder) for folder in running)
    )
