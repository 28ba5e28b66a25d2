"""Runners (b) and (c): our wall, headless or with windows on an X server.

Runs :class:`compositor.app.WallApp` on the workload's layout exactly as
``videowall run`` does (its decoder pool, slots, canvases and, with
``--display``, one fullscreen window per output), and reports per window:
frames decoded per camera (from the status board), the age of every frame
at composition (from the wall's :class:`~compositor.metrics.FrameAges`),
ticks drawn and bytes uploaded to GL.

    python -m benchmarks.runners.wall WORKLOAD_JSON [--display :N [--windowed]] [--fps F]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any

from benchmarks.runners.common import age_summary, protocol_thread
from benchmarks.workload import Workload
from compositor.app import RunOptions, WallApp
from compositor.layout import parse_layout


def hook_frame_ages(app: WallApp, sink: list[float], counting: list[bool]) -> None:
    """Collect every age the wall records (it keeps only a ring per camera).

    The wall has no hook for this yet, so the instance's ``add`` is wrapped.
    """
    ages = app.frame_ages
    original = ages.add

    def add(camera_id: str, age: float) -> None:
        original(camera_id, age)
        if counting[0]:
            sink.append(age)

    setattr(ages, "add", add)  # noqa: B010  (an instance attribute, not a method assignment)


def renice_decoders(pids: list[int], increment: int) -> None:
    """Lower every thread of the decoder processes (Linux niceness is per thread)."""
    time.sleep(1.0)  # their camera threads start right away; catch them all
    for pid in pids:
        try:
            threads = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in threads:
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, tid, increment)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", type=Path)
    parser.add_argument("--display", help="X display for windows; headless without")
    parser.add_argument("--windowed", action="store_true", help="plain windows, not fullscreen")
    parser.add_argument("--fps", type=float, help="composition rate (default: the wall's)")
    parser.add_argument("--workers", type=int, help="decoder processes (default: the wall's)")
    parser.add_argument(
        "--nice-decoders",
        type=int,
        default=0,
        help="experiment: lower the decoder processes' priority (every thread) by this much",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="wall-runner %(levelname)s %(message)s")
    workload = Workload.from_json(args.workload.read_text())
    layout = parse_layout(workload.layout_yaml(), "bench-layout.yaml")
    options = RunOptions(
        headless=args.display is None,
        display_name=args.display,
        windowed=args.windowed,
        fps=args.fps,
        workers=args.workers,
    )
    app = WallApp(layout, options)
    ages: list[float] = []
    counting = [False]
    hook_frame_ages(app, ages, counting)
    app.start()
    pool = app.pool
    if args.nice_decoders:
        renice_decoders(pool.worker_pids(), args.nice_decoders)
    before: dict[str, Any] = {}

    def snapshot() -> dict[str, Any]:
        display = app.display
        return {
            "at": time.monotonic(),
            "frames": {c: pool.status(c).frames for c in pool.camera_ids},
            "ticks": app.ticks,
            "uploaded": display.bytes_uploaded if display is not None else None,
            "render_cpu": (
                sum(display.render_cpu_by(o) for o in display.output_ids)
                if display is not None
                else None
            ),
            "torn": sum(c.torn_reads for c in app.canvases.values()),
            "composed": len(ages),
        }

    def missing() -> list[str]:
        return [c for c in pool.camera_ids if pool.status(c).frames == 0]

    def start() -> None:
        ages.clear()
        before.update(snapshot())
        counting[0] = True

    def stop() -> dict[str, Any]:
        counting[0] = False
        after = snapshot()
        window = after["at"] - before["at"]
        uploaded = (
            (after["uploaded"] - before["uploaded"]) / window
            if after["uploaded"] is not None
            else None
        )
        render = (
            (after["render_cpu"] - before["render_cpu"]) / window
            if after["render_cpu"] is not None
            else None
        )
        return {
            "frames": {c: after["frames"][c] - before["frames"][c] for c in pool.camera_ids},
            "window_s": window,
            "age": age_summary(ages, workload.fps) | {"at": "composition"},
            "composed_per_s": round(len(ages) / window, 1),
            "ticks_per_s": round((after["ticks"] - before["ticks"]) / window, 1),
            "fps_option": app.fps,
            "upload_bytes_per_s": uploaded,
            "render_cpu_per_s": render,
            "torn_reads": after["torn"] - before["torn"],
            # with url_low in the layout: how many cameras the pool decodes from it
            "cameras_on_substream": sum(
                bool(c.url_low) and pool.url_of(c.id) == c.url_low for c in workload.cameras
            ),
            "processes": 1 + len(pool.worker_pids()),
        }

    protocol_thread(missing, start, stop, app.request_stop)
    try:
        app.run()
    finally:
        app.close()


if __name__ == "__main__":
    main()
