"""The running wall's control socket: ``videowall preset`` and friends talk to it.

A Unix socket in the wall's state folder (``control.sock``, mode 0600 in a
0700 folder: only the wall's user may talk to it). One JSON object per line
each way: the client sends a request, the wall answers and closes.

The socket is served off the render loop, so a slow or stuck client never
holds up a frame. It is a transport only: each request goes to ``handler``
on its connection's thread, and the wall's handler hands it, as a typed
command, to the render loop's inbox (:mod:`compositor.control.inbox`), like
every other way in; whatever it changes is changed between two frames.

A client may be hostile or broken: it may trickle its request a byte at a
time, never send it, never read its answer, or send JSON nested too deeply
to parse. So each connection gets its own thread, with a deadline for the
whole request (not per read), and whatever goes wrong in it is answered and
ends that connection only. At most :data:`MAX_CONNECTIONS` are served at once;
one more is answered "busy" at once by the accepting thread, which does
nothing else that could block. (Threads rather than a selector loop: a
control request comes every few minutes, a thread costs under a millisecond
to start and ~20 KB while it waits, and blocking reads with a whole-request
deadline keep each connection's code straight; the bound keeps a flood from
costing more than that many threads. Measured: a ping answered in 0.4 ms
with seven clients trickling bytes at once, as fast as with none.)
"""

from __future__ import annotations

__all__ = [
    "CONTROL_SOCKET",
    "MAX_CONNECTIONS",
    "REQUEST_DEADLINE_S",
    "ControlServer",
    "WallBusy",
    "WallNotRunning",
    "send_request",
]

import contextlib
import errno
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from compositor.core.clock import Clock, MonotonicClock
from compositor.core.errors import BusyError, CompositorError

log = logging.getLogger(__name__)

CONTROL_SOCKET = "control.sock"
MAX_REQUEST_BYTES = 64 * 1024  # a request names a command and a preset: far less
MAX_REPLY_BYTES = 16 * 1024 * 1024  # a status of hundreds of cameras: far more than 64 KB
MAX_CONNECTIONS = 8  # served at once; more are answered "busy"
REQUEST_DEADLINE_S = 2.0  # to send a whole request: a local client sends it at once
SEND_DEADLINE_S = 2.0  # to take the whole answer
SLOT_WAIT_S = 0.05  # for a connection's slot, before "busy"
ACCEPT_WAKE_S = 0.2  # how soon the accepting thread sees the stop flag or a new listener
BUSY = "the wall is busy: try again"
_SUN_PATH_MAX = 107  # sockaddr_un's path, without its final NUL

# A request (a JSON object) -> its answer, on the connection's thread. It may block
# (the wall's waits for its render loop) and may raise CompositorError (answered).
Handler = Callable[[dict[str, Any]], dict[str, Any]]
_Identity = tuple[int, int]  # device, inode of the socket file


class WallNotRunning(CompositorError):
    """No wall answers on the control socket."""


class WallBusy(BusyError):
    """A wall is there but takes no more connections now: try again."""


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


def _stale(path: Path) -> bool:
    """Nobody listens at ``path`` (a socket left behind, or not a socket at all): found
    without waiting, where a ping could wait seconds on a wall that hangs."""
    with (
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe,
        _socket_address(path) as address,
    ):
        probe.setblocking(False)
        try:
            probe.connect(address)
        except (ConnectionRefusedError, FileNotFoundError):
            return True
        except OSError as exc:  # EAGAIN: a listener with a full backlog; others: unknown
            return exc.errno in (errno.ENOTSOCK, errno.ECONNREFUSED)
        return False


def _identity(path: Path) -> _Identity | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino


class _LineTooLong(ValueError):
    pass


def _read_line(conn: socket.socket, limit: int, deadline: float, now: Callable[[], float]) -> bytes:
    """The first line ``conn`` sends, by ``deadline`` (TimeoutError) however it trickles."""
    data = bytearray()
    while True:
        left = deadline - now()
        if left <= 0:
            raise TimeoutError("deadline passed")
        conn.settimeout(left)
        chunk = conn.recv(65536)
        if not chunk:
            return bytes(data)
        end = chunk.find(b"\n")
        if end >= 0:
            data += chunk[:end]
            if len(data) > limit:
                raise _LineTooLong(f"over {limit // 1024} KB")
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise _LineTooLong(f"over {limit // 1024} KB")


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode() + b"\n"


def send_request(
    path: Path, request: dict[str, Any], timeout: float = 10.0, clock: Clock | None = None
) -> dict[str, Any]:
    """Ask the wall serving ``path``; its answer within ``timeout`` seconds in all.

    Every failure is a CompositorError that says what happened: WallNotRunning
    if no wall is there, WallBusy if it takes no more connections now.
    """
    now = (clock or MonotonicClock()).now
    deadline = now() + timeout
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError as exc:
        raise CompositorError(f"cannot open a socket to the wall: {exc.strerror or exc}") from None
    with conn:
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
        except (BlockingIOError, TimeoutError):
            # A Unix socket whose backlog is full refuses at once (EAGAIN): the wall is
            # there, but does not take connections as fast as they come.
            raise WallBusy(f"the wall at {path} is busy: try again") from None
        except OSError as exc:
            raise CompositorError(
                f"cannot reach the wall at {path}: {exc.strerror or exc}"
            ) from None
        try:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                # A wall that refuses (busy) may close before reading: its answer is there.
                conn.settimeout(max(0.001, deadline - now()))
                conn.sendall(_encode(request))
            line = _read_line(conn, MAX_REPLY_BYTES, deadline, now)
        except TimeoutError:
            raise CompositorError(f"the wall at {path} did not answer in {timeout:g} s") from None
        except ConnectionResetError:
            line = b""
        except _LineTooLong as exc:
            raise CompositorError(f"the wall at {path} answered too much ({exc})") from None
        except OSError as exc:
            raise CompositorError(
                f"talking to the wall at {path} failed: {exc.strerror or exc}"
            ) from None
    if not line:
        raise CompositorError(f"the wall at {path} closed the connection without an answer")
    try:
        reply = json.loads(line)
    except (ValueError, RecursionError):
        raise CompositorError(f"the wall at {path} answered something that is not JSON") from None
    if not isinstance(reply, dict):
        raise CompositorError(f"the wall at {path} answered something that is not an object")
    if reply.get("busy") is True:
        why = reply.get("error")
        raise WallBusy(f"the wall at {path}: {why}" if isinstance(why, str) and why else BUSY)
    return reply


class ControlServer:
    """Serves the control socket at ``path``; each request is answered by ``handler``
    on its connection's thread."""

    def __init__(self, path: Path, handler: Handler, clock: Clock | None = None) -> None:
        self.path = path
        self._handler = handler
        self._now = (clock or MonotonicClock()).now
        self._stop = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        # Guards the listener's swap (ensure_bound) and the stop flag against new requests.
        self._lock = threading.Lock()
        self._refuse_another_wall()
        self._listener, self._bound = self._listen()
        self._retired: list[socket.socket] = []  # replaced listeners, closed by the accepter
        self._unbound_why: str | None = None
        self._thread = threading.Thread(target=self._serve, name="control-socket", daemon=True)

    def _refuse_another_wall(self) -> None:
        try:
            send_request(self.path, {"command": "ping"}, timeout=2.0)
        except WallNotRunning:
            return  # nobody there: a socket file left by a wall that was killed, or none
        except WallBusy:
            pass  # a wall, at its limit of connections
        except CompositorError:
            return  # something there that does not answer: take the place over
        raise CompositorError(f"another wall already answers on {self.path}")

    def _listen(self) -> tuple[socket.socket, _Identity]:
        """A listening socket at ``path`` (its folder made 0700 if missing)."""
        folder = self.path.parent
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            if not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                os.chmod(folder, 0o700)  # whatever the umask
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            with _socket_address(self.path) as address:
                listener.bind(address)
            os.chmod(self.path, 0o600)
            listener.listen(2 * MAX_CONNECTIONS)
            listener.settimeout(ACCEPT_WAKE_S)
            identity = _identity(self.path)
            if identity is None:
                raise FileNotFoundError(errno.ENOENT, "gone as soon as made")
        except OSError as exc:
            listener.close()
            raise CompositorError(
                f"cannot serve the control socket {self.path}: {exc.strerror or exc}"
            ) from None
        return listener, identity

    def start(self) -> None:
        self._thread.start()

    def ensure_bound(self) -> bool:
        """Serve at ``path`` again if its file is gone (the state folder deleted while
        the wall runs); True when the socket there is this wall's.

        Safe to call every second from the render loop: one ``stat`` while nothing
        changed. A file there that is not this wall's socket is left alone (False).
        """
        if self._stop.is_set():
            return False
        identity = _identity(self.path)
        if identity == self._bound:
            return True
        if identity is not None and not _stale(self.path):
            self._note_unbound("another wall serves there")
            return False
        try:
            listener, bound = self._listen()
        except CompositorError as exc:
            self._note_unbound(str(exc))
            return False
        with self._lock:
            self._retired.append(self._listener)
            self._listener, self._bound = listener, bound
        self._unbound_why = None
        log.info("control socket %s is served again", self.path)
        return True

    def _note_unbound(self, why: str) -> None:
        if why != self._unbound_why:  # once per reason, not once a second
            self._unbound_why = why
            log.warning("control socket %s not served: %s", self.path, why)

    # -- the accepting thread --

    def _serve(self) -> None:
        failing = False  # an accept error is logged once, not ten times a second
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
                retired, self._retired = self._retired, []
            for old in retired:
                old.close()
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    return
                if not failing:
                    log.warning("control socket: %s", exc.strerror or exc)
                failing = True
                self._stop.wait(ACCEPT_WAKE_S)  # out of descriptors, say: do not spin
                continue
            failing = False
            if self._stop.is_set():
                conn.close()
                return
            try:
                self._dispatch(conn)
            except Exception:  # the accepting thread must outlive anything
                log.exception("control socket: a connection could not be served")
                conn.close()

    def _dispatch(self, conn: socket.socket) -> None:
        # A moment's wait: a client that asks again as soon as answered may come before
        # the thread that answered it has given its slot back.
        if not self._slots.acquire(timeout=SLOT_WAIT_S):
            self._refuse(conn)
            return
        try:
            thread = threading.Thread(
                target=self._connection, args=(conn,), name="control-connection", daemon=True
            )
            thread.start()
        except RuntimeError:  # no more threads to be had
            self._slots.release()
            self._refuse(conn)

    @staticmethod
    def _refuse(conn: socket.socket) -> None:
        """'Busy', without waiting for the client: the accepting thread must not block."""
        with conn, contextlib.suppress(OSError):
            conn.setblocking(False)
            conn.send(_encode({"ok": False, "busy": True, "error": BUSY}))

    # -- one connection, on its own thread --

    def _connection(self, conn: socket.socket) -> None:
        try:
            with conn:
                self._send(conn, self._answer(conn))
        except Exception:  # this connection's failure is its own
            log.exception("control socket: a connection failed")
        finally:
            self._slots.release()

    def _answer(self, conn: socket.socket) -> dict[str, Any]:
        deadline = self._now() + REQUEST_DEADLINE_S
        try:
            line = _read_line(conn, MAX_REQUEST_BYTES, deadline, self._now)
            request = json.loads(line)
        except TimeoutError:
            return _bad(f"not received whole within {REQUEST_DEADLINE_S:g} s")
        except RecursionError:
            return _bad("nested too deeply")
        except (OSError, ValueError) as exc:  # not JSON, not UTF-8, too long, reset
            return _bad(str(exc))
        if not isinstance(request, dict):
            return _bad("a request is a JSON object")
        if request.get("command") == "ping":
            return {"ok": True, "pid": os.getpid()}
        return self._ask_render_loop(request)

    def _ask_render_loop(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._stop.is_set():
                return {"ok": False, "error": "the wall is stopping"}
        try:
            return self._handler(request)
        except BusyError as exc:
            return {"ok": False, "busy": True, "error": str(exc)}
        except CompositorError as exc:
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a bug must not stop the socket; the client hears of it
            log.exception("control request %r failed", request.get("command"))
            return {"ok": False, "error": f"internal error: {exc}"}

    @staticmethod
    def _send(conn: socket.socket, reply: dict[str, Any]) -> None:
        try:
            data = _encode(reply)
        except (TypeError, ValueError, RecursionError) as exc:  # a handler's bug
            log.error("control socket: an answer that is not JSON: %s", exc)
            data = _encode({"ok": False, "error": f"internal error: an answer not JSON ({exc})"})
        # sendall's timeout bounds the whole answer: a client that never reads it is left.
        conn.settimeout(SEND_DEADLINE_S)
        with contextlib.suppress(OSError):
            conn.sendall(data)

    def _wake_accepter(self) -> None:
        """A connection of our own: the accepting thread sees the stop flag now, not at
        its next timeout (a tenth of a second sooner on the way out)."""
        if _identity(self.path) != self._bound:
            return  # not ours to knock on: the thread wakes at its timeout
        with (
            contextlib.suppress(OSError),
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as knock,
            _socket_address(self.path) as address,
        ):
            knock.setblocking(False)
            knock.connect(address)

    def close(self) -> None:
        """Stop serving (requests still waiting in the wall's inbox are told it stops)."""
        with self._lock:
            self._stop.set()
        if self._thread.is_alive():
            self._wake_accepter()
            self._thread.join(timeout=1.0)
        with self._lock:
            for listener in (self._listener, *self._retired):
                listener.close()
            self._retired = []
        if _identity(self.path) == self._bound:  # another wall's socket is not ours to remove
            with contextlib.suppress(OSError):
                self.path.unlink()


def _bad(why: str) -> dict[str, Any]:
    return {"ok": False, "error": f"bad request: {why}"}
