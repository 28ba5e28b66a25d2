"""Runner (e): the wall a user would write with OpenCV instead of this program.

One ``cv2.VideoCapture`` per camera, each read in its own thread; every
frame is resized to its tile (``cv2.resize``, bilinear) and copied into the
output's canvas (a numpy array per output). No display. OpenCV's defaults
otherwise, with TCP for RTSP as any user on a real network sets.

    python -m benchmarks.runners.opencv_wall WORKLOAD_JSON
"""

from __future__ import annotations

import argparse
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.runners.common import FrameStats, age_summary, run_protocol
from benchmarks.workload import BenchTile, Workload


def capture_loop(
    camera: str,
    url: str,
    targets: list[tuple[np.ndarray[Any, Any], BenchTile]],
    stats: FrameStats,
    stop: threading.Event,
) -> None:
    import cv2

    while not stop.is_set():
        capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        if not capture.isOpened():
            stop.wait(1.0)
            continue
        stats.new_connection(camera)
        try:
            while not stop.is_set():
                ok, frame = capture.read()
                if not ok:
                    break
                msec = capture.get(cv2.CAP_PROP_POS_MSEC)
                for canvas, tile in targets:
                    small = cv2.resize(frame, (tile.w, tile.h), interpolation=cv2.INTER_LINEAR)
                    canvas[tile.y : tile.y + tile.h, tile.x : tile.x + tile.w] = small
                stats.frame(camera, msec / 1000.0 if msec > 0 else None)
        finally:
            capture.release()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
    workload = Workload.from_json(args.workload.read_text())
    canvases = {o.id: np.zeros((o.height, o.width, 3), np.uint8) for o in workload.outputs}
    stats = FrameStats(c.id for c in workload.cameras)
    stop = threading.Event()
    threads = []
    for camera in workload.cameras:
        targets = [(canvases[o.id], t) for o, t in workload.tiles() if t.camera == camera.id]
        thread = threading.Thread(
            target=capture_loop,
            args=(camera.id, camera.url, targets, stats, stop),
            name=f"capture-{camera.id}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)

    def missing() -> list[str]:
        return [c.id for c in workload.cameras if c.id not in stats.seen]

    def finish() -> dict[str, Any]:
        stats.stop()
        raw = stats.raw()
        return {
            "frames": raw["frames"],
            "window_s": raw["window_s"],
            "age": age_summary(raw["ages"], workload.fps) | {"at": "canvas"},
            "processes": 1,
        }

    run_protocol(missing, stats.start, finish)
    stop.set()
    for thread in threads:
        thread.join(timeout=1.0)


if __name__ == "__main__":
    main()
