"""Generated test cameras served over real RTSP, for the demo and the tests.

:class:`SyntheticCameraServer` runs ``rtsp_server.py`` (next to this file)
with the system Python, which has GStreamer's RTSP server through GObject
introspection; the compositor's own environment needs neither. Each
:class:`SyntheticCamera` is a live picture in one background colour with a
moving white ball, its label and a running clock, encoded as it is served;
or, made with :meth:`SyntheticCamera.from_clip`, a pre-encoded clip (Annex-B
H.264/H.265 with a JSON index, see ``benchmarks/clips.py``) replayed from
memory in a loop with continuous timestamps, which costs the server almost
nothing however textured the clip is.

    with SyntheticCameraServer([SyntheticCamera("cam01", "cam01 North")]) as server:
        url = server.url("cam01")  # rtsp://127.0.0.1:<port>/cam01

The server process exits when this process goes away (its stdin closes), so
a crashed test leaves no server behind.
"""

from __future__ import annotations

__all__ = ["SYSTEM_PACKAGES", "SyntheticCamera", "SyntheticCameraServer"]

import contextlib
import json
import os
import re
import selectors
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from compositor.core.errors import EnvironmentSetupError

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER_SCRIPT = Path(__file__).with_name("rtsp_server.py")
# The Debian packages the server needs (``scripts/install-system-deps.sh demo`` installs them).
SYSTEM_PACKAGES = (
    "python3-gi",
    "python3-gst-1.0",
    "gir1.2-gst-rtsp-server-1.0",
    "gstreamer1.0-plugins-base",
    "gstreamer1.0-plugins-good",
    "gstreamer1.0-plugins-ugly",
    "gstreamer1.0-plugins-bad",
    "gstreamer1.0-x",
    "fonts-dejavu-core",
)
CODECS = ("h264", "h265", "mjpeg")
_COLORIMETRY = re.compile(r"[A-Za-z0-9:]{1,32}")  # a name or range:matrix:transfer:primaries


@dataclass(frozen=True)
class SyntheticCamera:
    """One generated camera, served at ``rtsp://host:port/<path>``."""

    path: str
    label: str
    width: int = 640
    height: int = 360
    fps: int = 15
    color: tuple[int, int, int] = (200, 40, 40)  # RGB background
    sar: tuple[int, int] = (1, 1)  # sample (pixel) aspect ratio, signalled in the stream
    codec: str = "h264"  # "h264", "h265" or "mjpeg"
    clip: str | None = None  # replay this pre-encoded clip instead of generating a picture
    clip_start: int = 0  # the clip's frame to start at (snapped back to a key frame)
    # GStreamer colorimetry of the raw picture before encoding, signalled in the stream:
    # "bt601", "bt709", or "range:matrix:transfer:primaries" ("1:4:0:0" is full-range
    # BT.601, as JPEG). None: GStreamer's default for the size (BT.601 up to 576 lines).
    colorimetry: str | None = None
    # Not a camera but a relay of one (mediamtx's part in the tests): this server pulls the
    # H.264 stream at this rtsp:// URL once and serves it at its path to every client.
    relay: str | None = None

    @classmethod
    def from_clip(
        cls, path: str, label: str, clip: str | os.PathLike[str], start: int = 0
    ) -> SyntheticCamera:
        """A camera replaying ``clip``; its size, rate and codec are read from ``<clip>.json``."""
        index_path = Path(f"{os.fspath(clip)}.json")
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            width, height, fps = int(index["width"]), int(index["height"]), int(index["fps"])
            codec = str(index.get("codec", "h264"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"camera {path}: cannot read the clip's index {index_path}: {exc}"
            ) from None
        return cls(
            path,
            label,
            width,
            height,
            fps,
            codec=codec,
            clip=str(Path(clip).resolve()),
            clip_start=start,
        )

    def __post_init__(self) -> None:
        if not self.path or self.path != self.path.strip("/") or any(c in self.path for c in " ?#"):
            raise ValueError(f"bad camera path {self.path!r}")
        if self.width < 16 or self.height < 16 or self.width % 2 or self.height % 2:
            raise ValueError(f"camera {self.path}: width and height must be even and >= 16")
        if not 1 <= self.fps <= 120:
            raise ValueError(f"camera {self.path}: fps must be 1..120")
        if len(self.color) != 3 or not all(0 <= c <= 255 for c in self.color):
            raise ValueError(f"camera {self.path}: color must be three values 0..255")
        if len(self.sar) != 2 or min(self.sar) < 1:
            raise ValueError(f"camera {self.path}: sar must be two positive integers")
        if self.codec not in CODECS:
            raise ValueError(f"camera {self.path}: codec must be one of {', '.join(CODECS)}")
        if self.codec == "mjpeg" and (self.width % 8 or self.height % 8):
            # RTP/JPEG carries the size in units of 8 pixels.
            raise ValueError(f"camera {self.path}: MJPEG needs width and height in multiples of 8")
        if self.clip is not None and self.codec not in ("h264", "h265"):
            raise ValueError(f"camera {self.path}: a clip must be H.264 or H.265")
        if self.clip_start < 0:
            raise ValueError(f"camera {self.path}: clip_start must be >= 0")
        if self.colorimetry is not None and not _COLORIMETRY.fullmatch(self.colorimetry):
            raise ValueError(f"camera {self.path}: bad colorimetry {self.colorimetry!r}")


class SyntheticCameraServer:
    """A real RTSP server of :class:`SyntheticCamera`\\ s in a child process.

    ``start()`` (or ``with``) starts it; ``stop()`` ends it. ``pause()``,
    ``resume()`` and ``kill()`` freeze, thaw and crash it, for fault tests;
    after ``kill()``, ``start()`` brings it back on the same port.
    """

    def __init__(
        self,
        cameras: Sequence[SyntheticCamera],
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        user: str | None = None,
        password: str | None = None,
    ) -> None:
        if not cameras:
            raise ValueError("a camera server needs at least one camera")
        paths = [c.path for c in cameras]
        if len(set(paths)) != len(paths):
            raise ValueError(f"camera paths repeat: {paths}")
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither")
        if not 0 <= port <= 65535:
            raise ValueError(f"bad port {port}")
        self.cameras = tuple(cameras)
        self.host = host
        self.user = user
        self.password = password
        self._requested_port = port
        self._port: int | None = None  # the bound port, kept across kill() and start()
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self._paused = False

    # -- life cycle ------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and wait until it listens; does nothing if it runs already.

        Raises :class:`EnvironmentSetupError` when the system Python lacks
        GStreamer's RTSP server, the port is busy, or the server does not come
        up within ``timeout`` seconds.
        """
        if self.running:
            return
        self._cleanup()
        self._remove_log()
        if not os.access(SYSTEM_PYTHON, os.X_OK):
            raise EnvironmentSetupError(
                f"the test cameras need {SYSTEM_PYTHON} with GStreamer's RTSP server; "
                f"install the Debian packages: {' '.join(SYSTEM_PACKAGES)} "
                "(or run scripts/install-system-deps.sh demo)"
            )
        port = self._port if self._port is not None else self._requested_port
        spec = {
            "host": self.host,
            "port": port,
            "user": self.user,
            "password": self.password,
            "cameras": [asdict(c) for c in self.cameras],
        }
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        fd, log_name = tempfile.mkstemp(prefix="videowall-rtsp-", suffix=".log")
        self._log_path = Path(log_name)
        try:
            process = subprocess.Popen(
                [SYSTEM_PYTHON, str(SERVER_SCRIPT), "--exit-with-stdin"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=fd,  # a file: the server can never block on a full pipe
                env=env,
                start_new_session=True,  # the terminal's Ctrl-C is for us, not for it
            )
        finally:
            os.close(fd)
        self._process = process
        self._paused = False
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(json.dumps(spec).encode() + b"\n")
            process.stdin.flush()  # stdin stays open: the server exits when it closes
        except BrokenPipeError:
            pass  # it died at once; the reason is in its log
        self._port = self._wait_ready(process, timeout, port)

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float, port: int) -> int:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        output = b""
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while b"\n" not in output:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._abort()
                    raise EnvironmentSetupError(
                        f"the RTSP test server did not come up within {timeout:g} s"
                        f"{self._log_tail()}"
                    )
                if selector.select(left):
                    chunk = os.read(process.stdout.fileno(), 4096)
                    if not chunk:  # stdout closed: the server ended
                        break
                    output += chunk
        line = output.split(b"\n", 1)[0].decode(errors="replace").strip()
        if line.startswith("READY "):
            process.stdout.close()  # nothing more comes on stdout
            return int(line.split()[1])
        self._abort()
        reason = self._error_line()
        where = f"{self.host}:{port}" if port else self.host
        if reason is None:
            raise EnvironmentSetupError(
                f"the RTSP test server on {where} did not start{self._log_tail()}"
            )
        self._remove_log()
        raise EnvironmentSetupError(f"the RTSP test server on {where} did not start: {reason}")

    def stop(self) -> None:
        """Stop the server: SIGTERM, up to 2 s to exit, then SIGKILL. Idempotent."""
        process = self._process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
                if self._paused:
                    process.send_signal(signal.SIGCONT)
            try:
                process.wait(timeout=2.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._cleanup()
        self._remove_log()

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open, nothing is answered."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        self._signal(signal.SIGCONT)
        self._paused = False

    def kill(self) -> None:
        """Crash the server (SIGKILL); ``start()`` brings it back on the same port."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._cleanup()

    # -- queries -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The server process's id while it runs (for measuring what it costs)."""
        return self._process.pid if self.running and self._process is not None else None

    @property
    def port(self) -> int:
        """The port the server listens on (known once it has started)."""
        if self._port is None:
            if self._requested_port:
                return self._requested_port
            raise RuntimeError("the camera server has not started: its port is not known yet")
        return self._port

    @property
    def log_path(self) -> Path | None:
        """The server's log (its stderr), while it runs."""
        return self._log_path

    def url(self, path: str) -> str:
        """``rtsp://[user:password@]host:port/path`` of camera ``path``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        credentials = ""
        if self.user is not None and self.password is not None:
            credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}@"
        return f"rtsp://{credentials}{host}:{self.port}/{path.lstrip('/')}"

    # -- context manager ---------------------------------------------------------------

    def __enter__(self) -> SyntheticCameraServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------

    def _signal(self, signum: int) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            raise RuntimeError("the camera server is not running")
        process.send_signal(signum)

    def _abort(self) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        process = self._process
        self._process = None
        self._paused = False
        if process is not None:
            for pipe in (process.stdin, process.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()

    def _remove_log(self) -> None:
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def _log_lines(self) -> list[str]:
        if self._log_path is None:
            return []
        try:
            return self._log_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def _error_line(self) -> str | None:
        for line in reversed(self._log_lines()):
            if line.startswith("ERROR: "):
                message = line.removeprefix("ERROR: ")
                if "install the Debian packages" in message:
                    message += " (or run scripts/install-system-deps.sh demo)"
                return message
        return None

    def _log_tail(self, lines: int = 15) -> str:
        tail = [line for line in self._log_lines() if line.strip()][-lines:]
        if not tail:
            return ""
        return f"; its log ({self._log_path}) ends:\n  " + "\n  ".join(tail)
