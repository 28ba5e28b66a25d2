"""Hot reload: the running wall follows its layout file, keeps every version it applied,
and switches between the file's presets.

- :class:`LayoutWatcher` notices a changed file by polling it (editors that
  save by writing a new file and renaming it over the old one included).
- :class:`LayoutHistory` keeps each applied version with its time, the last 50.
- :func:`revert_layout` writes the previous applied version back into the
  file (atomically); the running wall then picks it up like any edit.
- :class:`LiveLayout` ties them together for the running wall: a valid change
  is applied (through a callback into the wall), an invalid one refused with
  every error at its ``file:line:col``, the active preset kept across reloads,
  and the operators' call-ups, solos and alarms (:mod:`compositor.live.operator`)
  laid over it: file -> preset -> operator overrides -> the wall.

Nothing here knows about decoders or canvases: applying a layout is the
wall's business (``WallApp.apply_layout``).
"""

from __future__ import annotations

__all__ = [
    "HISTORY_KEEP",
    "HistoryEntry",
    "LayoutHistory",
    "LayoutWatcher",
    "LiveLayout",
    "ReloadResult",
    "local_iso",
    "revert_layout",
]

import contextlib
import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compositor.core.clock import Clock, local_iso
from compositor.core.errors import CompositorError, LayoutError
from compositor.core.files import ensure_folder, replace_following_link, write_file
from compositor.core.redact import redact_secrets
from compositor.layout.models import Layout
from compositor.layout.parse import parse_layout
from compositor.layout.yaml_reader import read_layout_text
from compositor.live.journal import Journal
from compositor.live.operator import Note, OperatorState
from compositor.live.state_dir import StateDir, describe

log = logging.getLogger(__name__)

HISTORY_KEEP = 50  # applied versions kept per layout
POLL_EVERY_S = 0.25  # how often the layout file is looked at
_HISTORY_NAME = re.compile(r"^(\d{8}-\d{6})-(\d+)\.yaml$")


# --- watching ---------------------------------------------------------------------


_Signature = tuple[int, int, int, int]  # device, inode, size, mtime (ns)


def _signature(path: Path) -> _Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None  # between an editor's unlink and rename, or gone for good
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class LayoutWatcher:
    """Says when the layout file has changed and settled.

    The file is looked at by name every ``every`` seconds, so a file replaced
    by rename is seen like one written in place. A change counts once it has
    stayed the same for one more look: a file caught half-written is not
    reported as a broken layout.
    """

    def __init__(self, path: Path, every: float = POLL_EVERY_S) -> None:
        self.path = path
        self.every = every
        self._seen = _signature(path)
        self._pending: _Signature | None = None
        self._next = 0.0

    def mark_seen(self) -> None:
        """The file as it is now has been read: only later changes count."""
        self._seen = _signature(self.path)
        self._pending = None

    def poll(self, now: float) -> bool:
        if now < self._next:
            return False
        self._next = now + self.every
        current = _signature(self.path)
        if current is None or current == self._seen:
            self._pending = None
            return False
        if current != self._pending:
            self._pending = current  # changed: look again once before reading it
            return False
        self._seen, self._pending = current, None
        return True


# --- history ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    path: Path
    number: int  # grows with each version recorded: the order, whatever the clock did
    applied_at: str  # local time, "YYYY-mm-dd HH:MM:SS"

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


class LayoutHistory:
    """Every applied version of one layout, as ``YYYYmmdd-HHMMSS-<n>.yaml`` files."""

    def __init__(self, folder: Path, keep: int = HISTORY_KEEP) -> None:
        self.folder = folder
        self.keep = keep

    def entries(self) -> list[HistoryEntry]:
        """Oldest first."""
        found = []
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return []
        for name in names:
            match = _HISTORY_NAME.match(name)
            if match is None:
                continue
            stamp, number = match.groups()
            try:
                when = time.strptime(stamp, "%Y%m%d-%H%M%S")
            except ValueError:
                continue  # named like a date but not one (20261399-...): not ours
            found.append(
                HistoryEntry(
                    self.folder / name, int(number), time.strftime("%Y-%m-%d %H:%M:%S", when)
                )
            )
        return sorted(found, key=lambda entry: entry.number)

    def record(self, text: str, wall_time: float) -> HistoryEntry:
        """Keep ``text`` as applied at ``wall_time`` (seconds since the epoch).

        OSError (a full or read-only disk) or UnsafeFolder: nothing was kept.
        """
        ensure_folder(self.folder, 0o700, private=True)
        entries = self.entries()
        if entries and _read_or_none(entries[-1].path) == text:
            return entries[-1]  # the same again (a SIGHUP, an edit undone): one copy is enough
        number = entries[-1].number + 1 if entries else 1
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(wall_time))
        path = write_file(self.folder, f"{stamp}-{number}.yaml", text.encode(), 0o600, durable=True)
        for old in entries[: max(0, len(entries) + 1 - self.keep)]:
            with contextlib.suppress(OSError):
                old.path.unlink()
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(wall_time))
        return HistoryEntry(path, number, when)


def _read_or_none(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def revert_layout(layout_path: Path, history: LayoutHistory) -> HistoryEntry:
    """Put the previous applied version back into the layout file; return it.

    "Previous" is the newest applied version that differs from the file as
    it is now: the one before the current, or, if the file holds an edit the
    wall refused, the last good one (what the wall shows).
    """
    entries = history.entries()
    if not entries:
        raise CompositorError(
            f"no applied versions of {layout_path} are kept in {history.folder} "
            "(has a wall run this layout, with this --state-dir?)"
        )
    try:
        current: str | None = read_layout_text(layout_path)
    except LayoutError:
        current = None  # gone, garbled, not a file: any version is better
    for entry in reversed(entries):
        try:
            text = entry.text()
        except (OSError, UnicodeDecodeError) as exc:
            raise CompositorError(f"cannot read the kept version {entry.path}: {exc}") from None
        if text != current:
            try:
                kept_owner = replace_following_link(layout_path, text.encode())
            except OSError as exc:
                raise CompositorError(
                    f"cannot write {layout_path}: {describe(exc)}; it is unchanged"
                ) from None
            if not kept_owner:
                log.warning("%s now belongs to you: only root can keep another's file", layout_path)
            return entry
    raise CompositorError(
        f"nothing to revert to: the {len(entries)} kept version(s) of {layout_path} "
        "are all the same as the file"
    )


# --- the running wall's layout ----------------------------------------------------------


@dataclass(frozen=True)
class ReloadResult:
    """How the last attempt to change the wall's layout went."""

    trigger: str  # "start", "file changed", "SIGHUP", "preset", ...
    outcome: str  # "applied", "refused", "unchanged"
    at: float  # wall time (seconds since the epoch)
    message: str = ""
    errors: tuple[str, ...] = field(default_factory=tuple)  # file:line:col: message

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger": self.trigger,
            "outcome": self.outcome,
            "at": local_iso(self.at),
            "message": self.message,
            "errors": list(self.errors),
        }


ApplyLayout = Callable[[Layout], str]  # switches the wall; says what changed; CompositorError


@dataclass(frozen=True)
class _Candidate:
    """A version of the file, read and checked off the render loop."""

    trigger: str
    text: str
    layout: Layout | None  # None: refused, see error
    error: CompositorError | None = None


class LiveLayout:
    """The layout of a running wall: its file, the versions applied, the active preset.

    A small thread watches the file and reads and checks each new version
    (a big layout takes tens of milliseconds to parse, a hostile one seconds:
    never on the render loop); the render loop applies what it found at its
    next :meth:`poll`, between two frames. :meth:`request_reload` is safe
    from a signal handler.
    """

    def __init__(
        self,
        path: Path,
        state: StateDir,
        layout: Layout,
        apply: ApplyLayout,
        clock: Clock,
        watch: bool = True,
        journal: Journal | None = None,
        outputs: tuple[str, ...] = (),
    ) -> None:
        self.path = path
        self.state = state
        self.history = LayoutHistory(state.path / "history")
        self.file_layout = layout  # as the file has it, no preset applied
        self.preset: str | None = None
        self._apply = apply
        self._clock = clock
        # Looked at each time the thread wakes, every POLL_EVERY_S.
        self._watcher = LayoutWatcher(path, every=0.0) if watch else None
        self._found: queue.Queue[_Candidate] = queue.Queue()
        self._wake = threading.Event()  # a reload asked for, or stopping
        self._stop = threading.Event()
        self._reload_why = "SIGHUP"
        self._last_text: str | None = None  # the text last read, applied or refused
        self._thread = threading.Thread(target=self._watch, name="layout-watcher", daemon=True)
        self.applied_at = clock.wall_time()
        self.applied_version: HistoryEntry | None = None
        self._applied_text: str | None = None
        # The applied version not in the history yet (the disk was full, read-only, the
        # folder gone): kept as soon as it can be, so that revert always has it.
        self._unkept: tuple[str, float] | None = None
        self.last_result = ReloadResult("start", "applied", self.applied_at)
        self.journal = journal
        # The outputs this wall shows (--outputs; empty: all), where overrides may go.
        self._outputs = outputs or None
        self.operator = OperatorState()
        self._operator_due: float | None = None  # when holds or alarms next change

    def start(self) -> None:
        """Record the layout the wall started with (read again: it may have moved on)."""
        # The file as it is now counts as seen *before* it is read: an edit saved while
        # it is read and parsed is then a change the watcher sees, never one it missed.
        if self._watcher is not None:
            self._watcher.mark_seen()
        try:
            text = read_layout_text(self.path)
            same = self._parse(text) == self.file_layout
        except LayoutError:
            text, same = "", False
        if same:
            self._last_text = text
            self._keep(text, self.applied_at)
        else:  # edited between the wall's start and now: take the file as it is now
            self.request_reload("file changed")
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def _parse(self, text: str) -> Layout:
        # As load_layout reads a file: image paths start at the file's folder.
        return parse_layout(text, str(self.path), None, self.path.absolute().parent)

    def request_reload(self, why: str = "SIGHUP") -> None:
        """Read the file again, even if it looks unchanged; ``why`` goes in the status."""
        self._reload_why = why
        self._wake.set()

    # -- the watching thread --

    def _watch(self) -> None:
        while not self._stop.is_set():
            asked = self._wake.wait(POLL_EVERY_S)
            if self._stop.is_set():
                return
            if asked:
                self._wake.clear()
                if self._watcher is not None:
                    self._watcher.mark_seen()
                self._read(self._reload_why, force=True)
            elif self._watcher is not None and self._watcher.poll(self._clock.now()):
                self._read("file changed", force=False)

    def _read(self, trigger: str, force: bool) -> None:
        try:
            text = read_layout_text(self.path)
        except LayoutError as exc:
            self._found.put(_Candidate(trigger, "", None, exc))
            return
        if text == self._last_text and not force:
            return  # saved again unchanged (or touched)
        self._last_text = text
        try:
            self._found.put(_Candidate(trigger, text, self._parse(text)))
        except LayoutError as exc:
            self._found.put(_Candidate(trigger, text, None, exc))
        except Exception as exc:  # a bug in the checks must not end the watching
            log.exception("reading %s failed", self.path)
            internal = CompositorError(redact_secrets(f"internal error: {exc}"))
            self._found.put(_Candidate(trigger, text, None, internal))

    # -- the render loop --

    def poll(self) -> ReloadResult | None:
        """Apply what the watcher found (render loop, each tick); the last result, if any."""
        result = None
        while True:
            try:
                candidate = self._found.get_nowait()
            except queue.Empty:
                return result
            result = self._take(candidate)

    def _take(self, candidate: _Candidate) -> ReloadResult:
        layout, trigger = candidate.layout, candidate.trigger
        if layout is None:
            assert candidate.error is not None
            return self._refused(trigger, candidate.error)
        preset = self.preset
        note = ""
        if preset is not None and preset not in _presets(layout):
            note = f"; preset {preset!r} is no longer in the file: showing its own arrangement"
            preset = None
        base = _effective(layout, preset)
        now = self._clock.now()
        operator, notes = self.operator.settled(base, now, self._outputs)
        try:
            message = self._apply(operator.arrange(base))
        except CompositorError as exc:
            return self._refused(trigger, exc)
        except Exception as exc:  # a bug: logged in full, but the wall must not go dark for it
            log.exception("applying %s failed", self.path)
            return self._refused(trigger, CompositorError(redact_secrets(f"internal error: {exc}")))
        self.file_layout, self.preset = layout, preset
        self._operator_shown(operator, base, now)
        self.applied_at = self._clock.wall_time()
        self._keep(candidate.text, self.applied_at)
        result = ReloadResult(trigger, "applied", self.applied_at, message + note)
        log.info("layout %s applied (%s): %s%s", self.path, trigger, message, note)
        self.last_result = result
        if self.journal is not None:
            self.journal.change(
                "layout.applied",
                "file",
                target=str(self.path),
                trigger=trigger,
                after=str(self.applied_version.path) if self.applied_version else None,
                result="applied",
                message=message + note,
            )
        self._record(notes)
        return result

    def _keep(self, text: str, wall_time: float) -> None:
        self._applied_text = text
        self.applied_version = None
        self._unkept = (text, wall_time)
        self.keep_pending()

    def keep_pending(self) -> None:
        """Keep the applied version in the history if it is not there (render loop).

        Tried at each change and every second after a failure; a failure is said
        once (log, status) and the wall goes on: the history is a convenience,
        the pictures are not. A version removed with the folder is kept again.
        """
        version, text = self.applied_version, self._applied_text
        gone = version is not None and not version.path.exists()  # removed with its folder
        if self._unkept is None and gone and text is not None:
            self._unkept = (text, self.applied_at)
        if self._unkept is None or not self.state.ensure():
            return
        try:
            self.applied_version = self.history.record(*self._unkept)
        except (OSError, CompositorError) as exc:
            self.state.failed(
                "history",
                f"cannot keep the applied layout in {self.history.folder}: {describe(exc)}",
            )
            return
        self._unkept = None
        self.state.recovered("history")

    def select_preset(self, name: str | None) -> ReloadResult:
        """Show preset ``name`` (None: the file's own arrangement). Call-ups and solos
        end (the operator chose a new arrangement); alarms stay, on its alarm tiles.

        UnknownPresetError (naming the known ones) if the file has no such preset.
        """
        base = _effective(self.file_layout, name)
        now = self._clock.now()
        cleared = [f"{c.output}.{c.tile} ({c.camera})" for c in self.operator.callups.values()]
        cleared += [f"{s.output} solo ({s.camera})" for s in self.operator.solos.values()]
        operator, notes = self.operator.without_views().settled(base, now, self._outputs)
        message = self._apply(operator.arrange(base))
        self.preset = name
        self._operator_shown(operator, base, now)
        what = f"preset {name}" if name else "the layout's own arrangement"
        if cleared:
            message += f"; cleared {', '.join(cleared)}"
        result = ReloadResult("preset", "applied", self._clock.wall_time(), f"{what}: {message}")
        log.info("showing %s: %s", what, message)
        self.last_result = result
        self._record(notes)
        return result

    # -- operator overrides (render loop) --

    @property
    def arranged_base(self) -> Layout:
        """The layout as its file and the active preset have it, before any override."""
        return _effective(self.file_layout, self.preset)

    def show_operator(self, operator: OperatorState) -> tuple[str, list[Note]]:
        """Put ``operator``'s overrides on the wall; what changed, and what the state did by
        itself on the way (an alarm taking a tile). CompositorError, and nothing changed,
        if the wall refuses the arrangement."""
        base = self.arranged_base
        now = self._clock.now()
        operator, notes = operator.settled(base, now, self._outputs)
        message = self._apply(operator.arrange(base))
        self._operator_shown(operator, base, now)
        self._record(notes)
        return message, notes

    def tick(self, now: float) -> None:
        """End holds and alarms whose time is over (render loop, every tick; cheap)."""
        if self._operator_due is None or now < self._operator_due:
            return
        base = self.arranged_base
        operator, notes = self.operator.settled(base, now, self._outputs)
        if operator == self.operator:
            self._operator_due = operator.next_deadline(base, now)
            return
        try:
            message = self._apply(operator.arrange(base))
        except CompositorError as exc:
            # Cannot happen short of a bug (the same outputs, known cameras); the wall keeps
            # what it shows, and tries again at the next deadline rather than every frame.
            log.error("the operators' overrides could not be updated: %s", exc)
            self._operator_due = now + 1.0
            return
        log.info("operator overrides updated: %s", message)
        self._operator_shown(operator, base, now)
        self._record(notes)

    def _operator_shown(self, operator: OperatorState, base: Layout, now: float) -> None:
        self.operator = operator
        self._operator_due = operator.next_deadline(base, now)

    def _record(self, notes: list[Note]) -> None:
        for note in notes:
            if note.audit:
                log.info(
                    "%s %s%s", note.action, note.target, f": {note.reason}" if note.reason else ""
                )
            if self.journal is not None:
                self.journal.change(
                    note.action,
                    "wall",
                    None,
                    audit=note.audit,
                    target=note.target,
                    before=note.before,
                    after=note.after,
                    reason=note.reason or None,
                )

    @property
    def presets(self) -> list[str]:
        return _presets(self.file_layout)

    def describe(self) -> dict[str, Any]:
        """The layout part of the status file."""
        return {
            "layout": str(self.path),
            "state_dir": str(self.state.path),
            "applied_at": local_iso(self.applied_at),
            "applied_version": str(self.applied_version.path) if self.applied_version else None,
            "preset": self.preset,
            "presets": self.presets,
            "watching": self._watcher is not None,
            "last_reload": self.last_result.as_dict(),
            **self.operator.describe(self._clock.now(), self._clock.wall_time()),
        }

    def _refused(self, trigger: str, error: CompositorError) -> ReloadResult:
        if isinstance(error, LayoutError):
            errors = tuple(str(issue) for issue in error.issues)
        else:
            errors = (str(error),)
        result = ReloadResult(
            trigger,
            "refused",
            self._clock.wall_time(),
            "the wall keeps its last good layout",
            errors,
        )
        log.error(
            "layout %s refused (%s); the wall keeps its last good layout:\n  %s",
            self.path,
            trigger,
            "\n  ".join(errors),
        )
        self.last_result = result
        if self.journal is not None:
            self.journal.change(
                "layout.refused",
                "file",
                target=str(self.path),
                trigger=trigger,
                result="refused",
                reason="the wall keeps its last good layout",
                errors=list(errors),
            )
        return result


def _presets(layout: Layout) -> list[str]:
    return list(layout.presets)


def _effective(layout: Layout, preset: str | None) -> Layout:
    return layout if preset is None else layout.with_preset(preset)
