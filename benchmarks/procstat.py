"""CPU time and memory of a process tree, read from /proc (Linux).

CPU is user + system time of every live process in the tree (all threads),
so a runner is charged for its decoder processes too, not for wall-clock
time. A :class:`TreeMeter` takes a snapshot at the start of a window and
one at the end; processes that appear in between are charged from zero.

Memory is the tree's proportional set size (PSS: each page shared by k
processes counts 1/k in each), summed: the wall's decoder processes share
the libraries, FFmpeg's among them, and summed RSS would count those once
per process. RSS is kept too, for comparison with older runs.
"""

from __future__ import annotations

__all__ = ["TreeMeter", "cpu_seconds", "cpu_split", "descendants", "pss_bytes", "rss_bytes"]

import os
import threading
import time
from dataclasses import dataclass, field

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    return text[text.rfind(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat_fields(int(entry))
        if fields is None:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of one process (all its threads); None if it is gone."""
    split = cpu_split(pid)
    return None if split is None else split[0] + split[1]


def cpu_split(pid: int) -> tuple[float, float] | None:
    """(user, system) CPU seconds of one process; None if it is gone."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    # After the name: state(0) ppid(1) ... utime(11) stime(12)
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


def pss_bytes(pid: int) -> int:
    """Proportional set size of one process (0 if it is gone or cannot be read)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


@dataclass
class TreeMeter:
    """CPU seconds per wall second, peak RSS and PSS of the tree under ``root`` over a window."""

    root: int
    sample_every: float = 0.25
    pss_every: float = 1.0  # PSS walks the page tables: read less often than RSS
    root_used: float = 0.0  # after stop: CPU seconds of the root process alone
    system_used: float = 0.0  # after stop: of which in the kernel, whole tree
    _start_cpu: dict[int, tuple[float, float]] = field(default_factory=dict)
    _start_at: float = 0.0
    peak_rss: int = 0
    peak_pss: int = 0
    peak_processes: int = 0
    _next_pss: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._start_at = time.monotonic()
        self._start_cpu = self._cpu_by_pid()
        self._sample()
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="tree-meter", daemon=True)
        self._thread.start()

    def stop(self) -> tuple[float, float]:
        """(CPU seconds used, wall seconds elapsed) since ``start``."""
        end_cpu = self._cpu_by_pid()
        elapsed = time.monotonic() - self._start_at
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        used = 0.0
        self.system_used = 0.0
        for pid, (user, system) in end_cpu.items():
            user0, system0 = self._start_cpu.get(pid, (0.0, 0.0))
            used += user - user0 + system - system0
            self.system_used += system - system0
            if pid == self.root:
                self.root_used = user - user0 + system - system0
        return used, elapsed

    def _cpu_by_pid(self) -> dict[int, tuple[float, float]]:
        result = {}
        for pid in descendants(self.root):
            split = cpu_split(pid)
            if split is not None:
                result[pid] = split
        return result

    def _sample(self) -> None:
        pids = descendants(self.root)
        self.peak_rss = max(self.peak_rss, sum(rss_bytes(pid) for pid in pids))
        self.peak_processes = max(self.peak_processes, len(pids))
        now = time.monotonic()
        if now >= self._next_pss:
            self._next_pss = now + self.pss_every
            self.peak_pss = max(self.peak_pss, sum(pss_bytes(pid) for pid in pids))

    def _loop(self) -> None:
        while not self._stop.wait(self.sample_every):
            self._sample()
