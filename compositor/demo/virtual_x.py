"""X servers with virtual monitors, for the demo and the tests.

Two kinds:

* :meth:`VirtualDisplay.xvfb`: Xvfb with one screen and GLX (Mesa's software
  renderer), for windowed tests. pyglet sees one screen.
* :meth:`VirtualDisplay.dummy_wall`: Xorg with the ``dummy`` video driver and
  up to 16 RandR outputs (``DUMMY0`` ...) laid out in a grid with ``xrandr``;
  pyglet sees one screen per monitor, as on a real video wall. Needs root.

Each server gets a free display number, its own temporary directory for its
config and log, and is stopped by PID; ``stop()`` waits until the display
number is free again.

    with VirtualDisplay.dummy_wall(14, columns=7, mode=(480, 270)) as display:
        os.environ["DISPLAY"] = display.name
"""

from __future__ import annotations

__all__ = ["X_PACKAGES", "VirtualDisplay"]

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from compositor.core.errors import DisplayError, EnvironmentSetupError

# Debian packages for both kinds (``scripts/install-system-deps.sh demo`` installs them).
X_PACKAGES = (
    "xserver-xorg-core",
    "xserver-xorg-video-dummy",
    "xvfb",
    "x11-xserver-utils",
    "x11-utils",
    "libgl1-mesa-dri",
    "libglx-mesa0",
)
DUMMY_DRIVER = Path("/usr/lib/xorg/modules/drivers/dummy_drv.so")
DUMMY_OUTPUTS = 16  # the dummy driver offers DUMMY0 ... DUMMY15
FIRST_DISPLAY = 70  # display numbers tried from here up, clear of desktops' :0, :1 and ssh's :10+
START_TIMEOUT = 10.0
# " 0: +*DUMMY0 480/127x270/71+0+0  DUMMY0": monitor name, geometry, output name.
_MONITOR_LINE = re.compile(
    r"^\s*\d+:\s+[+*]*(?P<name>\S+)\s+(?P<w>\d+)/\d+x(?P<h>\d+)/\d+"
    r"\+(?P<x>-?\d+)\+(?P<y>-?\d+)(?:\s+(?P<output>\S+))?"
)
# Builds the X server's command line for a display number, a work directory and a log file.
_CommandBuilder = Callable[[int, Path, Path], list[str]]


class VirtualDisplay:
    """A running X server; ``name`` (like ``":77"``) is its ``DISPLAY``."""

    def __init__(
        self,
        number: int,
        process: subprocess.Popen[bytes],
        workdir: Path,
        log_path: Path,
        kind: str,
    ) -> None:
        self.number = number
        self.name = f":{number}"
        self.kind = kind  # "xvfb" or "dummy"
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = process
        self._workdir = workdir
        # connector -> (x, y, mode name): where each monitor of a dummy wall belongs.
        self._layout: dict[str, tuple[int, int, str]] = {}

    # -- starting --------------------------------------------------------------------

    @classmethod
    def xvfb(cls, width: int = 1280, height: int = 720) -> VirtualDisplay:
        """Xvfb with one ``width`` x ``height`` screen at depth 24, with GLX."""
        _require_binaries({"Xvfb": "xvfb", "xdpyinfo": "x11-utils"})

        def command(number: int, workdir: Path, log_path: Path) -> list[str]:
            return [
                "Xvfb",
                f":{number}",
                "-screen",
                "0",
                f"{width}x{height}x24",
                "+extension",
                "GLX",
                "+extension",
                "RANDR",
                "-nolisten",
                "tcp",
                "-noreset",
            ]

        return cls._launch("xvfb", command, log_to_stderr=True)

    @classmethod
    def dummy_wall(
        cls,
        monitors: int = 14,
        columns: int = 7,
        mode: tuple[int, int] = (480, 270),
        refresh: float = 60.0,
    ) -> VirtualDisplay:
        """Xorg with the dummy driver: ``monitors`` monitors of ``mode`` at ``refresh`` Hz,
        in a grid.

        Monitor ``i`` is output ``DUMMYi`` at column ``i % columns``, row
        ``i // columns``. Needs root (Xorg with a video driver).
        """
        if not 5.0 <= refresh <= 200.0:  # the monitor section's VertRefresh range
            raise ValueError(f"refresh {refresh:g} Hz is outside 5-200 Hz")
        if not 1 <= monitors <= DUMMY_OUTPUTS:
            raise ValueError(f"the dummy driver has {DUMMY_OUTPUTS} outputs; asked for {monitors}")
        if columns < 1:
            raise ValueError("columns must be at least 1")
        width, height = mode
        if width < 64 or height < 64 or width % 2 or height % 2:
            raise ValueError(f"bad monitor mode {width}x{height} (even sizes, at least 64)")
        if os.geteuid() != 0:
            raise EnvironmentSetupError(
                "a virtual wall (Xorg with the dummy driver) needs root; run as root, "
                "or use one Xvfb screen instead"
            )
        _require_binaries({"Xorg": "xserver-xorg-core", "xrandr": "x11-xserver-utils"})
        _require_binaries({"xdpyinfo": "x11-utils"})
        if not DUMMY_DRIVER.exists():
            raise EnvironmentSetupError(
                f"Xorg's dummy driver is missing ({DUMMY_DRIVER}); "
                "install the Debian package xserver-xorg-video-dummy"
            )
        columns = min(columns, monitors)
        rows = -(-monitors // columns)
        fb_width, fb_height = width * columns, height * rows
        mode_name = f"{width}x{height}"
        modeline = _modeline(width, height, refresh)

        def command(number: int, workdir: Path, log_path: Path) -> list[str]:
            config = workdir / "xorg.conf"
            config.write_text(_xorg_config(mode_name, modeline, fb_width, fb_height))
            return [
                "Xorg",
                f":{number}",
                "-config",
                str(config),
                "-noreset",
                "-nolisten",
                "tcp",
                "-novtswitch",
                "-logfile",
                str(log_path),
            ]

        display = cls._launch("dummy", command, log_to_stderr=False)
        try:
            layout = {
                f"DUMMY{i}": ((i % columns) * width, (i // columns) * height, mode_name)
                for i in range(monitors)
            }
            for connector in layout:
                if connector != "DUMMY0":  # DUMMY0 has the mode from the config already
                    display._xrandr("--addmode", connector, mode_name)
            arguments = ["--fb", f"{fb_width}x{fb_height}"]
            for connector, (x, y, name) in layout.items():
                arguments += ["--output", connector, "--mode", name, "--pos", f"{x}x{y}"]
            display._xrandr(*arguments)
            display._layout = layout
            found = len(display.monitors())
            if found != monitors:
                raise EnvironmentSetupError(
                    f"the virtual wall on {display.name} shows {found} monitors, not {monitors}"
                )
        except DisplayError as exc:
            tail = display._log_tail()
            display.stop()
            raise EnvironmentSetupError(f"cannot lay out the virtual wall: {exc}{tail}") from exc
        except BaseException:
            display.stop()
            raise
        return display

    @classmethod
    def _launch(
        cls,
        kind: str,
        command: _CommandBuilder,
        *,
        log_to_stderr: bool,
    ) -> VirtualDisplay:
        workdir = Path(tempfile.mkdtemp(prefix=f"videowall-{kind}-"))
        log_path = workdir / "x.log"
        number = FIRST_DISPLAY
        last_error = ""
        try:
            for _attempt in range(5):
                number = _free_display(number)
                argv = command(number, workdir, log_path)
                with open(workdir / "stderr.log", "wb") as stderr:
                    process = subprocess.Popen(
                        argv,
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=stderr,
                        start_new_session=True,  # the terminal's Ctrl-C is for us
                        cwd=workdir,
                    )
                display = cls(number, process, workdir, log_path, kind)
                if log_to_stderr:
                    display.log_path = workdir / "stderr.log"
                error, taken = display._wait_ready(START_TIMEOUT)
                if error is None:
                    return display
                display._terminate()
                last_error = error
                if not taken:
                    break
                number += 1  # another X server took that number meanwhile: try the next
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        shutil.rmtree(workdir, ignore_errors=True)
        raise EnvironmentSetupError(f"cannot start {argv[0]} on :{number}: {last_error}")

    def _wait_ready(self, timeout: float) -> tuple[str | None, bool]:
        """``(None, False)`` once our server owns its display and answers ``xdpyinfo``.

        Otherwise ``(why not, taken)``, ``taken`` when another X server got
        the display number first (the lock file names its process, not ours).
        Without this check, ``xdpyinfo`` could be answered by that other server.
        """
        assert self._process is not None
        pid = self._process.pid
        lock = Path(f"/tmp/.X{self.number}-lock")
        deadline = time.monotonic() + timeout
        while True:
            owner = _lock_pid(lock)
            code = self._process.poll()
            if code is not None:
                taken = (owner is not None and owner != pid) or "already active" in (
                    self._log_tail() + self._log_tail(path=self._workdir / "stderr.log")
                )
                return f"it exited with status {code}{self._log_tail()}", taken
            if owner is not None and owner != pid and _pid_alive(owner):
                return f"display {self.name} is taken by process {owner}", True
            if owner == pid:
                probe = subprocess.run(
                    ["xdpyinfo", "-display", self.name],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    check=False,
                )
                if probe.returncode == 0:
                    return None, False
            if time.monotonic() > deadline:
                return f"it did not answer within {timeout:g} s{self._log_tail()}", False
            time.sleep(0.05)

    # -- monitors ----------------------------------------------------------------------

    def monitors(self) -> list[tuple[str, int, int, int, int]]:
        """The active monitors as ``(connector, x, y, width, height)``, from ``xrandr``."""
        listing = self._xrandr("--listmonitors")
        found = []
        for line in listing.splitlines():
            match = _MONITOR_LINE.match(line)
            if match:
                found.append(
                    (
                        match["output"] or match["name"],
                        int(match["x"]),
                        int(match["y"]),
                        int(match["w"]),
                        int(match["h"]),
                    )
                )
        return found

    def set_monitor(self, connector: str, on: bool) -> None:
        """Switch monitor ``connector`` off (as if it failed) or back on at its place."""
        if connector not in self._layout:
            known = ", ".join(self._layout) or "none: not a dummy wall"
            raise DisplayError(f"no monitor {connector!r} on {self.name} (known: {known})")
        if on:
            x, y, mode_name = self._layout[connector]
            self._xrandr("--output", connector, "--mode", mode_name, "--pos", f"{x}x{y}")
        else:
            self._xrandr("--output", connector, "--off")

    def _xrandr(self, *arguments: str) -> str:
        result = subprocess.run(
            ["xrandr", "-display", self.name, *arguments],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=20,
        )
        if result.returncode != 0:
            raise DisplayError(
                f"xrandr {' '.join(arguments)} failed on {self.name}: "
                f"{result.stderr.strip() or result.returncode}"
            )
        return result.stdout

    # -- stopping ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The X server's process (a test freezes it with SIGSTOP: a hung X server)."""
        return self._process.pid if self.running and self._process is not None else None

    def stop(self) -> None:
        """Stop the server by PID and wait until its display number is free. Idempotent."""
        self._terminate()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _terminate(self) -> None:
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        lock = Path(f"/tmp/.X{self.number}-lock")
        deadline = time.monotonic() + 5.0
        while _lock_pid(lock) == process.pid and time.monotonic() < deadline:
            time.sleep(0.02)
        if _lock_pid(lock) == process.pid:
            # Killed before it could clean up: its lock and socket are stale.
            lock.unlink(missing_ok=True)
            Path(f"/tmp/.X11-unix/X{self.number}").unlink(missing_ok=True)

    def _log_tail(self, lines: int = 12, path: Path | None = None) -> str:
        try:
            text = (path or self.log_path).read_text(errors="replace")
        except OSError:
            return ""
        tail = [line for line in text.splitlines() if line.strip()][-lines:]
        if not tail:
            return ""
        return "; the end of its log:\n  " + "\n  ".join(tail)

    def __enter__(self) -> VirtualDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<VirtualDisplay {self.kind} {self.name}{'' if self.running else ' stopped'}>"


def _require_binaries(binaries: dict[str, str]) -> None:
    missing = {b: p for b, p in binaries.items() if shutil.which(b) is None}
    if missing:
        raise EnvironmentSetupError(
            f"missing {', '.join(missing)}; install the Debian packages: "
            f"{' '.join(sorted(set(missing.values())))} "
            "(or run scripts/install-system-deps.sh demo)"
        )


def _free_display(start: int) -> int:
    """The first display number from ``start`` with neither a lock file nor a socket."""
    for number in range(start, start + 500):
        if (
            not Path(f"/tmp/.X{number}-lock").exists()
            and not Path(f"/tmp/.X11-unix/X{number}").exists()
        ):
            return number
    raise EnvironmentSetupError(f"no free X display number from :{start} up")


def _lock_pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _modeline(width: int, height: int, refresh: float = 60.0) -> str:
    """A modeline for ``width`` x ``height``; the dummy driver shows nothing, so any will do.

    Xorg rejects two kinds here: reduced-blanking timings (the exact ``cvt
    -r`` shape; the monitor does not claim them) and pixel clocks under 11
    MHz. So the blanking is ordinary and widens for small modes.
    """
    v_total = height + max(6, round(460e-6 * refresh * height / (1 - 460e-6 * refresh))) + 3
    h_total = max(
        width + max(192, width // 4 // 8 * 8), -(-int(12e6 / (v_total * refresh)) // 8) * 8
    )
    clock_mhz = h_total * v_total * refresh / 1e6
    return (
        f"{clock_mhz:.2f}  {width} {width + 24} {width + 64} {h_total}  "
        f"{height} {height + 3} {height + 8} {v_total}  +hsync -vsync"
    )


def _xorg_config(mode_name: str, modeline: str, fb_width: int, fb_height: int) -> str:
    # 4 bytes per pixel, plus room; the driver's default (4 MiB) fits one small screen only.
    video_ram_kib = max(32768, fb_width * fb_height * 4 // 1024 + 16384)
    return f"""\
Section "ServerFlags"
    Option "AutoAddDevices" "false"
    Option "AutoEnableDevices" "false"
    Option "DontVTSwitch" "true"
    Option "BlankTime" "0"
    Option "StandbyTime" "0"
    Option "SuspendTime" "0"
    Option "OffTime" "0"
EndSection

Section "Device"
    Identifier "wall-device"
    Driver "dummy"
    VideoRam {video_ram_kib}
EndSection

Section "Monitor"
    Identifier "wall-monitor"
    HorizSync 5.0-1000.0
    VertRefresh 5.0-200.0
    Modeline "{mode_name}" {modeline}
EndSection

Section "Screen"
    Identifier "wall-screen"
    Device "wall-device"
    Monitor "wall-monitor"
    DefaultDepth 24
    SubSection "Display"
        Depth 24
        Modes "{mode_name}"
        Virtual {fb_width} {fb_height}
    EndSubSection
EndSection

Section "ServerLayout"
    Identifier "wall"
    Screen "wall-screen"
EndSection
"""
