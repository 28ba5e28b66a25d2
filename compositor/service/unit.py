"""The systemd unit that keeps the wall on duty, and ``videowall install-service``.

The unit is written from one template, so the copy shipped in
``deploy/videowall.service`` (the defaults) and the one ``install-service``
writes for a given layout and display cannot drift apart (a test compares
them, and ``systemd-analyze verify`` checks a rendered copy).
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_EXECUTABLE",
    "DEFAULT_LAYOUT",
    "LAYOUT_DIR",
    "WATCHDOG_S",
    "install_service",
    "render_unit",
]

import os
import re
import shlex
import sys
from pathlib import Path

from compositor.core.errors import CompositorError

LAYOUT_DIR = Path("/etc/videowall")
DEFAULT_LAYOUT = LAYOUT_DIR / "wall.yaml"
DEFAULT_EXECUTABLE = Path("/opt/videowall/.venv/bin/videowall")
WATCHDOG_S = 20  # a render loop silent this long is killed and the wall restarted
# Paths the unit hides from the service (ProtectHome=yes): nothing it runs may live there.
_HIDDEN = (Path("/home"), Path("/root"), Path("/run/user"))
_DISPLAY = re.compile(r"^[A-Za-z0-9.\-]*:\d+(\.\d+)?$")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")

_TEMPLATE = """\
# videowall: the video wall as a system service. Written by `videowall install-service`;
# edit with `systemctl edit videowall` (a drop-in) rather than here.
#
# It starts at boot once the X server is up, tells systemd when every screen has been
# drawn (Type=notify), pings the watchdog from its render loop (a loop wedged for
# {watchdog}s is killed and the wall restarted) and is restarted whatever ends it.
[Unit]
Description=videowall video wall on X display {display}
After=network-online.target display-manager.service
Wants=network-online.target
# A wall keeps trying: no start limit (each try waits RestartSec).
StartLimitIntervalSec=0

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
ExecReload=/bin/kill -HUP $MAINPID
Restart=always
RestartSec=2
WatchdogSec={watchdog}
TimeoutStartSec=90
TimeoutStopSec=10
User={user}
Group=video
Environment=DISPLAY={display}
Environment=XDG_CACHE_HOME=%C/videowall
# status.json, the history of applied layouts and the control socket: /var/lib/videowall.
StateDirectory=videowall
StateDirectoryMode=0700
# Mesa's shader cache.
CacheDirectory=videowall
# Layouts live in /etc/videowall (read-only to the service).
ConfigurationDirectory=videowall
WorkingDirectory=%S/videowall
UMask=0077

# Hardening. The wall needs the network (cameras), the X server's socket, the GPU
# (/dev/dri, /dev/nvidia*: so no PrivateDevices=) and writable, executable memory
# (Mesa and the GPU drivers compile shaders: so no MemoryDenyWriteExecute=).
# Shared memory for the frame slots is /dev/shm, which ProtectSystem= leaves writable.
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
# PrivateTmp= hides /tmp: give back the X server's socket folder.
BindReadOnlyPaths=-/tmp/.X11-unix
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM

[Install]
WantedBy=graphical.target
"""


def _check_visible(path: Path, what: str) -> None:
    for hidden in _HIDDEN:
        if path == hidden or hidden in path.parents:
            raise CompositorError(
                f"{what} {path} is under {hidden}, which the service cannot see "
                "(ProtectHome=yes): install it elsewhere (layouts in /etc/videowall, "
                "the program in /opt/videowall)"
            )


def render_unit(
    layout: Path = DEFAULT_LAYOUT,
    *,
    executable: Path = DEFAULT_EXECUTABLE,
    display: str = ":0",
    user: str = "videowall",
    metrics: str | None = None,
) -> str:
    """The unit file's text for ``layout`` on X display ``display``."""
    if not layout.is_absolute() or not executable.is_absolute():
        raise CompositorError("the layout and the program must be given as absolute paths")
    if not _DISPLAY.match(display):
        raise CompositorError(f"--display {display!r}: give an X display such as :0")
    if not _USER.match(user):
        raise CompositorError(f"--user {user!r} is not a valid user name")
    _check_visible(layout, "the layout")
    _check_visible(executable, "the program")
    arguments = [
        str(executable),
        "run",
        str(layout),
        "--display",
        display,
        "--state-dir",
        "${STATE_DIRECTORY}",
        "--wait-for-valid-layout",
    ]
    if metrics:
        arguments += ["--metrics", metrics]
    # systemd splits ExecStart= like a shell; ${STATE_DIRECTORY} is its own expansion.
    exec_start = " ".join(
        a if a == "${STATE_DIRECTORY}" else shlex.quote(a).replace("%", "%%") for a in arguments
    )
    return _TEMPLATE.format(display=display, exec_start=exec_start, user=user, watchdog=WATCHDOG_S)


def _this_program() -> Path:
    """The ``videowall`` program of this installation (its virtual environment's)."""
    script = Path(sys.prefix) / "bin" / "videowall"
    return script if script.is_file() else Path(sys.argv[0]).absolute()


def install_service(
    layout: Path,
    output: Path,
    *,
    display: str = ":0",
    user: str = "videowall",
    executable: Path | None = None,
    metrics: str | None = None,
) -> list[str]:
    """Write the unit to ``output`` ('-': returned to print); the lines say what comes next."""
    layout = layout.absolute()
    text = render_unit(
        layout,
        executable=(executable or _this_program()).absolute(),
        display=display,
        user=user,
        metrics=metrics,
    )
    if str(output) == "-":
        return text.rstrip("\n").split("\n")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tmp = output.with_name(output.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o644)
        os.replace(tmp, output)
    except OSError as exc:
        raise CompositorError(f"cannot write {output}: {exc} (run as root?)") from None
    lines = [f"wrote {output}"]
    if LAYOUT_DIR not in layout.parents:
        lines.append(f"note: layouts belong in {LAYOUT_DIR}/ (the unit reads {layout})")
    lines += [
        "next, as root:",
        f"  id {user} >/dev/null 2>&1 || useradd --system --gid video "
        f"--home-dir /var/lib/videowall --shell /usr/sbin/nologin {user}",
        f"  let {user} use the X server on {display}, e.g. in the X session: "
        f"xhost +SI:localuser:{user}",
        "  systemctl daemon-reload && systemctl enable --now videowall",
        "  journalctl -u videowall -f      # its log;  systemctl status videowall: its STATUS line",
    ]
    return lines
