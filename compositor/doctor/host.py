"""The doctor's look at the host: the clock, shared memory, the state folder, refresh rates.

Each check says "unknown" rather than guess when the host cannot tell.
"""

from __future__ import annotations

__all__ = [
    "ClockState",
    "clock_state",
    "parse_refresh_rates",
    "refresh_rates",
    "run_quietly",
    "shm_findings",
    "slot_bytes",
    "state_folder_findings",
]

import ctypes
import ctypes.util
import os
import pwd
import re
import shutil
import stat
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from compositor.doctor.findings import Finding, Level

Runner = Callable[[list[str]], "subprocess.CompletedProcess[str] | None"]

_TIME_ERROR = 5  # adjtimex(2): the kernel's clock is not synchronised


def run_quietly(
    command: list[str], timeout: float = 3.0
) -> subprocess.CompletedProcess[str] | None:
    """Run a read-only query; None if the program is missing or hangs."""
    try:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired):
        return None


@dataclass(frozen=True, slots=True)
class ClockState:
    synchronised: bool | None  # None: unknown
    source: str  # who said so


def _kernel_clock() -> ClockState | None:
    """adjtimex(2) with no change: TIME_ERROR means no time daemon disciplines the clock."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        timex = ctypes.create_string_buffer(512)  # struct timex, modes 0: read only
        state = int(libc.adjtimex(timex))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return ClockState(state != _TIME_ERROR, "the kernel's NTP state (adjtimex)")


def clock_state(
    run: Runner = run_quietly, timesync: Path = Path("/run/systemd/timesync")
) -> ClockState:
    """Is the system clock synchronised? timedatectl, then timesyncd's flag, chrony, the kernel."""
    answer = run(["timedatectl", "show", "--property=NTPSynchronized", "--value"])
    if answer is not None and answer.returncode == 0 and answer.stdout.strip() in ("yes", "no"):
        return ClockState(answer.stdout.strip() == "yes", "timedatectl")
    if (timesync / "synchronized").exists():
        return ClockState(True, "systemd-timesyncd")
    answer = run(["chronyc", "-n", "tracking"])
    if answer is not None and answer.returncode == 0:
        match = re.search(r"^Leap status\s*:\s*(.+)$", answer.stdout, re.MULTILINE)
        if match:
            return ClockState(match[1].strip() != "Not synchronised", "chrony")
    return _kernel_clock() or ClockState(None, "nothing here could tell")


# " 1920x1080     60.00*+  50.00  " under "DP-1 connected ...": the current mode has a "*".
_CONNECTOR = re.compile(r"^(\S+) (connected|disconnected)")
_CURRENT_RATE = re.compile(r"(\d+(?:\.\d+)?)\*")


def parse_refresh_rates(text: str) -> dict[str, float]:
    """Each connector's current refresh rate, from ``xrandr --query``."""
    rates: dict[str, float] = {}
    connector = None
    for line in text.splitlines():
        header = _CONNECTOR.match(line)
        if header:
            connector = header[1]
            continue
        if connector and line.startswith(" ") and connector not in rates:
            match = _CURRENT_RATE.search(line)
            if match:
                rates[connector] = float(match[1])
    return rates


def refresh_rates(display_name: str | None, run: Runner = run_quietly) -> dict[str, float]:
    command = ["xrandr", "--query"]
    if display_name:
        command[1:1] = ["-display", display_name]
    answer = run(command)
    if answer is None or answer.returncode != 0:
        return {}
    return parse_refresh_rates(answer.stdout)


_SLOT_HEADER = 64
_STATUS_RECORD = 224  # bytes per camera status record (slots.py)
_STATUS_RECORDS_MIN = 1024


def slot_bytes(renditions: Iterable[tuple[int, int]], cameras: int) -> int:
    """Shared memory a wall needs: two I420 buffers per tile size, the status records."""
    total = 0
    for width, height in renditions:
        w, h = width + (width & 1), height + (height & 1)
        total += _SLOT_HEADER + 2 * (w * h * 3 // 2)
    return total + _STATUS_RECORD * max(_STATUS_RECORDS_MIN, 4 * cameras)


def shm_findings(needed: int | None, path: Path = Path("/dev/shm")) -> list[Finding]:
    """Free space in shared memory against what the layout's slots need."""
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return [Finding("shared memory", Level.FAIL, f"{path}: {exc}", "mount a tmpfs on /dev/shm")]
    free_mb, size_mb = usage.free / 1e6, usage.total / 1e6
    data = {"free_bytes": usage.free, "size_bytes": usage.total, "needed_bytes": needed}
    if needed is None:
        return [
            Finding(
                "shared memory",
                Level.OK,
                f"{path}: {free_mb:.0f} MB free of {size_mb:.0f} MB",
                data=data,
            )
        ]
    need_mb = needed / 1e6
    detail = (
        f"{path}: the layout's frame slots need {need_mb:.0f} MB; "
        f"{free_mb:.0f} MB free of {size_mb:.0f} MB"
    )
    if usage.free < needed:
        return [
            Finding(
                "shared memory",
                Level.FAIL,
                detail,
                f"enlarge /dev/shm (mount -o remount,size={int(need_mb * 2.5) + 64}M /dev/shm) "
                "or use smaller tiles / fewer cameras",
                data,
            )
        ]
    if usage.free < 2 * needed:
        return [
            Finding(
                "shared memory",
                Level.WARN,
                detail,
                "a layout change holds old and new slots for a moment: give /dev/shm "
                "twice what the slots need",
                data,
            )
        ]
    return [Finding("shared memory", Level.OK, detail, data=data)]


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def state_folder_findings(folder: Path) -> list[Finding]:
    """The state folder: there (or creatable), ours, private (0700), writable."""
    me = os.geteuid()
    data = {"path": str(folder)}
    try:
        info = folder.stat()
    except FileNotFoundError:
        parent = next((p for p in folder.parents if p.exists()), Path("/"))
        if os.access(parent, os.W_OK):
            return [
                Finding(
                    "state folder",
                    Level.OK,
                    f"{folder}: not there yet; the wall creates it (0700)",
                    data=data,
                )
            ]
        return [
            Finding(
                "state folder",
                Level.FAIL,
                f"{folder}: missing, and {parent} is not writable by {_owner(me)}",
                f"create it for the wall's user: install -d -m 0700 -o <user> {folder}",
                data,
            )
        ]
    except OSError as exc:
        return [Finding("state folder", Level.FAIL, f"{folder}: {exc}", "check the path", data)]
    mode = stat.S_IMODE(info.st_mode)
    owner = _owner(info.st_uid)
    data.update(owner=owner, mode=f"{mode:04o}")
    found = []
    if info.st_uid != me:
        found.append(
            Finding(
                "state folder",
                Level.WARN,
                f"{folder} belongs to {owner}, not {_owner(me)}",
                f"run the doctor as the wall's user (sudo -u {owner} videowall doctor ...), "
                f"or chown {_owner(me)} {folder}",
                data,
            )
        )
    elif not os.access(folder, os.W_OK | os.X_OK):
        found.append(
            Finding(
                "state folder",
                Level.FAIL,
                f"{folder} is not writable (mode {mode:04o})",
                f"chmod 0700 {folder}",
                data,
            )
        )
    if mode & 0o077:
        found.append(
            Finding(
                "state folder",
                Level.WARN,
                f"{folder} is open to others (mode {mode:04o}): its control socket "
                "switches presets",
                f"chmod 0700 {folder}",
                data,
            )
        )
    if not found:
        found.append(
            Finding("state folder", Level.OK, f"{folder}: {owner}, mode {mode:04o}", data=data)
        )
    return found
