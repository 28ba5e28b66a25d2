"""The running wall's control socket: ``videowall preset`` and friends talk to it.

A Unix socket in the wall's state folder (``control.sock``, mode 0600 in a
0700 folder: only the wall's user may talk to it). One JSON object per line
each way: the client sends a request, the wall answers and closes.

The socket is served by a small thread, so a slow or stuck client never
holds up the render loop; the request itself is handled *on* the render
loop (:meth:`ControlServer.serve_pending`, called each tick), so whatever it
changes is changed between two frames, never during one.
"""

from __future__ import annotations

__all__ = [
    "CONTROL_SOCKET",
    "ControlServer",
    "WallNotRunning",
    "send_request",
]

import contextlib
import errno
import json
import logging
import os
import queue
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compositor.core.errors import CompositorError

log = logging.getLogger(__name__)

CONTROL_SOCKET = "control.sock"
MAX_MESSAGE_BYTES = 64 * 1024
ANSWER_WITHIN_S = 5.0  # the render loop answers within a tick; this is for a wall that hangs
_SUN_PATH_MAX = 107  # sockaddr_un's path, without its final NUL

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class WallNotRunning(CompositorError):
    """No wall answers on the control socket."""


@contextlib.contextmanager
def _socket_address(path: Path) -> Iterator[str]:
    """An address for ``path`` that fits a socket address, however deep the folder.

    A path longer than sockaddr_un allows is reached through the folder's
    open descriptor (``/proc/self/fd/N/control.sock``, Linux).
    """
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{folder}/{path.name}"
    finally:
        os.close(folder)


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while b"\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE_BYTES:
            raise ValueError("message too long")
    return data.split(b"\n", 1)[0]


def send_request(path: Path, request: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
    """Ask the wall serving ``path``; WallNotRunning if none does."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        try:
            with _socket_address(path) as address:
                conn.connect(address)
        except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError) as exc:
            raise WallNotRunning(
                f"no wall is running with state folder {path.parent} "
                f"({exc.strerror or exc}: {path})"
            ) from None
        except PermissionError:
            raise CompositorError(
                f"not allowed to talk to the wall at {path} (it runs as another user)"
            ) from None
        try:
            conn.sendall(json.dumps(request).encode() + b"\n")
            line = _read_line(conn)
        except TimeoutError:
            raise CompositorError(f"the wall at {path} did not answer in {timeout:g} s") from None
        except (OSError, ValueError) as exc:
            raise CompositorError(f"talking to the wall at {path} failed: {exc}") from None
    if not line:
        raise CompositorError(f"the wall at {path} closed the connection without an answer")
    try:
        reply = json.loads(line)
    except json.JSONDecodeError:
        raise CompositorError(f"the wall at {path} answered something that is not JSON") from None
    if not isinstance(reply, dict):
        raise CompositorError(f"the wall at {path} answered something that is not an object")
    return reply


@dataclass
class _Pending:
    request: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    reply: dict[str, Any] = field(default_factory=dict)


def _identity(path: Path) -> tuple[int, int] | None:
    """Which file is at ``path`` (device, inode); None if none."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class ControlServer:
    """Serves the control socket at ``path``; requests are handled by ``handler``
    on the thread that calls :meth:`serve_pending` (the render loop)."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self._handler = handler
        self._pending: queue.Queue[_Pending] = queue.Queue()
        self._stop = threading.Event()
        self._listener = self._bind()
        self._bound = _identity(self.path)
        self._thread = threading.Thread(target=self._serve, name="control-socket", daemon=True)

    def _bind(self) -> socket.socket:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            send_request(self.path, {"command": "ping"}, timeout=2.0)
        except WallNotRunning:
            pass  # nobody there: a socket file left by a wall that was killed, or none
        except CompositorError:
            pass  # something there that does not answer: take the place over
        else:
            raise CompositorError(f"another wall already answers on {self.path}")
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with _socket_address(self.path) as address:
                listener.bind(address)
            os.chmod(self.path, 0o600)
            listener.listen(8)
            listener.settimeout(0.2)  # how soon the thread sees the stop flag
        except OSError as exc:
            listener.close()
            raise CompositorError(f"cannot serve the control socket {self.path}: {exc}") from None
        return listener

    def start(self) -> None:
        self._thread.start()

    def ensure_bound(self) -> bool:
        """Serve at ``path`` again if the socket file there is no longer ours (its
        folder was removed and made again); True if the socket is served.

        Cheap when nothing changed (one stat): the wall calls it every second.
        """
        if _identity(self.path) == self._bound:
            return True
        try:
            listener = self._bind()
        except (OSError, CompositorError) as exc:  # OSError: a read-only folder, say
            log.debug("control socket %s not served again yet: %s", self.path, exc)
            return False
        # The serving thread moves to the new listener and closes the old one itself:
        # closed under its feet, it would take the closing for the end.
        self._listener = listener
        self._bound = _identity(self.path)
        log.info("control socket %s served again", self.path)
        return True

    def serve_pending(self) -> None:
        """Handle the requests waiting (render loop); never blocks."""
        while True:
            try:
                pending = self._pending.get_nowait()
            except queue.Empty:
                return
            try:
                pending.reply = self._handler(pending.request)
            except CompositorError as exc:
                pending.reply = {"ok": False, "error": str(exc)}
            except Exception as exc:  # a bug must not stop the wall; the client hears of it
                log.exception("control request %r failed", pending.request)
                pending.reply = {"ok": False, "error": f"internal error: {exc}"}
            pending.done.set()

    def _serve(self) -> None:
        listener = self._listener
        while not self._stop.is_set():
            if listener is not self._listener:  # bound again (ensure_bound)
                listener.close()
                listener = self._listener
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if exc.errno in (errno.EBADF, errno.EINVAL):
                    return  # closed
                log.warning("control socket: %s", exc)
                continue
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        conn.settimeout(2.0)
        try:
            line = _read_line(conn)
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
        except (OSError, ValueError) as exc:
            self._send(conn, {"ok": False, "error": f"bad request: {exc}"})
            return
        if request.get("command") == "ping":
            self._send(conn, {"ok": True, "pid": os.getpid()})
            return
        pending = _Pending(request)
        self._pending.put(pending)
        if pending.done.wait(ANSWER_WITHIN_S):
            self._send(conn, pending.reply)
        else:
            self._send(conn, {"ok": False, "error": "the wall did not answer in time"})

    @staticmethod
    def _send(conn: socket.socket, reply: dict[str, Any]) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(json.dumps(reply).encode() + b"\n")

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=1.0)
        self._listener.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
