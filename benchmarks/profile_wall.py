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
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.bench import RESULTS, Bench, Measurement, _kill_tree, start_runner
from benchmarks.clips import ensure_clips
from benchmarks.workload import make_workload
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


def spy(bench: Bench, cameras: int, seconds: float, out: Path) -> list[tuple[str, int]]:
    """py-spy's hottest lines of the headless wall (samples, not CPU time)."""
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not os.access(binary, os.X_OK):
        raise RuntimeError("py-spy is missing (pip install py-spy)")
    work = bench.workload(cameras)
    path = bench.workdir / "spy-workload.json"
    path.write_text(work.to_json())
    process, lines = start_runner(
        "benchmarks.runners.wall", [str(path)], bench.workdir / "spy-wall.log"
    )
    try:
        lines.expect("READY", 60.0)
        time.sleep(bench.settle)
        spied = subprocess.run(
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
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        _kill_tree(process)
    if spied.returncode != 0:
        raise RuntimeError(f"py-spy failed: {spied.stderr[-500:]}")
    leaves: Counter[str] = Counter()
    for line in out.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            leaves[stack.split(";")[-1]] += int(count)
    return leaves.most_common(15)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--no-spy", action="store_true", help="skip the py-spy sampling")
    parser.add_argument("--out", type=Path, default=RESULTS / "profile.json")
    args = parser.parse_args(argv)
    clips = ensure_clips()
    work = make_workload(args.cameras)
    cameras = [
        SyntheticCamera.from_clip(c.id, c.id, clips[c.resolution], start=50 * i)
        for i, c in enumerate(work.cameras)
    ]
    measured: dict[str, Measurement] = {}
    hot: list[tuple[str, int]] = []
    stacks = args.out.with_suffix(".stacks.txt")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="videowall-profile-") as tmp,
        SyntheticCameraServer(cameras) as server,
    ):
        bench = Bench(server, Path(tmp), args.seconds, 2.0)
        for step in STEPS:
            measured[step] = bench.measure(step, args.cameras)
        if not args.no_spy:
            try:
                hot = spy(bench, args.cameras, args.seconds, stacks)
            except Exception as exc:
                print(f"profile: no py-spy sampling: {exc}", file=sys.stderr)
    parts = breakdown(measured)
    report: dict[str, Any] = {
        "cameras": args.cameras,
        "workload": work.summary(),
        "seconds": args.seconds,
        "cpu_per_s": parts,
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
    if hot:
        total = sum(n for _, n in hot)
        print("py-spy, hottest lines (share of the top samples; waits included):")
        for line, n in hot:
            print(f"  {100 * n / total:5.1f} %  {line}")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
