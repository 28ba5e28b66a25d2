"""Where the wall's time goes, on the benchmark's streams.

    python -m benchmarks.profile_wall [--cameras 8] [--seconds 10] [--no-spy]

Two views of the same workload (the bench's clips and tiles):

1. **Measured, step by step.** The decode floor with the wall's per-frame
   steps added one at a time (``floor --stage``: decode; + scaling to each
   tile in I420 as the wall's decoders do; + the copy of the planes into a
   buffer like the slot), then the wall headless (its decoder processes and
   its render process apart) and the wall with windows (upload and draw, the
   X server). Each difference is the CPU of one step: decode, scale, copy,
   the decoders' Python overhead, composition, upload and draw. The decoder
   path before I420 (BGR, a new swscale context per frame) is measured the
   same way, for comparison.
2. **Sampled.** ``py-spy record --subprocesses`` on the headless wall: the
   hottest lines. py-spy cannot tell a thread waiting inside FFmpeg for the
   network from one decoding (both are in native code without the GIL), so
   its samples rank lines; they are not CPU time.

Writes ``benchmarks/results/profile.json`` and the raw stacks beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.bench import (
    RESULTS,
    Bench,
    Measurement,
    _kill_tree,
    bench_cameras,
    start_runner,
)
from benchmarks.clips import ensure_clips
from benchmarks.workload import make_workload, room_workload
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer

STEPS = (
    "decode_floor",
    "floor_scale",
    "floor_copy",
    "floor_bgr",
    "wall_headless",
    "wall_x",
)


def breakdown(m: dict[str, Measurement]) -> dict[str, float | None]:
    def cpu(name: str) -> float | None:
        found = m.get(name)
        return found.cpu_per_s if found is not None and found.ok else None

    def diff(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a - b, 3)

    wall = m.get("wall_headless")
    render = wall.main_process_cpu_per_s if wall is not None and wall.ok else None
    decoders = diff(cpu("wall_headless"), render)
    wall_x = m.get("wall_x")
    gl = None
    if wall_x is not None and wall_x.ok:
        gl = wall_x.details.get("render_cpu_per_s")
    return {
        "decode (H.264, PyAV floor)": cpu("decode_floor"),
        "scale to the tiles in I420 (swscale AREA)": diff(cpu("floor_scale"), cpu("decode_floor")),
        "copy: planes into the slot": diff(cpu("floor_copy"), cpu("floor_scale")),
        "decoder processes, Python and the rest": diff(decoders, cpu("floor_copy")),
        "render process headless (compose copies, loop)": render,
        "upload + draw (GL, render thread, with windows)": (
            round(gl, 3) if isinstance(gl, float) else None
        ),
        "render process with windows, all": (
            wall_x.main_process_cpu_per_s if wall_x is not None and wall_x.ok else None
        ),
        "X server": wall_x.xserver_cpu_per_s if wall_x is not None and wall_x.ok else None,
        "upload MB/s (with windows)": (
            wall_x.upload_mb_per_s if wall_x is not None and wall_x.ok else None
        ),
        "wall headless, total": cpu("wall_headless"),
        "wall with windows, total": cpu("wall_x"),
        # The decoder path before I420, measured the same way (decode included):
        "before: decoder path in BGR (FAST_BILINEAR, to_ndarray, copy)": cpu("floor_bgr"),
        "now: decoder path in I420 (AREA, copy)": cpu("floor_copy"),
    }


# What a sampled stack is doing, from its innermost frame outwards: the first frame whose
# function matches names the step. py-spy samples Python frames; a thread inside FFmpeg
# (decoding, reading the socket) or GL shows as the Python line that called it, and a
# thread blocked in a system call is idle (not sampled without --idle).
STACK_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("decode (H.264, packet.decode)", ("_decoded (",)),
    ("receive + demux (RTSP read, container.demux)", ("_frames (",)),
    (
        "scale to the tile (swscale, or OpenCV into the slot)",
        ("scaled_frame (", "halve_into (", "rescale_into ("),
    ),
    ("copy into the slot", ("FrameSlot.write (", "FrameSlot.end_write (", "_plane (")),
    ("upload (glTexSubImage2D)", (".upload (",)),
    ("draw + swap (GL, llvmpipe)", (".draw (", ".flip (", ".present (", "swap")),
    ("compose (canvas copies, labels, notices)", ("OutputCanvas.", "ComposedOutput.")),
    (
        "waiting (select, condition, sleep: blocked, yet sampled)",
        ("_PollLikeSelector.select (", "Condition.wait (", "Event.wait (", "sleep ("),
    ),
)
PYTHON_REST = "Python: the rest (loops, slots, status, pacing, bookkeeping)"


def classify(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for step, names in STACK_STEPS:
            if any(name in frame for name in names):
                return step
    return PYTHON_REST


def _process_of(stack: str) -> str:
    """The process a stack was sampled in."""
    # py-spy names each process in the stack, a child's below its parent's.
    names = [frame for frame in stack.split(";") if frame.startswith("process ")]
    if any("multiprocessing" in name for name in names[1:]):
        return "decoder processes"
    return "render process"


def read_stacks(path: Path) -> Counter[str]:
    stacks: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[stack] += int(count)
    return stacks


def split_samples(stacks: Counter[str]) -> dict[str, dict[str, int]]:
    """Samples per step, per process kind (decoder processes, render process)."""
    table: dict[str, dict[str, int]] = {}
    for stack, n in stacks.items():
        step = classify(stack)
        where = _process_of(stack)
        row = table.setdefault(step, {})
        row[where] = row.get(where, 0) + n
    return table


def spy(
    bench: Bench, cameras: int, seconds: float, out: Path, windows: bool = False
) -> Counter[str]:
    """py-spy's samples of the wall, with its decoder processes (samples, not CPU time);
    ``windows``: the wall with its windows on the dummy X server, else headless."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not os.access(binary, os.X_OK):
        raise RuntimeError("py-spy is missing (pip install py-spy)")
    runner = "wall_x" if windows else "wall_headless"
    work = bench.workload(cameras, runner)
    path = bench.workdir / "spy-workload.json"
    path.write_text(work.to_json())
    args = [str(path)]
    display = None
    if windows:
        from compositor.demo.virtual_x import VirtualDisplay

        outputs = len(work.outputs)
        display = VirtualDisplay.dummy_wall(
            monitors=outputs, columns=min(outputs, 7), mode=(480, 270)
        )
        args += ["--display", display.name]
    try:
        process, lines = start_runner(
            "benchmarks.runners.wall", args, bench.workdir / "spy-wall.log"
        )
        try:
            lines.expect("READY", 90.0)
            time.sleep(bench.settle)
            spy_process = subprocess.Popen(
                [
                    binary,
                    "record",
                    "--pid",
                    str(process.pid),
                    "--subprocesses",
                    "--format",
                    "raw",
                    "--rate",
                    "50",
                    "--duration",
                    str(int(seconds)),
                    "--output",
                    str(out),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                _, errors = spy_process.communicate(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                # Seen at 40 cameras on 2 busy cores: py-spy sampling the decoder processes
                # ran minutes past --duration. Interrupted, it writes what it has.
                spy_process.send_signal(signal.SIGINT)
                _, errors = spy_process.communicate(timeout=60)
        finally:
            _kill_tree(process)
    finally:
        if display is not None:
            display.stop()
    if not out.exists():
        raise RuntimeError(f"py-spy failed: {errors[-500:]}")
    return read_stacks(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, help="cameras (8; --room: 40)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--room",
        action="store_true",
        help="the room's workload (layouts/control-room-14.yaml, sub-streams for small "
        "tiles, as room_wall), py-spy on the wall with its 14 windows",
    )
    parser.add_argument(
        "--substreams",
        action="store_true",
        help="the sub-stream runners' workload (a 640x360 sub-stream for every small tile, "
        "as wall_substreams), py-spy on the headless wall",
    )
    parser.add_argument("--spy-seconds", type=float, help="py-spy's window (--seconds)")
    parser.add_argument("--no-spy", action="store_true", help="skip the py-spy sampling")
    parser.add_argument("--out", type=Path, help="JSON (results/profile[-room|-substreams].json)")
    args = parser.parse_args(argv)
    if args.cameras is None:
        args.cameras = 40 if args.room else 8
    if args.out is None:
        name = (
            "profile-room" if args.room else "profile-substreams" if args.substreams else "profile"
        )
        args.out = RESULTS / f"{name}.json"
    clips = ensure_clips()
    work = room_workload(args.cameras) if args.room else make_workload(args.cameras)
    cameras = (
        bench_cameras(work, clips)
        if args.room or args.substreams
        else [
            SyntheticCamera.from_clip(c.id, c.id, clips[c.resolution], start=50 * i)
            for i, c in enumerate(work.cameras)
        ]
    )
    measured: dict[str, Measurement] = {}
    stacks = args.out.with_suffix(".stacks.txt")
    sampled: Counter[str] = Counter()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="videowall-profile-") as tmp,
        SyntheticCameraServer(cameras) as server,
    ):
        bench = Bench(server, Path(tmp), args.seconds, 2.0)
        bench.room = args.room
        bench.substreams = args.substreams
        for step in STEPS:
            if args.room and step == "floor_bgr":
                continue
            measured[step] = bench.measure(step, args.cameras)
        if not args.no_spy:
            try:
                sampled = spy(
                    bench, args.cameras, args.spy_seconds or args.seconds, stacks, args.room
                )
            except Exception as exc:
                print(f"profile: no py-spy sampling: {exc}", file=sys.stderr)
    parts = breakdown(measured)
    leaves: Counter[str] = Counter()
    for stack, n in sampled.items():
        leaves[stack.split(";")[-1]] += n
    hot = leaves.most_common(15)
    by_step = split_samples(sampled)
    report: dict[str, Any] = {
        "cameras": args.cameras,
        "workload": (
            "layouts/control-room-14.yaml"
            if args.room
            else "benchmarks.workload.make_workload"
            + (", sub-streams for small tiles" if args.substreams else "")
        ),
        "workload_summary": work.summary(),
        "seconds": args.seconds,
        "cpu_per_s": parts,
        "py_spy_samples_by_step": by_step,
        "py_spy_samples": sum(sampled.values()),
        "py_spy_of": (
            "the wall with 14 windows on the dummy X server" if args.room else "the headless wall"
        ),
        "steps": {
            name: {
                "cpu_per_s": m.cpu_per_s,
                "main_process_cpu_per_s": m.main_process_cpu_per_s,
                "system_cpu_per_s": m.system_cpu_per_s,
                "held": m.held,
                "other_cpu_per_s": m.other_cpu_per_s,
                "error": m.error,
            }
            for name, m in measured.items()
        },
        "py_spy_hottest_lines": [{"line": line, "samples": n} for line, n in hot],
        "py_spy_stacks": str(stacks) if hot else None,
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"where the wall's CPU goes, {args.cameras} cameras (CPU-seconds per second):")
    for name, value in parts.items():
        print(f"  {'-' if value is None else f'{value:6.3f}':>6}  {name}")
    if by_step:
        total = sum(sampled.values())
        print(f"py-spy, samples by step ({report['py_spy_of']}; {total} samples):")
        for step, row in sorted(by_step.items(), key=lambda item: -sum(item[1].values())):
            n = sum(row.values())
            where = ", ".join(f"{k} {v}" for k, v in sorted(row.items()))
            print(f"  {100 * n / total:5.1f} %  {step} ({where})")
    if hot:
        total = sum(n for _, n in hot)
        print("py-spy, hottest lines (share of the top samples; waits included):")
        for line, n in hot:
            print(f"  {100 * n / total:5.1f} %  {line}")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
