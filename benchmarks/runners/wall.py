"""Runners (b) and (c): our wall, headless or with windows on an X server.

Runs :class:`compositor.app.WallApp` on the workload's layout exactly as
``videowall run`` does (its decoder pool, slots, canvases and, with
``--display``, one fullscreen window per output), and reports per window:
frames decoded per camera (from the status board), frames shown per camera
(composed onto its tiles) against what it sent while on them (a tour's
camera is on its tile part of the time), the seconds each camera spent
skipping frames (the degrade rule), the age of every frame at composition
(from the wall's :class:`~compositor.core.frame_ages.FrameAges`), ticks
drawn and bytes uploaded to GL.

    python -m benchmarks.runners.wall WORKLOAD_JSON [--display :N [--windowed]] [--fps F]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.runners.common import age_summary, protocol_thread
from benchmarks.workload import ROOM_LAYOUT, Workload
from compositor.app import RunOptions, WallApp
from compositor.compose.output import ComposedOutput
from compositor.layout.parse import parse_layout
from compositor.sources.budget import skip_tier


def hook_frame_ages(
    app: WallApp, sink: list[float], by_camera: dict[str, list[float]], counting: list[bool]
) -> None:
    """Collect every age the wall records (it keeps only a ring per camera).

    The wall has no hook for this yet, so the instance's ``add`` is wrapped.
    """
    ages = app.frame_ages
    original = ages.add

    def add(camera_id: str, age: float) -> None:
        original(camera_id, age)
        if counting[0]:
            sink.append(age)
            by_camera.setdefault(camera_id, []).append(age)

    setattr(ages, "add", add)  # noqa: B010  (an instance attribute, not a method assignment)


def camera_tiers(app: WallApp) -> dict[str, str]:
    """Each camera's degrade tier: by the largest tile it is on (sources/budget.py)."""
    boxes: dict[str, list[tuple[int, int]]] = {}
    for output in app.outputs:
        for tile in app.layout.placed_tiles(output.id):
            for camera in tile.cameras:
                boxes.setdefault(camera, []).append(tile.box)
    return {camera: skip_tier(sizes).name.lower() for camera, sizes in boxes.items()}


def by_tier(
    tiers: dict[str, str],
    frames: dict[str, int],
    ages: dict[str, list[float]],
    skipping: dict[str, int],
    window: float,
    fps: float,
) -> dict[str, dict[str, Any]]:
    """Frames per second, frame age and cameras skipping frames, per degrade tier."""
    result = {}
    for tier in sorted(set(tiers.values())):
        cameras = [c for c, t in tiers.items() if t == tier]
        result[tier] = {
            "cameras": len(cameras),
            "frames_per_s_per_camera": round(
                sum(frames.get(c, 0) for c in cameras) / window / len(cameras), 1
            ),
            "age": age_summary((a for c in cameras for a in ages.get(c, [])), fps),
            "skipping": sum(skipping.get(c, 0) > 0 for c in cameras),  # B-frames given up
        }
    return result


def tile_seconds(composed: ComposedOutput, start: float, stop: float) -> dict[str, float]:
    """Seconds each camera was on a tile of ``composed`` between ``start`` and ``stop``:
    the whole window on its own tiles, on a tour's tile its turns (the tour's schedule,
    as ComposedOutput.compose follows it)."""
    seconds: dict[str, float] = {}
    window = stop - start
    tours = {tour.index: tour for tour in composed.tours}
    for index, tile in enumerate(composed.camera_tiles):
        tour = tours.get(index)
        if tour is None:
            seconds[tile.cameras[0]] = seconds.get(tile.cameras[0], 0.0) + window
            continue
        turn = int((start - composed.started) // tour.every)
        while True:
            begin = max(start, composed.started + turn * tour.every)
            end = min(stop, composed.started + (turn + 1) * tour.every)
            if begin >= stop:
                break
            camera = tour.cameras[turn % len(tour.cameras)]
            seconds[camera] = seconds.get(camera, 0.0) + max(0.0, end - begin)
            turn += 1
    return seconds


class SkipMeter:
    """Seconds each camera spends skipping frames (the degrade rule), read from the
    status board once a second in a thread of its own."""

    EVERY_S = 1.0

    def __init__(self, app: WallApp) -> None:
        self._app = app
        self.seconds: dict[str, float] = {}
        self.counting = False
        self._stop = threading.Event()
        threading.Thread(target=self._run, name="skip-meter", daemon=True).start()

    def _run(self) -> None:
        pool = self._app.pool
        while not self._stop.wait(self.EVERY_S):
            if not self.counting:
                continue
            for camera in pool.camera_ids:
                if pool.status(camera).skipping:
                    self.seconds[camera] = self.seconds.get(camera, 0.0) + self.EVERY_S

    def close(self) -> None:
        self._stop.set()


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
    parser.add_argument(
        "--no-degrade", action="store_true", help="never skip frames when behind (the wall's)"
    )
    parser.add_argument(
        "--full-deblocking", action="store_true", help="B-frames filtered too (the wall's)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="wall-runner %(levelname)s %(message)s")
    workload = Workload.from_json(args.workload.read_text())
    # The room's layout names its images relative to its own folder.
    layout = parse_layout(
        workload.layout_yaml(), "bench-layout.yaml", source_dir=ROOM_LAYOUT.parent
    )
    options = RunOptions(
        headless=args.display is None,
        display_name=args.display,
        windowed=args.windowed,
        fps=args.fps,
        workers=args.workers,
        degrade=not args.no_degrade,
        light_deblocking=not args.full_deblocking,
    )
    app = WallApp(layout, options)
    ages: list[float] = []
    ages_by_camera: dict[str, list[float]] = {}
    counting = [False]
    hook_frame_ages(app, ages, ages_by_camera, counting)
    tiers = camera_tiers(app)
    app.start()
    pool = app.pool
    skips = SkipMeter(app)
    if args.nice_decoders:
        renice_decoders(pool.worker_pids(), args.nice_decoders)
    before: dict[str, Any] = {}

    def snapshot() -> dict[str, Any]:
        display = app.display
        return {
            "at": time.monotonic(),
            "process_cpu": time.process_time(),
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
        ages_by_camera.clear()
        skips.seconds.clear()
        before.update(snapshot())
        counting[0] = skips.counting = True

    def stop() -> dict[str, Any]:
        counting[0] = skips.counting = False
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
        frames = {c: after["frames"][c] - before["frames"][c] for c in pool.camera_ids}
        skipping = {c: pool.status(c).skipping for c in pool.camera_ids}
        on_tiles: dict[str, float] = {}
        for composed in app.composed.values():
            for camera, seconds in tile_seconds(composed, before["at"], after["at"]).items():
                on_tiles[camera] = on_tiles.get(camera, 0.0) + seconds
        return {
            "frames": frames,
            # Per camera: frames composed onto its tiles, and those it sent while on them.
            "shown": {c: len(ages_by_camera.get(c, ())) for c in pool.camera_ids},
            "shown_expected": {c: round(workload.fps * on_tiles.get(c, 0.0), 1) for c in frames},
            "skipping_s": {c: skips.seconds.get(c, 0.0) for c in pool.camera_ids},
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
            # The render process alone (the loop, composition, upload), not its decoders.
            "render_process_cpu_per_s": round(
                (after["process_cpu"] - before["process_cpu"]) / window, 3
            ),
            # The degrade order (small tiles first), seen per tier.
            "degrade": options.degrade,
            "light_deblocking": options.light_deblocking,
            "by_tier": by_tier(tiers, frames, ages_by_camera, skipping, window, workload.fps),
        }

    protocol_thread(missing, start, stop, app.request_stop)
    try:
        app.run()
    finally:
        skips.close()
        app.close()


if __name__ == "__main__":
    main()
