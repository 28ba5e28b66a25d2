"""The decoder pool, seen from the render process: slots, statuses, supervision.

The pool turns the cameras a layout uses into decoder jobs, spreads them over
a few worker processes, and owns the shared memory they write into. It never
imports ``av``: decoding happens only in the workers.
"""

from __future__ import annotations

__all__ = ["DecoderPool", "RenditionKey"]

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Iterable, Mapping
from multiprocessing.context import SpawnProcess

from compositor.clock import Clock
from compositor.geometry import Fit
from compositor.layout import CameraConfig
from compositor.slots import (
    CameraState,
    CameraStatus,
    FrameSlot,
    HeartbeatBoard,
    SharedDir,
    StatusBoard,
)
from compositor.sources.camera import CameraJob, RenditionSpec
from compositor.sources.worker import WorkerSpec, worker_main

log = logging.getLogger(__name__)

RenditionKey = tuple[str, int, int, Fit]  # camera id, tile width, tile height, fit
WORKER_SILENT_AFTER_S = 5.0  # a worker that has not beaten its heartbeat for this long is hung
# A camera's status moves at least every ~18 s: an open ends within its open timeout
# (15 s), and FFmpeg ends a session whose RTP stopped within 16-18 s (measured). Silent
# this long, its thread is stuck inside FFmpeg (a decoder loop, a resolver): only
# restarting its worker process, and so its other cameras, frees it.
CAMERA_STUCK_AFTER_S = 30.0


class _Worker:
    def __init__(self, spec: WorkerSpec) -> None:
        self.spec = spec
        self.process: SpawnProcess | None = None
        self.started_at = 0.0
        self.restarts = 0

    @property
    def cameras(self) -> str:
        return ", ".join(job.camera_id for job in self.spec.jobs)


class DecoderPool:
    """Decodes every camera the wall shows, one decoder per camera.

    A camera shown at several tile sizes is decoded once and scaled once per
    size; tiles of the same camera, size and fit share one slot.
    """

    def __init__(
        self,
        cameras: Mapping[str, CameraConfig],
        renditions: Iterable[RenditionKey],
        clock: Clock,
        workers: int | None = None,
        log_level: int = logging.INFO,
    ) -> None:
        self._clock = clock
        self._context = multiprocessing.get_context("spawn")  # no forked GL/X state
        self._stopping = False
        self._shared = SharedDir()
        if self._shared.swept:
            log.warning(
                "freed the shared memory of %d wall(s) killed earlier: %s",
                len(self._shared.swept),
                ", ".join(str(path) for path in self._shared.swept),
            )
        by_camera: dict[str, list[tuple[int, int, Fit]]] = {}
        for camera_id, w, h, fit in renditions:
            sizes = by_camera.setdefault(camera_id, [])
            if (w, h, fit) not in sizes:
                sizes.append((w, h, fit))
        self._camera_index = {camera_id: i for i, camera_id in enumerate(by_camera)}
        self._camera_seen: dict[int, tuple[int, float]] = {}  # index -> (version, when it moved)
        self.status_board = StatusBoard(self._shared.path / "status", len(by_camera), create=True)
        self._slots: dict[RenditionKey, FrameSlot] = {}
        jobs: list[CameraJob] = []
        for camera_id, sizes in by_camera.items():
            specs = []
            for w, h, fit in sizes:
                path = self._shared.path / f"slot-{len(self._slots)}"
                self._slots[(camera_id, w, h, fit)] = FrameSlot(path, w, h, create=True)
                specs.append(RenditionSpec(str(path), w, h, fit))
            index = self._camera_index[camera_id]
            jobs.append(CameraJob(index, camera_id, cameras[camera_id].url, tuple(specs)))
        count = max(1, min(len(jobs), workers or os.cpu_count() or 2))
        self.heartbeats = HeartbeatBoard(self._shared.path / "heartbeat", count, create=True)
        self._workers = [
            _Worker(
                WorkerSpec(
                    index=i,
                    jobs=tuple(jobs[i::count]),
                    status_path=str(self.status_board.path),
                    cameras_total=len(by_camera),
                    heartbeat_path=str(self.heartbeats.path),
                    workers_total=count,
                    log_level=log_level,
                )
            )
            for i in range(count)
            if jobs[i::count]
        ]

    @property
    def camera_ids(self) -> list[str]:
        return list(self._camera_index)

    def slot(self, key: RenditionKey) -> FrameSlot:
        return self._slots[key]

    def status(self, camera_id: str) -> CameraStatus:
        return self.status_board.read(self._camera_index[camera_id])

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process and w.process.pid]

    def start(self) -> None:
        for worker in self._workers:
            self._launch(worker)

    def _launch(self, worker: _Worker) -> None:
        process = self._context.Process(
            target=worker_main,
            args=(worker.spec,),
            name=f"videowall-decoder-{worker.spec.index}",
            daemon=True,
        )
        process.start()
        worker.process = process
        worker.started_at = self._clock.now()
        # A fresh process has not beaten yet; count its silence from now.
        self.heartbeats.beat(worker.spec.index, worker.started_at)

    def supervise(self) -> None:
        """Restart any worker that died or stopped reporting. Call every second or so."""
        if self._stopping:
            return
        now = self._clock.now()
        for worker in self._workers:
            process = worker.process
            if process is None:
                continue
            silent_for = now - self.heartbeats.last(worker.spec.index)
            stuck = self._stuck_camera(worker, now)
            if process.is_alive() and silent_for < WORKER_SILENT_AFTER_S and stuck is None:
                continue
            if process.is_alive():
                why = (
                    f"silent for {silent_for:.1f} s"
                    if stuck is None
                    else f"has camera {stuck} stuck inside FFmpeg for over "
                    f"{CAMERA_STUCK_AFTER_S:g} s"
                )
                process.kill()
            else:
                why = f"exited with code {process.exitcode}"
            process.join(timeout=1.0)
            with contextlib.suppress(ValueError):  # still a zombie: the OS reaps it later
                process.close()
            worker.restarts += 1
            log.error(
                "decoder worker %d (cameras: %s) %s; restarting it (restart #%d)",
                worker.spec.index,
                worker.cameras,
                why,
                worker.restarts,
            )
            self._launch(worker)

    def _stuck_camera(self, worker: _Worker, now: float) -> str | None:
        """A camera of ``worker`` that is connecting or live but has not moved for too long."""
        for job in worker.spec.jobs:
            version = self.status_board.version(job.index)
            seen = self._camera_seen.get(job.index)
            if seen is None or seen[0] != version:
                self._camera_seen[job.index] = (version, now)
                continue
            state = self.status_board.read(job.index).state
            busy = state in (CameraState.CONNECTING, CameraState.LIVE)
            if busy and now - seen[1] > CAMERA_STUCK_AFTER_S:
                self._camera_seen.pop(job.index)
                return job.camera_id
        return None

    def stop(self, timeout: float = 1.0) -> None:
        """Stop every worker within about ``timeout`` + 0.5 s and free the shared memory."""
        self._stopping = True
        self.heartbeats.request_stop()
        deadline = self._clock.now() + timeout
        for worker in self._workers:
            if worker.process is not None:
                worker.process.join(timeout=max(0.0, deadline - self._clock.now()))
        for worker in self._workers:
            process = worker.process
            if process is not None:
                if process.is_alive():
                    process.kill()  # stuck inside FFmpeg; nothing there needs saving
                    process.join(timeout=0.5)
                with contextlib.suppress(ValueError):
                    process.close()
                worker.process = None
        for slot in self._slots.values():
            slot.close()
        self.status_board.close()
        self.heartbeats.close()
        self._shared.close()
