"""Image tiles' pictures: read within limits, decoded, fitted, off the render loop.

:func:`load_picture` reads a file once, checks the size its header declares
against :data:`~compositor.core.picture_header.MAX_IMAGE_PIXELS`, and decodes
those same bytes: a file replaced after the layout was validated cannot slip a
bigger picture past the limit. :class:`PictureLoader` has that, and the fitting
to the tile, done in a process of its own at a low priority, so applying a
layout never waits for a picture: the running wall shows it when it is ready.
A process, not a thread: stopping the wall kills it wherever its decoder is
(a thread still inside OpenCV when the interpreter exits can abort the whole
process: seen as "terminate called without an active exception"); a decoder
that crashes or hangs on a hostile file takes the picture down, not the wall;
and a decode's peak of memory is not the wall's. ``videowall preview`` calls
:func:`load_picture` directly.
"""

from __future__ import annotations

__all__ = [
    "DECODE_WITHIN_S",
    "LOADER_NICENESS",
    "PictureJob",
    "PictureLoader",
    "TilePicture",
    "fit_picture",
    "load_picture",
    "paint_missing_image",
]

import contextlib
import logging
import multiprocessing
import multiprocessing.process
import os
import queue
import stat
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from compositor.compose.canvas import TilePlanes, tile_planes
from compositor.compose.notice import TileNotice
from compositor.compose.overlay import BannerPainter
from compositor.core.colour import Matrix
from compositor.core.geometry import Fit, TileRect, plan_fit
from compositor.core.picture_header import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    header_of_bytes,
    pixel_problem,
)
from compositor.core.proc import give_back_freed_memory

log = logging.getLogger(__name__)

Pixels = npt.NDArray[np.uint8]
# Below the render loop and the camera decoders: a picture may take a second longer to
# show, a frame is never late for it.
LOADER_NICENESS = 10
DECODE_WITHIN_S = 60.0  # a 40 Mpx picture takes 1-3 s on a busy 2-core host; this is a hang
# The decoder process ends after this long without a picture to decode: pictures come
# in a batch with a layout and its changes (a file saved anew: once), and the process
# holds 60-100 MB (PSS) while it lives; starting it again takes ~0.5 s, off the loop.
IDLE_STOP_S = 2.0

_Signature = tuple[int, int, int, int]  # device, inode, size, mtime (ns)
_Key = tuple[Path, int, int, int, int, Fit]  # path, width, height, x & 1, y & 1, fit
_Size = tuple[int, int, int, int, Fit]  # width, height, x & 1, y & 1, fit
MATRIX = Matrix.BT601  # of painted tiles: a picture's colours are RGB, no camera's matrix


def _read_bytes(path: Path) -> bytes | str:
    """The file's bytes, or why not; never blocks on a FIFO, never reads over the limit."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return f"image not found: {path.name}"
    except (OSError, ValueError) as exc:  # ValueError: a name the OS cannot take
        return f"image unreadable: {path.name} ({getattr(exc, 'strerror', None) or exc})"
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            return f"image {path.name} is not a file"
        over = f"image {path.name} is over {MAX_IMAGE_BYTES // (1024 * 1024)} MB"
        if info.st_size > MAX_IMAGE_BYTES:
            return over
        try:
            data = stream.read(info.st_size + 1)  # +1: a file that grew is seen to
        except OSError as exc:
            return f"image unreadable: {path.name} ({exc.strerror or exc})"
    return over if len(data) > MAX_IMAGE_BYTES else data


def load_picture(path: Path, max_pixels: int = MAX_IMAGE_PIXELS) -> Pixels | str:
    """The image at ``path`` as BGR (transparency over black), or why it cannot be shown."""
    data = _read_bytes(path)
    if isinstance(data, str):
        return data
    header = header_of_bytes(data)
    if header is None or header.pixels <= 0:
        return f"image unreadable: {path.name}"
    problem = pixel_problem(header, max_pixels)
    if problem is not None:
        return f"image {path.name} {problem}"
    try:
        picture = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:  # OpenCV's own limit, or a file its decoder gives up on
        picture = None
    del data
    if picture is None or picture.size == 0:
        return f"image unreadable: {path.name}"
    if picture.dtype == np.uint16:  # 16-bit PNGs: keep the top byte (shifted in place)
        picture = np.right_shift(picture, 8, out=picture).astype(np.uint8)
    elif picture.dtype != np.uint8:
        return f"image unreadable: {path.name}"
    if picture.ndim == 2:
        return np.asarray(cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR), dtype=np.uint8)
    if picture.shape[2] == 4:
        # Over black: colour * alpha / 255, in OpenCV's uint8 arithmetic (no wide copies:
        # a 40 Mpx picture with transparency is 160 MB decoded).
        alpha = cv2.cvtColor(cv2.extractChannel(picture, 3), cv2.COLOR_GRAY2BGR)
        colour = cv2.cvtColor(picture, cv2.COLOR_BGRA2BGR)
        del picture
        return np.asarray(cv2.multiply(colour, alpha, dst=colour, scale=1 / 255), np.uint8)
    return np.asarray(picture[:, :, :3])


def fit_picture(picture: Pixels, width: int, height: int, fit: Fit) -> Pixels:
    """``picture`` fitted into ``width x height`` as a camera picture would be (black bars)."""
    tile = np.zeros((height, width, 3), dtype=np.uint8)
    src_h, src_w = picture.shape[:2]
    plan = plan_fit(src_w, src_h, width, height, fit)
    shrink = plan.scaled_w <= src_w and plan.scaled_h <= src_h
    scaled = cv2.resize(
        picture,
        (plan.scaled_w, plan.scaled_h),
        interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR,
    )
    c, placed = plan.crop, plan.placed
    tile[placed.y : placed.bottom, placed.x : placed.right] = scaled[c.y : c.bottom, c.x : c.right]
    return tile


def paint_missing_image(reason: str, width: int, height: int) -> Pixels:
    """What an image tile shows without its picture: the reason, never a crash."""
    image = np.full((max(1, height), max(1, width), 3), 40, np.uint8)
    BannerPainter()(image, TileNotice((reason,), dim=False))
    return image


@dataclass(frozen=True, eq=False)
class TilePicture:
    """What an image tile shows, as canvas planes (converted off the render loop): its
    picture, or a panel saying ``reason``."""

    planes: TilePlanes
    reason: str | None = None  # None: the picture itself

    @staticmethod
    def of(picture: Pixels | str, size: _Size) -> TilePicture:
        width, height, x_odd, y_odd, fit = size
        rect = TileRect(x_odd, y_odd, width, height)  # only the parity matters
        if isinstance(picture, str):
            panel = paint_missing_image(picture, width, height)
            return TilePicture(tile_planes(panel, rect, MATRIX), picture)
        fitted = fit_picture(picture, width, height, fit)
        return TilePicture(tile_planes(fitted, rect, MATRIX))


def _signature(path: Path) -> _Signature | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


class PictureJob:
    """One image tile's picture at its size and place, as far as the loader has got.

    :meth:`get` gives a version (0 until the first result, one more each time
    the picture changes) and what to show; :attr:`loading` is the panel to
    show meanwhile, once the loader has made it.
    """

    def __init__(self, path: Path, size: _Size) -> None:
        self.path, self.size = path, size
        self.loading: TilePicture | None = None
        self._lock = threading.Lock()
        self._version = 0
        self._result: TilePicture | None = None
        self._signature: _Signature | None = None

    def get(self) -> tuple[int, TilePicture | None]:
        with self._lock:
            return self._version, self._result

    def _current(self, signature: _Signature | None) -> bool:
        """Loaded already, from the file as it is now."""
        with self._lock:
            return self._version > 0 and signature == self._signature

    def _set(self, signature: _Signature | None, result: TilePicture) -> None:
        with self._lock:
            self._version += 1
            self._result, self._signature = result, signature


CLOSE_JOIN_S = 0.5  # how long closing waits for the loader's thread to leave OpenCV


class PictureLoader:
    """Loads and fits image tiles' pictures in a decoder process of its own.

    :meth:`request` returns at once: the job of that picture at that size,
    the same one while a tile holds it (a layout applied that keeps a tile
    finds its picture ready), checked again in the background each time it
    is asked for (a file saved anew is read again; the old picture shows
    until then). A thread hands the work to the process (started with the
    first picture to decode, stopped after a while with none) and waits for
    it; :meth:`close` kills the process, whatever it is doing.
    """

    def __init__(
        self, max_pixels: int = MAX_IMAGE_PIXELS, decode_within: float = DECODE_WITHIN_S
    ) -> None:
        self.max_pixels = max_pixels
        self.decode_within = decode_within
        self._jobs: weakref.WeakValueDictionary[_Key, PictureJob] = weakref.WeakValueDictionary()
        self._queue: queue.Queue[PictureJob | None] = queue.Queue()
        self._lock = threading.Lock()  # the thread, the process and the closed flag
        self._thread: threading.Thread | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._closed = False

    def request(self, path: Path, rect: TileRect, fit: Fit) -> PictureJob:
        """The picture at ``path`` fitted to a tile at ``rect``; never blocks."""
        size = (rect.w, rect.h, rect.x & 1, rect.y & 1, fit)
        key = (path, *size)
        job = self._jobs.get(key)
        if job is None:
            job = PictureJob(path, size)
            self._jobs[key] = job
        with self._lock:
            if self._closed:
                return job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="picture-loader", daemon=True
                )
                self._thread.start()
        self._queue.put(job)
        return job

    @property
    def decoder_pid(self) -> int | None:
        """The decoder process's pid while it runs (tests, the status)."""
        with self._lock:
            return self._process.pid if self._process is not None else None

    def close(self) -> None:
        """Stop now: the decoder process is killed, a picture in hand is dropped."""
        with self._lock:
            self._closed = True
            process, self._process = self._process, None
            thread = self._thread
        self._queue.put(None)
        if process is not None:
            _end(process)
        if thread is not None:
            # Its thread paints notices with OpenCV in this process ('loading …'): one
            # left inside OpenCV while the interpreter exits aborts it (SIGABRT,
            # "terminate called without an active exception"). With the decoder killed
            # it has nothing left to wait for: it ends within milliseconds.
            thread.join(timeout=CLOSE_JOIN_S)

    # -- the loader's thread --

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=IDLE_STOP_S)
            except queue.Empty:
                self._stop_decoder()  # nothing to decode for a while: its memory back
                continue
            batch = [first]
            while True:  # what else is asked for now: one decode of a file for all its sizes
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if None in batch or self._closed:
                return
            try:
                self._load([job for job in batch if job is not None])
            except Exception:  # a bug: these pictures fail, the loader goes on
                log.exception("image tiles could not be loaded")

    def _load(self, batch: list[PictureJob]) -> None:
        todo: dict[tuple[Path, _Signature | None], dict[int, PictureJob]] = {}
        for job in batch:
            signature = _signature(job.path)
            if not job._current(signature):
                todo.setdefault((job.path, signature), {})[id(job)] = job
                if job.loading is None:  # made here, not on the render loop
                    job.loading = TilePicture.of(f"loading {job.path.name}", job.size)
        for (path, signature), jobs in todo.items():
            results = self._decode(path, list(jobs.values()))
            if self._closed:
                return
            for job, result in zip(jobs.values(), results, strict=True):
                job._set(signature, result)

    def _decode(self, path: Path, jobs: list[PictureJob]) -> list[TilePicture]:
        """What the tiles of ``jobs`` (all of ``path``) show, from the decoder process."""

        def failed(why: str) -> list[TilePicture]:
            return [TilePicture.of(why, job.size) for job in jobs]

        conn = self._decoder()
        if conn is None:
            return failed("the wall is stopping")
        started = time.monotonic()
        try:
            conn.send((path, [job.size for job in jobs], self.max_pixels))
            if not conn.poll(self.decode_within):
                self._stop_decoder()
                why = f"image {path.name} took over {self.decode_within:g} s to decode"
                log.warning("image tile: %s: its decoder was stopped", why)
                return failed(why)
            results: list[TilePicture] = conn.recv()
            if not isinstance(results, list) or len(results) != len(jobs):
                raise EOFError("not an answer")  # never, from our decoder: restart it
        except (EOFError, OSError):  # killed (the wall stops) or crashed on this file
            self._stop_decoder()
            if self._closed:
                return failed("the wall is stopping")
            why = f"image unreadable: {path.name} (its decoder stopped)"
            log.warning("image tile: %s", why)
            return failed(why)
        reason = results[0].reason if results else None
        if reason is not None:
            log.warning("image tile: %s", reason)
        else:
            log.info("image %s: decoded and fitted in %.2f s", path, time.monotonic() - started)
        return results

    def _decoder(self) -> Connection | None:
        """The connection to the decoder process, started if need be; None when closed."""
        with self._lock:
            if self._closed:
                return None
            if self._process is not None and self._process.is_alive() and self._conn:
                return self._conn
            context = multiprocessing.get_context("spawn")  # no fork of a threaded process
            ours, theirs = context.Pipe()
            process = context.Process(
                target=_decoder_main,
                args=(theirs, LOADER_NICENESS),
                name="videowall-pictures",
                daemon=True,
            )
            process.start()
            theirs.close()
            self._process, self._conn = process, ours
            return ours

    def _stop_decoder(self) -> None:
        with self._lock:
            process, self._process = self._process, None
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        if process is not None:
            _end(process)


def _end(process: multiprocessing.process.BaseProcess) -> None:
    """Kill the decoder process and reap it (at once: SIGKILL needs no cooperation)."""
    with contextlib.suppress(OSError, ValueError):
        process.kill()
        process.join(timeout=1.0)


def _decoder_main(conn: Connection, niceness: int) -> None:
    """The decoder process: ``(path, sizes, max_pixels)`` in, one :class:`TilePicture`
    per size out, until the wall closes its end (or dies: the pipe ends either way)."""
    with contextlib.suppress(OSError):
        os.nice(niceness)  # below the render loop and the camera decoders
    give_back_freed_memory()  # a decoded picture's peak is not kept for the next one
    while True:
        try:
            path, sizes, max_pixels = conn.recv()
        except (EOFError, OSError):
            return
        try:
            picture = load_picture(path, max_pixels)
            results = [TilePicture.of(picture, size) for size in sizes]
            del picture
        except Exception as exc:  # memory, or a bug: this picture fails, not the process
            why = f"image unreadable: {path.name} ({exc})"
            results = [TilePicture.of(why, size) for size in sizes]
        try:
            conn.send(results)
        except (EOFError, OSError):
            return
