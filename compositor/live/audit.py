"""The audit log: every change to the wall, who made it, and how it went.

``<state dir>/audit.jsonl``, one JSON object a line: ``time`` (local, with its
offset), ``actor`` (a token's name, ``cli`` for the wall's own user on the
control socket, ``file`` for an edit of the layout file, ``wall`` for what the
wall does by itself: a hold running out), ``role``, ``action``
(``callup.set``, ``alarm.raise``, ``layout.refused``, ``login.failed``, ...),
``target``, ``before`` and ``after``, ``result`` (``applied``, ``refused``), and
``reason`` when refused. Never a secret: no token, no camera URL.

Rotated by size (``audit.jsonl.1`` is the newest old file, a few kept). Each
entry is one ``write`` to a file opened for appending, so the wall and a
``videowall token`` command writing at once never interleave within a line.
A full disk or a state folder that vanished never stops the wall: the entry is
lost, the log says so once, and writing resumes when it can.
"""

from __future__ import annotations

__all__ = [
    "AUDIT_FILE",
    "AuditLog",
    "format_entry",
    "parse_since",
    "read_audit",
]

import contextlib
import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from compositor.core.clock import Clock, local_iso
from compositor.core.errors import CompositorError
from compositor.core.files import ensure_folder
from compositor.live.state_dir import StateDir, describe

log = logging.getLogger(__name__)

AUDIT_FILE = "audit.jsonl"
ROTATE_BYTES = 4 * 1024 * 1024  # about 20 000 entries a file
KEEP_ROTATED = 4  # audit.jsonl.1 .. .4: the log holds at most 20 MB
_APPEND = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_VALUE_CHARS = 2000  # a before/after longer than this is cut: a log line stays a line


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "…"
    if isinstance(value, list):
        return [_short(item) for item in value[:50]]
    return value


class AuditLog:
    """Appends entries to ``path``; rotates it past ``max_bytes``."""

    def __init__(
        self,
        path: Path,
        clock: Clock,
        max_bytes: int = ROTATE_BYTES,
        keep: int = KEEP_ROTATED,
        state: StateDir | None = None,
    ) -> None:
        """``state``: the running wall's state folder, which says (once, in the log and the
        status) when the folder itself cannot be used; a write that fails (a full disk) is
        said here, once. Not as one of the folder's problems: those are cleared when the
        file is written again, and the audit log is written only when something changes."""
        self.path = path
        self._state = state
        self._clock = clock
        self._max_bytes = max_bytes
        self._keep = keep
        self._failing = False
        self.lost = 0  # entries that could not be written (disk full, folder gone)

    def append(self, action: str, actor: str, role: str | None = None, **fields: Any) -> None:
        entry = {
            "time": local_iso(self._clock.wall_time()),
            "actor": actor,
            "role": role,
            "action": action,
            **{key: _short(value) for key, value in fields.items() if value is not None},
        }
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode()
        if self._state is not None and not self._state.ensure():
            self.lost += 1  # the folder's own problem: said by the state folder, once
            return
        try:
            if self._state is None:
                ensure_folder(self.path.parent)  # a state folder that vanished comes back
            self._rotate_if_full(len(line))
            # O_NOFOLLOW: a link planted in the log's place is never written through.
            fd = os.open(self.path, _APPEND, 0o600)
            try:
                written = os.write(fd, line)
                if written != len(line):  # a disk that filled up mid-line
                    raise OSError(f"only {written} of {len(line)} bytes written")
            finally:
                os.close(fd)
        except (OSError, CompositorError) as exc:  # CompositorError: a folder not ours alone
            self.lost += 1
            if not self._failing:  # once, not for every entry of a busy wall
                log.error(
                    "cannot write the audit log %s: %s (entries are lost until it can be "
                    "written again; the wall runs on)",
                    self.path,
                    describe(exc),
                )
            self._failing = True
            return
        if self._failing:
            log.warning("the audit log %s is written again (%d entries lost)", self.path, self.lost)
            self._failing = False

    def _rotate_if_full(self, adding: int) -> None:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size + adding <= self._max_bytes:
            return
        # Two processes may find it full at once (the wall and `videowall token`): the lock
        # makes one of them rotate, and the other see the fresh file.
        lock = os.open(
            self.path.with_name(f".{self.path.name}.lock"), os.O_CREAT | os.O_RDWR, 0o600
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.path.stat().st_size + adding <= self._max_bytes:
                    return
            except FileNotFoundError:
                return
            for number in range(self._keep - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{number}")
                with contextlib.suppress(FileNotFoundError):
                    os.replace(older, self.path.with_name(f"{self.path.name}.{number + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        finally:
            os.close(lock)


def _files_oldest_first(path: Path) -> list[Path]:
    rotated = []
    for candidate in path.parent.glob(f"{path.name}.*"):
        suffix = candidate.name[len(path.name) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), candidate))
    return [p for _, p in sorted(rotated, reverse=True)] + [path]


def _entry_time(entry: dict[str, Any]) -> float | None:
    try:
        return datetime.strptime(str(entry["time"]), "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except (KeyError, ValueError):
        return None


def read_audit(state_dir: Path, since: float | None = None) -> Iterator[dict[str, Any]]:
    """The entries of the audit log in ``state_dir``, oldest first; ``since``: only those at
    or after this time (seconds since the epoch). Lines that are not entries are skipped."""
    path = state_dir / AUDIT_FILE
    files = [p for p in _files_oldest_first(path) if p.exists()]
    if not files:
        raise CompositorError(f"no audit log in {state_dir}: nothing has changed on this wall yet")
    for file in files:
        try:
            with open(file, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a full disk
                    if not isinstance(entry, dict):
                        continue
                    if since is not None:
                        at = _entry_time(entry)
                        if at is None or at < since:
                            continue
                    yield entry
        except OSError as exc:
            raise CompositorError(f"cannot read the audit log {file}: {exc}") from None


_SINCE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """``2h``, ``30m``, ``7d`` (ago) or ``2026-11-25T14:00`` (local) -> seconds since the epoch."""
    now = time.time() if now is None else now
    match = _SINCE.match(text.strip())
    if match:
        return now - float(match.group(1)) * _UNIT_S[match.group(2)]
    for pattern in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        with contextlib.suppress(ValueError):
            return time.mktime(time.strptime(text.strip(), pattern))
    raise CompositorError(
        f"--since {text!r}: give a duration (90s, 30m, 2h, 7d, 1w) or a local time "
        "(2026-11-25T14:00)"
    )


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def format_entry(entry: dict[str, Any]) -> str:
    """One line a person reads: time, who, what, before -> after, result."""
    role = entry.get("role")
    who = f"{entry.get('actor', '?')}" + (f" ({role})" if role else "")
    what = str(entry.get("action", "?"))
    if entry.get("target"):
        what += f" {entry['target']}"
    line = f"{entry.get('time', '?')}  {who:<22} {what}"
    if "before" in entry or "after" in entry:
        line += f": {_text(entry.get('before'))} -> {_text(entry.get('after'))}"
    result = entry.get("result")
    if result:
        line += f"  [{result}]"
    if entry.get("reason"):
        line += f" {entry['reason']}"
    return line
