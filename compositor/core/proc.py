"""Processes by identity: a pid with its start time names one process for good."""

from __future__ import annotations

__all__ = ["process_start"]

from pathlib import Path


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None if it is gone.

    With the pid it names one process for good: a pid alone may be reused.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses; fields resume after ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None
