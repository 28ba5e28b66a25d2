"""A service manager's end of systemd's notify protocol, for tests: a datagram socket.

Bound by the test where ``$NOTIFY_SOCKET`` points; each datagram is kept with
the time it came, as systemd would read it.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path


class NotifyListener:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))
        self.messages: list[tuple[float, str]] = []  # (monotonic time, datagram)

    def receive(self, seconds: float) -> list[tuple[float, str]]:
        """Everything that comes within ``seconds``; also kept in ``messages``."""
        got = []
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self._socket.settimeout(left)
            try:
                data = self._socket.recv(65536)
            except TimeoutError:
                break
            got.append((time.monotonic(), data.decode()))
        self.messages += got
        return got

    def wait_for(self, prefix: str, seconds: float) -> str:
        """The first datagram from now on with a line starting ``prefix``."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            for _, message in self.receive(min(left, 0.2)):
                for line in message.splitlines():
                    if line.startswith(prefix):
                        return message
        raise AssertionError(f"no {prefix!r} within {seconds} s; got {self.messages[-8:]}")

    def close(self) -> None:
        self._socket.close()
