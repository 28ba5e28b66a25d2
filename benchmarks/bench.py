"""Benchmark the wall against the decode floor and against the peers, on the same streams.

    python -m benchmarks.bench            # full: figures at 12 cameras, then a ramp of N
    python -m benchmarks.bench --quick    # about a minute: 6 cameras, no ramp

One RTSP test server replays pre-encoded clips with texture and motion
(:mod:`benchmarks.clips`: H.264 1080p25/720p25/576p25, GOP 50, B-frames) to
every runner in turn, one runner at a time, on the same cameras and tiles
(:mod:`benchmarks.workload`):

* ``decode_floor``: PyAV decodes and discards, threaded like the wall;
* ``wall_headless``: our wall (``WallApp``, headless);
* ``wall_x``: our wall with a fullscreen window per output on a virtual X
  server (Xorg's dummy driver, small monitors; Xvfb windows as a fallback);
* ``ffmpeg_xstack``: FFmpeg's command line, ``scale`` + ``xstack`` per output;
* ``opencv``: ``cv2.VideoCapture`` per camera in threads, ``cv2.resize``,
  numpy copy into a canvas.

Every camera also serves a 640x360 sub-stream (the ``360p`` clip). The full
run adds three runners on the same tiles with sub-streams (not in the quick
run's defaults):

* ``wall_substreams``: our wall headless with ``url_low`` on every camera (its
  pool decodes the sub-stream while all of a camera's tiles are small);
* ``ffmpeg_substreams``: the FFmpeg command reading, for each camera, the URL
  the wall decodes (the sub-stream for small tiles, as a careful user would);
* ``floor_substreams``: the decode floor on those same URLs.

Per runner: CPU-seconds per wall-second (user + system of its whole process
tree, from /proc), frames per second against what the cameras send, late
frames (older than two frame intervals when used), p50/p99 frame age, peak
RSS, bytes uploaded to GL per second. The full run measures every runner in
three rounds in turn and keeps each one's round of median CPU (``--rounds``:
a shared machine's load moves single windows by 10 %), then ramps N per
runner until more than 1 % of frames are late or dropped. Results go to
``benchmarks/results/latest.json`` (``--out``) and a plot of CPU against
cameras; targets are printed as pass/fail, never raised as errors.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from benchmarks.clips import CLIP_SPECS, SUBSTREAM_CLIP, ensure_clips
from benchmarks.machine import machine_info
from benchmarks.procstat import TreeMeter
from benchmarks.runners import ffmpeg_xstack
from benchmarks.workload import Workload, make_grid_workload, make_workload, room_workload
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "benchmarks" / "results"

RUNNERS: dict[str, str] = {
    "decode_floor": "decode floor (PyAV, discard)",
    "wall_headless": "our wall, headless",
    "wall_x": "our wall, windows on X",
    "ffmpeg_xstack": "FFmpeg scale + xstack",
    "opencv": "OpenCV script",
}
SHORT = {
    "decode_floor": "decode floor",
    "wall_headless": "wall headless",
    "wall_x": "wall + X",
    "ffmpeg_xstack": "ffmpeg xstack",
    "opencv": "opencv",
    "floor_substreams": "floor, sub-streams",
    "wall_substreams": "wall, sub-streams",
    "ffmpeg_substreams": "ffmpeg, sub-streams",
    "floor_light_deblocking": "floor, light deblock",
    "wall_full_deblocking": "wall, full deblock",
    "room_floor": "room: floor",
    "room_wall": "room: wall",
    "room_wall_x": "room: wall + X",
}
# The room's own workload (issue 18 item 2): layouts/control-room-14.yaml as it is meant to
# run, its 40 cameras on the bench's clips, each with a sub-stream (the wall decodes the
# main stream only for the spanning and full-screen pictures), tours, labels, the clock
# and images; 14 outputs. Measured at all its cameras (--room-cameras); a room of fewer
# cameras leaves the others' tiles out. The floor reads the URLs the wall decodes.
ROOM_RUNNERS: dict[str, str] = {
    "room_floor": "decode floor on the room's streams (the URL the wall decodes per camera)",
    "room_wall": "our wall, headless, on layouts/control-room-14.yaml",
    "room_wall_x": "our wall on the room's layout, 14 windows on 14 virtual monitors",
}
# The same tiles with every camera's sub-stream (640x360) at hand: the wall gets url_low
# and chooses; FFmpeg and the floor read the URL the wall chooses. In the full run's
# default runners, not the quick run's; not in the headline ratios (those stay on the
# main streams): in "substream_ratios".
SUBSTREAM_RUNNERS: dict[str, str] = {
    "floor_substreams": "decode floor, sub-streams for small tiles",
    "wall_substreams": "our wall, headless, url_low on every camera",
    "ffmpeg_substreams": "FFmpeg scale + xstack, sub-streams for small tiles",
}
SUBSTREAM_TWINS = {  # the same runner on the main streams
    "floor_substreams": "decode_floor",
    "wall_substreams": "wall_headless",
    "ffmpeg_substreams": "ffmpeg_xstack",
}
# The wall decodes the B-frames of cameras on tiles up to 960x540 without H.264's
# deblocking filter (DecodePolicy.light_deblocking): the headline ratios compare it with
# the floor and FFmpeg as those come (every frame filtered). Like for like, each side
# with the other's setting, is in "deblocking_ratios". In the full run's default runners.
DEBLOCKING_RUNNERS: dict[str, str] = {
    "floor_light_deblocking": "decode floor, B-frames of small tiles unfiltered (as the wall)",
    "wall_full_deblocking": "our wall, headless, every frame filtered (--full-deblocking)",
}
DEBLOCKING_TWINS = {
    "floor_light_deblocking": "decode_floor",
    "wall_full_deblocking": "wall_headless",
}
# Not in the main table: the floor with the wall's per-frame steps added one by one
# (benchmarks/profile_wall.py uses them to say where the time goes).
STAGE_RUNNERS = {
    "floor_scale": "scale",  # + scaling to each tile in I420, as the wall's decoders
    "floor_copy": "copy",  # + the copy into a slot: the wall's whole decoder path
    "floor_bgr": "bgr",  # the decoder path before I420 (BGR), for comparison
}
# Experiments, not in the main table: the wall with its decoder processes at nice +5.
# And the wall with its degrade switched off (``--no-degrade``): beside wall_headless past
# the cameras it holds, it shows what skipping frames on small tiles first buys.
# And the headless wall composing at 50 Hz, twice its cameras' rate, as a wall with
# screens composes at their refresh rate (wall_headless: 25 Hz, where a frame that comes
# in the same tick as the next is never shown).
EXPERIMENTS = ("wall_headless_nice", "wall_x_nice", "wall_no_degrade", "wall_headless_50hz")
WALL_OPTIONS = {
    "wall_headless_nice": ["--nice-decoders", "5"],
    "wall_headless_50hz": ["--fps", "50"],
    "wall_no_degrade": ["--no-degrade"],
    "wall_full_deblocking": ["--full-deblocking"],
}
# Decode budget (issue 7 item 6), measured on the floor: two codec threads per camera
# (oversubscribed once cameras >= cores), and skipping non-reference frames (the
# B-frames here: a third of the frames are kept).
FLOOR_OPTIONS = {
    "floor_threads2": ["--threads", "2"],
    "floor_skip_nonref": ["--skip-nonref"],
    "floor_light_deblocking": ["--light-deblocking"],
}
HELD_MAX_PCT = 1.0  # a runner holds N cameras while at most this % of frames are late or dropped
# Issue 18's targets (the peer targets of issue 7, FFmpeg / wall >= 1.3 and OpenCV / wall
# >= 2, are withdrawn: they asked for a wall under the decode floor on the same streams).
TARGETS = (
    # name, table of ratios, ratio key, comparison, limit
    ("main streams: wall / decode floor", "ratios", "wall_over_decode_floor", "<=", 1.10),
    ("main streams: FFmpeg / wall", "ratios", "ffmpeg_over_wall", ">=", 1.15),
    ("main streams: OpenCV / wall", "ratios", "opencv_over_wall", ">=", 1.3),
    ("sub-streams: wall / decode floor", "substream_ratios", "wall_over_floor", "<=", 1.15),
    ("sub-streams: FFmpeg / wall", "substream_ratios", "ffmpeg_over_wall", ">=", 1.1),
)
P99_AGE_INTERVALS = 2.0
P99_AGE_RUNNERS = ("wall_headless", "wall_x", "wall_substreams", "room_wall", "room_wall_x")
PSS_LIMIT = 1.5  # the wall's memory (PSS of its process tree) over the floor's, same cameras


@dataclass
class Measurement:
    runner: str
    cameras: int
    ok: bool = True
    error: str | None = None
    window_s: float = 0.0
    cpu_per_s: float | None = None  # CPU-seconds per wall-second, the runner's process tree
    cpu_ms_per_frame: float | None = None  # per camera frame delivered
    frames_per_s: float | None = None  # camera frames used per second, all cameras
    expected_per_s: float | None = None  # what the cameras sent
    dropped_pct: float | None = None
    late_pct: float | None = None
    held: bool = False
    age_p50_ms: float | None = None
    age_p99_ms: float | None = None
    age_at: str | None = None  # where the age is taken: decode, composition, canvas
    peak_rss_mb: float | None = None
    # Summed PSS of the tree (shared libraries counted once across the decoder processes).
    peak_pss_mb: float | None = None
    processes: int | None = None
    # Frames shown (composed onto the camera's tiles; the floor: decoded) over what the
    # cameras sent while on a tile, all cameras, and the least of any camera, in %.
    shown_pct: float | None = None
    shown_min_camera_pct: float | None = None
    skipped_s: float | None = None  # seconds of camera-time spent skipping frames (degrade)
    upload_mb_per_s: float | None = None
    server_cpu_per_s: float | None = None  # the RTSP test server, same window
    xserver_cpu_per_s: float | None = None  # the X server (wall_x only), same window
    other_cpu_per_s: float | None = None  # everything else busy on the machine meanwhile
    main_process_cpu_per_s: float | None = None  # of cpu_per_s: the runner's first process
    system_cpu_per_s: float | None = None  # of cpu_per_s: in the kernel
    details: dict[str, Any] = field(default_factory=dict)


# -- measuring -----------------------------------------------------------------------------


class MachineMeter:
    """Busy CPU-seconds per second of the whole machine (from /proc/stat)."""

    def __init__(self) -> None:
        self._start = (0.0, 0.0)

    @staticmethod
    def _read() -> tuple[float, float]:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = [int(v) for v in handle.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        ticks = os.sysconf("SC_CLK_TCK")
        return (sum(fields[:8]) - idle) / ticks, time.monotonic()

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> float:
        busy, at = self._read()
        return (busy - self._start[0]) / max(1e-6, at - self._start[1])


class LineReader:
    """A child's stdout, line by line, with timeouts."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._lines.put(raw.decode(errors="replace").rstrip("\n"))
        self._lines.put(None)

    def expect(self, word: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {word} within {timeout:g} s")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"the runner exited before {word}")
            if line == word or line.startswith(word + " "):
                return line[len(word) :].strip()


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


def _kill_tree(process: subprocess.Popen[bytes]) -> None:
    """Stop a runner we started (its own session) and everything under it."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Decoder processes outlive a killed parent only briefly (they watch it); reap the group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def start_runner(
    module: str, args: Sequence[str], log_path: Path
) -> tuple[subprocess.Popen[bytes], LineReader]:
    """A runner module in its own session (so its whole tree can be killed), its
    stderr to ``log_path``, its stdout read line by line (READY, figures)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
    assert process.stdin is not None and process.stdout is not None
    return process, LineReader(process.stdout)


def _xserver_pid(display: Any) -> int | None:
    try:
        return int(Path(f"/tmp/.X{display.number}-lock").read_text().strip())
    except (OSError, ValueError):
        return None


class Bench:
    def __init__(
        self,
        server: SyntheticCameraServer,
        workdir: Path,
        seconds: float,
        settle: float,
        log: IO[str] = sys.stderr,
        grid: str | None = None,
    ) -> None:
        self.server = server
        self.workdir = workdir
        self.seconds = seconds
        self.settle = settle
        self.log = log
        # Cameras of one resolution on 4x4 grids (make_grid_workload), for the degrade
        # check; None: the mixed workload (make_workload).
        self.grid = grid
        self.ffmpeg = ffmpeg_xstack.ffmpeg_path()
        self.fps = 25  # every camera of the workload
        # Every runner on the room's workload (benchmarks/profile_wall.py --room): the
        # walls with their sub-streams at hand, the others on the URLs the wall decodes.
        self.room = False
        # Every runner on the sub-stream runners' workload (profile_wall.py --substreams):
        # the same, on the mixed workload.
        self.substreams = False

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=self.log, flush=True)

    def workload(self, cameras: int, runner: str = "") -> Workload:
        """The cameras and tiles for ``runner``: main streams only, except for the
        sub-stream runners and the room's (the wall: ``url_low`` too; the others: the
        URL the wall decodes)."""
        if runner in ROOM_RUNNERS or self.room:
            work = room_workload(cameras)
        elif self.grid is not None:
            work = make_grid_workload(cameras, self.grid)
        else:
            work = make_workload(cameras)
        work = work.with_urls(
            {c.id: self.server.url(c.id) for c in work.cameras},
            {c.id: self.server.url(substream_path(c.id)) for c in work.cameras},
        )
        if runner in ("wall_substreams", "room_wall", "room_wall_x"):
            return work
        if (self.room or self.substreams) and runner.startswith("wall"):
            return work
        if runner in SUBSTREAM_RUNNERS or runner in ROOM_RUNNERS or self.room or self.substreams:
            return work.decoded_streams()
        return work.main_streams()

    def measure(self, runner: str, cameras: int) -> Measurement:
        workload = self.workload(cameras, runner)
        path = self.workdir / f"workload-{runner}-{cameras}.json"
        path.write_text(workload.to_json())
        log_path = self.workdir / f"{runner}-{cameras}.log"
        self.say(f"{runner} on {cameras} cameras ...")
        try:
            if runner in ("ffmpeg_xstack", "ffmpeg_substreams"):
                result = self._measure_ffmpeg(workload, log_path)
            elif runner in ("wall_x", "wall_x_nice", "room_wall_x"):
                extra = ["--nice-decoders", "5"] if runner == "wall_x_nice" else []
                result = self._measure_wall_x(runner, workload, path, log_path, extra)
            elif runner in WALL_OPTIONS:
                args = [str(path), *WALL_OPTIONS[runner]]
                result = self._measure_python(runner, "benchmarks.runners.wall", args, log_path)
            elif runner in FLOOR_OPTIONS:
                result = self._measure_python(
                    runner,
                    "benchmarks.runners.floor",
                    [str(path), *FLOOR_OPTIONS[runner]],
                    log_path,
                )
            elif runner in STAGE_RUNNERS:
                result = self._measure_python(
                    runner,
                    "benchmarks.runners.floor",
                    [str(path), "--stage", STAGE_RUNNERS[runner]],
                    log_path,
                )
            else:
                module = {
                    "decode_floor": "benchmarks.runners.floor",
                    "wall_headless": "benchmarks.runners.wall",
                    "opencv": "benchmarks.runners.opencv_wall",
                    "floor_substreams": "benchmarks.runners.floor",
                    "wall_substreams": "benchmarks.runners.wall",
                    "room_floor": "benchmarks.runners.floor",
                    "room_wall": "benchmarks.runners.wall",
                }[runner]
                result = self._measure_python(runner, module, [str(path)], log_path)
        except Exception as exc:
            tail = _tail(log_path)
            result = Measurement(
                runner, cameras, ok=False, error=f"{exc}" + (f": {tail}" if tail else "")
            )
            self.say(f"{runner} failed: {result.error}")
        result.runner, result.cameras = runner, cameras
        if runner in SUBSTREAM_RUNNERS:
            # By the wall's rule (wall_substreams also reports what its pool decoded).
            result.details["cameras_on_substream_by_rule"] = len(substream_cameras(cameras))
        if result.ok:
            self.say(
                f"{runner} on {cameras} cameras: {result.cpu_per_s:.2f} CPU-s/s, "
                f"{result.frames_per_s:.0f}/{result.expected_per_s:.0f} frames/s, "
                f"late {result.late_pct}%, {'held' if result.held else 'NOT held'}"
            )
        return result

    # -- python runners --

    def _measure_python(
        self,
        runner: str,
        module: str,
        args: Sequence[str],
        log_path: Path,
        xserver: int | None = None,
    ) -> Measurement:
        process, lines = start_runner(module, args, log_path)
        assert process.stdin is not None
        try:
            ready = json.loads(lines.expect("READY", 90.0) or "{}")
            if ready.get("missing"):
                raise RuntimeError(f"cameras never delivered a frame: {ready['missing']}")
            time.sleep(self.settle)
            meters = self._start_meters(process.pid, xserver)
            process.stdin.write(b"START\n")
            process.stdin.flush()
            lines.expect("STARTED", 10.0)
            time.sleep(self.seconds)
            figures = self._stop_meters(meters)
            process.stdin.write(b"STOP\n")
            process.stdin.flush()
            result = json.loads(lines.expect("RESULT", 30.0))
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10.0)
        finally:
            _kill_tree(process)
        return self._figures(runner, result, figures)

    def _measure_wall_x(
        self,
        runner: str,
        workload: Workload,
        path: Path,
        log_path: Path,
        extra: Sequence[str] = (),
    ) -> Measurement:
        from compositor.demo.virtual_x import VirtualDisplay

        outputs = len(workload.outputs)
        windowed = False
        try:
            display = VirtualDisplay.dummy_wall(
                monitors=outputs, columns=min(outputs, 7), mode=(480, 270)
            )
        except Exception as exc:
            self.say(f"no dummy Xorg wall ({exc}); windows on Xvfb instead")
            display = VirtualDisplay.xvfb(1280, 720)
            windowed = True
        try:
            args = [str(path), "--display", display.name, *extra]
            if windowed:
                args.append("--windowed")
            result = self._measure_python(
                runner, "benchmarks.runners.wall", args, log_path, _xserver_pid(display)
            )
            result.details["x_server"] = (
                "xvfb windowed" if windowed else f"dummy Xorg, {outputs} monitors of 480x270"
            )
            return result
        finally:
            display.stop()

    # -- ffmpeg --

    def _measure_ffmpeg(self, workload: Workload, log_path: Path) -> Measurement:
        if self.ffmpeg is None:
            raise RuntimeError("no ffmpeg on PATH (apt-get install ffmpeg)")
        command = ffmpeg_xstack.build_command(workload, self.ffmpeg)
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        assert process.stdout is not None
        progress = ffmpeg_xstack.ProgressReader(process.stdout)
        try:
            deadline = time.monotonic() + 60.0
            while progress.frame == 0:
                if process.poll() is not None:
                    raise RuntimeError(f"ffmpeg exited with status {process.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError("ffmpeg made no frame within 60 s")
                time.sleep(0.1)
            time.sleep(self.settle)
            meters = self._start_meters(process.pid, None)
            first, first_at = progress.snapshot()
            time.sleep(self.seconds)
            last, last_at = progress.snapshot()
            figures = self._stop_meters(meters)
            if process.poll() is not None:
                raise RuntimeError(f"ffmpeg exited with status {process.returncode}")
            ended_at = time.monotonic()
        finally:
            _kill_tree(process)  # SIGTERM: FFmpeg stops cleanly and logs its summary
        # FFmpeg tells decoded frames per input only when it exits: counted from its first
        # canvas (every input open by then) to the end. Buffered frames from the opening
        # can hide a small shortfall; the canvas rate is measured in the window proper.
        decoded = ffmpeg_xstack.decoded_frames(log_path.read_text(errors="replace"))
        session = ended_at - progress.first_at
        fps = self.fps
        expected = fps * session
        got = [min(decoded.get(i, 0), expected) for i in range(len(workload.cameras))]
        canvases = (last - first) / max(1e-6, last_at - first_at)
        window = float(figures["elapsed"])
        m = Measurement("ffmpeg_xstack", len(workload.cameras), window_s=round(window, 2))
        self._apply_meters(m, figures, window)
        decode_share = sum(got) / (expected * len(got)) if got else 0.0
        share = min(decode_share, canvases / fps)
        m.frames_per_s = round(share * fps * len(got), 1)
        m.expected_per_s = float(fps * len(got))
        m.dropped_pct = round(max(0.0, 100 * (1 - share)), 2)
        m.held = m.dropped_pct <= HELD_MAX_PCT and _speed(progress.speed) >= 0.99
        m.processes = figures.get("processes")
        if m.cpu_per_s is not None and m.frames_per_s:
            m.cpu_ms_per_frame = round(1e3 * m.cpu_per_s / m.frames_per_s, 3)
        m.details = {
            "canvases_per_s_first_output": round(canvases, 2),
            "speed": progress.speed,
            "decoded_share_min_input": round(min(got) / expected, 3) if got else None,
            "decoded_counted_over_s": round(session, 1),
            "command": " ".join(["ffmpeg", *command[1:]]),
        }
        return m

    # -- meters and figures --

    def _start_meters(self, pid: int, xserver: int | None) -> dict[str, Any]:
        meters: dict[str, Any] = {"tree": TreeMeter(pid), "machine": MachineMeter()}
        if self.server.pid is not None:
            meters["server"] = TreeMeter(self.server.pid, sample_every=5.0)
        if xserver is not None:
            meters["x"] = TreeMeter(xserver, sample_every=5.0)
        for meter in meters.values():
            meter.start()
        return meters

    def _stop_meters(self, meters: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"machine": meters["machine"].stop()}
        for name in ("tree", "server", "x"):
            if name in meters:
                used, elapsed = meters[name].stop()
                out[name] = used / max(1e-6, elapsed)
                if name == "tree":
                    out["elapsed"] = elapsed
                    out["root"] = meters[name].root_used / max(1e-6, elapsed)
                    out["system"] = meters[name].system_used / max(1e-6, elapsed)
                    out["peak_rss"] = meters[name].peak_rss
                    out["peak_pss"] = meters[name].peak_pss
                    out["processes"] = meters[name].peak_processes
        return out

    def _apply_meters(self, m: Measurement, figures: dict[str, Any], window: float) -> None:
        m.cpu_per_s = round(figures["tree"], 3)
        m.main_process_cpu_per_s = round(figures["root"], 3)
        m.system_cpu_per_s = round(figures["system"], 3)
        m.peak_rss_mb = round(figures["peak_rss"] / 2**20, 1)
        m.peak_pss_mb = round(figures["peak_pss"] / 2**20, 1) if figures.get("peak_pss") else None
        m.server_cpu_per_s = round(figures["server"], 3) if "server" in figures else None
        m.xserver_cpu_per_s = round(figures["x"], 3) if "x" in figures else None
        ours = figures["tree"] + figures.get("server", 0.0) + figures.get("x", 0.0)
        m.other_cpu_per_s = round(max(0.0, figures["machine"] - ours), 3)

    def _figures(self, runner: str, result: dict[str, Any], figures: dict[str, Any]) -> Measurement:
        window = float(result["window_s"])
        frames = result["frames"]
        cameras = len(frames)
        fps = self.fps
        m = Measurement(runner, cameras, window_s=round(window, 2))
        self._apply_meters(m, figures, window)
        total = sum(frames.values())
        expected = fps * window * cameras
        m.frames_per_s = round(total / window, 1)
        m.expected_per_s = float(fps * cameras)
        m.dropped_pct = round(max(0.0, 100 * (1 - total / expected)), 2) if expected else None
        age = result.get("age") or {}
        late = int(age.get("late") or 0)
        m.late_pct = round(100 * late / age["n"], 2) if age.get("n") else None
        m.age_p50_ms, m.age_p99_ms, m.age_at = age.get("p50_ms"), age.get("p99_ms"), age.get("at")
        m.processes = result.get("processes") or figures.get("processes")
        uploaded = result.get("upload_bytes_per_s")
        m.upload_mb_per_s = round(uploaded / 1e6, 1) if uploaded is not None else None
        m.held = (m.dropped_pct or 0.0) + (m.late_pct or 0.0) <= HELD_MAX_PCT and age.get(
            "n", 0
        ) > 0
        if m.cpu_per_s is not None and total:
            m.cpu_ms_per_frame = round(1e3 * m.cpu_per_s * window / total, 3)
        per_camera = _per_camera(result, fps, window)
        shown = sum(c["shown"] for c in per_camera.values())
        expected_shown = sum(c["shown_expected"] for c in per_camera.values())
        m.shown_pct = round(100 * shown / expected_shown, 2) if expected_shown else None
        m.shown_min_camera_pct = min(
            (c["shown_pct"] for c in per_camera.values() if c["shown_pct"] is not None),
            default=None,
        )
        skipping = result.get("skipping_s")
        m.skipped_s = round(sum(skipping.values()), 1) if skipping is not None else None
        m.details = {
            k: v
            for k, v in result.items()
            if k
            not in (
                "frames",
                "age",
                "window_s",
                "upload_bytes_per_s",
                "processes",
                "shown",
                "shown_expected",
                "skipping_s",
            )
        }
        m.details["age_max_ms"] = age.get("max_ms")
        m.details["frames_min_camera"] = min(frames.values()) if frames else 0
        m.details["per_camera"] = per_camera
        return m


def _per_camera(result: dict[str, Any], fps: float, window: float) -> dict[str, dict[str, Any]]:
    """Per camera: frames decoded and shown against what it sent (shown: composed onto
    its tiles, against what it sent while on them; a runner without tiles shows what it
    decodes), and the seconds it spent skipping frames (the wall's degrade rule)."""
    frames: dict[str, int] = result["frames"]
    shown: dict[str, int] = result.get("shown") or frames
    on_tiles: dict[str, float] = result.get("shown_expected") or {}
    skipping: dict[str, float] = result.get("skipping_s") or {}
    table = {}
    for camera, decoded in frames.items():
        expected = fps * window
        expected_shown = on_tiles.get(camera, expected)
        table[camera] = {
            "decoded": decoded,
            "expected": round(expected, 1),
            "shown": shown.get(camera, 0),
            "shown_expected": expected_shown,
            "shown_pct": (
                round(100 * shown.get(camera, 0) / expected_shown, 1) if expected_shown else None
            ),
            "skipping_s": skipping.get(camera, 0.0),
        }
    return table


def _speed(text: str) -> float:
    try:
        return float(text.rstrip("x"))
    except ValueError:
        return 0.0


def substream_path(camera_id: str) -> str:
    """The server path of a camera's sub-stream (no prefix of another camera's path)."""
    return f"sub-{camera_id}"


def substream_cameras(cameras: int) -> list[str]:
    """The cameras of the workload decoded from their sub-stream, by the wall's rule
    (all their tiles small); the others (full screen) stay on their main stream."""
    work = make_workload(cameras)
    work = work.with_urls(
        {c.id: f"rtsp://bench/{c.id}" for c in work.cameras},
        {c.id: f"rtsp://bench/{substream_path(c.id)}" for c in work.cameras},
    )
    chosen = work.chosen_urls()
    return [c.id for c in work.cameras if chosen[c.id] == c.url_low]


# -- results -------------------------------------------------------------------------------


def _cpu_ratio(figures: dict[str, Measurement], a: str, b: str) -> float | None:
    """CPU-seconds per second of runner ``a`` over runner ``b`` (None unless both measured)."""
    x, y = figures.get(a), figures.get(b)
    if x is None or y is None or not x.ok or not y.ok or not y.cpu_per_s or x.cpu_per_s is None:
        return None
    return round(x.cpu_per_s / y.cpu_per_s, 3)


# Each ratio: CPU of the first runner over the second's.
RATIOS = {
    "wall_over_decode_floor": ("wall_headless", "decode_floor"),
    "ffmpeg_over_wall": ("ffmpeg_xstack", "wall_headless"),
    "opencv_over_wall": ("opencv", "wall_headless"),
}
# With sub-streams for small tiles: the same ratios, and what the sub-streams save.
SUBSTREAM_RATIOS = {
    "wall_over_floor": ("wall_substreams", "floor_substreams"),
    "ffmpeg_over_wall": ("ffmpeg_substreams", "wall_substreams"),
    "wall_main_over_wall_substreams": ("wall_headless", "wall_substreams"),
    "floor_main_over_floor_substreams": ("decode_floor", "floor_substreams"),
    "ffmpeg_main_over_ffmpeg_substreams": ("ffmpeg_xstack", "ffmpeg_substreams"),
}
# The room's own workload: the wall against the floor on the streams the wall decodes.
ROOM_RATIOS = {
    "wall_over_floor": ("room_wall", "room_floor"),
    "wall_x_over_wall": ("room_wall_x", "room_wall"),
}
# Like for like on deblocking, and what skipping it on small tiles' B-frames saves.
DEBLOCKING_RATIOS = {
    "wall_over_floor_both_light": ("wall_headless", "floor_light_deblocking"),
    "wall_over_floor_both_full": ("wall_full_deblocking", "decode_floor"),
    "wall_full_over_wall": ("wall_full_deblocking", "wall_headless"),
    "floor_over_floor_light": ("decode_floor", "floor_light_deblocking"),
}


RATIO_TABLES = {
    "ratios": RATIOS,
    "substream_ratios": SUBSTREAM_RATIOS,
    "room_ratios": ROOM_RATIOS,
    "deblocking_ratios": DEBLOCKING_RATIOS,
}
ROOM_RAMP = (32, 24, 16, 12, 8, 6, 4)  # rooms of fewer cameras, tried when all are not held
QUICK_ROOM_RUNNERS = ("room_floor", "room_wall")  # with windows on 14 monitors: full run only


def bench_cameras(workload: Workload, clips: dict[str, Path]) -> list[SyntheticCamera]:
    """The server's cameras for ``workload``, and their sub-streams (the 360p clip).

    Camera ``i`` plays its clip from the start of GOP ``i`` (another picture than its
    neighbours'), its sub-stream from the same frame. A clip starts at a key frame when
    its first viewer connects, so the cameras of a runner, which connect together, send
    their key frames at nearly the same instants, as cameras started together do.
    """
    return [
        SyntheticCamera.from_clip(c.id, c.id, clips[c.resolution], start=50 * i)
        for i, c in enumerate(workload.cameras)
    ] + [
        SyntheticCamera.from_clip(
            substream_path(c.id), f"{c.id} sub", clips[SUBSTREAM_CLIP], start=50 * i
        )
        for i, c in enumerate(workload.cameras)
    ]


def cpu_ratios(
    figures: dict[str, Measurement], table: dict[str, tuple[str, str]]
) -> dict[str, float | None]:
    return {name: _cpu_ratio(figures, a, b) for name, (a, b) in table.items()}


def median_round(measured: Sequence[Measurement]) -> Measurement:
    """Of one runner's rounds, the one whose CPU is the median (the lower of two middles).

    A whole measurement is kept, not a mix of rounds, so its figures stay
    consistent; every round's CPU goes into its details. Rounds that failed
    are left out; if all failed, the first failure stands.
    """
    good = sorted(
        (m for m in measured if m.ok and m.cpu_per_s is not None),
        key=lambda m: m.cpu_per_s or 0.0,
    )
    if not good:
        return measured[0]
    chosen = good[(len(good) - 1) // 2]
    if len(measured) > 1:
        chosen.details["cpu_per_s_rounds"] = [m.cpu_per_s if m.ok else None for m in measured]
    return chosen


def ratio_rounds(
    rounds: dict[str, list[Measurement]], table: dict[str, tuple[str, str]]
) -> dict[str, list[float | None]]:
    """Each ratio round by round: the two runners of a round were measured minutes apart
    at most, so the spread shows how far the machine's load moved the headline."""
    found: dict[str, list[float | None]] = {}
    for name, (a, b) in table.items():
        if a in rounds and b in rounds:
            found[name] = [
                _cpu_ratio({a: x, b: y}, a, b) for x, y in zip(rounds[a], rounds[b], strict=False)
            ]
    return found


def _measured(found: dict[str, float | None]) -> dict[str, float | None] | None:
    return found if any(v is not None for v in found.values()) else None


def judge(
    figures: dict[str, Measurement],
    tables: dict[str, dict[str, float | None]],
    by_round: dict[str, dict[str, list[float | None]]] | None = None,
    max_held: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Pass or fail per target (None: not measured in this run), on the median round's
    figures; ``rounds`` lists each round's ratio where there were several."""
    verdicts: list[dict[str, Any]] = []
    for name, table, key, comparison, limit in TARGETS:
        value = tables.get(table, {}).get(key)
        passed = (
            None if value is None else (value <= limit if comparison == "<=" else value >= limit)
        )
        # CPU over CPU says nothing when a runner did not keep up: each took what CPU the
        # machine gave it, not what its work costs.
        behind = [
            r
            for r in RATIO_TABLES[table].get(key, ())
            if r in figures and figures[r].ok and not figures[r].held
        ]
        verdict: dict[str, Any] = {
            "target": f"{name} {comparison} {limit:g}",
            "value": value,
            "pass": None if behind else passed,
        }
        if behind:
            verdict["not_judged"] = f"not kept up (> {HELD_MAX_PCT:g} % late or dropped): " + (
                ", ".join(behind)
            )
        spread = (by_round or {}).get(table, {}).get(key, [])
        if len(spread) > 1:
            verdict["rounds"] = spread
        verdicts.append(verdict)
    limit_ms = P99_AGE_INTERVALS * 1000 / 25
    for runner in P99_AGE_RUNNERS:
        m = figures.get(runner)
        if m is None:
            continue
        value = m.age_p99_ms if m.ok else None
        verdicts.append(
            {
                "target": f"{runner} p99 frame age <= {P99_AGE_INTERVALS:g} intervals "
                f"({limit_ms:.0f} ms)",
                "value": value,
                "pass": None if value is None else value <= limit_ms,
            }
        )
    held = max_held or {}
    for wall, floor in (("wall_headless", "decode_floor"), ("room_wall", "room_floor")):
        # Listed whenever both ran: n/a without a ramp (--ramp; the room: --room-ramp).
        if wall in held or floor in held or (wall in figures and floor in figures):
            verdicts.append(
                {
                    "target": f"cameras held: {wall} >= {floor}",
                    "value": f"{held.get(wall, '-')} against {held.get(floor, '-')}",
                    "pass": _held_at_least(held.get(wall), held.get(floor)),
                }
            )
    for wall, floor in (("wall_headless", "decode_floor"), ("room_wall", "room_floor")):
        w, f = figures.get(wall), figures.get(floor)
        if w is None or f is None:
            continue
        ratio = (
            round(w.peak_pss_mb / f.peak_pss_mb, 3)
            if w.ok and f.ok and w.peak_pss_mb and f.peak_pss_mb
            else None
        )
        verdicts.append(
            {
                "target": f"memory (PSS): {wall} / {floor} <= {PSS_LIMIT:g}",
                "value": ratio,
                "pass": None if ratio is None else ratio <= PSS_LIMIT,
            }
        )
    return verdicts


MAIN_PEERS = ("decode_floor", "wall_headless", "ffmpeg_xstack", "opencv")


def most_held_by_all(
    ramp_results: dict[str, list[Measurement]], runners: Sequence[str], below: int
) -> int | None:
    """The most cameras under ``below`` at which every one of ``runners`` kept up in the
    ramp; None if there is no such count (or a runner was not ramped)."""
    counts: set[int] | None = None
    for runner in runners:
        held = {m.cameras for m in ramp_results.get(runner, []) if m.held and m.cameras < below}
        counts = held if counts is None else counts & held
    return max(counts) if counts else None


def judge_where_held(
    verdicts: list[dict[str, Any]],
    figures: dict[str, Measurement],
    rounds: dict[str, list[Measurement]],
    cameras: int,
    asked: int,
    behind: Sequence[str],
) -> None:
    """The main-stream targets that were not judged at ``asked`` cameras (``behind``: the
    runners that did not keep up there), judged from ``figures`` and ``rounds`` measured
    at ``cameras``, where every runner did: CPU over CPU means something only there. So
    is the headless wall's p99 frame age if it was behind: past what a host holds,
    frames wait for the CPU, not for the wall."""
    table = {"ratios": cpu_ratios(figures, RATIO_TABLES["ratios"])}
    spread = {"ratios": ratio_rounds(rounds, RATIO_TABLES["ratios"])} if rounds else None
    found = {v["target"]: v for v in judge(figures, table, spread)}
    for verdict in verdicts:
        target = verdict["target"]
        again = found.get(target)
        ratio = target.startswith("main streams") and verdict.get("not_judged")
        age = target.startswith("wall_headless p99") and "wall_headless" in behind
        if again is None or again["pass"] is None or not (ratio or age):
            continue
        verdict["value"], verdict["pass"] = again["value"], again["pass"]
        verdict["rounds"] = again.get("rounds")
        verdict["at_cameras"], verdict["not_judged"] = cameras, None
        verdict["note"] = (
            f"not kept up at {asked} cameras: judged at {cameras}, the most every "
            "main-stream runner held in the ramp"
        )


def _held_at_least(wall: Any, floor: Any) -> bool | None:
    """Cameras held, as the ramp says them (a number; ">= N": held at the most tried;
    "< N": not even at the least): did the wall hold every count the floor held?"""

    def least(value: Any) -> int | None:
        if isinstance(value, int):
            return value
        if isinstance(value, str) and value.startswith(">= "):
            return int(value[3:])
        if isinstance(value, str) and value.startswith("< "):
            return 0
        return None

    w, f = least(wall), least(floor)
    if w is None or f is None or (w == 0 and f == 0):
        return None  # neither held even the least tried: no count to compare
    return w >= f


def _mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a "}[passed]


def _verdict_value(verdict: dict[str, Any]) -> str:
    rounds = verdict.get("rounds")
    text = str(verdict["value"])
    if rounds:
        each = ", ".join("-" if r is None else f"{r:.3f}" for r in rounds)
        text += f" (median round; each round: {each})"
    if verdict.get("not_judged"):
        text += f"; not judged: {verdict['not_judged']}"
    if verdict.get("note"):
        text += f"; {verdict['note']}"
    return text


def print_table(
    figures: dict[str, Measurement],
    max_held: dict[str, Any],
    verdicts: list[dict[str, Any]],
    found: dict[str, float | None],
) -> None:
    def fmt(value: Any, spec: str = "") -> str:
        if value is None:
            return "-"
        if isinstance(value, bool):
            return "yes" if value else "NO"
        return format(value, spec)

    headers = [
        "runner",
        "cams",
        "CPU s/s",
        "ms/frame",
        "frames/s",
        "drop %",
        "late %",
        "held",
        "shown %",
        "age p50/p99 ms",
        "PSS MB",
        "RSS MB",
        "upload MB/s",
        "max N held",
    ]
    rows = []
    for runner, m in figures.items():
        if not m.ok:
            rows.append(
                [SHORT.get(runner, runner), str(m.cameras), "failed: " + (m.error or "")[:60]]
                + [""] * (len(headers) - 3)
            )
            continue
        age = (
            "-" if m.age_p50_ms is None else f"{m.age_p50_ms:.0f} / {m.age_p99_ms:.0f} ({m.age_at})"
        )
        rows.append(
            [
                SHORT.get(runner, runner),
                str(m.cameras),
                fmt(m.cpu_per_s, ".2f"),
                fmt(m.cpu_ms_per_frame, ".2f"),
                f"{fmt(m.frames_per_s, '.0f')}/{fmt(m.expected_per_s, '.0f')}",
                fmt(m.dropped_pct, ".1f"),
                fmt(m.late_pct, ".1f"),
                fmt(m.held),
                fmt(m.shown_pct, ".1f"),
                age,
                fmt(m.peak_pss_mb, ".0f"),
                fmt(m.peak_rss_mb, ".0f"),
                fmt(m.upload_mb_per_s, ".0f"),
                fmt(max_held.get(runner)),
            ]
        )
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(" | ".join(headers))
        for row in rows:
            print(" | ".join(row))
        for verdict in verdicts:
            print(f"{_mark(verdict['pass'])}  {verdict['target']}: {_verdict_value(verdict)}")
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=190)
    table = Table(title="videowall benchmark: same streams, same run")
    for header in headers:
        table.add_column(header, justify="left" if header == "runner" else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for verdict in verdicts:
        mark = {True: "[green]PASS[/]", False: "[red]FAIL[/]", None: "[yellow]n/a[/] "}[
            verdict["pass"]
        ]
        console.print(f"{mark}  {verdict['target']}: {_verdict_value(verdict)}")


def per_camera_lines(figures: dict[str, Measurement]) -> list[str]:
    """Per runner: frames shown per camera against what it sent while on its tiles (the
    least and the median camera), and the cameras that spent time skipping frames."""
    lines = []
    for runner, m in figures.items():
        table = m.details.get("per_camera") if m.ok else None
        if not table:
            continue
        shown = sorted(
            (c["shown_pct"], camera) for camera, c in table.items() if c["shown_pct"] is not None
        )
        skipping = {camera: c["skipping_s"] for camera, c in table.items() if c["skipping_s"]}
        if not shown:
            continue
        median = shown[(len(shown) - 1) // 2][0]
        line = (
            f"{runner}: frames shown per camera (of those sent while on its tiles): "
            f"least {shown[0][0]:.1f} % ({shown[0][1]}), median {median:.1f} %"
        )
        if skipping:
            line += f"; skipping frames: {len(skipping)} cameras, {sum(skipping.values()):.0f} s"
        elif "skipping_s" in next(iter(table.values())) and m.skipped_s is not None:
            line += "; no camera skipped frames"
        lines.append(line)
    return lines


def room_lines(figures: dict[str, Measurement], max_held: dict[str, Any]) -> list[str]:
    """The room's own workload (layouts/control-room-14.yaml), runner by runner: CPU,
    frames shown against expected per camera, p99 frame age, PSS, the most cameras held,
    and where its windows were."""
    lines = []
    for runner, label in ROOM_RUNNERS.items():
        m = figures.get(runner)
        if m is None:
            continue
        if not m.ok:
            lines.append(f"{runner} ({label}): failed: {m.error}")
            continue
        table = m.details.get("per_camera") or {}
        shown = sum(c["shown"] for c in table.values())
        expected = sum(c["shown_expected"] for c in table.values())
        where = m.details.get("x_server")
        lines.append(
            f"{runner} ({label}{'; ' + where + ', Mesa llvmpipe' if where else ''}): "
            f"{m.cameras} cameras, {m.cpu_per_s:.2f} CPU-s/s, frames shown {shown:.0f} of "
            f"{expected:.0f} expected ({m.shown_pct} %; least camera {m.shown_min_camera_pct} "
            f"%), p99 frame age {m.age_p99_ms} ms ({m.age_at}), PSS {m.peak_pss_mb} MB, "
            f"most cameras held {max_held.get(runner, '-')}"
        )
        each = ", ".join(
            f"{camera} {c['shown']}/{c['shown_expected']:.0f}"
            for camera, c in sorted(table.items())
        )
        lines.append(f"  {runner} per camera, frames shown/expected: {each}")
    return lines


def plot(results: dict[str, Any], path: Path) -> str | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed"
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=110)
    series: dict[str, list[tuple[int, float, bool]]] = {}
    for runner, steps in results.get("ramp", {}).items():
        for step in steps:
            if step.get("ok") and step.get("cpu_per_s") is not None:
                series.setdefault(runner, []).append(
                    (step["cameras"], step["cpu_per_s"], step["held"])
                )
    for runner, m in results["runners"].items():
        if m.get("ok") and m.get("cpu_per_s") is not None:
            points = series.setdefault(runner, [])
            if all(n != m["cameras"] for n, _, _ in points):
                points.append((m["cameras"], m["cpu_per_s"], m["held"]))
    # A variant runner takes its twin's colour: dashed with sub-streams, dotted with the
    # other deblocking setting.
    twins = SUBSTREAM_TWINS | DEBLOCKING_TWINS
    labels = RUNNERS | SUBSTREAM_RUNNERS | DEBLOCKING_RUNNERS
    colours: dict[str, Any] = {}
    for runner, points in sorted(series.items(), key=lambda item: item[0] in twins):
        points.sort()
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        (line,) = ax.plot(
            xs,
            ys,
            marker="s" if runner in SUBSTREAM_RUNNERS else "o",
            linestyle="--" if runner in SUBSTREAM_RUNNERS else ":" if runner in twins else "-",
            color=colours.get(twins.get(runner, "")),
            label=labels.get(runner, runner),
        )
        colours[runner] = line.get_color()
        missed = [(x, y) for x, y, held in points if not held]
        if missed:
            ax.scatter(
                [x for x, _ in missed],
                [y for _, y in missed],
                marker="x",
                s=80,
                color=line.get_color(),
            )
    cores = results.get("machine", {}).get("cores")
    if cores:
        ax.axhline(cores, color="grey", linestyle="--", linewidth=1)
        ax.text(ax.get_xlim()[0], cores, f" {cores} cores", va="bottom", color="grey")
    ax.set_ylim(bottom=0)
    ax.set_xlabel(
        "cameras (H.264 1080p/720p/576p at 25 fps, mixed; dashed: 640x360 sub-streams "
        "for small tiles;\ndotted: the other deblocking setting)"
    )
    ax.set_ylabel("CPU-seconds per wall-second")
    ax.set_title("CPU against cameras (x: more than 1% of frames late or dropped)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return None


# -- main ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    runners = [r.strip() for r in args.runners.split(",") if r.strip()]
    known = (
        *RUNNERS,
        *SUBSTREAM_RUNNERS,
        *DEBLOCKING_RUNNERS,
        *ROOM_RUNNERS,
        *STAGE_RUNNERS,
        *EXPERIMENTS,
        *FLOOR_OPTIONS,
    )
    unknown = [r for r in runners if r not in known]
    if unknown:
        raise SystemExit(f"unknown runners {unknown}; known: {', '.join(known)}")
    ramp = sorted({int(n) for n in args.ramp.split(",") if n.strip()}) if args.ramp else []
    ramped = [
        r
        for r in runners
        if r not in ROOM_RUNNERS
        and (args.ramp_runners is None or r in args.ramp_runners.split(","))
    ]
    rooms = [r for r in runners if r in ROOM_RUNNERS]
    most = max([args.cameras, *ramp, *([args.room_cameras] if rooms else [])])
    clips = ensure_clips()
    machine = machine_info()
    started = time.monotonic()
    rounds: dict[str, list[Measurement]] = {}
    figures: dict[str, Measurement] = {}
    ramp_results: dict[str, list[Measurement]] = {}
    max_held: dict[str, Any] = {}
    # The main-stream runners measured again where all of them kept up (see below).
    where_held_at: int | None = None
    where_held_rounds: dict[str, list[Measurement]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="videowall-bench-") as tmp,
        SyntheticCameraServer(bench_cameras(make_workload(most), clips)) as server,
    ):
        bench = Bench(server, Path(tmp), args.seconds, args.settle)

        def cameras_for(runner: str) -> int:
            return int(args.room_cameras if runner in ROOM_RUNNERS else args.cameras)

        # Rounds in turn (every runner, then every runner again): the machine's load
        # drifts over minutes, and each runner meets it in every round.
        for number in range(args.rounds):
            if args.rounds > 1:
                bench.say(f"round {number + 1} of {args.rounds}")
            for runner in runners:
                rounds.setdefault(runner, []).append(bench.measure(runner, cameras_for(runner)))
        figures = {runner: median_round(measured) for runner, measured in rounds.items()}
        if ramp and ramped:
            active = list(ramped)
            for n in ramp:
                for runner in list(active):
                    m = figures[runner] if n == args.cameras else bench.measure(runner, n)
                    ramp_results.setdefault(runner, []).append(m)
                    if not m.held:
                        active.remove(runner)
            for runner in ramped:
                steps = ramp_results.get(runner, [])
                held = [m.cameras for m in steps if m.held]
                failed = [m.cameras for m in steps if not m.held]
                if not held:
                    max_held[runner] = f"< {ramp[0]}"
                elif failed:
                    max_held[runner] = max(held)
                else:
                    max_held[runner] = f">= {max(held)}"
        # Main-stream ratios are judged only where every runner keeps up; on a host that
        # does not hold --cameras, they are measured again where all of them do.
        peers = [r for r in MAIN_PEERS if r in runners]
        if len(peers) > 1 and any(not figures[r].held for r in peers):
            where_held_at = most_held_by_all(ramp_results, peers, args.cameras)
            if where_held_at is not None:
                bench.say(
                    f"not every main-stream runner kept up with {args.cameras} cameras: "
                    f"their ratios again at {where_held_at}, the most all of them held"
                )
                for _ in range(args.rounds):
                    for runner in peers:
                        measured = bench.measure(runner, where_held_at)
                        where_held_rounds.setdefault(runner, []).append(measured)
        if args.room_ramp:
            # The room holds all its cameras, or fewer: a room of fewer cameras (the others'
            # tiles left out) is tried, going down, until one is held.
            for runner in rooms:
                steps = [figures[runner]]
                for n in ROOM_RAMP:
                    if steps[-1].held or n >= args.room_cameras:
                        continue
                    steps.append(bench.measure(runner, n))
                ramp_results[runner] = steps
                held = [m.cameras for m in steps if m.held]
                if figures[runner].held:
                    max_held[runner] = f">= {args.room_cameras}"
                else:
                    max_held[runner] = max(held) if held else f"< {min(ROOM_RAMP)}"
        if args.keep_logs:
            keep = Path(args.keep_logs)
            keep.mkdir(parents=True, exist_ok=True)
            for log in Path(tmp).glob("*.log"):
                shutil.copy(log, keep / log.name)
    tables = {name: cpu_ratios(figures, table) for name, table in RATIO_TABLES.items()}
    by_round = (
        {name: ratio_rounds(rounds, table) for name, table in RATIO_TABLES.items()}
        if args.rounds > 1
        else {}
    )
    found, found_by_round = tables["ratios"], by_round.get("ratios", {})
    verdicts = judge(figures, tables, by_round, max_held)
    where_held = {runner: median_round(m) for runner, m in where_held_rounds.items()}
    if where_held_at is not None:
        judge_where_held(
            verdicts,
            where_held,
            where_held_rounds if args.rounds > 1 else {},
            where_held_at,
            args.cameras,
            [r for r in MAIN_PEERS if r in figures and not figures[r].held],
        )
    machine["load_average_at_end"] = list(os.getloadavg())
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "machine": machine,
        "seconds_per_measurement": args.seconds,
        "rounds": args.rounds,
        "duration_s": round(time.monotonic() - started, 1),
        "workload": make_workload(args.cameras).summary()
        | {
            "clips": {
                name: {
                    "size": f"{spec.width}x{spec.height}",
                    "fps": spec.fps,
                    "gop": spec.gop,
                    "bframes": spec.bframes,
                    "kbps": json.loads(Path(str(clips[name]) + ".json").read_text())["kbps"],
                }
                for name, spec in CLIP_SPECS.items()
            },
            "substream_clip": SUBSTREAM_CLIP,
            "cameras_on_substream": substream_cameras(args.cameras),
        },
        "runners": {name: asdict(m) for name, m in figures.items()},
        "ratios": found,
        "ratio_basis": (
            "CPU-seconds per wall-second of each runner's process tree, "
            "same cameras and tiles; wall = wall_headless (as it runs by default: B-frames "
            "of small tiles not deblocked; like for like in deblocking_ratios); each runner's "
            "round of median CPU when measured in several rounds"
        ),
        "ratio_rounds": found_by_round or None,
        "substream_ratios": _measured(tables["substream_ratios"]),
        "substream_ratio_rounds": by_round.get("substream_ratios") or None,
        "room_ratios": _measured(tables["room_ratios"]),
        "room_cameras": args.room_cameras if rooms else None,
        "substream_ratio_basis": (
            "the same, every camera with a 640x360 sub-stream: wall = wall_substreams (url_low "
            "on every camera, the pool chooses), floor and ffmpeg read the URL the wall decodes "
            "(the sub-stream while all of a camera's tiles are <= 960x540); "
            "*_main_over_*_substreams: the main-stream runner over its sub-stream twin"
        ),
        "deblocking_ratios": _measured(tables["deblocking_ratios"]),
        "deblocking_ratio_basis": (
            "the wall skips deblocking on B-frames of cameras on tiles <= 960x540; "
            "both_light: the floor does too (floor_light_deblocking); both_full: the wall "
            "does not either (wall_full_deblocking, --full-deblocking)"
        ),
        "targets": verdicts,
        "held_rule": (
            f"at most {HELD_MAX_PCT:g}% of frames dropped or late "
            "(older than 2 frame intervals when used)"
        ),
        "max_cameras_held": max_held or None,
        # The main-stream runners again where all of them kept up (None: they did at
        # --cameras, or no count of the ramp was held by all).
        "main_streams_where_held": (
            None
            if where_held_at is None
            else {
                "cameras": where_held_at,
                "ratios": cpu_ratios(where_held, RATIO_TABLES["ratios"]),
                "runners": {name: asdict(m) for name, m in where_held.items()},
            }
        ),
        "ramp": {r: [asdict(m) for m in steps] for r, steps in ramp_results.items()},
    }
    return results


DEGRADE_RAMP = (8, 10, 12, 14, 16, 18, 20, 24, 28, 32)


def degrade_check(args: argparse.Namespace) -> dict[str, Any]:
    """Issue 18 item 1: at the decode floor's limit, does the wall keep every frame?

    Cameras of one resolution (720p: the report's) on 4x4 grids of 480x270 cells,
    started together (their key frames at the same instants). Without ``--cameras``,
    the floor's limit is found first: the most cameras it holds (at most 1 % of
    frames late or dropped) in a ramp of short windows. Then at that count: the floor
    for ``--floor-seconds``, the wall (headless, as it runs by default) for
    ``--minutes``, the floor again. Per camera: frames decoded and shown against
    what it sent, and the seconds it spent skipping frames.
    """
    clips = ensure_clips()
    machine = machine_info()
    most = args.cameras or max(DEGRADE_RAMP)
    work = make_grid_workload(most, args.grid)
    cameras = [
        SyntheticCamera.from_clip(c.id, c.id, clips[c.resolution], start=50 * i)
        for i, c in enumerate(work.cameras)
    ]
    started = time.monotonic()
    ramp: list[Measurement] = []
    with (
        tempfile.TemporaryDirectory(prefix="videowall-degrade-") as tmp,
        SyntheticCameraServer(cameras) as server,
    ):
        bench = Bench(server, Path(tmp), args.seconds, args.settle, grid=args.grid)
        count = args.cameras
        if count is None:
            for n in DEGRADE_RAMP:
                m = bench.measure("decode_floor", n)
                ramp.append(m)
                if not m.held:
                    break
            held = [m.cameras for m in ramp if m.held]
            if not held:
                raise SystemExit(f"the floor holds fewer than {DEGRADE_RAMP[0]} cameras here")
            count = max(held)
            bench.say(f"the decode floor's limit here: {count} cameras")
        bench.seconds = args.floor_seconds
        before = bench.measure("decode_floor", count)
        bench.seconds = args.minutes * 60
        load_before = os.getloadavg()
        wall = bench.measure("wall_headless", count)
        load_after = os.getloadavg()
        bench.seconds = args.floor_seconds
        after = bench.measure("decode_floor", count)
    table = wall.details.get("per_camera", {}) if wall.ok else {}
    skipped = {c: v["skipping_s"] for c, v in table.items() if v["skipping_s"]}
    decoded = sum(v["decoded"] for v in table.values())
    expected = sum(v["expected"] for v in table.values())
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "degrade-check",
        "machine": machine | {"load_average_at_end": list(os.getloadavg())},
        "workload": make_grid_workload(count, args.grid).summary(),
        "cameras": count,
        "minutes": args.minutes,
        "floor_ramp": [asdict(m) for m in ramp],
        "floor_before": asdict(before),
        "wall": asdict(wall),
        "floor_after": asdict(after),
        "load_average_around_wall": {"before": load_before, "after": load_after},
        "verdict": {
            "floor_held": before.held and after.held,
            "wall_held": wall.held,
            "cameras_skipping": len(skipped),
            "skipping_s": round(sum(skipped.values()), 1),
            "decoded_pct": round(100 * decoded / expected, 2) if expected else None,
            "shown_pct": wall.shown_pct,
            "no_frame_skipped": wall.ok and not skipped,
        },
        "duration_s": round(time.monotonic() - started, 1),
    }


def print_degrade_check(results: dict[str, Any]) -> None:
    wall, verdict = results["wall"], results["verdict"]
    floors = (results["floor_before"], results["floor_after"])
    work = results["workload"]
    print(
        f"degrade check: {results['cameras']} cameras of {work['camera_resolutions']} on "
        f"{work['tile_sizes']} tiles, the wall for {results['minutes']:g} min"
    )
    for name, m in (("floor before", floors[0]), ("wall", wall), ("floor after", floors[1])):
        if not m["ok"]:
            print(f"  {name}: failed: {m['error']}")
            continue
        print(
            f"  {name}: {m['cpu_per_s']:.2f} CPU-s/s, {m['frames_per_s']:.0f}/"
            f"{m['expected_per_s']:.0f} frames/s decoded, late {m['late_pct']} %, dropped "
            f"{m['dropped_pct']} %, p99 age {m['age_p99_ms']} ms, "
            f"{'held' if m['held'] else 'NOT held'}"
        )
    print("  per camera: decoded / shown / sent, seconds skipping frames")
    for camera, c in sorted((wall.get("details") or {}).get("per_camera", {}).items()):
        print(
            f"    {camera}: {c['decoded']} / {c['shown']} / {c['expected']:.0f}"
            f" ({c['shown_pct']} % shown), {c['skipping_s']:.0f} s skipping"
        )
    around = results["load_average_around_wall"]
    print(
        f"  load average before / after the wall's window: "
        f"{' '.join(f'{v:.2f}' for v in around['before'])} / "
        f"{' '.join(f'{v:.2f}' for v in around['after'])}"
    )
    mark = _mark(verdict["no_frame_skipped"] if verdict["floor_held"] else None)
    print(
        f"{mark}  no frame skipped where the floor keeps up: {verdict['cameras_skipping']} "
        f"cameras skipped frames for {verdict['skipping_s']} s in all; decoded "
        f"{verdict['decoded_pct']} %, shown {verdict['shown_pct']} % of the frames sent"
        + ("" if verdict["floor_held"] else " (the floor did not keep up: no verdict)")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="about a minute: few cameras, no ramp")
    parser.add_argument("--cameras", type=int, help="cameras for the main figures (12; quick 6)")
    parser.add_argument(
        "--ramp", help="camera counts to ramp through (full: 4,8,10,12,14,16,20,24,32,40)"
    )
    parser.add_argument("--seconds", type=float, help="measurement window per runner (10; quick 6)")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds after all cameras are up"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        help="measure every runner this many times in turn and keep each one's median (3; "
        "quick 1): the load of a shared machine moves single windows by 10 %%",
    )
    parser.add_argument(
        "--runners",
        help=f"comma-separated (quick: {','.join(RUNNERS)}; full: these and "
        f"{','.join((*SUBSTREAM_RUNNERS, *DEBLOCKING_RUNNERS))}; "
        f"also {','.join((*STAGE_RUNNERS, *FLOOR_OPTIONS))})",
    )
    parser.add_argument(
        "--ramp-runners", help="comma-separated: ramp only these of the runners (default: all)"
    )
    parser.add_argument(
        "--out", type=Path, help="JSON (default: results/latest.json; quick: latest-quick.json)"
    )
    parser.add_argument("--plot", type=Path, help="PNG (default: cpu_vs_cameras[-quick].png)")
    parser.add_argument("--keep-logs", help="copy the runners' logs to this folder")
    parser.add_argument(
        "--room-cameras",
        type=int,
        default=40,
        help="the room runners' cameras (40: all of layouts/control-room-14.yaml)",
    )
    parser.add_argument(
        "--room-ramp",
        action=argparse.BooleanOptionalAction,
        help="a room not held at all its cameras is tried with fewer (full: yes; quick: no)",
    )
    degrade = parser.add_argument_group(
        "degrade check (issue 18: no frame skipped where the decode floor keeps up)"
    )
    degrade.add_argument(
        "--degrade-check",
        action="store_true",
        help="the wall for --minutes at the floor's limit (--cameras, or found by a ramp)",
    )
    degrade.add_argument("--minutes", type=float, default=10.0, help="the wall's window (10)")
    degrade.add_argument(
        "--floor-seconds", type=float, default=60.0, help="the floor's, before and after (60)"
    )
    degrade.add_argument("--grid", default="720p", help="the cameras' resolution (720p)")
    args = parser.parse_args(argv)
    if args.degrade_check:
        if args.seconds is None:
            args.seconds = 10.0
        out = args.out or RESULTS / "degrade-check.json"
        checked = degrade_check(args)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(checked, indent=2) + "\n")
        print_degrade_check(checked)
        print(f"results: {out}")
        return 0
    if args.cameras is None:
        args.cameras = 6 if args.quick else 12
    if args.runners is None:
        full = (*RUNNERS, *SUBSTREAM_RUNNERS, *DEBLOCKING_RUNNERS, *ROOM_RUNNERS)
        args.runners = ",".join((*RUNNERS, *QUICK_ROOM_RUNNERS) if args.quick else full)
    if args.room_ramp is None:
        args.room_ramp = not args.quick
    if args.seconds is None:
        args.seconds = 6.0 if args.quick else 10.0
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    args.rounds = max(1, args.rounds)
    if args.ramp is None and not args.quick:
        args.ramp = "4,8,10,12,14,16,20,24,32,40"
    suffix = "-quick" if args.quick else ""
    if args.out is None:
        args.out = RESULTS / f"latest{suffix}.json"
    results = run(args)
    plot_path = args.plot or args.out.with_name(f"cpu_vs_cameras{suffix}.png")
    problem = plot(results, plot_path)
    results["plot"] = (
        None
        if problem
        else str(
            plot_path.resolve().relative_to(REPO)
            if plot_path.resolve().is_relative_to(REPO)
            else plot_path
        )
    )
    if problem:
        results["plot_problem"] = problem
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    figures = {name: Measurement(**m) for name, m in results["runners"].items()}
    print_table(figures, results["max_cameras_held"] or {}, results["targets"], results["ratios"])
    print(f"ratios: {json.dumps(results['ratios'])}")
    where_held = results["main_streams_where_held"]
    if where_held:
        kept = ", ".join(
            f"{name} {m['cpu_per_s']} CPU-s/s{'' if m['held'] else ' (NOT held)'}"
            for name, m in where_held["runners"].items()
        )
        print(
            f"main streams at {where_held['cameras']} cameras (all kept up in the ramp): "
            f"{json.dumps(where_held['ratios'])}; {kept}"
        )
    if results["substream_ratios"]:
        print(f"with sub-streams: {json.dumps(results['substream_ratios'])}")
    if results["room_ratios"]:
        print(f"the room: {json.dumps(results['room_ratios'])}")
    for line in room_lines(figures, results["max_cameras_held"] or {}):
        print(f"the room: {line}")
    for line in per_camera_lines(figures):
        print(line)
    if results["deblocking_ratios"]:
        print(f"deblocking like for like: {json.dumps(results['deblocking_ratios'])}")
    print(
        f"results: {args.out}"
        + (f", plot: {plot_path}" if not problem else f" (no plot: {problem})")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
