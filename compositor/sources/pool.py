"""The decoder pool, seen from the render process: slots, statuses, supervision.

The pool turns the cameras a layout uses into decoder jobs, spreads them over
a few worker processes, and owns the shared memory they write into. It never
imports ``av``: decoding happens only in the workers.

A running pool follows layout changes (:meth:`DecoderPool.apply`): a camera
that stays keeps its decoder (a new tile size is one more rendition of the
running stream); a camera no longer shown is stopped, a new one started, and
one whose URL or decode setting changed restarted. Workers learn of changes
through a command pipe each; a worker that is restarted starts from its
cameras of the moment.
"""

from __future__ import annotations

__all__ = ["DecoderPool", "PoolChange", "RenditionKey"]

import contextlib
import itertools
import logging
import multiprocessing
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnProcess
from pathlib import Path

from compositor.core.clock import Clock
from compositor.core.decoding import DEFAULT_DECODE, DecodeSetting
from compositor.core.errors import SourceError
from compositor.core.geometry import Fit
from compositor.core.logs import LogSetup
from compositor.slots import (
    CameraState,
    CameraStatus,
    FrameSlot,
    HeartbeatBoard,
    SharedDir,
    StatusBoard,
)
from compositor.sources.budget import DecodePolicy
from compositor.sources.camera import NO_PICTURE_S, OPEN_TIMEOUT_S, CameraJob, RenditionSpec
from compositor.sources.limits import EXIT_OUT_OF_MEMORY, SourceLimits
from compositor.sources.streams import CameraStreams, chosen_urls
from compositor.sources.worker import (
    DECODER_NICENESS,
    AddCamera,
    LowerPriority,
    RemoveCamera,
    SetRenditions,
    WorkerCommand,
    WorkerSpec,
    worker_main,
)

log = logging.getLogger(__name__)

RenditionKey = tuple[str, int, int, Fit]  # camera id, tile width, tile height, fit
_Size = tuple[int, int, Fit]  # a rendition of one camera: tile width, height, fit
WORKER_SILENT_AFTER_S = 5.0  # a worker that has not beaten its heartbeat for this long is hung
WORKER_QUICK_DEATH_S = 10.0  # a worker that dies this soon after starting, twice in a row,
WORKER_RESTART_CAP_S = 30.0  # is started again after 1 s, 2 s, 4 s... up to this
# Until its first beat, a worker is importing FFmpeg, OpenCV and numpy: 1.5 s of CPU,
# which on a host loaded enough to be shedding frames took over 5 s (measured: a
# restarted worker was killed again before it could beat, five times in a row).
WORKER_START_GRACE_S = 20.0
# A camera's status moves at least every ~18 s: an open ends within its open timeout
# (15 s), and FFmpeg ends a session whose RTP stopped within 16-18 s (measured). Silent
# this long, its thread is stuck inside FFmpeg (a decoder loop, a resolver): only
# restarting its worker process, and so its other cameras, frees it.
CAMERA_STUCK_AFTER_S = 30.0
# A removed camera's thread ends at its next frame, or once FFmpeg gives up: an open
# within its timeout (15 s), a read within the picture timeout (camera.py).
STOPPING_WITHIN_S = max(OPEN_TIMEOUT_S, NO_PICTURE_S)
# Status records are recycled once a removed camera's thread has stopped writing (see
# _Records); the board has room for the cameras shown plus those still stopping, which
# a wall switching presets quickly may have by the hundred for a second: 256 bytes each.
STATUS_RECORDS_MIN = 1024


@dataclass(frozen=True, slots=True)
class PoolChange:
    """What :meth:`DecoderPool.apply` did, camera ids by kind of change."""

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    restarted: tuple[str, ...] = ()  # its URL or decode setting changed: a new connection
    resized: tuple[str, ...] = ()  # tile sizes changed: renditions added or dropped, live

    def describe(self) -> str:
        parts = [
            f"{what} {', '.join(ids)}"
            for what, ids in (
                ("added", self.added),
                ("removed", self.removed),
                ("restarted", self.restarted),
                ("new tile sizes for", self.resized),
            )
            if ids
        ]
        return "; ".join(parts) or "no camera changed"


class _Camera:
    """One decoded camera: its status record, stream and renditions (one slot each)."""

    def __init__(
        self,
        camera_id: str,
        index: int,
        ticket: int,
        url: str,
        policy: DecodePolicy,
        limits: SourceLimits,
        decode: DecodeSetting,
    ) -> None:
        self.camera_id = camera_id
        self.index = index
        self.ticket = ticket  # who holds the record (StatusBoard.claim)
        self.url = url
        self.policy = policy
        self.limits = limits
        self.decode = decode  # its own setting, else the wall's
        self.renditions: dict[_Size, RenditionSpec] = {}

    def opens_anew(self, url: str, decode: DecodeSetting) -> bool:
        """True if the camera must reconnect to be decoded from ``url`` with ``decode``."""
        return url != self.url or decode != self.decode

    @property
    def job(self) -> CameraJob:
        renditions = tuple(self.renditions.values())
        return CameraJob(
            self.index,
            self.camera_id,
            self.url,
            renditions,
            policy=self.policy,
            ticket=self.ticket,
            max_pixels=self.limits.max_pixels,
            decode=self.decode,
        )


def _ended(process: SpawnProcess | None) -> bool:
    """True if nothing of ``process`` runs any more (None: it was never started)."""
    if process is None:
        return True
    try:
        return process.exitcode is not None
    except ValueError:  # closed, which only an ended process can be
        return True


@dataclass(frozen=True, slots=True)
class _Leaving:
    """A removed camera whose thread may still be writing its status record."""

    camera_id: str
    index: int
    ticket: int
    worker: int
    process: SpawnProcess | None  # the worker process the thread runs in, at removal
    since: float


class _Records:
    """The status board's records: handed to cameras, taken back once nothing writes them.

    A removed camera's thread may be inside FFmpeg for seconds yet, then write its
    last state: its record is free again only once that thread has released it
    (:meth:`StatusBoard.release`, its last write) or its worker process has ended.
    """

    def __init__(self, board: StatusBoard, size: int) -> None:
        self._board = board
        self.size = size
        self._free: list[int] = []
        self._next = 0  # records from here on were never handed out
        self._tickets = itertools.count(1)  # also tags slots: one sequence of owners
        self.leaving: list[_Leaving] = []

    @property
    def in_use(self) -> int:
        """Records held: cameras decoded, and removed ones still stopping."""
        return self._next - len(self._free)

    def ticket(self) -> int:
        return next(self._tickets)

    def claim(self) -> tuple[int, int]:
        """A free record, fresh, and its ticket."""
        if self._free:
            index = self._free.pop()
        else:
            index, self._next = self._next, self._next + 1
        ticket = self.ticket()
        self._board.claim(index, ticket)
        return index, ticket

    def leave(self, leaving: _Leaving) -> None:
        if _ended(leaving.process):
            self._free.append(leaving.index)  # no thread ever ran it, or none runs now
        else:
            self.leaving.append(leaving)

    def reclaim(self) -> None:
        """Take back the records of removed cameras whose threads have let go."""
        if not self.leaving:
            return
        # One look at the board for all of them, and one at each process: a wall
        # switching presets quickly has hundreds of cameras stopping at a time.
        released = self._board.released_all(
            [leaving.index for leaving in self.leaving],
            [leaving.ticket for leaving in self.leaving],
        )
        processes = {id(leaving.process): leaving.process for leaving in self.leaving}
        ended = {key: _ended(process) for key, process in processes.items()}
        still = []
        for leaving, done in zip(self.leaving, released, strict=True):
            if done or ended[id(leaving.process)]:
                self._free.append(leaving.index)
            else:
                still.append(leaving)
        self.leaving = still


class _SlotNames:
    """Slot file names, recycled: a name is free again once its file is unlinked.

    A decoder may learn of a slot late, after the file of that name was made
    again for another camera: each slot is tagged with its owner, checked by the
    decoder when it maps it (FrameSlot's ``owner``).
    """

    def __init__(self) -> None:
        self._free: list[int] = []
        self._next = 0

    def take(self) -> int:
        if self._free:
            return self._free.pop()
        number, self._next = self._next, self._next + 1
        return number

    def give_back(self, number: int) -> None:
        self._free.append(number)


class _Worker:
    def __init__(self, spec: WorkerSpec) -> None:
        self._base = spec
        self.cameras: dict[str, _Camera] = {}
        self.process: SpawnProcess | None = None
        self.commands: Connection | None = None  # our end of its command pipe
        self.started_at = 0.0
        self.restarts = 0
        self.quick_deaths = 0  # deaths in a row, each soon after its start
        self.relaunch_at: float | None = None  # a restart put off until then
        self.missed_command = False  # it must be restarted to be sure of its cameras
        self._pending: list[WorkerCommand] = []  # said by send(), sent by flush()

    @property
    def index(self) -> int:
        return self._base.index

    @property
    def spec(self) -> WorkerSpec:
        """What a (re)started process gets: the cameras it has now."""
        jobs = tuple(camera.job for camera in self.cameras.values())
        return replace(self._base, jobs=jobs)

    @property
    def camera_list(self) -> str:
        return ", ".join(self.cameras) or "none"

    def send(self, command: WorkerCommand) -> None:
        """Tell a running process at the next :meth:`flush`; one that is not running gets
        it with its next start."""
        if self.commands is not None:
            self._pending.append(command)

    def flush(self) -> None:
        """Send what :meth:`send` gathered, as one message.

        A preset switch tells a worker of a dozen cameras: one write instead of a
        dozen (each wakes the worker; 0.3 ms apiece measured on a loaded host).
        """
        pending, self._pending = tuple(self._pending), []
        if self.commands is None or not pending:
            return
        try:
            self.commands.send(pending)
        except OSError as exc:
            # Dead (broken pipe), or alive but not reading (pipe full: our end never
            # blocks the render loop). Either way the supervisor restarts it, with the
            # cameras it has now.
            log.debug("decoder worker %d missed a command: %s", self.index, exc)
            self.missed_command = True

    def close_pipe(self) -> None:
        self._pending.clear()  # a new process starts from the cameras of the moment
        if self.commands is not None:
            self.commands.close()
            self.commands = None


class DecoderPool:
    """Decodes every camera the wall shows, one decoder per camera.

    A camera shown at several tile sizes is decoded once and scaled once per
    size; tiles of the same camera, size and fit share one slot.
    """

    def __init__(
        self,
        cameras: Mapping[str, CameraStreams],
        renditions: Iterable[RenditionKey],
        clock: Clock,
        workers: int | None = None,
        log_setup: LogSetup | None = None,
        policy: DecodePolicy | None = None,
        limits: SourceLimits | None = None,
        decode: DecodeSetting = DEFAULT_DECODE,
    ) -> None:
        self._clock = clock
        self._decode = decode  # where cameras without a setting of their own are decoded
        self._policy = policy or DecodePolicy()  # how every camera's decoder saves CPU
        self._limits = limits or SourceLimits()  # what a camera may make its decoder use
        self._niceness = 0  # the decoders' nice value once lowered; 0: the render loop's
        self._context = multiprocessing.get_context("spawn")  # no forked GL/X state
        self._log_setup = log_setup or LogSetup()  # how the decoder processes log
        self._started = False
        self._stopping = False
        self._stop_asked_at = 0.0
        self._shared = SharedDir()
        if self._shared.swept:
            log.warning(
                "freed the shared memory of %d wall(s) killed earlier: %s",
                len(self._shared.swept),
                ", ".join(str(path) for path in self._shared.swept),
            )
        keys = list(renditions)
        self._max_workers = max(1, workers or os.cpu_count() or 2)
        self._status_records = max(STATUS_RECORDS_MIN, 4 * len({key[0] for key in keys}))
        self.status_board = StatusBoard(
            self._shared.path / "status", self._status_records, create=True
        )
        self.heartbeats = HeartbeatBoard(
            self._shared.path / "heartbeat", self._max_workers, create=True
        )
        self._records = _Records(self.status_board, self._status_records)
        self._slot_names = _SlotNames()
        self._cameras: dict[str, _Camera] = {}
        self._slots: dict[RenditionKey, FrameSlot] = {}
        self._slot_numbers: dict[RenditionKey, int] = {}
        # Slots no tile uses (with their name's number); freed by release_retired().
        self._retired: list[tuple[FrameSlot, int]] = []
        self._workers: list[_Worker] = []
        self._camera_seen: dict[int, tuple[int, float]] = {}  # index -> (version, when it moved)
        self.apply(cameras, keys)

    # -- what the render loop reads --

    @property
    def camera_ids(self) -> list[str]:
        return list(self._cameras)

    def slot(self, key: RenditionKey) -> FrameSlot:
        return self._slots[key]

    def status(self, camera_id: str) -> CameraStatus:
        return self.status_board.read(self._cameras[camera_id].index)

    def url_of(self, camera_id: str) -> str:
        """The stream being decoded: the camera's url, or its url_low for small tiles."""
        return self._cameras[camera_id].url

    def decode_of(self, camera_id: str) -> DecodeSetting:
        """Where the camera is asked to be decoded: its own setting, else the wall's."""
        return self._cameras[camera_id].decode

    def index_of(self, camera_id: str) -> int:
        """The camera's status record (it keeps it until the camera is removed)."""
        return self._cameras[camera_id].index

    def cameras_stopping(self) -> int:
        """Cameras removed whose threads have not ended yet (their records still held)."""
        self._records.reclaim()
        return len(self._records.leaving)

    @property
    def records_in_use(self) -> int:
        """Status records held: by the cameras decoded and by removed ones still stopping."""
        return self._records.in_use

    @property
    def shared_path(self) -> Path:
        """The wall's folder in shared memory (slots, status board, heartbeats)."""
        return self._shared.path

    def lower_priority(self) -> bool:
        """Run every decoder below the render loop from now on; False if they already are.

        For good: an unprivileged process may lower a priority, not raise it back.
        """
        if self._niceness:
            return False
        # Relative to the render process's own (the decoders start with it); 19 at most.
        self._niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + DECODER_NICENESS)
        for worker in self._workers:
            worker.send(LowerPriority(self._niceness))
            worker.flush()
        return True

    def worker_pids(self) -> list[int]:
        return [w.process.pid for w in self._workers if w.process and w.process.pid]

    def worker_info(self) -> list[tuple[int, int | None, int]]:
        """Per decoder worker: its index, its process id (None: not running), its restarts.

        Read by the metrics from another thread: a copy of the list, plain reads.
        """
        info = []
        for worker in list(self._workers):
            process = worker.process  # once: the render loop may replace it meanwhile
            pid = process.pid if process is not None else None
            info.append((worker.index, pid, worker.restarts))
        return info

    # -- following the layout --

    def apply(
        self, cameras: Mapping[str, CameraStreams], renditions: Iterable[RenditionKey]
    ) -> PoolChange:
        """Decode exactly the cameras and tile sizes of ``renditions`` from now on.

        Cameras that stay keep their decoder; slots of sizes no longer wanted
        stay mapped until :meth:`release_retired`, so the render loop can
        switch to the new slots first.
        """
        wanted: dict[str, list[_Size]] = {}
        for camera_id, w, h, fit in renditions:
            sizes = wanted.setdefault(camera_id, [])
            if (w, h, fit) not in sizes:
                sizes.append((w, h, fit))
        # The sub-stream while every tile of a camera is small (see streams.py).
        urls = chosen_urls(cameras, ((c, w, h) for c, sizes in wanted.items() for w, h, _ in sizes))
        decodes = {camera_id: cameras[camera_id].decode or self._decode for camera_id in wanted}
        starting = [
            camera_id
            for camera_id in wanted
            if camera_id not in self._cameras
            or self._cameras[camera_id].opens_anew(urls[camera_id], decodes[camera_id])
        ]
        self._records.reclaim()
        # A restarted camera's old record stays held until its thread lets go.
        if self._records.in_use + len(starting) > self._records.size:
            raise SourceError(
                f"{len(self._records.leaving)} cameras removed moments ago are still "
                f"stopping (a camera's thread ends at its next frame, or within "
                f"{STOPPING_WITHIN_S:g} s inside FFmpeg): room for {self._records.size} "
                f"cameras; try again in a few seconds"
            )
        removed: list[str] = []
        restarted: list[str] = []
        added: list[str] = []
        resized: list[str] = []
        for camera_id, camera in list(self._cameras.items()):
            if camera_id not in wanted:
                self._remove(camera)
                removed.append(camera_id)
            elif camera.opens_anew(urls[camera_id], decodes[camera_id]):
                self._remove(camera)
                restarted.append(camera_id)
        fresh: list[_Worker] = []
        for camera_id, sizes in wanted.items():
            running = self._cameras.get(camera_id)
            if running is None:
                self._add(camera_id, urls[camera_id], decodes[camera_id], sizes, fresh)
                if camera_id not in restarted:
                    added.append(camera_id)
            elif list(running.renditions) != sizes:
                self._resize(running, sizes)
                resized.append(camera_id)
        for worker in self._workers:
            worker.flush()
        if self._started:
            for worker in fresh:
                self._launch(worker)
        return PoolChange(tuple(added), tuple(removed), tuple(restarted), tuple(resized))

    def release_retired(self) -> None:
        """Free the slots of sizes and cameras no longer shown (after the canvases moved on)."""
        for slot, number in self._retired:
            slot.close()
            # The decoder's own mapping keeps the memory until it lets go.
            with contextlib.suppress(OSError):
                slot.path.unlink()
            self._slot_names.give_back(number)
        self._retired.clear()

    def _new_slot(self, camera_id: str, size: _Size) -> RenditionSpec:
        w, h, fit = size
        number, owner = self._slot_names.take(), self._records.ticket()
        path = self._shared.path / f"slot-{number}"
        key = (camera_id, w, h, fit)
        self._slots[key] = FrameSlot(path, w, h, create=True, owner=owner)
        self._slot_numbers[key] = number
        return RenditionSpec(str(path), w, h, fit, owner)

    def _retire_slot(self, camera_id: str, size: _Size) -> None:
        key = (camera_id, *size)
        self._retired.append((self._slots.pop(key), self._slot_numbers.pop(key)))

    def _add(
        self,
        camera_id: str,
        url: str,
        decode: DecodeSetting,
        sizes: list[_Size],
        fresh: list[_Worker],
    ) -> None:
        index, ticket = self._records.claim()
        camera = _Camera(camera_id, index, ticket, url, self._policy, self._limits, decode)
        for size in sizes:
            camera.renditions[size] = self._new_slot(camera_id, size)
        worker = self._worker_for_new_camera(fresh)
        worker.cameras[camera_id] = camera
        self._cameras[camera_id] = camera
        worker.send(AddCamera(camera.job))

    def _remove(self, camera: _Camera) -> None:
        process = None
        worker_index = -1
        for worker in self._workers:
            if worker.cameras.pop(camera.camera_id, None) is not None:
                worker.send(RemoveCamera(camera.camera_id))
                process, worker_index = worker.process, worker.index
        self._records.leave(
            _Leaving(
                camera.camera_id,
                camera.index,
                camera.ticket,
                worker_index,
                process,
                self._clock.now(),
            )
        )
        for size in camera.renditions:
            self._retire_slot(camera.camera_id, size)
        self._camera_seen.pop(camera.index, None)
        del self._cameras[camera.camera_id]

    def _resize(self, camera: _Camera, sizes: list[_Size]) -> None:
        kept = {size: spec for size, spec in camera.renditions.items() if size in sizes}
        for size in camera.renditions.keys() - kept.keys():
            self._retire_slot(camera.camera_id, size)
        camera.renditions = {
            size: kept.get(size) or self._new_slot(camera.camera_id, size) for size in sizes
        }
        for worker in self._workers:
            if camera.camera_id in worker.cameras:
                worker.send(SetRenditions(camera.camera_id, tuple(camera.renditions.values())))

    def _worker_for_new_camera(self, fresh: list[_Worker]) -> _Worker:
        """A new worker while there are fewer than asked, else the least busy one."""
        if len(self._workers) < self._max_workers:
            worker = _Worker(
                WorkerSpec(
                    index=len(self._workers),
                    jobs=(),
                    status_path=str(self.status_board.path),
                    cameras_total=self._status_records,
                    heartbeat_path=str(self.heartbeats.path),
                    workers_total=self._max_workers,
                    log_setup=self._log_setup,
                    limits=self._limits,
                )
            )
            self._workers.append(worker)
            fresh.append(worker)
            return worker
        return min(self._workers, key=lambda w: len(w.cameras))

    # -- processes --

    def start(self) -> None:
        self._started = True
        for worker in self._workers:
            self._launch(worker)

    def _launch(self, worker: _Worker) -> None:
        worker.close_pipe()
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(
            target=worker_main,
            # A worker (re)started after the decoders were lowered starts lowered.
            args=(replace(worker.spec, niceness=self._niceness), receiver),
            name=f"videowall-decoder-{worker.index}",
            daemon=True,
        )
        process.start()
        # Only the worker reads: with our copy of its end closed, a dead worker's pipe
        # fails our next send at once instead of filling up and blocking.
        receiver.close()
        os.set_blocking(sender.fileno(), False)  # a worker that stops reading must not stop us
        worker.process = process
        worker.commands = sender
        worker.missed_command = False
        worker.started_at = self._clock.now()
        # A fresh process has not beaten yet; count its silence from now.
        self.heartbeats.beat(worker.index, worker.started_at)

    def supervise(self) -> None:
        """Restart any worker that died or stopped reporting. Call every second or so."""
        if self._stopping:
            return
        now = self._clock.now()
        self._records.reclaim()
        for worker in self._workers:
            if worker.relaunch_at is not None:
                if now >= worker.relaunch_at:
                    worker.relaunch_at = None
                    self._launch(worker)
                continue
            process = worker.process
            if process is None:
                continue
            last_beat = self.heartbeats.last(worker.index)
            silent_for = now - last_beat
            started = last_beat > worker.started_at  # it has beaten since it was launched
            silent = silent_for >= (WORKER_SILENT_AFTER_S if started else WORKER_START_GRACE_S)
            stuck = self._stuck_camera(worker, now)
            left = self._stuck_leaving(worker, now)
            healthy = not silent and stuck is None and left is None
            if process.is_alive() and healthy and not worker.missed_command:
                continue
            if process.is_alive():
                if stuck is not None:
                    why = f"has camera {stuck} stuck inside FFmpeg for over "
                    why += f"{CAMERA_STUCK_AFTER_S:g} s"
                elif left is not None:
                    # Its thread would hold its status record and whatever FFmpeg holds
                    # for good: only the process's end frees them.
                    why = f"has camera {left}, removed over {CAMERA_STUCK_AFTER_S:g} s ago, "
                    why += "still stuck inside FFmpeg"
                elif silent:
                    why = f"silent for {silent_for:.1f} s"
                    why += "" if started else " since it was started"
                else:
                    why = "missed a layout change (not reading its commands)"
                process.kill()
            elif process.exitcode == EXIT_OUT_OF_MEMORY:
                limit = self._limits.worker_memory_mb
                why = f"ran out of memory (its limit: {limit} MB, --worker-memory)"
            else:
                why = f"exited with code {process.exitcode}"
            process.join(timeout=1.0)
            with contextlib.suppress(ValueError):  # still a zombie: the OS reaps it later
                process.close()
            worker.restarts += 1
            # One that keeps dying as it starts (a camera that exhausts its memory at
            # once, say) is started again later and later: each start costs 1.5 s of CPU.
            quick = now - worker.started_at < WORKER_QUICK_DEATH_S
            worker.quick_deaths = worker.quick_deaths + 1 if quick else 0
            delay = 0.0
            if worker.quick_deaths >= 2:
                delay = min(WORKER_RESTART_CAP_S, 2.0 ** (worker.quick_deaths - 2))
            log.error(
                "decoder worker %d (cameras: %s) %s; restarting it%s (restart #%d)",
                worker.index,
                worker.camera_list,
                why,
                f" in {delay:g} s ({worker.quick_deaths} deaths in a row, each within "
                f"{WORKER_QUICK_DEATH_S:g} s of its start)"
                if delay
                else "",
                worker.restarts,
            )
            if delay:
                worker.process = None
                worker.close_pipe()  # what changes meanwhile, it gets at its start
                worker.relaunch_at = now + delay
            else:
                self._launch(worker)

    def _stuck_leaving(self, worker: _Worker, now: float) -> str | None:
        """A camera removed from ``worker``'s process long ago whose thread has not ended."""
        for leaving in self._records.leaving:
            if (
                leaving.worker == worker.index
                and leaving.process is worker.process
                and now - leaving.since > CAMERA_STUCK_AFTER_S
            ):
                return leaving.camera_id
        return None

    def _stuck_camera(self, worker: _Worker, now: float) -> str | None:
        """A camera of ``worker`` that is connecting or live but has not moved for too long."""
        for camera in worker.cameras.values():
            version = self.status_board.version(camera.index)
            seen = self._camera_seen.get(camera.index)
            if seen is None or seen[0] != version:
                self._camera_seen[camera.index] = (version, now)
                continue
            state = self.status_board.read(camera.index).state
            busy = state in (CameraState.CONNECTING, CameraState.LIVE)
            if busy and now - seen[1] > CAMERA_STUCK_AFTER_S:
                self._camera_seen.pop(camera.index)
                return camera.camera_id
        return None

    def request_stop(self) -> None:
        """Ask every worker to stop, without waiting (:meth:`stop` waits, then kills)."""
        if self._stopping:
            return
        self._stopping = True
        self._stop_asked_at = self._clock.now()
        self.heartbeats.request_stop()
        for worker in self._workers:
            worker.close_pipe()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop every worker within about ``timeout`` + 0.5 s of being asked (here or by
        :meth:`request_stop`) and free the shared memory."""
        self.request_stop()
        deadline = self._stop_asked_at + timeout
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
        self._slots.clear()
        self.release_retired()
        self.status_board.close()
        self.heartbeats.close()
        self._shared.close()
