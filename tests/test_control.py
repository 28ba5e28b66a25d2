"""The control socket against hostile and unlucky peers, on real Unix sockets.

Each connection's failure stays its own: a request nested too deeply, a
client that trickles a byte at a time, one that never reads its answer, a
handler that raises, a crowd of clients at once. Whatever they do, the next
honest client is answered at once, and the client side turns every socket
failure (a full backlog, a reset, a silent wall) into one clear error.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from compositor.cli import main
from compositor.control.commands import CLI, Actor, Command, parse_command
from compositor.control.inbox import CommandInbox
from compositor.control.unix_socket import (
    MAX_CONNECTIONS,
    REQUEST_DEADLINE_S,
    ControlServer,
    WallBusy,
    WallNotRunning,
    send_request,
)
from compositor.core.errors import CompositorError

Handler = Callable[[dict[str, Any]], dict[str, Any]]


def _echo(request: dict[str, Any]) -> dict[str, Any]:
    return {"ok": True, "echo": request}


@contextlib.contextmanager
def serving(path: Path, handler: Handler = _echo) -> Iterator[ControlServer]:
    """A control server answering each request with ``handler`` on its connection's thread."""
    server = ControlServer(path, handler)
    server.start()
    try:
        yield server
    finally:
        server.close()


@contextlib.contextmanager
def wall_inbox(path: Path, ticking: bool = True) -> Iterator[tuple[CommandInbox, list[str]]]:
    """The wall's arrangement: the socket's requests go through a command inbox that a
    stand-in render loop drains every 20 ms (``ticking``; else nobody drains it)."""
    inbox = CommandInbox()
    handled: list[str] = []

    def handle(command: Command, actor: Actor) -> dict[str, Any]:
        handled.append(command.command)
        return {"handled": command.command}

    def on_request(request: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, **inbox.submit(parse_command(request), CLI, timeout=0.3)}

    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            inbox.drain(handle)
            time.sleep(0.02)

    ticker = threading.Thread(target=loop, daemon=True)
    with serving(path, on_request):
        if ticking:
            ticker.start()
        try:
            yield inbox, handled
        finally:
            stop.set()
            if ticking:
                ticker.join()
            inbox.close()


def _connect(path: Path) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(path))
    return conn


def _answer_of(conn: socket.socket, timeout: float = 5.0) -> dict[str, Any] | None:
    """What the server sends back before closing (None: it closed without a word)."""
    conn.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := conn.recv(4096):
            data += chunk
    if not data:
        return None
    answer = json.loads(data.split(b"\n", 1)[0])
    assert isinstance(answer, dict)
    return answer


def _answered_at_once(path: Path) -> None:
    started = time.monotonic()
    assert send_request(path, {"command": "x", "n": 1}, timeout=5.0) == {
        "ok": True,
        "echo": {"command": "x", "n": 1},
    }
    assert time.monotonic() - started < 1.0, "an honest client was held up"


def test_a_request_nested_too_deeply_is_refused_and_the_socket_serves_on(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    with serving(path):
        for nested in (b"[" * 60_000, b'{"a":' * 12_000):
            with _connect(path) as conn:
                conn.sendall(nested + b"\n")
                answer = _answer_of(conn)
            assert answer is not None and answer["ok"] is False
            assert "bad request" in answer["error"] and "nested" in answer["error"]
            _answered_at_once(path)


def test_a_trickling_client_holds_up_no_one_and_is_cut_at_the_deadline(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    with serving(path):
        trickler = _connect(path)
        stop = threading.Event()

        def trickle() -> None:  # a byte every 1.5 s: within any per-read timeout
            with contextlib.suppress(OSError):
                while not stop.wait(1.5):
                    trickler.send(b" ")

        thread = threading.Thread(target=trickle, daemon=True)
        started = time.monotonic()
        thread.start()
        try:
            time.sleep(0.2)  # the trickler is being served
            _answered_at_once(path)
            answer = _answer_of(trickler, timeout=REQUEST_DEADLINE_S + 3.0)
            cut_after = time.monotonic() - started
            assert answer is not None and "not received" in answer["error"]
            assert cut_after < REQUEST_DEADLINE_S + 1.0
            _answered_at_once(path)
        finally:
            stop.set()
            thread.join()
            trickler.close()


def test_a_crowd_of_silent_clients_gets_busy_answers_and_honest_ones_come_through_after(
    tmp_path: Path,
) -> None:
    path = tmp_path / "control.sock"
    with serving(path):
        silent = [_connect(path) for _ in range(MAX_CONNECTIONS)]
        try:
            time.sleep(0.3)  # all of them taken in: every handler is waiting on one
            started = time.monotonic()
            with pytest.raises(CompositorError, match="busy: try again"):
                send_request(path, {"command": "x"}, timeout=5.0)
            assert time.monotonic() - started < 1.0, "'busy' was not said at once"
            # The silent ones are cut at the deadline; then the wall answers again.
            for conn in silent:
                answer = _answer_of(conn, timeout=REQUEST_DEADLINE_S + 3.0)
                assert answer is not None and answer["ok"] is False
        finally:
            for conn in silent:
                conn.close()
        time.sleep(0.1)
        _answered_at_once(path)


def test_every_failure_of_one_connection_stays_its_own(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"

    def handler(request: dict[str, Any]) -> dict[str, Any]:
        if request["command"] == "bug":
            raise RuntimeError("a bug")
        if request["command"] == "unsendable":
            return {"ok": True, "what": {1, 2}}  # a set is no JSON
        if request["command"] == "deep":
            nested: list[Any] = []
            for _ in range(100_000):
                nested = [nested]
            return {"ok": True, "what": nested}
        return _echo(request)

    with serving(path, handler):
        for command in ("bug", "unsendable", "deep"):
            reply = send_request(path, {"command": command})
            assert reply["ok"] is False and "internal error" in reply["error"], command
            _answered_at_once(path)
        # Not JSON, not an object, not UTF-8, too long, nothing at all, a hang-up mid-line.
        for sent in (b"{nope\n", b"[1, 2]\n", b"\xff\xfe\n", b"x" * 70_000, b"\n", b'{"a"'):
            with _connect(path) as conn, contextlib.suppress(OSError):
                conn.sendall(sent)
                conn.shutdown(socket.SHUT_WR)
                answer = _answer_of(conn)
                assert answer is None or answer["ok"] is False, sent[:10]
            _answered_at_once(path)
        # A client that asks and never reads a big answer: the answer's sending ends too.
        with _connect(path) as greedy:
            greedy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            greedy.sendall(json.dumps({"command": "x", "pad": "y" * 60_000}).encode() + b"\n")
            _answered_at_once(path)


def test_a_full_backlog_is_a_busy_wall_for_the_command_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wall that accepts nothing (hung, or its thread dead): connecting fails with EAGAIN."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    path = state / "control.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(0)
    queued: list[socket.socket] = []
    try:
        while True:  # fill the backlog
            conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            conn.setblocking(False)
            try:
                conn.connect(str(path))
            except BlockingIOError:
                conn.close()
                break
            queued.append(conn)
        with pytest.raises(CompositorError, match="busy: try again"):
            send_request(path, {"command": "presets"}, timeout=2.0)
        assert main(["preset", "--list", "--state-dir", str(state)]) == 2
        err = capsys.readouterr().err
        assert "busy: try again" in err and "Traceback" not in err
    finally:
        for conn in queued:
            conn.close()
        listener.close()


def test_the_client_turns_every_socket_failure_into_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(8)
    behaviour: list[Callable[[socket.socket], None]] = []

    def serve() -> None:
        for act in behaviour:
            conn, _ = listener.accept()
            with conn, contextlib.suppress(OSError):
                act(conn)

    def reset(conn: socket.socket) -> None:
        time.sleep(0.1)  # the request arrives, unread: closing now resets the client
        conn.close()

    def silent(conn: socket.socket) -> None:
        conn.recv(4096)
        time.sleep(1.5)

    def deep(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(b"[" * 60_000 + b"\n")

    def not_an_object(conn: socket.socket) -> None:
        conn.recv(4096)
        conn.sendall(b"[1]\n")

    behaviour += [reset, silent, deep, not_an_object]
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with pytest.raises(CompositorError, match="closed the connection without an answer"):
            send_request(path, {"command": "x", "pad": "z" * 200_000})
        with pytest.raises(CompositorError, match="did not answer in 1 s"):
            send_request(path, {"command": "x"}, timeout=1.0)
        with pytest.raises(CompositorError, match="not JSON"):
            send_request(path, {"command": "x"})
        with pytest.raises(CompositorError, match="not an object"):
            send_request(path, {"command": "x"})
    finally:
        thread.join(timeout=5)
        listener.close()
    # Something there that is no socket, and a socket nobody listens on.
    path.unlink()
    path.write_text("not a socket")
    with pytest.raises(WallNotRunning):
        send_request(path, {"command": "x"})


def test_ensure_bound_binds_again_when_the_state_folder_comes_back(tmp_path: Path) -> None:
    state = tmp_path / "state"
    path = state / "control.sock"
    with serving(path) as server:
        inode = path.stat().st_ino
        assert server.ensure_bound()  # nothing changed: nothing done
        assert path.stat().st_ino == inode
        _answered_at_once(path)
        for item in state.iterdir():
            item.unlink()
        state.rmdir()
        with pytest.raises(WallNotRunning):
            send_request(path, {"command": "x"})
        assert server.ensure_bound()
        assert state.stat().st_mode & 0o777 == 0o700
        assert path.stat().st_mode & 0o777 == 0o600
        _answered_at_once(path)
        assert server.ensure_bound() and path.stat().st_ino != inode
        # The folder in the way of the socket cannot be made: not bound, no exception.
        for item in state.iterdir():
            item.unlink()
        state.rmdir()
        state.write_text("a file where the folder was")
        assert not server.ensure_bound()
        state.unlink()
        assert server.ensure_bound()
        _answered_at_once(path)
        # Another wall's socket in its place is left alone; one left behind is taken over.
        path.unlink()
        other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        other.bind(str(path))
        other.listen(1)
        theirs = path.stat().st_ino
        assert not server.ensure_bound()
        # Still the other wall's socket. (Not compared with the first socket's inode: that
        # file is gone, and the filesystem may give its number to the new one.)
        assert path.exists() and path.stat().st_ino == theirs
        other.close()  # its file stays: a wall that was killed
        assert server.ensure_bound()
        _answered_at_once(path)


def test_closing_leaves_a_socket_that_is_not_its_own(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    server = ControlServer(path, _echo)
    server.start()
    path.unlink()  # the folder emptied; another wall takes the place
    with serving(path):
        server.close()
        assert path.exists()
        _answered_at_once(path)


def test_commands_reach_the_render_loop_through_the_inbox(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    with wall_inbox(path) as (_, handled):
        assert send_request(path, {"command": "presets"}) == {"ok": True, "handled": "presets"}
        reply = send_request(path, {"command": "callup", "output": "A1", "tile": 0})
        assert reply["ok"] is False and "bad request" in reply["error"]
    assert handled == ["presets"]


def test_requests_waiting_when_the_wall_stops_are_answered(tmp_path: Path) -> None:
    path = tmp_path / "control.sock"
    replies: list[dict[str, Any] | str] = []
    with wall_inbox(path, ticking=False) as (inbox, _):

        def ask() -> None:
            try:
                replies.append(send_request(path, {"command": "presets"}))
            except CompositorError as exc:
                replies.append(str(exc))

        thread = threading.Thread(target=ask)
        thread.start()
        time.sleep(0.15)
        inbox.close()  # the wall stops while the request waits for its render loop
        thread.join(timeout=3)
    assert replies and "stopping" in str(replies[0])


def test_the_render_loop_never_acts_on_a_request_its_client_gave_up(tmp_path: Path) -> None:
    """A preset the operator was told 'no answer' about must not appear on the wall later."""
    path = tmp_path / "control.sock"
    with wall_inbox(path, ticking=False) as (inbox, handled):
        with pytest.raises(WallBusy, match="did not answer"):
            send_request(path, {"command": "preset", "name": "a"})
        inbox.drain(lambda command, actor: {"late": True})  # back from a long stall
        assert handled == []


def test_connect_errors_name_the_wall(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    path = folder / "control.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        if os.geteuid() != 0:  # root reaches any socket
            os.chmod(path, 0)
            with pytest.raises(CompositorError, match="not allowed"):
                send_request(path, {"command": "x"})
    finally:
        listener.close()
