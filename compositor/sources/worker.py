"""A decoder worker process: runs a group of cameras, each in its own thread.

Decoding lives outside the render process because FFmpeg can hang or crash
on a hostile stream; a dead worker takes only its own cameras with it, and
the pool's supervisor restarts it.
"""

from __future__ import annotations

__all__ = ["WorkerSpec", "worker_main"]

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from compositor.clock import MonotonicClock
from compositor.slots import HeartbeatBoard, StatusBoard
from compositor.sources.camera import CameraJob, run_camera

HEARTBEAT_INTERVAL_S = 0.2  # also how soon a worker sees the stop flag


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    index: int
    jobs: tuple[CameraJob, ...]
    status_path: str
    cameras_total: int
    heartbeat_path: str
    workers_total: int
    log_level: int = logging.INFO


def worker_main(spec: WorkerSpec) -> None:
    """Process entry point: decode ``spec.jobs`` until the pool asks to stop or dies."""
    # Ctrl-C reaches the whole process group; stopping is the render process's call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(
        level=spec.log_level,
        format=f"%(asctime)s %(levelname)s decoder-{spec.index} %(name)s: %(message)s",
    )
    clock = MonotonicClock()
    status = StatusBoard(Path(spec.status_path), spec.cameras_total)
    heartbeats = HeartbeatBoard(Path(spec.heartbeat_path), spec.workers_total)
    cameras_stop = threading.Event()
    threads = [
        threading.Thread(
            target=run_camera,
            args=(job, status, cameras_stop, clock),
            name=f"camera-{job.camera_id}",
            daemon=True,  # a thread stuck inside FFmpeg must not keep the process alive
        )
        for job in spec.jobs
    ]
    for thread in threads:
        thread.start()
    parent = os.getppid()
    heartbeats.beat(spec.index, clock.now())
    while not heartbeats.stop_requested:
        time.sleep(HEARTBEAT_INTERVAL_S)
        heartbeats.beat(spec.index, clock.now())
        if os.getppid() != parent:
            break  # the render process is gone: do not decode for nobody
    cameras_stop.set()
    for thread in threads:
        thread.join(timeout=1.0)
