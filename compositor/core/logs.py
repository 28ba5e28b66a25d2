"""One logging set-up for the wall and its decoder processes: text or JSON, journal-aware.

Under systemd, stderr goes to the journal. When ``$JOURNAL_STREAM`` names our
stderr, each line starts with a ``<N>`` priority prefix (sd-daemon(3)), so
``journalctl -p err`` shows camera failures and refused layouts, and the
journal's own timestamps replace ours. A message of several lines (a refused
layout and its errors) carries the prefix on every line: journald stores each
line as its own entry, and each must keep the message's priority.

``LogSetup`` is a small picklable value: the command line makes one, and
every decoder process (spawned, so it inherits no handler) configures itself
from the copy in its job, so all processes log alike.
"""

from __future__ import annotations

__all__ = [
    "LOG_FORMATS",
    "JsonFormatter",
    "LogSetup",
    "TextFormatter",
    "configure_logging",
    "journal_priority",
    "stream_is_journal",
]

import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

# Python's levels to syslog priorities, as sd-daemon(3)'s SD_ERR etc.
_PRIORITIES = (
    (logging.CRITICAL, 2),
    (logging.ERROR, 3),
    (logging.WARNING, 4),
    (logging.INFO, 6),
)
_DEBUG_PRIORITY = 7


def journal_priority(level: int) -> int:
    """The syslog priority of a Python log level (``<3>`` for ERROR)."""
    for threshold, priority in _PRIORITIES:
        if level >= threshold:
            return priority
    return _DEBUG_PRIORITY


def stream_is_journal(stream: IO[str], env: Mapping[str, str]) -> bool:
    """True if ``stream`` is the journal's stream systemd set up for this service.

    ``$JOURNAL_STREAM`` is ``<device>:<inode>`` of the socket; a process whose
    stderr was redirected elsewhere (to a file, by a script it runs under)
    inherits the variable but must not write prefixes into that file.
    """
    value = env.get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):  # a closed or non-file stream
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


@dataclass(frozen=True, slots=True)
class LogSetup:
    """How every process of the wall logs: level, ``text`` or ``json``, journal prefixes."""

    level: int = logging.INFO
    format: LogFormat = "text"
    journal: bool = False  # "<N>" priority prefixes on every line

    @classmethod
    def detect(
        cls,
        level: int,
        format: LogFormat,
        env: Mapping[str, str],
        stream: IO[str],
    ) -> LogSetup:
        return cls(level, format, stream_is_journal(stream, env))


def _prefixed(text: str, level: int, journal: bool) -> str:
    if not journal:
        return text
    prefix = f"<{journal_priority(level)}>"
    return "\n".join(prefix + line for line in text.split("\n"))


class TextFormatter(logging.Formatter):
    """``time LEVEL [process] logger: message``; under the journal, no time and a prefix."""

    def __init__(self, journal: bool, process: str = "") -> None:
        where = f"{process} " if process else ""
        fmt = f"%(levelname)s {where}%(name)s: %(message)s"
        super().__init__(fmt if journal else "%(asctime)s " + fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        return _prefixed(super().format(record), record.levelno, self.journal)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, process, logger, message (and exception)."""

    def __init__(self, journal: bool, process: str = "") -> None:
        super().__init__()
        self.journal = journal
        self.process = process or "wall"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
            + f".{int(record.msecs):03d}"
            + _utc_offset(record.created),
            "level": record.levelname,
            "process": self.process,
            "pid": record.process,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        # One line whatever the message holds: JSON escapes its newlines.
        return _prefixed(json.dumps(entry, ensure_ascii=False), record.levelno, self.journal)


def _utc_offset(created: float) -> str:
    offset = time.strftime("%z", time.localtime(created))
    return offset[:3] + ":" + offset[3:] if len(offset) == 5 else offset


def configure_logging(setup: LogSetup, process: str = "", stream: IO[str] | None = None) -> None:
    """Send every log record of this process to ``stream`` (stderr) as ``setup`` says.

    ``process`` names a decoder process in each line ("decoder-2"); the wall's
    own lines leave it empty. Replaces the root logger's handlers, so calling
    it again (a test, a re-configuration) does not double every line.
    """
    formatter: logging.Formatter = (
        JsonFormatter(setup.journal, process)
        if setup.format == "json"
        else TextFormatter(setup.journal, process)
    )
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(setup.level)
