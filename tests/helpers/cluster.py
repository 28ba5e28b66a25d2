"""Walls over several hosts on one machine, for the cluster's end-to-end tests and the
skew benchmark: ``videowall run LAYOUT --host NAME --broker URL`` in subprocesses
(headless, each with its own state folder and API on a free port), an operator token
each (made in this process, as ``videowall token add`` does), a loopback TCP proxy
that can cut one host's broker connection (a partition), and the count of RTSP
sessions a camera serves."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from compositor.api.tokens import TokenStore
from compositor.demo.testcams import SyntheticCameraServer


def cluster_layout_text(server: SyntheticCameraServer, extra: str = "") -> str:
    """Two hosts of one output each (tiny, 160x90): left shows red, right green; preset
    ``swap`` exchanges them. A 1x2 wall with no bezels, so a span crosses the hosts."""
    return f"""\
labels: {{show: false}}
cameras:
  red: {{name: Red, url: "{server.url("red")}"}}
  green: {{name: Green, url: "{server.url("green")}"}}
outputs:
  - {{id: L1, size: [160, 90], grid: 1x1, tiles: [red]}}
  - {{id: R1, size: [160, 90], grid: 1x1, tiles: [green]}}
hosts: {{left: [L1], right: [R1]}}
alarms: {{tiles: [L1.1], min_hold_s: 0}}
presets:
  swap: {{outputs: [{{id: L1, tiles: [green]}}, {{id: R1, tiles: [red]}}]}}
{extra}"""


class HostWall:
    """One host of the wall: ``videowall run`` with ``--host`` and ``--broker``."""

    def __init__(
        self,
        folder: Path,
        layout: Path,
        host: str,
        broker_url: str,
        *more: str,
        wall: str = "testwall",
    ) -> None:
        self.folder = folder
        self.host = host
        self.layout = layout
        self.state = folder / f"state-{host}"
        self.log_path = folder / f"{host}.log"
        self.broker_url = broker_url
        self.more = more
        self.wall = wall
        self.token = TokenStore(self.state).add("op", "operator", time.time(), replace=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.start()

    def start(self, timeout: float = 60.0) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.state / "status.json").unlink()
        log = open(self.log_path, "ab")  # noqa: SIM115 - the process holds it
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "compositor", "run", str(self.layout), "--headless"),
                *("--host", self.host, "--broker", self.broker_url, "--wall", self.wall),
                *("--state-dir", str(self.state), "--api", "127.0.0.1:0", "--workers", "1"),
                *self.more,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"host {self.host} stopped: {self.log()[-3000:]}")
            status = self.status_or_none()
            if status and status.get("api"):
                self.url = str(status["api"])
                return
            time.sleep(0.1)
        raise AssertionError(f"host {self.host}: no API within {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def status_or_none(self) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads((self.state / "status.json").read_text())
        except (OSError, ValueError):
            return None
        return data

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def get(self, path: str) -> dict[str, Any]:
        with self.client() as client:
            answer = client.get(path)
        assert answer.status_code == 200, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def status(self) -> dict[str, Any]:
        return self.get("/api/status")

    def preset(self) -> str | None:
        preset: str | None = self.get("/api/presets")["preset"]
        return preset

    def applied(self) -> list[dict[str, Any]]:
        applied: list[dict[str, Any]] = self.get("/api/hosts/applied")["applied"]
        return applied

    def audit(self) -> list[dict[str, Any]]:
        lines = (self.state / "audit.jsonl").read_text().splitlines()
        return [json.loads(line) for line in lines]

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Killed outright (no last words: the broker says it by the host's last will)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()


def wait_for(condition: Any, timeout: float, what: str) -> float:
    """Poll ``condition`` until true; the seconds it took."""
    started = time.monotonic()
    last: Any = None
    while time.monotonic() - started < timeout:
        try:
            if condition():
                return time.monotonic() - started
        except (httpx.HTTPError, AssertionError, KeyError) as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout} s ({last!r})")


class TcpProxy:
    """A loopback TCP proxy to ``port``: a host's way to the broker that can be cut (its
    connections reset, new ones refused at once) and restored; a partition without root."""

    def __init__(self, port: int) -> None:
        self._target = port
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port = int(self._listener.getsockname()[1])
        self._cut = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self._target), timeout=2)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets, self._open = self._open, []
        for sock in sockets:
            _reset(sock)

    def heal(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closed.set()
        self.cut()
        self._listener.close()


def _reset(sock: socket.socket) -> None:
    """Closed at once, with a reset. A close alone would wait for the pump's blocked recv
    (the kernel keeps the socket while a call uses it): shut down first, which wakes it."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def sessions_at(port: int) -> int:
    """RTSP sessions a server on 127.0.0.1:``port`` serves now: its established TCP
    connections (each RTSP session keeps its control connection open)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    count += 1
    return count
