"""A decoder worker process: runs a group of cameras, each in its own thread.

Decoding lives outside the render process because FFmpeg can hang or crash
on a hostile stream; a dead worker takes only its own cameras with it, and
the pool's supervisor restarts it with the cameras it has at that moment.

While it runs, the pool changes its cameras through a one-way pipe of
commands (a layout reload): add a camera, remove one, or change the tile
sizes one is published at. The cameras that stay are never touched.
"""

from __future__ import annotations

__all__ = [
    "AddCamera",
    "RemoveCamera",
    "SetRenditions",
    "WorkerCommand",
    "WorkerSpec",
    "worker_main",
]

import logging
import os
import resource
import signal
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import cv2

from compositor.core.clock import Clock, MonotonicClock
from compositor.core.logs import LogSetup, configure_logging
from compositor.slots import HeartbeatBoard, StatusBoard
from compositor.sources.camera import (
    CameraJob,
    RenditionSet,
    RenditionSpec,
    cap_ffmpeg_blocks,
    run_camera,
)
from compositor.sources.hwdecode import CameraDecoding, HardwareProbe
from compositor.sources.limits import DEFAULT_LIMITS, EXIT_OUT_OF_MEMORY, SourceLimits

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 0.2  # also how soon a worker sees the stop flag and a command
STOP_JOIN_S = 1.0  # how long a stopping worker waits for all its camera threads together
# Decoders lowered below the render loop once it is starved (pacing.py): they fall
# behind instead, and skip frames by the degrade order (budget.py); the wall keeps
# drawing. Until then they run at the loop's priority.
DECODER_NICENESS = 10
DEFAULT_LOG_SETUP = LogSetup()  # INFO, text, no journal prefixes


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    index: int
    jobs: tuple[CameraJob, ...]
    status_path: str
    cameras_total: int  # records in the status board (room for cameras added later)
    heartbeat_path: str
    workers_total: int
    log_setup: LogSetup = DEFAULT_LOG_SETUP
    niceness: int = 0  # the worker's threads' nice value from the start (0: as started)
    limits: SourceLimits = DEFAULT_LIMITS  # what its cameras may make it use (limits.py)


@dataclass(frozen=True, slots=True)
class AddCamera:
    job: CameraJob


@dataclass(frozen=True, slots=True)
class RemoveCamera:
    camera_id: str


@dataclass(frozen=True, slots=True)
class SetRenditions:
    camera_id: str
    renditions: tuple[RenditionSpec, ...]


@dataclass(frozen=True, slots=True)
class LowerPriority:
    """Every thread of the worker, and those it starts later, at nice ``niceness``."""

    niceness: int


WorkerCommand = AddCamera | RemoveCamera | SetRenditions | LowerPriority


def lower_priority(niceness: int) -> None:
    """Lower every thread of this process to ``niceness`` (never raise one).

    Linux keeps a nice value per thread; a thread started later takes its
    starter's, and the camera threads are started by the main thread, which is
    lowered too.
    """
    for name in os.listdir("/proc/self/task"):
        tid = int(name)
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < niceness:
                os.setpriority(os.PRIO_PROCESS, tid, niceness)
        except OSError:  # the thread has just ended
            continue


class _RunningCamera:
    def __init__(
        self, job: CameraJob, status: StatusBoard, clock: Clock, hardware: HardwareProbe
    ) -> None:
        self.job = job
        self.stop = threading.Event()
        self.renditions = RenditionSet(job.renditions)
        self.thread = threading.Thread(
            target=run_camera,
            args=(job, status, self.stop, clock),
            kwargs={
                "renditions": self.renditions,
                "decoding": CameraDecoding(job.camera_id, job.decode, hardware),
            },
            name=f"camera-{job.camera_id}",
            daemon=True,  # a thread stuck inside FFmpeg must not keep the process alive
        )
        self.thread.start()


class _Cameras:
    """The cameras of this worker, by id, changed by the pool's commands."""

    def __init__(self, status: StatusBoard, clock: Clock) -> None:
        self._status = status
        self._clock = clock
        # The hardware decoder of this process, looked for once, when a camera set to
        # auto first opens (hwdecode.py): a worker of CPU cameras never looks.
        self._hardware = HardwareProbe()
        self.running: dict[str, _RunningCamera] = {}
        self.leaving: list[threading.Thread] = []  # removed, still finishing their last call

    def add(self, job: CameraJob) -> None:
        current = self.running.get(job.camera_id)
        if current is not None and current.job.ticket == job.ticket:
            return  # already running (a command may repeat what a restart already had)
        if current is not None:
            self.remove(job.camera_id)
        self.running[job.camera_id] = _RunningCamera(job, self._status, self._clock, self._hardware)

    def remove(self, camera_id: str) -> None:
        camera = self.running.pop(camera_id, None)
        if camera is not None:
            # Not joined here: the thread may be inside a blocking FFmpeg call, and the
            # heartbeat must go on. It sees the flag at its next frame or timeout.
            camera.stop.set()
            self.leaving.append(camera.thread)

    def set_renditions(self, camera_id: str, specs: tuple[RenditionSpec, ...]) -> None:
        camera = self.running.get(camera_id)
        if camera is not None:
            camera.renditions.replace(specs)

    def apply(self, command: WorkerCommand) -> None:
        if isinstance(command, AddCamera):
            self.add(command.job)
        elif isinstance(command, RemoveCamera):
            self.remove(command.camera_id)
        elif isinstance(command, SetRenditions):
            self.set_renditions(command.camera_id, command.renditions)
        else:
            lower_priority(command.niceness)
        log.debug("applied %s", type(command).__name__)

    def reap(self) -> None:
        self.leaving = [thread for thread in self.leaving if thread.is_alive()]

    def stop_all(self, timeout: float) -> None:
        for camera in self.running.values():
            camera.stop.set()
        deadline = time.monotonic() + timeout
        for thread in [camera.thread for camera in self.running.values()] + self.leaving:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))


def _read_commands(commands: Connection | None, timeout: float) -> list[WorkerCommand]:
    """Commands waiting in the pipe, waiting up to ``timeout`` for the first one.

    The pool sends the commands of one layout change together, as a tuple.
    """
    if commands is None:
        time.sleep(timeout)
        return []
    received: list[WorkerCommand] = []
    # Read for one heartbeat's time at most: a pool changing layouts faster than this
    # worker applies them must not keep it from beating (the pool would kill it).
    until = time.monotonic() + timeout
    try:
        wait = timeout
        while commands.poll(wait):
            received.extend(commands.recv())
            if time.monotonic() >= until:
                break
            wait = 0.0
    except (EOFError, OSError):
        # The render process closed its end: it is stopping or gone (both checked by
        # the caller). Wait as a poll would have, rather than spin on a closed pipe.
        time.sleep(timeout)
    return received


def bound_memory(limits: SourceLimits) -> None:
    """This process's private memory and FFmpeg's largest block, as ``limits`` say.

    The data limit (RLIMIT_DATA) counts what a process writes privately: heaps,
    thread stacks, FFmpeg's buffers; not the slots in shared memory, nor the
    libraries' code, so it stays close to what the process really holds
    (RLIMIT_AS would count every arena and stack merely reserved).
    """
    cap_ffmpeg_blocks(limits.max_block_bytes)
    if limits.worker_memory_mb:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        soft = limits.worker_memory_mb << 20
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _out_of_memory(exc: BaseException, limits: SourceLimits) -> None:
    """End the process with EXIT_OUT_OF_MEMORY: it cannot carry on (pool.py says so)."""
    log.error("out of memory (limit %d MB): %s; exiting", limits.worker_memory_mb, exc)
    logging.shutdown()
    sys.stderr.flush()
    os._exit(EXIT_OUT_OF_MEMORY)


def worker_main(spec: WorkerSpec, commands: Connection | None = None) -> None:
    """Process entry point: decode ``spec.jobs`` until the pool asks to stop or dies."""
    try:
        _work(spec, commands)
    except MemoryError as exc:
        _out_of_memory(exc, spec.limits)
    except RuntimeError as exc:
        if "can't start new thread" not in str(exc):
            raise
        _out_of_memory(exc, spec.limits)  # its stack is data: at the limit, it fails


def _work(spec: WorkerSpec, commands: Connection | None) -> None:
    # Ctrl-C reaches the whole process group; stopping is the render process's call.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if spec.niceness:  # a worker restarted after the decoders were lowered
        lower_priority(spec.niceness)
    # OpenCV halves pictures inside the camera threads (camera.halve_into): one thread
    # each, like FFmpeg's there; its own thread pool would oversubscribe the cores.
    cv2.setNumThreads(1)
    # The wall's own format (text or JSON, journal prefixes), naming this process.
    configure_logging(spec.log_setup, process=f"decoder-{spec.index}")
    bound_memory(spec.limits)
    clock = MonotonicClock()
    status = StatusBoard(Path(spec.status_path), spec.cameras_total)
    heartbeats = HeartbeatBoard(Path(spec.heartbeat_path), spec.workers_total)
    cameras = _Cameras(status, clock)
    for job in spec.jobs:
        cameras.add(job)
    parent = os.getppid()
    heartbeats.beat(spec.index, clock.now())
    while not heartbeats.stop_requested:
        for command in _read_commands(commands, HEARTBEAT_INTERVAL_S):
            cameras.apply(command)
        heartbeats.beat(spec.index, clock.now())
        cameras.reap()
        if os.getppid() != parent:
            break  # the render process is gone: do not decode for nobody
    cameras.stop_all(STOP_JOIN_S)
