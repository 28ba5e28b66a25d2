"""Runner (a), the decode floor: PyAV decodes every camera and throws the frames away.

Threaded exactly like the wall's decoder pool: one worker process per core
(cameras dealt round-robin), one thread per camera, the same stream options,
one codec thread per decoder. Nothing is scaled, converted or copied, so this
is the least any PyAV-based wall can spend on these streams.

``--stage`` adds the wall's per-frame work one step at a time, to see what
each costs on the same streams (``benchmarks/profile_wall.py`` uses them):

* ``decode``: decode only (the floor);
* ``scale``: + scaling to each tile's size in I420 as the wall's decoder does
  (``plan_scaling``: swscale AREA, one scaler kept per tile, one thread; a
  frame already at the tile's size is not scaled; a frame at exactly twice
  the size, or four or eight times, is halved by OpenCV into the buffer, copy
  included; one made larger or up to 1.5x smaller is scaled by OpenCV into it);
* ``copy``: + copying the planes into a preallocated buffer per tile (as into
  a slot): the wall's whole decoder path;
* ``bgr``: the path before I420, for comparison: ``frame.reformat`` to BGR
  (swscale FAST_BILINEAR, a new scaler per frame), ``to_ndarray()`` and a copy.

``--light-deblocking`` decodes as the wall does by default: B-frames of
cameras on tiles up to 960x540 without the deblocking filter.

    python -m benchmarks.runners.floor WORKLOAD_JSON [--workers N] [--stage S]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import threading
from collections.abc import Sequence
from fractions import Fraction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.runners.common import FrameStats, age_summary, run_protocol
from benchmarks.workload import Workload
from compositor.sources.budget import DecodePolicy, deblocking_skip, skip_tier

STAGES = ("decode", "scale", "copy", "bgr")


class _Rendition:
    """One tile size of one camera, done the way ``compositor.sources.camera`` does it."""

    def __init__(self, w: int, h: int) -> None:
        import numpy as np
        from av.video.reformatter import VideoReformatter

        from compositor.sources.camera import HalvingScratch

        self.w, self.h = w, h
        self.reformatter = VideoReformatter()
        self.scratch = HalvingScratch()
        self.scaling: Any = None
        self.key: tuple[int, int] | None = None
        self.buffer = np.empty((w + 1) * (h + 1) * 3 // 2 + 2, np.uint8)  # I420, even sizes
        self.bgr = np.empty((h, w, 3), np.uint8)

    def _planes(self, w: int, h: int) -> tuple[Any, Any, Any]:
        """The buffer as the planes of a ``w x h`` I420 picture, one after another."""
        luma, chroma = w * h, (w // 2) * (h // 2)
        return (
            self.buffer[:luma].reshape(h, w),
            self.buffer[luma : luma + chroma].reshape(h // 2, w // 2),
            self.buffer[luma + chroma : luma + 2 * chroma].reshape(h // 2, w // 2),
        )

    def process(self, frame: Any, stage: str) -> None:
        import numpy as np

        from compositor.core.geometry import Fit
        from compositor.sources.camera import plan_scaling, scale_straight_into, scaled_frame

        if stage == "bgr":
            pixels = frame.reformat(
                width=self.w, height=self.h, format="bgr24", interpolation="FAST_BILINEAR"
            ).to_ndarray()
            np.copyto(self.bgr, pixels)
            return
        if (frame.width, frame.height) != self.key:
            self.key = (frame.width, frame.height)
            self.scratch.clear()
            self.scaling = plan_scaling(
                frame.width, frame.height, self.w, self.h, Fit.LETTERBOX, Fraction(1)
            )
        s = self.scaling
        if scale_straight_into(frame, s, self._planes, self.scratch):
            return  # as the wall: OpenCV straight into the slot, both stages at once
        frame = scaled_frame(frame, s, self.reformatter)
        if stage == "copy":
            for plane, target in zip(frame.planes, self._planes(s.width, s.height), strict=True):
                ph, pw = target.shape
                rows = np.frombuffer(memoryview(plane), np.uint8).reshape(ph, plane.line_size)
                np.copyto(target, rows[:, :pw])


def decode_camera(
    camera: str,
    url: str,
    stats: FrameStats,
    stop: threading.Event,
    threads: int = 1,
    skip_nonref: bool = False,
    stage: str = "decode",
    tiles: Sequence[tuple[int, int]] = (),
    skip_loop_filter: str = "default",
) -> None:
    import av

    from compositor.sources.camera import stream_options

    while not stop.is_set():
        try:
            container: Any = av.open(url, options=stream_options(5.0))
        except Exception:
            stop.wait(1.0)
            continue
        stats.new_connection(camera)
        try:
            stream = container.streams.video[0]
            stream.codec_context.thread_count = threads
            if skip_nonref:
                stream.codec_context.skip_frame = "NONREF"
            stream.codec_context.options = {"skip_loop_filter": skip_loop_filter}
            renditions = [_Rendition(w, h) for w, h in tiles]
            for frame in container.decode(stream):
                if stage != "decode":
                    for rendition in renditions:
                        rendition.process(frame, stage)
                stats.frame(camera, frame.time)
                if stop.is_set():
                    break
        except Exception:
            stop.wait(1.0)
        finally:
            container.close()


def worker_main(
    cameras: list[tuple[str, str, list[tuple[int, int]], str]],
    conn: Connection,
    threads: int,
    skip_nonref: bool,
    stage: str = "decode",
) -> None:
    if stage in ("scale", "copy"):
        import cv2

        cv2.setNumThreads(1)  # as the wall's decoder workers
    stats = FrameStats([c for c, _, _, _ in cameras])
    stop = threading.Event()
    workers = [
        threading.Thread(
            target=decode_camera,
            args=(camera, url, stats, stop, threads, skip_nonref, stage, tiles, deblocking),
            daemon=True,
        )
        for camera, url, tiles, deblocking in cameras
    ]
    for thread in workers:
        thread.start()
    parent = os.getppid()
    while True:
        if not conn.poll(0.5):
            if os.getppid() != parent:
                return
            continue
        try:
            command = conn.recv()
        except EOFError:
            return
        if command == "seen":
            conn.send(sorted(stats.seen))
        elif command == "start":
            stats.start()
            conn.send("ok")
        elif command == "stop":
            stats.stop()
            conn.send(stats.raw())
            stop.set()
            return


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", type=Path)
    parser.add_argument("--workers", type=int, default=0, help="default: one per core")
    parser.add_argument("--threads", type=int, default=1, help="codec threads per decoder")
    parser.add_argument("--skip-nonref", action="store_true", help="skip non-reference frames")
    parser.add_argument("--stage", choices=STAGES, default="decode", help="work per frame")
    parser.add_argument(
        "--light-deblocking",
        action="store_true",
        help="B-frames of cameras on tiles up to 960x540 without deblocking (as the wall)",
    )
    args = parser.parse_args(argv)
    workload = Workload.from_json(args.workload.read_text())
    policy = DecodePolicy(light_deblocking=args.light_deblocking)
    cameras = []
    for camera in workload.cameras:
        tiles = sorted({(t.w, t.h) for _, t in workload.tiles() if t.camera == camera.id})
        deblocking = deblocking_skip(policy, skip_tier(tiles))
        cameras.append((camera.id, camera.url, tiles, deblocking))
    count = max(1, min(len(cameras), args.workers or os.cpu_count() or 2))
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes = []
    for index in range(count):
        mine, theirs = context.Pipe()
        process = context.Process(
            target=worker_main,
            args=(cameras[index::count], theirs, args.threads, args.skip_nonref, args.stage),
            name=f"floor-decoder-{index}",
            daemon=True,
        )
        process.start()
        pipes.append(mine)
        processes.append(process)

    def ask(command: str) -> list[Any]:
        for pipe in pipes:
            pipe.send(command)
        return [pipe.recv() for pipe in pipes]

    def missing() -> list[str]:
        seen = {camera for answer in ask("seen") for camera in answer}
        return [c for c, _, _, _ in cameras if c not in seen]

    def start() -> None:
        ask("start")

    def stop() -> dict[str, Any]:
        frames: dict[str, int] = {}
        ages: list[float] = []
        windows = []
        for raw in ask("stop"):
            frames.update(raw["frames"])
            ages.extend(raw["ages"])
            windows.append(raw["window_s"])
        return {
            "frames": frames,
            "window_s": sum(windows) / len(windows),
            "age": age_summary(ages, workload.fps) | {"at": "decode"},
            "processes": count,
            "codec_threads": args.threads,
            "skip_nonref": args.skip_nonref,
            "stage": args.stage,
        }

    run_protocol(missing, start, stop)
    for process in processes:
        process.join(timeout=2.0)
        if process.is_alive():
            process.kill()


if __name__ == "__main__":
    main()
