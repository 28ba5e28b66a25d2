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
import platform
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
from benchmarks.procstat import TreeMeter
from benchmarks.runners import ffmpeg_xstack
from benchmarks.workload import Workload, make_workload
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
EXPERIMENTS = ("wall_headless_nice", "wall_x_nice", "wall_no_degrade")
WALL_OPTIONS = {
    "wall_headless_nice": ["--nice-decoders", "5"],
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
TARGETS = (
    # name, ratio key or None, comparison, limit
    ("wall / decode floor", "wall_over_decode_floor", "<=", 1.15),
    ("FFmpeg / wall", "ffmpeg_over_wall", ">=", 1.3),
    ("OpenCV / wall", "opencv_over_wall", ">=", 2.0),
)
P99_AGE_INTERVALS = 2.0


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
    processes: int | None = None
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
    ) -> None:
        self.server = server
        self.workdir = workdir
        self.seconds = seconds
        self.settle = settle
        self.log = log
        self.ffmpeg = ffmpeg_xstack.ffmpeg_path()
        self.fps = 25  # every camera of the workload

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=self.log, flush=True)

    def workload(self, cameras: int, runner: str = "") -> Workload:
        """The cameras and tiles for ``runner``: main streams only, except for the
        sub-stream runners (the wall: ``url_low`` too; the others: the URL the wall
        decodes)."""
        work = make_workload(cameras)
        work = work.with_urls(
            {c.id: self.server.url(c.id) for c in work.cameras},
            {c.id: self.server.url(substream_path(c.id)) for c in work.cameras},
        )
        if runner == "wall_substreams":
            return work
        if runner in SUBSTREAM_RUNNERS:
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
            elif runner in ("wall_x", "wall_x_nice"):
                extra = ["--nice-decoders", "5"] if runner == "wall_x_nice" else []
                result = self._measure_wall_x(workload, path, log_path, extra)
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
            ready = json.loads(lines.expect("READY", 60.0) or "{}")
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
        self, workload: Workload, path: Path, log_path: Path, extra: Sequence[str] = ()
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
                "wall_x", "benchmarks.runners.wall", args, log_path, _xserver_pid(display)
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
                    out["processes"] = meters[name].peak_processes
        return out

    def _apply_meters(self, m: Measurement, figures: dict[str, Any], window: float) -> None:
        m.cpu_per_s = round(figures["tree"], 3)
        m.main_process_cpu_per_s = round(figures["root"], 3)
        m.system_cpu_per_s = round(figures["system"], 3)
        m.peak_rss_mb = round(figures["peak_rss"] / 2**20, 1)
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
        m.details = {
            k: v
            for k, v in result.items()
            if k not in ("frames", "age", "window_s", "upload_bytes_per_s", "processes")
        }
        m.details["age_max_ms"] = age.get("max_ms")
        m.details["frames_min_camera"] = min(frames.values()) if frames else 0
        return m


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
# Like for like on deblocking, and what skipping it on small tiles' B-frames saves.
DEBLOCKING_RATIOS = {
    "wall_over_floor_both_light": ("wall_headless", "floor_light_deblocking"),
    "wall_over_floor_both_full": ("wall_full_deblocking", "decode_floor"),
    "wall_full_over_wall": ("wall_full_deblocking", "wall_headless"),
    "floor_over_floor_light": ("decode_floor", "floor_light_deblocking"),
}


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
    found: dict[str, float | None],
    by_round: dict[str, list[float | None]] | None = None,
) -> list[dict[str, Any]]:
    """Pass or fail per target, on the median round's figures; ``rounds`` lists each
    round's ratio where there were several."""
    verdicts: list[dict[str, Any]] = []
    for name, key, comparison, limit in TARGETS:
        value = found.get(key)
        passed = (
            None if value is None else (value <= limit if comparison == "<=" else value >= limit)
        )
        verdict: dict[str, Any] = {
            "target": f"{name} {comparison} {limit:g}",
            "value": value,
            "pass": passed,
        }
        spread = (by_round or {}).get(key, [])
        if len(spread) > 1:
            verdict["rounds"] = spread
        verdicts.append(verdict)
    limit_ms = P99_AGE_INTERVALS * 1000 / 25
    for runner in ("wall_headless", "wall_x"):
        m = figures.get(runner)
        value = m.age_p99_ms if m is not None and m.ok else None
        verdicts.append(
            {
                "target": f"{runner} p99 frame age <= {P99_AGE_INTERVALS:g} intervals "
                f"({limit_ms:.0f} ms)",
                "value": value,
                "pass": None if value is None else value <= limit_ms,
            }
        )
    return verdicts


def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "hostname": platform.node(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
    }
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                info["memory_gib"] = round(int(line.split()[1]) / 2**20, 1)
    with contextlib.suppress(OSError, ValueError):
        info["os"] = next(
            line.split("=", 1)[1].strip('"')
            for line in Path("/etc/os-release").read_text().splitlines()
            if line.startswith("PRETTY_NAME=")
        )
    info["load_average_at_start"] = list(os.getloadavg())
    with contextlib.suppress(Exception):
        import av

        info["pyav"] = av.__version__
        info["pyav_ffmpeg"] = ".".join(map(str, av.library_versions["libavcodec"]))
    with contextlib.suppress(Exception):
        import cv2

        info["opencv"] = cv2.__version__
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg:
        with contextlib.suppress(Exception):
            out = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True, check=False)
            info["ffmpeg"] = out.stdout.splitlines()[0]
    return info


def _mark(passed: bool | None) -> str:
    return {True: "PASS", False: "FAIL", None: "n/a "}[passed]


def _verdict_value(verdict: dict[str, Any]) -> str:
    rounds = verdict.get("rounds")
    if not rounds:
        return str(verdict["value"])
    each = ", ".join("-" if r is None else f"{r:.3f}" for r in rounds)
    return f"{verdict['value']} (median round; each round: {each})"


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
        "age p50/p99 ms",
        "RSS MB",
        "upload MB/s",
        "max N held",
    ]
    rows = []
    for runner, m in figures.items():
        if not m.ok:
            rows.append(
                [SHORT.get(runner, runner), str(m.cameras), "failed: " + (m.error or "")[:60]]
                + [""] * 9
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
                age,
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
        console = Console(width=170)
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
        *STAGE_RUNNERS,
        *EXPERIMENTS,
        *FLOOR_OPTIONS,
    )
    unknown = [r for r in runners if r not in known]
    if unknown:
        raise SystemExit(f"unknown runners {unknown}; known: {', '.join(known)}")
    ramp = sorted({int(n) for n in args.ramp.split(",") if n.strip()}) if args.ramp else []
    ramped = (
        [r for r in runners if r in args.ramp_runners.split(",")]
        if args.ramp_runners is not None
        else list(runners)
    )
    most = max([args.cameras, *ramp])
    clips = ensure_clips()
    machine = machine_info()
    # Each camera starts a GOP later than the one before: key frames do not coincide.
    # Its sub-stream plays the 360p clip from the same frame.
    cameras = [
        SyntheticCamera.from_clip(c.id, c.id, clips[c.resolution], start=50 * i)
        for i, c in enumerate(make_workload(most).cameras)
    ] + [
        SyntheticCamera.from_clip(
            substream_path(c.id), f"{c.id} sub", clips[SUBSTREAM_CLIP], start=50 * i
        )
        for i, c in enumerate(make_workload(most).cameras)
    ]
    started = time.monotonic()
    rounds: dict[str, list[Measurement]] = {}
    figures: dict[str, Measurement] = {}
    ramp_results: dict[str, list[Measurement]] = {}
    max_held: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="videowall-bench-") as tmp,
        SyntheticCameraServer(cameras) as server,
    ):
        bench = Bench(server, Path(tmp), args.seconds, args.settle)
        # Rounds in turn (every runner, then every runner again): the machine's load
        # drifts over minutes, and each runner meets it in every round.
        for number in range(args.rounds):
            if args.rounds > 1:
                bench.say(f"round {number + 1} of {args.rounds}")
            for runner in runners:
                rounds.setdefault(runner, []).append(bench.measure(runner, args.cameras))
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
        if args.keep_logs:
            keep = Path(args.keep_logs)
            keep.mkdir(parents=True, exist_ok=True)
            for log in Path(tmp).glob("*.log"):
                shutil.copy(log, keep / log.name)
    found = cpu_ratios(figures, RATIOS)
    found_by_round = ratio_rounds(rounds, RATIOS) if args.rounds > 1 else {}
    verdicts = judge(figures, found, found_by_round)
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
        "substream_ratios": _measured(cpu_ratios(figures, SUBSTREAM_RATIOS)),
        "substream_ratio_basis": (
            "the same, every camera with a 640x360 sub-stream: wall = wall_substreams (url_low "
            "on every camera, the pool chooses), floor and ffmpeg read the URL the wall decodes "
            "(the sub-stream while all of a camera's tiles are <= 960x540); "
            "*_main_over_*_substreams: the main-stream runner over its sub-stream twin"
        ),
        "deblocking_ratios": _measured(cpu_ratios(figures, DEBLOCKING_RATIOS)),
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
        "ramp": {r: [asdict(m) for m in steps] for r, steps in ramp_results.items()},
    }
    return results


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
    args = parser.parse_args(argv)
    if args.cameras is None:
        args.cameras = 6 if args.quick else 12
    if args.runners is None:
        full = (*RUNNERS, *SUBSTREAM_RUNNERS, *DEBLOCKING_RUNNERS)
        args.runners = ",".join(RUNNERS if args.quick else full)
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
    if results["substream_ratios"]:
        print(f"with sub-streams: {json.dumps(results['substream_ratios'])}")
    if results["deblocking_ratios"]:
        print(f"deblocking like for like: {json.dumps(results['deblocking_ratios'])}")
    print(
        f"results: {args.out}"
        + (f", plot: {plot_path}" if not problem else f" (no plot: {problem})")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
