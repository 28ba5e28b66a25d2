"""Processes: by identity (a pid with its start time names one process for good), and
how a long-running one keeps the memory it frees from piling up."""

from __future__ import annotations

__all__ = ["give_back_freed_memory", "process_start"]

import ctypes
import ctypes.util
from pathlib import Path

# glibc's mallopt parameters (malloc.h).
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, kept from then on
ARENA_MAX = 2


def give_back_freed_memory() -> bool:
    """Have glibc give large freed blocks back to the system at once, in this process.

    By default glibc raises its mmap threshold to the size of each large block
    freed (up to 32 MB), so later temporaries of that size (a frame converted
    for a snapshot, a clock painted in BGR) come from the heap, and the heap,
    fragmented, is never returned; each thread may get an arena of its own
    besides. Measured on the room's layout (8 cameras): the render process
    held 210 MB (PSS) by default, 155 MB with the threshold fixed at 128 kB
    and 2 arenas; the picture decoder 105 and 63 MB. Not for the camera
    decoders: their large frames come and go 25 times a second, and blocks
    from the heap spare them a page fault per page of each frame (their PSS
    moved by 3-5 MB either way). False where the C library has no mallopt.
    """
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    fixed: bool = mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
    arenas: bool = mallopt(_M_ARENA_MAX, ARENA_MAX) == 1
    return fixed and arenas


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
