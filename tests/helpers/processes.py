"""The command line as a user runs it, free ports, and the processes a wall leaves."""

from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from compositor.app import WallApp


def videowall(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """``videowall ARGS`` to its end: exit status, stdout, stderr."""
    return subprocess.run(
        [sys.executable, "-m", "compositor", *args], capture_output=True, text=True, timeout=timeout
    )


def videowall_process(*args: str) -> subprocess.Popen[str]:
    """``videowall ARGS`` running, its stdout and stderr together in ``stdout``."""
    return subprocess.Popen(
        [sys.executable, "-m", "compositor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def videowall_in_thread(app: WallApp, *args: str) -> subprocess.CompletedProcess[str]:
    """The command line against an in-process wall, its render loop ticking meanwhile."""
    done: list[subprocess.CompletedProcess[str]] = []
    runner = threading.Thread(target=lambda: done.append(videowall(*args)))
    runner.start()
    while runner.is_alive():
        app.tick()
        time.sleep(0.02)
    return done[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def children(pid: int) -> list[int]:
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in result.stdout.split()]


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split()[2] != "Z"


def run_wall(path: Path, state: Path, snaps: Path, *more: str) -> subprocess.Popen[str]:
    """``videowall run`` headless, its snapshots every 0.2 s."""
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "compositor", "run", str(path), "--headless", *more),
            *("--state-dir", str(state), "--snapshot", str(snaps), "--every", "0.2"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def read_status(state: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((state / "status.json").read_text())
    return data


def read_lines(process: subprocess.Popen[str], wanted: int, timeout: float) -> list[str]:
    """The first ``wanted`` lines of its standard output, as they come (a thread reads)."""
    assert process.stdout is not None
    stdout = process.stdout
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(line.rstrip("\n")) for line in stdout], daemon=True
    ).start()
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while len(got) < wanted and time.monotonic() < deadline:
        try:
            got.append(lines.get(timeout=0.5))
        except queue.Empty:
            continue
    return got
