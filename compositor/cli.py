"""Command line: ``videowall run LAYOUT``, ``videowall demo``.

User errors (a broken layout, no display, a busy port) are printed as one
clear message and exit non-zero; a traceback means a bug.
"""

from __future__ import annotations

__all__ = ["main"]

import argparse
import contextlib
import getpass
import importlib.metadata
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from compositor import __version__
from compositor.api.tokens import TokenStore
from compositor.control.unix_socket import CONTROL_SOCKET, send_request
from compositor.core.clock import MonotonicClock
from compositor.core.decoding import DECODE_SETTINGS, DEFAULT_DECODE
from compositor.core.errors import CompositorError, LayoutError
from compositor.core.logs import LOG_FORMATS, LogSetup, configure_logging
from compositor.layout.models import Layout
from compositor.layout.parse import load_layout
from compositor.layout.validate import validate_file
from compositor.live.audit import AUDIT_FILE, AuditLog, format_entry, parse_since, read_audit
from compositor.live.reload import LayoutHistory, revert_layout
from compositor.live.state_dir import default_state_dir
from compositor.live.status import (
    STATUS_FILE,
    WRITE_EVERY_S,
    format_status,
    locate_state_dir,
    read_status,
    wall_alive,
)
from compositor.service.notify import ServiceNotifier
from compositor.sources.limits import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_WORKER_MEMORY_MB,
    MIN_WORKER_MEMORY_MB,
    parse_pixels,
)

# The wall, the display, the metrics server and the preview are imported where used:
# `videowall token`, `preset`, `status`... start in half the time without them.
if TYPE_CHECKING:
    from compositor.api.server import ApiOptions
    from compositor.app import RunOptions, WallApp
    from compositor.metrics.collector import MetricsServer

log = logging.getLogger("videowall")

DEMO_SNAPSHOT_DIR = Path("demo-snapshots")
DEMO_SNAPSHOT_EVERY_S = 5.0  # the demo without a screen
STALE_AFTER_S = 5 * WRITE_EVERY_S  # a status file this old: ask the wall itself
DEFAULT_API = "127.0.0.1:8480"  # compositor.api.server's; not imported here (start time)
DEMO_HOSTS_HEADLESS_FPS = 10.0  # videowall demo --hosts N without a screen
DEMO_TOKEN = "demo-operator"  # made afresh at each `videowall demo`, for its control page
PREVIEW_WIDTH = 2800  # compositor.preview's DEFAULT_WIDTH (a test checks); not imported here


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _pixels(text: str) -> int:
    try:
        pixels = parse_pixels(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if pixels < 256:
        raise argparse.ArgumentTypeError(f"too small to show anything: {text!r}")
    return pixels


def _megabytes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of megabytes: {text!r}") from None
    if value != 0 and value < MIN_WORKER_MEMORY_MB:
        raise argparse.ArgumentTypeError(
            f"a decoder process needs about 300 MB for itself: {value} MB would stop "
            f"every camera (at least {MIN_WORKER_MEMORY_MB}; 0: no limit)"
        )
    return value


def _wall_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--headless", action="store_true", help="no windows; compose only")
    parser.add_argument(
        "--windowed", action="store_true", help="plain windows instead of fullscreen on monitors"
    )
    parser.add_argument(
        "--outputs", metavar="A1,A2", help="show only these outputs (comma-separated ids)"
    )
    parser.add_argument(
        "--fps",
        type=_positive_float,
        help="frames per second drawn (default: the monitors' refresh rate; 25 headless)",
    )
    parser.add_argument("--snapshot", metavar="DIR", type=Path, help="write DIR/<output>.png")
    parser.add_argument(
        "--every",
        metavar="S",
        type=_positive_float,
        default=1.0,
        help="seconds between snapshots (fractions allowed; default 1)",
    )
    parser.add_argument(
        "--share-snapshots",
        action="store_true",
        help="snapshots readable by every local user (files 0644, a new folder 0755; "
        "default: the wall's user's only, 0600 and 0700)",
    )
    parser.add_argument("--display", metavar=":N", help="X display to use (default $DISPLAY)")
    parser.add_argument("--workers", type=int, help="decoder processes (default: one per core)")
    parser.add_argument(
        "--state-dir",
        metavar="DIR",
        type=Path,
        help="status.json, history of applied layouts, control socket "
        "(default: ~/.local/state/videowall/<layout>-<hash>)",
    )
    parser.add_argument(
        "--no-watch",
        action="store_true",
        help="do not apply changes of the layout file as it is saved (SIGHUP still reloads)",
    )
    parser.add_argument(
        "--no-degrade",
        action="store_true",
        help="never skip frames when the host cannot keep up (default: cameras on small "
        "tiles skip non-reference frames first, full-screen ones last)",
    )
    parser.add_argument(
        "--full-deblocking",
        action="store_true",
        help="decode every frame with H.264's deblocking filter (default: B-frames of "
        "cameras on tiles up to 960x540 skip it: 8-10%% less decoding, not visible)",
    )
    parser.add_argument(
        "--max-pixels",
        type=_pixels,
        default=DEFAULT_MAX_PIXELS,
        metavar="WxH",
        help="refuse cameras whose pictures are larger, with the reason on their tile "
        "(a size like 3840x2160, or a number of pixels; default 7680x4320)",
    )
    parser.add_argument(
        "--worker-memory",
        type=_megabytes,
        default=DEFAULT_WORKER_MEMORY_MB,
        metavar="MB",
        help=f"private memory each decoder process may use (default {DEFAULT_WORKER_MEMORY_MB}; "
        "0: no limit); past it a camera's allocations fail and it says out of memory",
    )
    parser.add_argument(
        "--decode",
        choices=DECODE_SETTINGS,
        default=DEFAULT_DECODE,
        help=f"where cameras without a decode: of their own are decoded: cpu, cuda (NVIDIA), "
        f"or auto (the best hardware decoder here, else the CPU); a device that cannot be used "
        f"means the CPU, said once per camera (default {DEFAULT_DECODE})",
    )
    parser.add_argument(
        "--api",
        metavar="HOST:PORT",
        default=DEFAULT_API,
        help=f"serve the HTTP API and control page here (default {DEFAULT_API}; off: none)",
    )
    parser.add_argument("--tls-cert", metavar="PEM", type=Path, help="the API's certificate")
    parser.add_argument("--tls-key", metavar="PEM", type=Path, help="the API's private key")
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain HTTP on an address beyond this machine (tokens readable on the way)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument(
        "--metrics",
        metavar="HOST:PORT",
        help="serve Prometheus metrics at http://HOST:PORT/metrics (loopback addresses only; "
        "other hosts read them through the API server)",
    )
    _host_options(parser)


def _host_options(parser: argparse.ArgumentParser) -> None:
    """A wall over several hosts (compositor.cluster)."""
    hosts = parser.add_argument_group("a wall over several hosts")
    hosts.add_argument(
        "--host", metavar="NAME", help="show the outputs the layout's hosts section gives NAME"
    )
    hosts.add_argument(
        "--broker",
        metavar="URL",
        help="share the wall's state and commands with its other hosts through this MQTT "
        "broker: mqtt://host:1883 or mqtts://host:8883 (${VAR} from the environment)",
    )
    hosts.add_argument(
        "--wall", metavar="NAME", help="the wall's name on the broker (default: the layout's)"
    )
    hosts.add_argument(
        "--margin-ms",
        type=_positive_float,
        default=150.0,
        help="a command applies this long after it is taken, on every host at once (default 150)",
    )
    hosts.add_argument(
        "--catch-up",
        metavar="S",
        type=float,
        default=3.0,
        help="seconds a starting host waits for the wall's state before drawing (default 3)",
    )


LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
LOG_LEVELS["error"] = logging.ERROR


def _log_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level", choices=list(LOG_LEVELS), help="least severe messages logged (default info)"
    )
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="text",
        help="text (default) or json: one JSON object per line. Under systemd, lines carry "
        "the journal's priority prefixes either way",
    )


def version_text() -> str:
    """``videowall 0.2.0 (PyAV 18.1.0, Python 3.11.7)``: what a bug report needs first."""
    try:
        pyav = importlib.metadata.version("av")
    except importlib.metadata.PackageNotFoundError:
        pyav = "not installed"
    python = ".".join(str(part) for part in sys.version_info[:3])
    return f"videowall {__version__} (PyAV {pyav}, Python {python})"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videowall", description="Live RTSP cameras tiled onto a wall of screens."
    )
    parser.add_argument("--version", action="version", version=version_text())
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="run the wall described by a layout file")
    run.add_argument("layout", type=Path, help="layout YAML file")
    _wall_options(run)
    run.add_argument(
        "--wait-for-valid-layout",
        action="store_true",
        help="if the layout is broken at start, show its errors on every screen and start "
        "as soon as the file is fixed, instead of exiting 1 (the service does this)",
    )
    demo = commands.add_parser(
        "demo", help="run the demo wall on built-in test cameras (a local RTSP server)"
    )
    demo.add_argument(
        "layout",
        type=Path,
        nargs="?",
        help="layout on the test cameras (default: the demo layout, layouts/demo.yaml)",
    )
    _wall_options(demo)
    demo.add_argument(
        "--hosts",
        type=int,
        metavar="N",
        help="run the wall as N hosts on this machine (the layout's hosts section), with an "
        "MQTT broker (Mosquitto) between them; prints every host's control page",
    )
    screens = commands.add_parser(
        "screens", help="list the monitors, and which output of a layout goes on which"
    )
    screens.add_argument("layout", type=Path, nargs="?", help="layout YAML file")
    screens.add_argument("--display", metavar=":N", help="X display (default $DISPLAY)")
    identify = commands.add_parser(
        "identify", help="show each screen's output id, monitor and resolution on a test pattern"
    )
    identify.add_argument("layout", type=Path, nargs="?", help="layout YAML file")
    identify.add_argument("--display", metavar=":N", help="X display (default $DISPLAY)")
    identify.add_argument(
        "--seconds", type=_positive_float, help="stop after this long (default: until a key)"
    )
    validate = commands.add_parser(
        "validate", help="check layout files: every error and warning, file:line:col"
    )
    validate.add_argument("layouts", type=Path, nargs="+", metavar="FILE", help="layout files")
    validate.add_argument(
        "--display", metavar=":N", help="X display whose monitors to check (default $DISPLAY)"
    )
    commands.add_parser("schema", help="print the layout's JSON Schema (for editors)")
    preview = commands.add_parser(
        "preview", help="draw the whole wall of a layout to a PNG, without any camera"
    )
    preview.add_argument("layout", type=Path, help="layout YAML file")
    preview.add_argument("-o", "--output", type=Path, required=True, help="PNG file to write")
    preview.add_argument(
        "--live", action="store_true", help="fill camera tiles with one current frame each"
    )
    preview.add_argument("--preset", metavar="NAME", help="draw the layout as this preset has it")
    size = preview.add_mutually_exclusive_group()
    size.add_argument(
        "--scale", type=_positive_float, help="preview pixels per wall pixel (e.g. 0.25)"
    )
    size.add_argument(
        "--width", type=int, default=PREVIEW_WIDTH, help=f"image width (default {PREVIEW_WIDTH})"
    )
    _live_commands(commands)
    _operator_commands(commands)
    _duty_commands(commands)
    for command in commands.choices.values():
        _log_options(command)
    return parser


def _duty_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """doctor and install-service: for the technician who keeps the wall on duty."""
    doctor = commands.add_parser(
        "doctor", help="check everything the wall needs, each line OK / WARN / FAIL with what to do"
    )
    doctor.add_argument("layout", type=Path, nargs="?", help="layout YAML file to check against")
    doctor.add_argument("--display", metavar=":N", help="X display (default $DISPLAY)")
    doctor.add_argument("--json", action="store_true", help="the report as JSON, for scripts")
    doctor.add_argument(
        "--broker",
        metavar="URL",
        help="a wall over several hosts: report each host's clock offset, heard on its broker",
    )
    doctor.add_argument(
        "--wall", metavar="NAME", help="the wall's name on the broker (default: the layout's)"
    )
    doctor.add_argument(
        "--state-dir", metavar="DIR", type=Path, help="the wall's state folder, if not default"
    )
    doctor.add_argument(
        "--timeout",
        type=_positive_float,
        default=4.0,
        help="seconds each camera may take to answer (default 4; all are asked at once)",
    )
    service = commands.add_parser(
        "install-service", help="write the systemd unit that runs the wall at boot"
    )
    service.add_argument("layout", type=Path, help="the layout the service runs")
    service.add_argument("--display", metavar=":N", default=":0", help="X display (default :0)")
    service.add_argument(
        "--user", default="videowall", help="the service's user (default videowall)"
    )
    service.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("/etc/systemd/system/videowall.service"),
        help="where to write the unit ('-': print it; default "
        "/etc/systemd/system/videowall.service)",
    )
    service.add_argument(
        "--executable",
        type=Path,
        help="the videowall program the service runs (default: this one)",
    )
    service.add_argument(
        "--metrics", metavar="HOST:PORT", help="serve metrics there (loopback only)"
    )


def _live_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """status, revert, preset: they talk to a running wall through its state folder."""

    def where(command: argparse.ArgumentParser, layout_flag: bool = False) -> None:
        if layout_flag:
            command.add_argument("--layout", type=Path, metavar="FILE", help="the wall's layout")
        else:
            command.add_argument(
                "layout", type=Path, nargs="?", help="the wall's layout (default: the running wall)"
            )
        command.add_argument(
            "--state-dir", metavar="DIR", type=Path, help="the wall's state folder, if not default"
        )

    status = commands.add_parser("status", help="what the running wall shows, and how it is")
    where(status)
    status.add_argument("--json", action="store_true", help="print status.json as it is")
    revert = commands.add_parser(
        "revert", help="put the previously applied layout back into the layout file"
    )
    where(revert)
    preset = commands.add_parser("preset", help="switch the running wall to a preset")
    preset.add_argument("name", nargs="?", help="the preset to show")
    which = preset.add_mutually_exclusive_group()
    which.add_argument("--list", action="store_true", help="list the presets, the active one *")
    which.add_argument(
        "--default", action="store_true", help="back to the layout's own arrangement"
    )
    where(preset, layout_flag=True)


def _where(command: argparse.ArgumentParser) -> None:
    command.add_argument("--layout", type=Path, metavar="FILE", help="the wall's layout")
    command.add_argument(
        "--state-dir", metavar="DIR", type=Path, help="the wall's state folder, if not default"
    )


def _operator_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """callup, solo, alarm (over the control socket), token and audit (the state folder)."""
    callup = commands.add_parser("callup", help="put a camera on a tile of the running wall")
    callup.add_argument("output", help="output id")
    callup.add_argument("tile", type=int, help="tile number, from 1 in the layout's order")
    callup.add_argument("camera", nargs="?", help="camera id")
    callup.add_argument("--hold", type=_positive_float, metavar="S", help="for S seconds")
    callup.add_argument("--clear", action="store_true", help="give the tile back to the layout")
    _where(callup)
    solo = commands.add_parser("solo", help="show one camera on a whole output")
    solo.add_argument("output", help="output id")
    solo.add_argument("camera", nargs="?", help="camera id")
    solo.add_argument("--hold", type=_positive_float, metavar="S", help="for S seconds")
    solo.add_argument("--clear", action="store_true", help="bring the output's tiles back")
    _where(solo)
    alarm = commands.add_parser("alarm", help="raise an alarm: its camera on the alarm tiles")
    alarm.add_argument("camera", nargs="?", help="camera id")
    alarm.add_argument("--priority", type=int, default=5, help="1 most urgent .. 9 (default 5)")
    alarm.add_argument("--ttl", type=_positive_float, default=60.0, metavar="S", help="seconds")
    alarm.add_argument("--title", default="", help="shown on the tile: ALARM · title · 0:42")
    what = alarm.add_mutually_exclusive_group()
    what.add_argument("--list", action="store_true", help="the alarms shown and waiting")
    what.add_argument("--clear", metavar="ID", help="end alarm ID")
    _where(alarm)
    token = commands.add_parser("token", help="the HTTP API's access tokens")
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="make a token; it is printed once, only its hash kept")
    add.add_argument("name", help="who or what uses it (a person, a system)")
    add.add_argument("--role", required=True, choices=["viewer", "operator", "admin"])
    add.add_argument("--replace", action="store_true", help="revoke a token of that name first")
    _where(add)
    listed = actions.add_parser("list", help="the tokens: name, role, created")
    _where(listed)
    revoke = actions.add_parser("revoke", help="revoke a token at once")
    revoke.add_argument("name")
    _where(revoke)
    audit = commands.add_parser("audit", help="print the audit log: every change, who, how")
    audit.add_argument("--since", metavar="WHEN", help="2h, 30m, 7d, or 2026-11-25T14:00")
    audit.add_argument("--json", action="store_true", help="the entries as JSON lines")
    _where(audit)


def _callup(args: argparse.Namespace) -> None:
    socket_path = locate_state_dir(args.layout, args.state_dir) / CONTROL_SOCKET
    if args.clear:
        if args.camera:
            raise CompositorError("--clear takes no camera")
        request = {"command": "clear_callup", "output": args.output, "tile": args.tile}
    elif not args.camera:
        raise CompositorError("name the camera to call up, or --clear")
    else:
        request = {
            "command": "callup",
            "output": args.output,
            "tile": args.tile,
            "camera": args.camera,
            "hold_s": args.hold,
        }
    print(_ask(socket_path, request).get("message") or "done")


def _solo(args: argparse.Namespace) -> None:
    socket_path = locate_state_dir(args.layout, args.state_dir) / CONTROL_SOCKET
    if args.clear:
        if args.camera:
            raise CompositorError("--clear takes no camera")
        request: dict[str, Any] = {"command": "clear_solo", "output": args.output}
    elif not args.camera:
        raise CompositorError("name the camera to show alone, or --clear")
    else:
        request = {
            "command": "solo",
            "output": args.output,
            "camera": args.camera,
            "hold_s": args.hold,
        }
    print(_ask(socket_path, request).get("message") or "done")


def _alarm(args: argparse.Namespace) -> None:
    socket_path = locate_state_dir(args.layout, args.state_dir) / CONTROL_SOCKET
    if args.list or args.clear:
        if args.camera:
            raise CompositorError("--list and --clear take no camera")
        if args.clear:
            print(_ask(socket_path, {"command": "clear_alarm", "id": args.clear})["message"])
            return
        reply = _ask(socket_path, {"command": "alarms"})
        tiles = ", ".join(reply.get("alarm_tiles") or []) or "none"
        print(f"alarm tiles: {tiles}")
        for alarm in reply.get("alarms") or []:
            where = f"on {alarm['tile']}" if alarm.get("tile") else "waiting"
            print(
                f"  {alarm['id']}  priority {alarm['priority']}  {alarm['camera']:<10} {where:<12}"
                f" {alarm['age_s']:>6.0f} s old, {alarm['ttl_left_s']:.0f} s left"
                + (f"  {alarm['title']}" if alarm.get("title") else "")
            )
        return
    if not args.camera:
        raise CompositorError("name the alarm's camera, or --list, or --clear ID")
    request = {
        "command": "alarm",
        "camera": args.camera,
        "priority": args.priority,
        "ttl_s": args.ttl,
        "title": args.title,
    }
    print(_ask(socket_path, request).get("message") or "done")


def _token_state_dir(args: argparse.Namespace) -> Path:
    if args.state_dir is not None:
        return Path(args.state_dir)
    if args.layout is not None:
        return default_state_dir(args.layout)
    return locate_state_dir(None, None)


def _add_token(state_dir: Path, name: str, role: str, replace: bool) -> str:
    """A new token (returned, to be shown once), audited without its value."""
    token = TokenStore(state_dir).add(name, role, MonotonicClock().wall_time(), replace=replace)
    AuditLog(state_dir / AUDIT_FILE, MonotonicClock()).append(
        "token.add",
        "cli",
        "admin",
        target=name,
        after=role,
        user=getpass.getuser(),
        result="applied",
    )
    return token


def _token(args: argparse.Namespace) -> None:
    state_dir = _token_state_dir(args)
    store = TokenStore(state_dir)
    audit = AuditLog(state_dir / AUDIT_FILE, MonotonicClock())
    user = getpass.getuser()
    if args.token_command == "add":
        token = _add_token(state_dir, args.name, args.role, args.replace)
        print(token)
        print(
            f"token {args.name!r} ({args.role}) for the wall of {state_dir}: it is shown only "
            "now; send it as 'Authorization: Bearer <token>'",
            file=sys.stderr,
        )
    elif args.token_command == "list":
        records = store.records()
        if not records:
            print(f"no tokens in {state_dir}")
        width = max((len(r.name) for r in records), default=0)
        for record in records:
            print(f"{record.name:<{width}}  {record.role.label:<8}  created {record.created}")
    elif args.token_command == "revoke":
        gone = store.revoke(args.name)
        audit.append(
            "token.revoke",
            "cli",
            "admin",
            target=gone.name,
            before=gone.role.label,
            user=user,
            result="applied",
        )
        print(f"revoked {gone.name} ({gone.role.label}): refused from the next request on")


def _audit(args: argparse.Namespace) -> None:
    state_dir = _token_state_dir(args)
    since = parse_since(args.since) if args.since else None
    for entry in read_audit(state_dir, since):
        print(json.dumps(entry, ensure_ascii=False) if args.json else format_entry(entry))


def _validate(args: argparse.Namespace) -> int:
    """Exit 1 if any file has an error; warnings alone pass."""
    from compositor.display.monitors import ask_monitors

    monitors, unchecked = ask_monitors(args.display)
    reports = [validate_file(path, monitors=monitors, unchecked=unchecked) for path in args.layouts]
    for report in reports:
        print("\n".join(report.lines()))
    return 0 if all(report.ok for report in reports) else 1


def _schema() -> None:
    schema = Layout.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "videowall layout"
    print(json.dumps(schema, indent=2, ensure_ascii=False))


def _preview(args: argparse.Namespace) -> None:
    from compositor.preview import write_preview

    width, height = write_preview(
        args.layout,
        args.output,
        preset=args.preset,
        scale=args.scale,
        width=args.width,
        live=args.live,
        wall_time=MonotonicClock().wall_time(),
    )
    print(f"wrote {args.output} ({width}x{height})")


def _api_options(args: argparse.Namespace) -> ApiOptions | None:
    from compositor.api.server import ApiOptions, check_exposure, parse_listen

    listen = parse_listen(args.api)
    if listen is None:
        if args.tls_cert or args.tls_key or args.insecure_http:
            raise CompositorError("--tls-cert, --tls-key and --insecure-http are for --api")
        return None
    options = ApiOptions(
        listen[0], listen[1], args.tls_cert, args.tls_key, insecure_http=args.insecure_http
    )
    check_exposure(options)  # before anything starts: a wall exposed by mistake never runs
    return options


def _options(args: argparse.Namespace) -> RunOptions:
    from compositor.app import RunOptions

    return RunOptions(
        headless=args.headless,
        windowed=args.windowed,
        outputs=tuple(s for s in (args.outputs or "").split(",") if s),
        fps=args.fps,
        snapshot_dir=args.snapshot,
        snapshot_every=args.every,
        snapshot_shared=args.share_snapshots,
        display_name=args.display,
        workers=args.workers,
        state_dir=args.state_dir,
        watch=not args.no_watch,
        degrade=not args.no_degrade,
        light_deblocking=not args.full_deblocking,
        max_pixels=args.max_pixels,
        worker_memory_mb=args.worker_memory,
        decode=args.decode,
        api=_api_options(args),
        # Set by main() from --log-level/--log-format; absent when a test parses alone.
        log_setup=getattr(args, "log_setup", None),
    )


@contextlib.contextmanager
def _signals(
    stop: Callable[[], None],
    reload: Callable[[], None],
    report: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Ctrl-C and SIGTERM stop, SIGHUP reloads, SIGUSR1 reports; the old handlers after."""

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, lambda signum, frame: reload())
    if report is not None:
        previous[signal.SIGUSR1] = signal.signal(signal.SIGUSR1, lambda signum, frame: report())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_wall(
    layout: Layout,
    options: RunOptions,
    notifier: ServiceNotifier | None = None,
    metrics_address: str | None = None,
    started: Callable[[WallApp], None] | None = None,
) -> None:
    """Run until Ctrl-C, SIGTERM or a closed window; everything started is stopped.

    Under systemd (``notifier``), READY, the watchdog and STATUS go from the
    render loop; with ``metrics_address``, /metrics is served there. ``started`` is
    called once the wall runs (the demo prints its control page and token).
    """
    from compositor.app import WallApp
    from compositor.metrics.collector import MetricsServer, parse_listen_address

    listen = parse_listen_address(metrics_address) if metrics_address else None
    app = WallApp(layout, options, notifier=notifier)
    metrics: MetricsServer | None = None
    with _signals(app.request_stop, app.request_reload, app.request_report):
        try:
            if listen is not None:
                metrics = MetricsServer(app.metrics(), *listen)
            app.start()
            if options.snapshot_dir is not None:
                log.info(
                    "snapshots: %s/<output>.png every %g s",
                    options.snapshot_dir,
                    options.snapshot_every,
                )
            if started is not None:
                started(app)
            app.run()
        finally:
            if metrics is not None:
                metrics.close()  # before the wall it reads goes
            if notifier is not None:
                notifier.stopping()
            app.close()
    log.info("stopped")


def _with_host(options: RunOptions, layout: Layout, args: argparse.Namespace) -> RunOptions:
    """--host's outputs, and --broker's cluster (checked before anything starts)."""
    from compositor.cluster.options import host_selection

    assert options.layout_path is not None
    outputs, cluster = host_selection(
        layout,
        options.layout_path,
        args.host,
        options.outputs,
        args.broker,
        args.wall,
        args.margin_ms / 1e3,
        args.catch_up,
    )
    return replace(options, outputs=outputs, cluster=cluster)


def _run(args: argparse.Namespace) -> int:
    """``videowall run``: the wall; with --wait-for-valid-layout, a broken file waits on screen."""
    options = replace(_options(args), layout_path=args.layout)
    clock = MonotonicClock()
    notifier = ServiceNotifier.from_environment(clock)
    try:
        try:
            layout = load_layout(args.layout)
        except LayoutError as exc:
            if not args.wait_for_valid_layout:
                raise
            waited = _wait_for_valid_layout(args.layout, exc, options, notifier)
            if waited is None:
                if notifier is not None:
                    notifier.stopping()
                return 0  # stopped while waiting: a clean stop
            layout = waited
        run_wall(layout, _with_host(options, layout, args), notifier, args.metrics)
    finally:
        if notifier is not None:
            notifier.close()
    return 0


def _wait_for_valid_layout(
    path: Path, error: LayoutError, options: RunOptions, notifier: ServiceNotifier | None
) -> Layout | None:
    """Every screen says why the layout cannot be shown, until the file is fixed."""
    from compositor.fallback import FallbackOptions, FallbackWall

    where = FallbackOptions(
        headless=options.headless,
        windowed=options.windowed,
        display_name=options.display_name,
        snapshot_dir=options.snapshot_dir,
        snapshot_every=options.snapshot_every,
    )
    fallback = FallbackWall(path, error, where, MonotonicClock(), notifier)
    try:
        # kill -USR1 (frame ages) has nothing to report yet, but must not end the process.
        with _signals(fallback.request_stop, fallback.request_reload, lambda: None):
            return fallback.run()
    finally:
        fallback.close()


def _demo(args: argparse.Namespace) -> None:
    from compositor.demo import default_demo_layout, demo_server_for

    layout_path = args.layout or default_demo_layout()
    layout = load_layout(layout_path)
    with ExitStack() as stack:
        server = stack.enter_context(demo_server_for(layout))
        log.info("test cameras: %d on rtsp://127.0.0.1:%d/", len(layout.cameras), server.port)
        if args.hosts:
            _demo_hosts(args, Path(layout_path), layout)
            return
        options = replace(_options(args), layout_path=Path(layout_path))
        if not options.headless and options.display_name is None and not os.environ.get("DISPLAY"):
            options = _demo_without_screen(stack, options)
        elif not options.headless:
            _demo_on_screen(options)
        token = None
        if options.api is not None:
            state_dir = options.state_dir or default_state_dir(Path(layout_path))
            token = _add_token(state_dir, DEMO_TOKEN, "operator", replace=True)
        run_wall(
            layout,
            options,
            metrics_address=args.metrics,
            started=lambda app: _demo_started(app, token),
        )


def _demo_hosts(args: argparse.Namespace, layout_path: Path, layout: Layout) -> None:
    """The demo as several hosts (compositor.cluster.demo): windows where there is a
    screen, else headless with every host's snapshots in one folder (one wall)."""
    from compositor.cluster.demo import run_demo_hosts

    wall_args = ["--workers", str(args.workers)] if args.workers else []
    if args.headless or not (args.display or os.environ.get("DISPLAY")):
        snapshots = args.snapshot or DEMO_SNAPSHOT_DIR
        wall_args += ["--headless", "--snapshot", str(snapshots), "--every", "2"]
        # Two walls of 14 screens on one PC, seen as snapshots every 2 s: 10 frames a
        # second leave the decoders the CPU (--fps to change it).
        wall_args += ["--fps", str(args.fps or DEMO_HOSTS_HEADLESS_FPS)]
        log.info("no screen: every host writes its outputs to %s/<output>.png", snapshots)
    else:
        wall_args += ["--fps", str(args.fps)] if args.fps else []
        wall_args += ["--windowed"] if args.windowed else []
        wall_args += ["--display", args.display] if args.display else []
    run_demo_hosts(
        layout_path,
        layout,
        args.hosts,
        args.state_dir or default_state_dir(layout_path),
        wall_args,
        lambda state: _add_token(state, DEMO_TOKEN, "operator", replace=True),
    )


def _demo_started(app: WallApp, token: str | None) -> None:
    """The control page's address and the demo's operator token, on standard output only
    (a token never goes to the log)."""
    if app.api is None:
        return
    print(f"control page: {app.api.url}", flush=True)
    if token is not None:
        print(f"operator token ({DEMO_TOKEN}, for this demo): {token}", flush=True)
        print(
            f"  curl -H 'Authorization: Bearer {token}' {app.api.url}api/status",
            flush=True,
        )


def _demo_without_screen(stack: ExitStack, options: RunOptions) -> RunOptions:
    """No screen here: a virtual 14-monitor X server where a GPU draws it, else headless;
    snapshots either way, and the log says which and why (demo/virtual_wall.py)."""
    from compositor.demo.virtual_wall import start_virtual_wall

    snapshot_dir = options.snapshot_dir or DEMO_SNAPSHOT_DIR
    # Each 1920x1080 PNG costs about 75 ms of CPU (measured on the 2-core VM, cv2 at
    # compression 1): 14 every 5 s are 0.2 CPU-seconds a second, every 2 s were 0.5.
    every = options.snapshot_every if options.snapshot_dir else DEMO_SNAPSHOT_EVERY_S
    headless = replace(options, headless=True, snapshot_dir=snapshot_dir, snapshot_every=every)
    look = (
        f"see what each output shows in {snapshot_dir.resolve()}/<output>.png, "
        f"refreshed every {every:g} s"
    )
    try:
        wall = start_virtual_wall(monitors=14)
    except CompositorError as exc:
        log.warning("no screen and no virtual X server (%s): running headless; %s", exc, look)
        return headless
    if wall.display is None:
        log.info("no screen here, and no GPU: running headless. %s; %s", wall.choice.why, look)
        return headless
    stack.callback(wall.display.stop)
    log.info(
        "no screen here: the wall runs on a virtual 14-monitor X server (display %s), %s; %s",
        wall.display.name,
        wall.choice.why,
        look,
    )
    return replace(
        options, display_name=wall.display.name, snapshot_dir=snapshot_dir, snapshot_every=every
    )


def _demo_on_screen(options: RunOptions) -> None:
    """A screen is given: say so when no GPU draws it, as the wall would draw slowly."""
    from compositor.demo.virtual_wall import SOFTWARE_DRAW_CPU_MS
    from compositor.display.windows import opengl_info

    try:
        renderer = opengl_info(options.display_name)
    except CompositorError:
        return  # the wall's own start says what is wrong with the display, better
    if renderer.software:
        log.warning(
            "the renderer of %s is %s, on the CPU: each 1920x1080 screen costs it about "
            "%.0f ms of CPU a frame, and a wall drawn slowly starves its decoders (DELAYED "
            "pictures). Without a GPU, run the demo with --headless",
            options.display_name or os.environ.get("DISPLAY", "the display"),
            renderer.renderer,
            SOFTWARE_DRAW_CPU_MS[(1920, 1080)] / 14,
        )


def _identify(args: argparse.Namespace) -> None:
    from compositor.display.screens import identify

    layout = load_layout(args.layout) if args.layout else None
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stop.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        identify(args.display, layout, args.seconds, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _status(args: argparse.Namespace) -> int:
    """Exit 0 if the wall runs, 2 if the status is that of a wall no longer running."""
    state_dir = locate_state_dir(args.layout, args.state_dir)
    try:
        status: dict[str, Any] | None = read_status(state_dir)
    except CompositorError as exc:
        status, missing = None, exc
    if status is None or (wall_alive(status) and _stale(state_dir)):
        # A wall that cannot write its status (a full or read-only disk) still answers.
        answer = _ask_status(state_dir)
        if answer is not None:
            status = answer
            print(f"note: {state_dir / STATUS_FILE} is not up to date; the wall itself answered")
        elif status is None:
            raise missing
    if args.json:
        print(json.dumps(status, indent=2))
    else:
        print("\n".join(format_status(status)))
    if not wall_alive(status):
        print(f"note: no wall is running; this is the last status written in {state_dir}")
        return 2
    return 0


def _stale(state_dir: Path) -> bool:
    """Is the status file older than a running wall would leave it?"""
    try:
        written = (state_dir / STATUS_FILE).stat().st_mtime
    except OSError:
        return True
    return MonotonicClock().wall_time() - written > STALE_AFTER_S


def _ask_status(state_dir: Path) -> dict[str, Any] | None:
    """The running wall's status through its control socket; None if it does not answer."""
    try:
        reply = send_request(state_dir / CONTROL_SOCKET, {"command": "status"}, timeout=5.0)
    except CompositorError:
        return None
    status = reply.get("status")
    return status if reply.get("ok") and isinstance(status, dict) else None


def _revert(args: argparse.Namespace) -> None:
    state_dir = locate_state_dir(args.layout, args.state_dir)
    layout_path = args.layout
    status = None
    with contextlib.suppress(CompositorError):
        status = read_status(state_dir)
    if layout_path is None:
        if status is None or not status.get("layout"):
            raise CompositorError(f"no layout recorded in {state_dir}: name the layout file")
        layout_path = Path(status["layout"])
    entry = revert_layout(layout_path, LayoutHistory(state_dir / "history"))
    print(f"restored {layout_path} to the version applied at {entry.applied_at} ({entry.path})")
    if status is not None and wall_alive(status):
        # A wall watching its file picks the change up by itself; one that does not watch
        # (--no-watch) is told.
        with contextlib.suppress(CompositorError):
            send_request(state_dir / CONTROL_SOCKET, {"command": "reload"})
        print("the running wall applies it within a second")
    else:
        print("no wall is running: it is used at the next start")


def _preset(args: argparse.Namespace) -> None:
    if not (args.name or args.list or args.default):
        raise CompositorError("name a preset, or --list, or --default")
    if args.name and (args.list or args.default):
        raise CompositorError("a preset name goes alone, without --list or --default")
    socket_path = locate_state_dir(args.layout, args.state_dir) / CONTROL_SOCKET
    if args.list:
        reply = _ask(socket_path, {"command": "presets"})
        active = reply.get("preset")
        for name in reply.get("presets") or []:
            print(f"{'*' if name == active else ' '} {name}")
        print(f"{'*' if active is None else ' '} (default: the layout as written)")
        return
    reply = _ask(socket_path, {"command": "preset", "name": None if args.default else args.name})
    print(reply.get("message") or "done")


def _ask(socket_path: Path, request: dict[str, Any]) -> dict[str, Any]:
    reply = send_request(socket_path, request)
    if not reply.get("ok"):
        raise CompositorError(str(reply.get("error") or "the wall refused"))
    return reply


def _setup_logging(args: argparse.Namespace) -> LogSetup:
    """One set-up for this process and, through the wall's options, its decoders."""
    level = logging.DEBUG if getattr(args, "verbose", False) else logging.INFO
    if args.log_level:
        level = LOG_LEVELS[args.log_level]
    setup = LogSetup.detect(level, args.log_format, os.environ, sys.stderr)
    configure_logging(setup)
    return setup


def _doctor(args: argparse.Namespace) -> int:
    from compositor.doctor.report import run_doctor

    broker = None
    if args.broker is not None:
        from compositor.cluster.options import wall_name

        if args.wall is None and args.layout is None:
            raise CompositorError("doctor --broker: give the layout or --wall NAME")
        broker = (args.broker, wall_name(args.layout or Path("."), args.wall))
    return run_doctor(
        args.layout,
        display_name=args.display,
        state_dir=args.state_dir,
        as_json=args.json,
        camera_timeout=args.timeout,
        broker=broker,
    )


def _install_service(args: argparse.Namespace) -> None:
    from compositor.metrics.collector import parse_listen_address
    from compositor.service.unit import install_service

    if args.metrics:
        parse_listen_address(args.metrics)  # refused now, not at the service's first start
    for line in install_service(
        args.layout,
        args.output,
        display=args.display,
        user=args.user,
        executable=args.executable,
        metrics=args.metrics,
    ):
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.log_setup = _setup_logging(args)
    try:
        if args.command == "run":
            return _run(args)
        elif args.command == "demo":
            _demo(args)
        elif args.command == "screens":
            from compositor.display.screens import screens_report

            layout = load_layout(args.layout) if args.layout else None
            print("\n".join(screens_report(args.display, layout)))
        elif args.command == "identify":
            _identify(args)
        elif args.command == "validate":
            return _validate(args)
        elif args.command == "schema":
            _schema()
        elif args.command == "preview":
            _preview(args)
        elif args.command == "status":
            return _status(args)
        elif args.command == "revert":
            _revert(args)
        elif args.command == "preset":
            _preset(args)
        elif args.command == "callup":
            _callup(args)
        elif args.command == "solo":
            _solo(args)
        elif args.command == "alarm":
            _alarm(args)
        elif args.command == "token":
            _token(args)
        elif args.command == "audit":
            _audit(args)
        elif args.command == "doctor":
            return _doctor(args)
        elif args.command == "install-service":
            _install_service(args)
    except LayoutError as exc:
        for issue in exc.issues:
            print(f"error: {issue}", file=sys.stderr)
        return 1
    except CompositorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
