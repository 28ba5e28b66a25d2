"""PNG snapshots of the canvases, written atomically in the background.

A reader (a monitoring script, a test, a person refreshing an image viewer)
never sees half a file: each PNG is written beside its target and renamed
over it. The render loop only copies the canvases' planes (a few memory
copies); turning them into BGR and encoding run in one background thread,
and if it is still busy when the next snapshot is due, that snapshot is
skipped rather than queued.
"""

from __future__ import annotations

__all__ = ["SnapshotWriter", "write_png_atomic"]

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)


class Picture(Protocol):
    """A picture as BGR (see :class:`compositor.compose.canvas.CanvasImage`)."""

    def to_bgr(self) -> npt.NDArray[np.uint8]: ...


class Freezable(Protocol):
    """Something whose picture can be copied now and converted later (an ``OutputCanvas``)."""

    def freeze(self) -> Picture: ...


def write_png_atomic(path: Path, pixels: npt.NDArray[np.uint8]) -> None:
    """Write BGR ``pixels`` to ``path`` as PNG; the file appears whole or not at all."""
    ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(encoded.tobytes())
    os.replace(tmp, path)


class SnapshotWriter:
    def __init__(self, directory: Path, every: float) -> None:
        if every <= 0:
            raise ValueError("--every must be a positive number of seconds")
        self.directory = directory
        self.every = every
        self.next_due = 0.0
        self.written = 0
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def maybe_write(self, now: float, canvases: Mapping[str, Freezable]) -> None:
        if now < self.next_due:
            return
        if not self._busy.acquire(blocking=False):
            return  # the last one is still encoding: skip, never queue
        self.next_due = now + self.every
        copies = {output_id: canvas.freeze() for output_id, canvas in canvases.items()}
        self._thread = threading.Thread(
            target=self._write_all, args=(copies,), name="snapshots", daemon=True
        )
        self._thread.start()

    def _write_all(self, canvases: Mapping[str, Picture]) -> None:
        try:
            for output_id, picture in canvases.items():
                write_png_atomic(self.directory / f"{output_id}.png", picture.to_bgr())
            self.written += 1
        except OSError as exc:
            log.error("cannot write snapshot in %s: %s", self.directory, exc)
        finally:
            self._busy.release()

    def close(self, timeout: float = 1.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
