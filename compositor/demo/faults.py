"""Hostile cameras on 127.0.0.1, for the fault tests and the soak.

:class:`RtspFaultProxy` stands between the wall and a real RTSP server (the
test cameras of :mod:`testcams`) and misbehaves on request, the way cameras
met in the field do: a session name in Latin-1, a description padded to a
gigabyte, a stream that trickles one byte every 2 s once it is live, a
connection reset in the middle of a stream, timestamps that jump backwards.
It understands just enough RTSP for that: it reads the server's answers
(headers and a body of ``Content-Length``) and the interleaved RTP frames
(``$``, channel, length) of a session over TCP, the wall's transport.
Everything the wall sends goes to the server untouched.

:func:`pipeline_camera` serves one GStreamer launch line at
``rtsp://127.0.0.1:<port>/cam``, for streams the test cameras do not make
(many tracks, a payload FFmpeg does not know, a codec that changes).

    with SyntheticCameraServer([camera]) as server, RtspFaultProxy(server.port) as proxy:
        url = proxy.url("cam01")
        proxy.faults.trickle_after_s = 2.0  # each connection trickles once live for 2 s

Nothing here is used by a production wall.
"""

from __future__ import annotations

__all__ = ["PIPELINE_SERVER", "ProxyFaults", "RtspFaultProxy", "pipeline_camera"]

import contextlib
import re
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from compositor.demo.testcams import SYSTEM_PYTHON

_CHUNK = 1 << 20  # bytes of padding sent at once
_RTCP_SENDER_REPORT = 200


@dataclass
class ProxyFaults:
    """What the proxy does to the connections it carries; may be changed at any time.

    Times count from the first RTP frame of a connection (the camera is live).
    """

    # The SDP's session name (the ``s=`` line) replaced by these raw bytes.
    session_name: bytes | None = None
    # Bytes of ``a=`` lines added to the end of the SDP (its Content-Length grows with them).
    sdp_padding: int = 0
    # Once live this long, the rest of the stream comes one byte every trickle_every_s.
    trickle_after_s: float | None = None
    trickle_every_s: float = 2.0
    # Once live this long, the connection is reset (TCP RST, as a camera that reboots).
    reset_after_s: float | None = None
    # Once live this long, RTP timestamps (and those of RTCP sender reports) are moved by
    # ``timestamp_jump`` ticks: negative jumps backwards, as a camera whose clock is reset.
    jump_after_s: float | None = None
    timestamp_jump: int = 0


class RtspFaultProxy:
    """A TCP proxy on 127.0.0.1 in front of an RTSP server, with :class:`ProxyFaults`."""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.faults = ProxyFaults()
        self.connections = 0  # accepted so far: a reconnect is one more
        self.resets = 0  # connections reset by the fault
        self.channels: set[int] = set()  # interleaved channels that carried data
        self.upstream = (upstream_host, upstream_port)  # where new connections go
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def reroute(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        """Send the next connections to another server, and reset those open now.

        As a camera whose server restarts its stream another way (another codec,
        audio only): the client reconnects, and finds the new one.
        """
        self.upstream = (upstream_host, upstream_port)
        with self._lock:
            for sock in self._open:
                _abort(sock)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> RtspFaultProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- connections ---------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            self.connections += 1
            with self._lock:
                self._open.update((client, server))
            for target in (self._to_server, self._to_client):
                threading.Thread(target=target, args=(client, server), daemon=True).start()

    def _forget(self, *sockets: socket.socket) -> None:
        with self._lock:
            for sock in sockets:
                self._open.discard(sock)
                with contextlib.suppress(OSError):
                    sock.close()

    def _to_server(self, client: socket.socket, server: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                server.sendall(data)
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_WR)

    def _to_client(self, client: socket.socket, server: socket.socket) -> None:
        try:
            _Relay(self, client, server).run()
        except OSError:
            pass
        finally:
            self._forget(client, server)


def _abort(sock: socket.socket) -> None:
    """Have ``sock`` reset (RST, not FIN) when closed, as a camera that loses power.

    Shut for reading too: a thread blocked reading it would keep it open, and the
    reset unsent, however it is closed.
    """
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)


class _Relay:
    """The server's side of one connection: answers and RTP frames, each faulted or not."""

    def __init__(self, proxy: RtspFaultProxy, client: socket.socket, server: socket.socket):
        self._proxy = proxy
        self._faults = proxy.faults
        self._client = client
        self._server = server
        self._buffer = b""
        self._live_since: float | None = None  # the first RTP frame

    def _read(self, size: int) -> bytes:
        """Exactly ``size`` bytes from the server (fewer: it closed)."""
        while len(self._buffer) < size:
            data = self._server.recv(65536)
            if not data:
                break
            self._buffer += data
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def _live_for(self) -> float:
        return 0.0 if self._live_since is None else time.monotonic() - self._live_since

    def run(self) -> None:
        while not self._proxy._stop.is_set():
            head = self._read(1)
            if not head:
                return
            if head == b"$":
                header = self._read(3)
                (length,) = struct.unpack(">H", header[1:3])
                message = head + header + self._read(length)
                if self._live_since is None:
                    self._live_since = time.monotonic()
                self._proxy.channels.add(header[0])
                message = self._jump(message)
            else:
                self._buffer = head + self._buffer
                answer = self._answer()
                if answer is None:
                    return
                message = answer
            if self._fault_due(self._faults.reset_after_s):
                self._reset()
                return
            if self._fault_due(self._faults.trickle_after_s):
                self._trickle(message)
                return
            self._client.sendall(message)

    def _fault_due(self, after: float | None) -> bool:
        return after is not None and self._live_since is not None and self._live_for() >= after

    def _answer(self) -> bytes | None:
        """One RTSP answer, its SDP faulted; None when the server closed."""
        while b"\r\n\r\n" not in self._buffer:
            data = self._server.recv(65536)
            if not data:
                return None
            self._buffer += data
        end = self._buffer.index(b"\r\n\r\n") + 4
        head, self._buffer = self._buffer[:end], self._buffer[end:]
        match = re.search(rb"(?im)^content-length:\s*(\d+)\r\n", head)
        body = self._read(int(match.group(1))) if match else b""
        if b"application/sdp" not in head.lower():
            return head + body
        faults = self._faults
        name = faults.session_name
        if name is not None:
            body = re.sub(rb"(?m)^s=[^\r\n]*", lambda _m: b"s=" + name, body)
        padding = max(0, faults.sdp_padding)
        length = b"Content-Length: %d\r\n" % (len(body) + padding)
        head = re.sub(rb"(?im)^content-length:\s*\d+\r\n", lambda _m: length, head)
        if padding:
            self._client.sendall(head + body)
            self._pad(padding)
            return b""
        return head + body

    def _pad(self, size: int) -> None:
        """``size`` bytes of SDP attribute lines, sent as they are made (a gigabyte fits)."""
        line = b"a=x-padding:" + b"x" * 1000 + b"\r\n"
        chunk = line * (_CHUNK // len(line))
        while size > 0:
            part = chunk[:size] if size < len(chunk) else chunk
            self._client.sendall(part)
            size -= len(part)

    def _jump(self, frame: bytes) -> bytes:
        """An interleaved frame with its RTP (even channel) or RTCP SR timestamp moved."""
        faults = self._faults
        if not self._fault_due(faults.jump_after_s) or not faults.timestamp_jump:
            return frame
        channel, payload = frame[1], bytearray(frame[4:])
        if channel % 2 == 0 and len(payload) >= 8:
            offset = 4  # RTP: V/P/X/CC, M/PT, sequence, then the timestamp
        elif len(payload) >= 20 and payload[1] == _RTCP_SENDER_REPORT:
            offset = 16  # RTCP SR: header, SSRC, NTP time, then the RTP timestamp
        else:
            return frame
        (stamp,) = struct.unpack_from(">I", payload, offset)
        struct.pack_into(">I", payload, offset, (stamp + faults.timestamp_jump) % (1 << 32))
        return frame[:4] + bytes(payload)

    def _reset(self) -> None:
        _abort(self._client)
        self._proxy.resets += 1

    def _trickle(self, pending: bytes) -> None:
        """The rest of the stream one byte at a time: every read gets data, no frame ends."""
        self._server.settimeout(0.0)
        every = self._faults.trickle_every_s
        while not self._proxy._stop.is_set() and pending:
            self._client.sendall(pending[:1])
            pending = pending[1:]
            deadline = time.monotonic() + every
            while (left := deadline - time.monotonic()) > 0:
                time.sleep(min(0.1, left))
                # The server is still read (and what it sends dropped): a server whose
                # client stops reading would drop the session, and the trickle with it.
                with contextlib.suppress(BlockingIOError):
                    if not self._server.recv(65536):
                        return


# An RTSP server of one GStreamer pipeline at /cam, for streams the test cameras do not
# make. With a switch period, a capsfilter named "size" alternates between 320x180
# (square pixels) and 352x288 with 12:11 pixels (PAL 4:3) on the same stream, and an
# input-selector named "codec" switches between its inputs on the same stream.
# Runs under the system Python (GStreamer); exits when the caller's end of stdin closes.
PIPELINE_SERVER = r"""
import os, sys, gi
gi.require_version("Gst", "1.0"); gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer
Gst.init(None)
launch, switch_s = sys.argv[1], float(sys.argv[2])
sizes = [(320, 180, "1/1"), (352, 288, "12/11")]
caps = "video/x-raw,format=I420,width={},height={},pixel-aspect-ratio={},framerate=10/1"
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service("0")
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(launch)
factory.set_shared(True)
def configure(factory, media):
    size = media.get_element().get_by_name("size")
    selector = media.get_element().get_by_name("codec")
    turn = [0]
    def switch():
        turn[0] += 1
        if size is not None:
            size.set_property("caps", Gst.Caps.from_string(caps.format(*sizes[turn[0] % 2])))
        if selector is not None:
            pads = list(selector.sinkpads)
            selector.set_property("active-pad", pads[turn[0] % len(pads)])
        return True
    if switch_s > 0:
        GLib.timeout_add(int(switch_s * 1000), switch)
factory.connect("media-configure", configure)
server.get_mount_points().add_factory("/cam", factory)
server.attach(None)
loop = GLib.MainLoop()
def on_stdin(*args):
    if os.read(0, 64):
        return True
    loop.quit()
    return False
GLib.io_add_watch(0, GLib.IO_IN | GLib.IO_HUP, on_stdin)
print("READY", server.get_bound_port(), flush=True)
loop.run()
"""


@contextlib.contextmanager
def pipeline_camera(launch: str, switch_s: float = 0.0) -> Iterator[str]:
    """Serve the GStreamer ``launch`` line at rtsp://127.0.0.1:<port>/cam; yields the URL.

    Its payloaders are named ``pay0``, ``pay1``...; see :data:`PIPELINE_SERVER` for
    what ``switch_s`` switches.
    """
    process = subprocess.Popen(
        [SYSTEM_PYTHON, "-c", PIPELINE_SERVER, f"( {launch} )", str(switch_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready = process.stdout.readline().split()
        if ready[:1] != ["READY"]:
            raise RuntimeError(f"the pipeline server did not start: {ready}")
        yield f"rtsp://127.0.0.1:{ready[1]}/cam"
    finally:
        process.kill()
        process.wait()
