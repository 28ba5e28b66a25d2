"""Hardware decoding measured: the CPU a camera costs, and the cameras held, CPU against GPU.

    python -m benchmarks.hwdecode [--devices cpu,cuda,qsv] [--clips 1080p,720p,360p]
                                  [--streams 4,8,16,32,48] [--seconds 10] [--out FILE]

Both measurements go through the wall's own decoding path for each device
that can decode H.264 here: ``cpu`` always, ``cuda`` and ``qsv`` where this
host has one (:func:`compositor.sources.hwdecode.why_unusable`, the test
``decode: auto`` makes). A device's pictures come back to system memory
(NV12) and the wall's :class:`~compositor.sources.camera.Rendition` brings
each into a 480x270 slot (a 4x4 grid's tile), as a camera's decoder does.

1. **Flat out, one stream.** Every packet of each clip, decoded as fast as
   it goes: CPU milliseconds per picture (decode, download, scaling, slot)
   and pictures per second.
2. **Live cameras.** N streams of one clip (1080p by default), each paced at
   25 packets a second as a camera sends them, one thread each as in a
   decoder process, all opened before the clock starts. Per count: CPU-s/s
   of the process (decode threads, driver threads, all), pictures decoded of
   those due, and the share decoded later than two frame intervals after
   their packet was due. Held: at most 1 % short or late (the bench's rule).
   The count goes up the list until one is not held.

Nothing is made up: a device that cannot be used here is named with why, and
its figures are missing, said so in the output and the JSON. Results go to
``benchmarks/results/hwdecode.json`` unless ``--out`` says otherwise. On a
lent GPU machine without this project's venv, see benchmarks/README.md
("Hardware decoding") for the one command that runs it.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.machine import machine_info

RESULTS = Path(__file__).resolve().parent / "results"
DEVICES = ("cpu", "cuda", "qsv")
TILE = (480, 270)  # a 4x4 grid's tile on a 1920x1080 screen
HELD_PERCENT = 1  # the bench's rule: at most 1 % of pictures missing, 1 % late
LATE_INTERVALS = 2.0


@dataclass
class Flat:
    """One clip decoded flat out on one device."""

    clip: str
    device: str
    frames: int
    seconds: float
    cpu_seconds: float
    accelerated: bool  # FFmpeg decoded on the device (not its software fallback)
    picture_format: str  # what the decoder handed back (nv12 from a device)
    error: str | None = None

    @property
    def cpu_ms_per_frame(self) -> float | None:
        return 1000.0 * self.cpu_seconds / self.frames if self.frames else None

    @property
    def frames_per_s(self) -> float | None:
        return self.frames / self.seconds if self.seconds > 0 else None


@dataclass
class Live:
    """``streams`` paced cameras of one clip on one device."""

    clip: str
    device: str
    streams: int
    seconds: float
    cpu_per_s: float
    due: int  # pictures whose packets were due in the window
    decoded: int
    late: int  # of those decoded, later than LATE_INTERVALS frame intervals
    accelerated: int  # streams FFmpeg decoded on the device
    error: str | None = None
    least_stream_share: float = 0.0  # decoded / due of the worst stream

    @property
    def held(self) -> bool:
        if self.error is not None or self.due == 0:
            return False
        # In whole numbers: 495 of 500 is 1 % short exactly, not 1.0000000000000009 %.
        few_missing = 100 * (self.due - self.decoded) <= HELD_PERCENT * self.due
        return few_missing and 100 * self.late <= HELD_PERCENT * max(1, self.decoded)


@dataclass
class Report:
    machine: dict[str, Any]
    devices: dict[str, str | None]  # device -> why it cannot be used here; None: usable
    flat: list[Flat] = field(default_factory=list)
    live: list[Live] = field(default_factory=list)

    @property
    def gpu_missing(self) -> bool:
        return not any(why is None for device, why in self.devices.items() if device != "cpu")

    def to_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "devices": self.devices,
            "gpu_figures": "missing: no usable device here" if self.gpu_missing else "measured",
            "flat": [
                asdict(f)
                | {"cpu_ms_per_frame": _round(f.cpu_ms_per_frame, 3)}
                | {"frames_per_s": _round(f.frames_per_s, 1)}
                for f in self.flat
            ],
            "live": [asdict(x) | {"held": x.held} for x in self.live],
            "held_rule": "at most 1 % of pictures missing, and at most 1 % later than "
            f"{LATE_INTERVALS:g} frame intervals after their packet was due",
            "tile": f"{TILE[0]}x{TILE[1]}",
        }


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# -- the clips -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipPackets:
    packets: list[bytes]  # in decode order
    gop: int  # pictures from one key frame to the next


def read_clip(path: Path) -> ClipPackets:
    """A clip's packets and GOP, from ``benchmarks.clips``' index beside it."""
    index = json.loads(path.with_name(path.name + ".json").read_text())
    data = path.read_bytes()
    packets = [data[offset : offset + size] for offset, size, *_ in index["packets"]]
    return ClipPackets(packets, int(index["gop"]))


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """A folder for slots, in shared memory as the wall's are (``/dev/shm``) where there is one."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    return tempfile.TemporaryDirectory(prefix="videowall-hwdecode-", dir=base)


# -- decoding as the wall does ---------------------------------------------------------------


def open_decoder(device: str) -> Any:
    """An H.264 decoder on ``device`` (``cpu``: FFmpeg's own, one thread), set up as
    a camera's in the wall: B-frames of small tiles not deblocked."""
    import av
    import av.codec.hwaccel

    from compositor.sources.budget import DecodePolicy, deblocking_skip, skip_tier

    hwaccel = None
    if device != "cpu":
        hwaccel = av.codec.hwaccel.HWAccel(device, allow_software_fallback=True)
    codec = av.CodecContext.create("h264", "r", hwaccel=hwaccel)
    codec.thread_count = 1  # as the wall's decoders: one thread a camera
    codec.options = {"skip_loop_filter": deblocking_skip(DecodePolicy(), skip_tier([TILE]))}
    return codec


class _Tile:
    """A 480x270 slot and the wall's rendition that fills it."""

    def __init__(self, folder: Path, name: str) -> None:
        from compositor.core.geometry import Fit
        from compositor.slots import FrameSlot
        from compositor.sources.camera import Rendition, RenditionSpec

        path = folder / name
        self._owner = FrameSlot(path, *TILE, create=True)  # the render side's, here
        self.rendition = Rendition(RenditionSpec(str(path), TILE[0], TILE[1], Fit.LETTERBOX))

    def publish(self, frame: Any, at: float) -> None:
        self.rendition.publish(frame, Fraction(1), at)

    def close(self) -> None:
        self.rendition.slot.close()
        self._owner.close()


def _decode_all(codec: Any, packets: list[bytes], tile: _Tile) -> tuple[int, str]:
    import av

    frames, fmt = 0, ""
    for data in [*packets, None]:  # None: flush the pictures held back for B-frames
        for frame in codec.decode(av.Packet(data) if data is not None else None):
            tile.publish(frame, time.monotonic())
            frames += 1
            fmt = frame.format.name
    return frames, fmt


def measure_flat(clip: str, packets: list[bytes], device: str, folder: Path) -> Flat:
    """Every packet of ``packets`` decoded as fast as it goes, into a tile."""
    tile = _Tile(folder, f"flat-{clip}-{device}")
    try:
        codec = open_decoder(device)
        _decode_all(codec, packets[: min(len(packets), 50)], tile)  # warm: device, scaler
        codec = open_decoder(device)
        cpu, wall = time.process_time(), time.perf_counter()
        frames, fmt = _decode_all(codec, packets, tile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return Flat(clip, device, frames, wall, cpu, bool(codec.is_hwaccel), fmt)
    except Exception as exc:  # a device that fails mid-way: its figure is missing, said why
        return Flat(clip, device, 0, 0.0, 0.0, False, "", error=_why(exc))
    finally:
        tile.close()


@dataclass
class _StreamCount:
    decoded: int = 0
    late: int = 0
    due: int = 0


def _camera(
    packets: list[bytes],
    codec: Any,
    tile: _Tile,
    fps: float,
    start: float,
    window: tuple[float, float],
    stop: threading.Event,
    count: _StreamCount,
    errors: list[str],
) -> None:
    """One paced camera: packet i is due at ``start + i / fps``; counts the packets due
    in ``window`` (monotonic times), and their pictures decoded before ``stop``."""
    import av

    interval, late_after = 1.0 / fps, LATE_INTERVALS / fps
    # Due by the clock, whether or not the camera got to them: one behind is short.
    first, end = (max(0, math.ceil((t - start) / interval)) for t in window)
    count.due = end - first
    n, i = len(packets), 0
    try:
        while not stop.is_set():
            due = start + i * interval
            wait = due - time.monotonic()
            if wait > 0 and stop.wait(wait):
                return
            counted = first <= i < end
            for frame in codec.decode(av.Packet(packets[i % n])):
                now = time.monotonic()
                tile.publish(frame, now)
                if counted:
                    count.decoded += 1
                    count.late += now - due > late_after
            i += 1  # the clip loops: its GOPs are closed, each starts with SPS/PPS
    except Exception as exc:
        errors.append(_why(exc))


def _live_worker(
    clip: Path, device: str, first: int, streams: int, total: int, conn: Connection
) -> None:
    """One decoder process: cameras ``first`` .. ``first + streams - 1`` of ``total``.

    Opens its decoders, says so, waits for (start, settle, seconds, fps), runs them,
    and answers its counts and its own CPU over the window."""
    import cv2

    cv2.setNumThreads(1)  # as in the wall's decoder processes (compositor.sources.worker)
    errors: list[str] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    counts = [_StreamCount() for _ in range(streams)]
    tiles: list[_Tile] = []
    accelerated = 0
    try:
        found = read_clip(clip)
        packets, gop = found.packets, found.gop
        codecs = [open_decoder(device) for _ in range(streams)]
        with _scratch() as tmp:
            tiles = [_Tile(Path(tmp), f"live-{i}") for i in range(streams)]
            conn.send("ready")
            start, settle, seconds, fps = conn.recv()
            settle = max(settle, gop / fps)  # every camera sending before the window
            window = (start + settle, start + settle + seconds)
            for i in range(streams):
                # Cameras do not send in step: their key frames spread over a GOP.
                offset = (first + i) / total * gop / fps
                thread = threading.Thread(
                    target=_camera,
                    args=(packets, codecs[i], tiles[i], fps, start + offset, window, stop),
                    kwargs={"count": counts[i], "errors": errors},
                    daemon=True,
                )
                threads.append(thread)
                thread.start()
            time.sleep(max(0.0, window[0] - time.monotonic()))
            cpu = time.process_time()
            time.sleep(max(0.0, window[1] - time.monotonic()))
            cpu = time.process_time() - cpu
            time.sleep(LATE_INTERVALS / fps + 0.2)  # the window's last pictures come in
            stop.set()
            for thread in threads:
                thread.join(timeout=10.0)
            accelerated = sum(1 for codec in codecs if codec.is_hwaccel)
            for tile in tiles:
                tile.close()
        conn.send(
            {
                "cpu": cpu,
                "counts": [asdict(c) for c in counts],
                "errors": errors,
                "accelerated": accelerated,
            }
        )
    except Exception as exc:
        stop.set()
        conn.send({"error": _why(exc)})


def measure_live(
    clip: str,
    path: Path,
    device: str,
    streams: int,
    seconds: float,
    fps: float = 25.0,
    settle: float = 2.0,
) -> Live:
    """``streams`` cameras of the clip at ``path`` at ``fps``, measured for ``seconds``
    after ``settle``: dealt over one process per core as the wall's decoder pool deals
    them, each process's decoders opened before the clock starts."""
    context = multiprocessing.get_context("spawn")
    processes = max(1, min(streams, os.cpu_count() or 1))
    shares = [len(range(i, streams, processes)) for i in range(processes)]
    workers: list[tuple[Any, Connection]] = []
    try:
        first = 0
        for share in shares:
            mine, theirs = context.Pipe()
            process = context.Process(
                target=_live_worker,
                args=(path, device, first, share, streams, theirs),
                daemon=True,
            )
            process.start()
            workers.append((process, mine))
            first += share
        answers: list[Any] = []
        for _, conn in workers:
            if not conn.poll(120.0):
                raise TimeoutError("a decoder process did not open its decoders in 120 s")
            answers.append(conn.recv())
        failed = [a["error"] for a in answers if isinstance(a, dict)]
        if failed:
            return Live(clip, device, streams, seconds, 0.0, 0, 0, 0, 0, error=failed[0])
        start = time.monotonic() + 0.2  # CLOCK_MONOTONIC: one clock for every process
        for _, conn in workers:
            conn.send((start, settle, seconds, fps))
        results = []
        for _, conn in workers:
            if not conn.poll(settle + seconds + 60.0):
                raise TimeoutError("a decoder process did not answer")
            results.append(conn.recv())
        failed = [r["error"] for r in results if "error" in r]
        if failed:
            return Live(clip, device, streams, seconds, 0.0, 0, 0, 0, 0, error=failed[0])
        counts = [c for r in results for c in r["counts"]]
        errors = [e for r in results for e in r["errors"]]
        due = sum(c["due"] for c in counts)
        least = min((c["decoded"] / c["due"] for c in counts if c["due"]), default=0.0)
        return Live(
            clip,
            device,
            streams,
            seconds,
            round(sum(r["cpu"] for r in results) / seconds, 3),
            due,
            sum(c["decoded"] for c in counts),
            sum(c["late"] for c in counts),
            sum(r["accelerated"] for r in results),
            error=errors[0] if errors else None,
            least_stream_share=round(least, 4),
        )
    except Exception as exc:
        return Live(clip, device, streams, seconds, 0.0, 0, 0, 0, 0, error=_why(exc))
    finally:
        for process, _ in workers:
            process.join(timeout=10.0)
            if process.is_alive():
                process.kill()


def _why(exc: BaseException) -> str:
    from compositor.sources.hwdecode import describe_device_error

    return f"{type(exc).__name__}: {describe_device_error(exc)}"


# -- the run ---------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """The bench's machine record, and the GPU nvidia-smi names (None: none)."""
    info = machine_info() | {"gpu": None}
    smi = shutil.which("nvidia-smi")
    if smi is not None:
        try:
            found = subprocess.run(
                [smi, "--query-gpu=name,driver_version", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=20,
            )
            info["gpu"] = found.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            pass
    return info


def usable_devices(wanted: list[str]) -> dict[str, str | None]:
    """Each device asked for -> why it cannot decode here (None: it can)."""
    from compositor.sources.hwdecode import why_unusable

    return {d: None if d == "cpu" else why_unusable(d) for d in wanted}


def run(
    clips: dict[str, Path],
    flat_clips: list[str],
    devices: list[str],
    live_clip: str,
    streams: list[int],
    seconds: float,
    say: Any = print,
) -> Report:
    """Both measurements, ``flat_clips`` flat out and ``live_clip`` live, on each device."""
    import cv2

    cv2.setNumThreads(1)  # as in the wall's decoder processes (compositor.sources.worker)
    report = Report(machine(), usable_devices(devices))
    for device, why in report.devices.items():
        say(f"hwdecode: {device}: " + ("usable" if why is None else f"not usable here ({why})"))
    usable = [d for d, why in report.devices.items() if why is None]
    with _scratch() as tmp:
        folder = Path(tmp)
        for name in flat_clips:
            packets = read_clip(clips[name]).packets
            for device in usable:
                flat = measure_flat(name, packets, device, folder)
                report.flat.append(flat)
                say(f"hwdecode: flat out, {name} on {device}: " + _flat_line(flat))
        for device in usable:
            for count in streams:
                live = measure_live(live_clip, clips[live_clip], device, count, seconds)
                report.live.append(live)
                say(f"hwdecode: {count} live {live_clip} cameras on {device}: " + _live_line(live))
                if not live.held:
                    break  # the next count would not be held either
    return report


def _flat_line(f: Flat) -> str:
    if f.error is not None:
        return f"failed ({f.error})"
    if f.cpu_ms_per_frame is None or f.frames_per_s is None:
        return "no picture decoded"
    on = "on the device" if f.accelerated else "in software"
    return (
        f"{f.cpu_ms_per_frame:.2f} CPU-ms a picture, {f.frames_per_s:.0f} pictures/s "
        f"({f.frames} decoded {on}, {f.picture_format})"
    )


def _live_line(x: Live) -> str:
    if x.error is not None and x.due == 0:
        return f"failed ({x.error})"
    short = 100.0 * (1.0 - x.decoded / x.due) if x.due else 100.0
    late = 100.0 * x.late / x.decoded if x.decoded else 0.0
    return (
        f"{x.cpu_per_s:.2f} CPU-s/s, {x.decoded}/{x.due} pictures (short {short:.1f} %, "
        f"late {late:.1f} %), {x.accelerated} on the device, "
        f"{'held' if x.held else 'NOT held'}" + (f"; error: {x.error}" if x.error else "")
    )


def summary(report: Report) -> list[str]:
    """The lines that end the run: most cameras held and their CPU, per device."""
    lines = []
    for device, why in report.devices.items():
        if why is not None:
            continue
        runs = [x for x in report.live if x.device == device]
        held = [x for x in runs if x.held]
        if not runs:
            continue
        best = max(held, key=lambda x: x.streams) if held else None
        lines.append(
            f"{device}: held {best.streams} live cameras at {best.cpu_per_s:.2f} CPU-s/s "
            f"({1000 * best.cpu_per_s / best.streams:.0f} CPU-ms a camera-second)"
            if best is not None
            else f"{device}: held none of the counts tried (least {runs[0].streams})"
        )
    if report.gpu_missing:
        unusable = "; ".join(f"{d}: {why}" for d, why in report.devices.items() if why)
        lines.append(f"GPU figures: missing (no device usable here: {unusable or 'none asked'})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", default=",".join(DEVICES), help="cpu,cuda,qsv")
    parser.add_argument("--clips", default="1080p,720p,360p", help="flat out: these clips")
    parser.add_argument("--live-clip", default="1080p", help="the live cameras' clip")
    parser.add_argument("--streams", default="4,8,16,32,48", help="live camera counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="each live window")
    parser.add_argument("--out", type=Path, default=RESULTS / "hwdecode.json")
    args = parser.parse_args(argv)
    from benchmarks.clips import CLIP_SPECS, ensure_clips

    names = [c for c in args.clips.split(",") if c]
    unknown = [c for c in [*names, args.live_clip] if c not in CLIP_SPECS]
    if unknown:
        parser.error(f"no such clip: {', '.join(unknown)} (have {', '.join(CLIP_SPECS)})")
    devices = [d for d in args.devices.split(",") if d]
    try:
        streams = sorted({int(n) for n in args.streams.split(",") if n})
    except ValueError:
        parser.error(f"--streams: counts, e.g. 4,8,16 (not {args.streams!r})")
    if not streams or streams[0] < 1:
        parser.error("--streams: at least one count of 1 or more")
    clips = ensure_clips(sorted({*names, args.live_clip}))
    report = run(
        clips,
        names,
        devices,
        args.live_clip,
        streams,
        args.seconds,
    )
    for line in summary(report):
        print(line)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report.to_json(), indent=2) + "\n")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
