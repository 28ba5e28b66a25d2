"""``videowall doctor [LAYOUT]``: one report a technician runs when something is wrong.

Each line is OK, WARN or FAIL with what to do. In order: the layout, the X
server and every monitor against the layout (connected, resolution,
refresh), the OpenGL renderer, PyAV and FFmpeg with the codecs the cameras
send, the hardware decoders PyAV offers here, shared memory against the
layout's frame slots, the state folder (and whether a wall runs from it),
the clock, and every camera, all asked at once while the rest is checked.

Exit status: 0 all OK, 1 warnings only, 2 any failure.
"""

from __future__ import annotations

__all__ = ["collect_findings", "format_findings", "offset_findings", "run_doctor"]

import json
import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from compositor.app import rendition_keys
from compositor.core.decoding import DecodeSetting
from compositor.core.errors import CompositorError
from compositor.core.redact import redact_url
from compositor.display.monitors import Monitor, assign_monitors, query_monitors
from compositor.doctor.findings import Finding, Level, exit_code
from compositor.doctor.host import (
    clock_state,
    refresh_rates,
    shm_findings,
    slot_bytes,
    state_folder_findings,
)
from compositor.layout.models import Layout
from compositor.layout.parse import load_layout
from compositor.layout.validate import validate_file
from compositor.live.status import locate_state_dir, read_status, wall_alive
from compositor.sources.hwdecode import AUTO_DEVICES
from compositor.sources.probe import (
    CameraProbe,
    HardwareDecoder,
    hardware_decoders,
    has_decoder,
    library_versions,
    probe_cameras,
)

LOW_REFRESH_HZ = 30.0  # below this, moving pictures judder
COMMON_CODECS = ("h264", "hevc", "mjpeg")  # what IP cameras send


def _layout_findings(path: Path) -> tuple[list[Finding], Layout | None]:
    report = validate_file(path, monitors=None)
    if not report.ok:
        found = [
            Finding(
                "layout", Level.FAIL, str(issue), "fix the file; `videowall validate` says the same"
            )
            for issue in report.errors
        ]
        return found, None
    layout = load_layout(path)
    found = [
        Finding(
            "layout",
            Level.OK,
            f"{path}: valid, {len(layout.outputs)} outputs, {len(layout.cameras)} cameras",
            data={"outputs": len(layout.outputs), "cameras": len(layout.cameras)},
        )
    ]
    found += [
        Finding("layout", Level.WARN, str(w), "see `videowall validate`") for w in report.warnings
    ]
    return found, layout


def _monitor_findings(
    display_name: str | None, layout: Layout | None
) -> tuple[list[Finding], list[Monitor]]:
    shown = display_name or os.environ.get("DISPLAY") or ""
    if not shown:
        fix = "give --display :0 (the wall's X display), or set DISPLAY"
        return [Finding("x server", Level.FAIL, "no X display given", fix)], []
    try:
        monitors = query_monitors(display_name)
    except CompositorError as exc:
        fix = f"start the X server on {shown}, and let this user use it (xhost +SI:localuser:$USER)"
        return [Finding("x server", Level.FAIL, str(exc), fix)], []
    if not monitors:
        return [
            Finding("x server", Level.FAIL, f"{shown} reports no monitor", "connect a screen")
        ], []
    names = ", ".join(m.name for m in monitors)
    found = [
        Finding(
            "x server",
            Level.OK,
            f"{shown}: {len(monitors)} monitors ({names})",
            data={"display": shown, "monitors": [m.name for m in monitors]},
        )
    ]
    rates = refresh_rates(display_name)
    if layout is None:
        for each in monitors:
            rate = rates.get(each.name)
            hz = f" at {rate:g} Hz" if rate else ""
            found.append(
                Finding("monitor", Level.OK, f"{each.name}: {each.width}x{each.height}{hz}")
            )
        return found, monitors
    placements = assign_monitors([(o.id, o.monitor) for o in layout.outputs], monitors)
    outputs = {o.id: o for o in layout.outputs}
    used = set()
    for placement in placements:
        output = outputs[placement.output_id]
        monitor = placement.monitor
        if monitor is None:
            wanted = (
                f"monitor {placement.wanted!r}"
                if placement.wanted is not None
                else "a free monitor"
            )
            found.append(
                Finding(
                    "monitor",
                    Level.FAIL,
                    f"output {output.id}: no {wanted.removeprefix('a ')} on {shown}",
                    f"connect it, or fix `monitor:` of {output.id} (the X server has {names})",
                    {"output": output.id},
                )
            )
            continue
        used.add(monitor.name)
        rate = rates.get(monitor.name)
        hz = f" at {rate:g} Hz" if rate else " (refresh rate unknown)"
        detail = f"output {output.id} on {monitor.name}: {monitor.width}x{monitor.height}{hz}"
        data = {"output": output.id, "monitor": monitor.name, "refresh_hz": rate}
        size = (output.size[0], output.size[1])
        if size != (monitor.width, monitor.height):
            found.append(
                Finding(
                    "monitor",
                    Level.WARN,
                    f"{detail}; the output is {size[0]}x{size[1]}: scaled to fit",
                    f"set `size: [{monitor.width}, {monitor.height}]` for {output.id}, or the "
                    f"monitor's mode to {size[0]}x{size[1]} (xrandr --output {monitor.name})",
                    data,
                )
            )
        elif rate is not None and rate < LOW_REFRESH_HZ:
            found.append(
                Finding(
                    "monitor",
                    Level.WARN,
                    f"{detail}: moving pictures judder",
                    f"set a mode of 50 or 60 Hz (xrandr --output {monitor.name} --rate 60)",
                    data,
                )
            )
        else:
            found.append(Finding("monitor", Level.OK, detail, data=data))
    for monitor in monitors:
        if monitor.name not in used:
            found.append(
                Finding(
                    "monitor",
                    Level.WARN,
                    f"{monitor.name}: no output of the layout (it says so on screen)",
                    f"give an output `monitor: {monitor.name}`, or switch it off",
                    {"monitor": monitor.name},
                )
            )
    return found, monitors


def _opengl_findings(display_name: str | None, monitors: list[Monitor]) -> list[Finding]:
    if not monitors:
        return [Finding("opengl", Level.FAIL, "not checked: no X server", "see the X server line")]
    from compositor.display.windows import opengl_info

    try:
        info = opengl_info(display_name)
    except CompositorError as exc:
        return [
            Finding(
                "opengl",
                Level.FAIL,
                str(exc),
                "install the GPU's OpenGL driver (Mesa: libgl1-mesa-dri)",
            )
        ]
    detail = f"{info.renderer} ({info.vendor}), OpenGL {info.version}"
    data = {"renderer": info.renderer, "vendor": info.vendor, "version": info.version}
    if info.software:
        return [
            Finding(
                "opengl",
                Level.WARN,
                f"software rendering: {detail}",
                "no GPU draws the wall: each 1080p screen costs the CPU ~12 ms a frame; "
                "install the GPU's driver (Mesa for Intel/AMD, nvidia-driver)",
                data,
            )
        ]
    return [Finding("opengl", Level.OK, f"hardware rendering: {detail}", data=data)]


def _decoder_findings(
    probes: dict[str, CameraProbe], hardware: list[HardwareDecoder]
) -> list[Finding]:
    versions = library_versions()
    found = [
        Finding(
            "pyav", Level.OK, f"PyAV {versions['pyav']}, FFmpeg {versions['ffmpeg']}", data=versions
        )
    ]
    seen: dict[str, int] = {}
    for probe in probes.values():
        if probe.live:
            seen[probe.codec] = seen.get(probe.codec, 0) + 1
    codecs = list(seen) or list(COMMON_CODECS)
    missing = [codec for codec in codecs if not has_decoder(codec)]
    told = ", ".join(f"{c} ({n} camera{'s' if n != 1 else ''})" for c, n in seen.items())
    told = told or ", ".join(codecs)
    if missing:
        found.append(
            Finding(
                "codecs",
                Level.FAIL,
                f"FFmpeg has no decoder for {', '.join(missing)}",
                "install a PyAV wheel with these decoders (pip install 'av>=17')",
            )
        )
    else:
        what = "the cameras send" if seen else "cameras commonly send"
        found.append(
            Finding(
                "codecs", Level.OK, f"FFmpeg decodes what {what}: {told}", data={"codecs": seen}
            )
        )
    offered = ", ".join(h.device for h in hardware) or "none"
    usable = [h for h in hardware if h.usable]
    data = {
        "offered": [h.device for h in hardware],
        "usable": {h.device: list(h.usable) for h in usable},
    }
    if usable:
        said = "; ".join(f"{h.device} decodes {', '.join(h.usable)}" for h in usable)
        found.append(
            Finding(
                "hardware decoding",
                Level.OK,
                f"PyAV offers {offered}; here {said} (used by cameras set to it or to auto: "
                "--decode, or a camera's decode:)",
                data=data,
            )
        )
    else:
        by_reason: dict[str, list[str]] = {}
        for h in hardware:
            by_reason.setdefault(h.why_not, []).append(h.device)
        why = "; ".join(f"{', '.join(devices)}: {reason}" for reason, devices in by_reason.items())
        found.append(
            Finding(
                "hardware decoding",
                Level.OK,
                f"none usable on this machine (no GPU device): every camera is decoded on the CPU. "
                f"PyAV offers {offered} ({why})",
                data=data,
            )
        )
    return found


_CAMERA_FIXES = {
    "connection refused": "nothing listens at {where}: check the address and port in the layout, "
    "and that the camera is on",
    "not found": "the camera has no stream at this path: check the path "
    "(the camera's manual lists them)",
    "unauthorised": "check the user and password "
    "(${{CAM_USER}}, ${{CAM_PASS}} in the service's environment)",
    "forbidden": "this account may not stream: give it the right in the camera's settings",
    "timeout": "no answer from {where}: check the camera is reachable (ping) and not overloaded",
    "no valid stream": "{where} answers, but not as an RTSP camera: check the port",
    "no video": "the stream has no video: check the path (a sub-stream, an audio channel?)",
    "unsupported codec": "set the camera to H.264 or H.265",
}


def _decoder_note(
    decode: DecodeSetting | None,
    running: dict[str, Any] | None,
    hardware: list[HardwareDecoder],
) -> tuple[str, str]:
    """What decodes a camera, as said on its line, and why that is a warning ("": it is not).

    From the running wall's status when it runs; else what the camera's own
    ``decode:`` comes to on this host (without one, it follows the wall's --decode).
    """
    if running is not None and running.get("decoder"):
        decoder, asked = str(running["decoder"]), str(running.get("decode") or "")
        note = f"decoded on {decoder} by the running wall (decode: {asked})"
        if asked not in ("", "auto", "cpu") and not decoder.startswith(asked):
            return note, f"asked for {asked}, decoded on the CPU"
        return note, ""
    if decode is None:
        return "", ""
    usable = [h.device for h in hardware if h.usable]
    if decode == "cpu":
        return "decode: cpu", ""
    if decode == "auto":
        best = next((device for device in AUTO_DEVICES if device in usable), None)
        return f"decode: auto, here {best or 'the CPU (no hardware decoder usable)'}", ""
    if decode in usable:
        return f"decode: {decode}, usable here", ""
    why = next((h.why_not for h in hardware if h.device == decode), "not offered by this PyAV")
    return (
        f"decode: {decode}, which this machine cannot use ({why}): the wall decodes it on the CPU",
        f"{decode} unusable",
    )


_DEVICE_FIX = (
    "install the GPU's driver (nvidia-driver for cuda) and let the wall's user open the "
    "device (group video), or set decode: cpu (or auto) for this camera"
)


def _camera_findings(
    layout: Layout,
    probes: dict[str, CameraProbe],
    hardware: list[HardwareDecoder],
    running: dict[str, Any],
) -> list[Finding]:
    found = []
    for camera_id, probe in probes.items():
        camera = layout.cameras[camera_id]
        url = camera.url
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port or 554}"
        named = f"{camera_id} ({layout.camera_name(camera_id)})"
        note, warning = _decoder_note(camera.decode, running.get(camera_id), hardware)
        data = {
            "camera": camera_id,
            "url": redact_url(url),
            "seconds": round(probe.seconds, 2),
            "live": probe.live,
            "codec": probe.codec,
            "size": [probe.width, probe.height],
            "decoder": note or None,
        }
        if probe.live:
            detail = f"{named}: {probe.describe()}" + (f"; {note}" if note else "")
            if warning:
                found.append(Finding("camera", Level.WARN, detail, _DEVICE_FIX, data))
            else:
                found.append(Finding("camera", Level.OK, detail, data=data))
            continue
        fixes = (t for start, t in _CAMERA_FIXES.items() if probe.reason.startswith(start))
        fix = next(fixes, "see the log of the running wall for this camera").format(where=where)
        found.append(
            Finding("camera", Level.FAIL, f"{named}: {probe.reason} ({redact_url(url)})", fix, data)
        )
    return found


def _state_findings(
    layout_path: Path | None, state_dir: Path | None
) -> tuple[list[Finding], dict[str, Any]]:
    """The state folder and the wall running from it, and its cameras' status (or none)."""
    try:
        folder = locate_state_dir(layout_path, state_dir)
    except CompositorError as exc:
        return [Finding("state folder", Level.WARN, str(exc), "name the layout or --state-dir")], {}
    found = state_folder_findings(folder)
    try:
        status = read_status(folder)
    except CompositorError:
        return [
            *found,
            Finding(
                "wall",
                Level.WARN,
                f"no wall has run with {folder}",
                "start it: systemctl start videowall",
            ),
        ], {}
    cameras: dict[str, Any] = {}
    if wall_alive(status):
        found.append(
            Finding(
                "wall",
                Level.OK,
                f"running (pid {status.get('pid')}), status of {status.get('updated_at')}",
            )
        )
        cameras = status.get("cameras") or {}
    else:
        found.append(
            Finding(
                "wall",
                Level.WARN,
                f"not running; last status {status.get('updated_at')}",
                "systemctl status videowall; journalctl -u videowall -p err",
            )
        )
    return found, cameras


def _clock_findings() -> list[Finding]:
    state = clock_state()
    data = {"synchronised": state.synchronised, "source": state.source}
    if state.synchronised:
        return [Finding("clock", Level.OK, f"synchronised ({state.source})", data=data)]
    # A wall over several hosts switches its screens at a wall-clock instant.
    fix = (
        "enable time synchronisation (systemctl enable --now systemd-timesyncd, or chrony; "
        "chrony or PTP for a wall over several hosts)"
    )
    if state.synchronised is None:
        return [
            Finding("clock", Level.WARN, f"synchronisation unknown ({state.source})", fix, data)
        ]
    return [
        Finding(
            "clock",
            Level.WARN,
            f"not synchronised ({state.source}): clocks on the wall "
            "and the times on its notices may be wrong",
            fix,
            data,
        )
    ]


# Two hosts whose clocks differ by more than this may show a switch a frame apart (25 fps).
OFFSET_WARN_S = 0.010


def offset_findings(broker: str, wall: str) -> list[Finding]:
    """Each host of the wall on ``broker``: its clock's offset from this one's, estimated
    from its health messages (compositor.cluster.probe)."""
    from compositor.cluster.address import parse_broker_url
    from compositor.cluster.probe import peer_offsets

    try:
        offsets = peer_offsets(parse_broker_url(broker), wall)
    except CompositorError as exc:
        return [Finding("broker", Level.WARN, str(exc), "is the broker running? --broker URL")]
    found = [Finding("broker", Level.OK, f"wall {wall}: {len(offsets)} host(s) heard online")]
    if not offsets:
        found[0] = Finding(
            "broker",
            Level.WARN,
            f"wall {wall}: no host heard online in a few seconds",
            "is --wall the walls' name (default: the layout's file name)?",
        )
    for host, offset in sorted(offsets.items()):
        detail = (
            f"host {host}: {offset * 1e3:+.1f} ms from this clock (an estimate from its "
            "health messages, too high by the broker's latency)"
        )
        data = {"host": host, "offset_ms": round(offset * 1e3, 2)}
        if abs(offset) > OFFSET_WARN_S:
            fix = "synchronise every host's clock (chrony or PTP): screens switch at an instant"
            found.append(Finding("clock offset", Level.WARN, detail, fix, data))
        else:
            found.append(Finding("clock offset", Level.OK, detail, data=data))
    return found


def collect_findings(
    layout_path: Path | None,
    display_name: str | None = None,
    state_dir: Path | None = None,
    camera_timeout: float = 4.0,
    broker: tuple[str, str] | None = None,
) -> list[Finding]:
    """Every check, cameras asked in the background while the host is looked at."""
    found: list[Finding] = []
    layout: Layout | None = None
    if layout_path is not None:
        # Monitors are the next section's: validation here leaves them out.
        found, layout = _layout_findings(layout_path)
    probes_future: Future[dict[str, CameraProbe]] | None = None
    with ThreadPoolExecutor(max_workers=1) as background:
        if layout is not None:
            urls = {cid: camera.url for cid, camera in layout.cameras.items()}
            probes_future = background.submit(probe_cameras, urls, camera_timeout)
        monitor_findings, monitors = _monitor_findings(display_name, layout)
        found += monitor_findings
        found += _opengl_findings(display_name, monitors)
        probes = probes_future.result() if probes_future is not None else {}
    hardware = hardware_decoders()
    found += _decoder_findings(probes, hardware)
    if layout is not None:
        placed = {output.id: layout.placed_tiles(output.id) for output in layout.outputs}
        # Tiles of one camera, size and fit share a slot: count each once.
        slots = {(camera, w, h, fit) for camera, w, h, fit in rendition_keys(placed)}
        sizes = [(w, h) for _, w, h, _ in slots]
        found += shm_findings(slot_bytes(sizes, len(layout.cameras)))
    else:
        found += shm_findings(None)
    state_found, running = _state_findings(layout_path, state_dir)
    found += state_found
    found += _clock_findings()
    if broker is not None:
        found += offset_findings(*broker)
    if layout is not None:
        found += _camera_findings(layout, probes, hardware, running)
    return found


def format_findings(findings: list[Finding]) -> list[str]:
    lines = []
    for finding in findings:
        lines.append(f"{finding.level.value:<5} {finding.item:<18} {finding.detail}")
        if finding.fix and finding.level is not Level.OK:
            lines.append(f"{'':<24}-> {finding.fix}")
    counts = {level: sum(1 for f in findings if f.level is level) for level in Level}
    lines.append(
        f"{counts[Level.OK]} OK, {counts[Level.WARN]} WARN, {counts[Level.FAIL]} FAIL"
        f" (exit {exit_code(findings)})"
    )
    return lines


def run_doctor(
    layout_path: Path | None,
    display_name: str | None = None,
    state_dir: Path | None = None,
    as_json: bool = False,
    camera_timeout: float = 4.0,
    write: Callable[[str], None] = print,
    broker: tuple[str, str] | None = None,
) -> int:
    """Check, print the report (text or JSON), return the exit status. ``broker``: (URL,
    wall name) of a wall over several hosts, whose clocks' offsets are reported."""
    findings = collect_findings(layout_path, display_name, state_dir, camera_timeout, broker)
    code = exit_code(findings)
    if as_json:
        write(json.dumps({"exit": code, "checks": [f.as_dict() for f in findings]}, indent=2))
    else:
        write("\n".join(format_findings(findings)))
    return code
