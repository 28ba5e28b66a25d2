"""Image tiles' pictures: read within limits, decoded, fitted, off the render loop.

:func:`load_picture` reads a file once, checks the size its header declares
against :data:`~compositor.picture_header.MAX_IMAGE_PIXELS`, and decodes those
same bytes: a file replaced after the layout was validated cannot slip a
bigger picture past the limit. :class:`PictureLoader` does that, and the fitting
to the tile, on a thread of its own at a low priority, so applying a layout
never waits for a picture: the running wall shows it when it is ready.
``videowall preview`` calls :func:`load_picture` directly.
"""

from __future__ import annotations

__all__ = [
    "LOADER_NICENESS",
    "PictureJob",
    "PictureLoader",
    "fit_picture",
    "load_picture",
]

import contextlib
import logging
import os
import queue
import stat
import threading
import time
import weakref
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from compositor.geometry import Fit, plan_fit
from compositor.picture_header import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    header_of_bytes,
    pixel_problem,
)

log = logging.getLogger(__name__)

Pixels = npt.NDArray[np.uint8]
# Below the render loop and the decoders: a picture may take a second longer to show,
# a frame is never late for it.
LOADER_NICENESS = 10

_Signature = tuple[int, int, int, int]  # device, inode, size, mtime (ns)
_Key = tuple[Path, int, int, Fit]


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


def _signature(path: Path) -> _Signature | None:
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return None
    return info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns


class PictureJob:
    """One image tile's picture, fitted to its size, as far as the loader has got.

    :meth:`get` gives a version (0 until the first result, one more each time
    the picture changes) and the picture, or why there is none.
    """

    def __init__(self, path: Path, width: int, height: int, fit: Fit) -> None:
        self.path, self.width, self.height, self.fit = path, width, height, fit
        self._lock = threading.Lock()
        self._version = 0
        self._result: Pixels | str | None = None
        self._signature: _Signature | None = None

    def get(self) -> tuple[int, Pixels | str | None]:
        with self._lock:
            return self._version, self._result

    def _current(self, signature: _Signature | None) -> bool:
        """Loaded already, from the file as it is now."""
        with self._lock:
            return self._version > 0 and signature == self._signature

    def _set(self, signature: _Signature | None, result: Pixels | str) -> None:
        with self._lock:
            self._version += 1
            self._result, self._signature = result, signature


class PictureLoader:
    """Loads and fits image tiles' pictures on a background thread.

    :meth:`request` returns at once: the job of that picture at that size,
    the same one while a tile holds it (a layout applied that keeps a tile
    finds its picture ready), checked again in the background each time it
    is asked for (a file saved anew is read again; the old picture shows
    until then). The thread is a daemon, started with the first request:
    stopping the wall never waits for a picture being decoded.
    """

    def __init__(self, max_pixels: int = MAX_IMAGE_PIXELS) -> None:
        self.max_pixels = max_pixels
        self._jobs: weakref.WeakValueDictionary[_Key, PictureJob] = weakref.WeakValueDictionary()
        self._queue: queue.Queue[PictureJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def request(self, path: Path, width: int, height: int, fit: Fit) -> PictureJob:
        """The picture at ``path`` fitted to ``width x height``; never blocks."""
        key = (path, width, height, fit)
        job = self._jobs.get(key)
        if job is None:
            job = PictureJob(path, width, height, fit)
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

    def close(self) -> None:
        """Stop after the picture in hand, if any (not waited for)."""
        with self._lock:
            self._closed = True
        self._queue.put(None)

    def _run(self) -> None:
        with contextlib.suppress(OSError, AttributeError):  # lower this thread only (Linux)
            me = threading.get_native_id()
            os.setpriority(
                os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + LOADER_NICENESS)
            )
        # The last picture decoded, kept while requests follow: one decode for all the
        # sizes a layout shows it at, and no more than one full picture held.
        decoded: tuple[Path, _Signature | None, Pixels | str] | None = None
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                decoded = None
                job = self._queue.get()
            if job is None or self._closed:
                return
            try:
                decoded = self._load(job, decoded)
            except Exception as exc:  # a bug, or memory: this picture fails, the thread goes on
                log.exception("image %s could not be loaded", job.path)
                decoded = None
                job._set(_signature(job.path), f"image unreadable: {job.path.name} ({exc})")

    def _load(
        self, job: PictureJob, decoded: tuple[Path, _Signature | None, Pixels | str] | None
    ) -> tuple[Path, _Signature | None, Pixels | str] | None:
        signature = _signature(job.path)
        if job._current(signature):
            return decoded
        if decoded is None or decoded[:2] != (job.path, signature):
            started = time.monotonic()
            decoded = (job.path, signature, load_picture(job.path, self.max_pixels))
            picture = decoded[2]
            if isinstance(picture, str):
                log.warning("image tile: %s", picture)
            else:
                log.info(
                    "image %s: %dx%d, decoded in %.2f s",
                    job.path,
                    picture.shape[1],
                    picture.shape[0],
                    time.monotonic() - started,
                )
        picture = decoded[2]
        job._set(
            signature,
            picture
            if isinstance(picture, str)
            else fit_picture(picture, job.width, job.height, job.fit),
        )
        return decoded
