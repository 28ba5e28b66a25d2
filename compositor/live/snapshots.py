"""PNG snapshots of the canvases, written atomically in the background.

A reader (a monitoring script, a test, a person refreshing an image viewer)
never sees half a file: each PNG is written beside its target and renamed
over it. The render loop only copies the canvases' planes (a few memory
copies); turning them into BGR and encoding run in one background thread,
and if it is still busy when the next snapshot is due, that snapshot is
skipped rather than queued.

Camera pictures are private by default, like the state folder: each PNG is 0600
and a folder made for them 0700 (a folder that exists keeps the mode its maker
gave it). ``share=True`` (``--share-snapshots``) makes them 0644 in a new 0755
folder, for a technician's web page or another user's viewer. Files are made so
that no link planted in the folder is followed (see :mod:`compositor.core.files`).
A folder that cannot be written (full, read-only, gone) is said once in the log,
made again when it vanished, and tried again at each snapshot: the wall runs on.
"""

from __future__ import annotations

__all__ = ["SnapshotWriter", "write_png_atomic"]

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from compositor.core.files import ensure_folder, write_file

log = logging.getLogger(__name__)


class Picture(Protocol):
    """A picture as BGR (see :class:`compositor.compose.canvas.CanvasImage`)."""

    def to_bgr(self) -> npt.NDArray[np.uint8]: ...


class Freezable(Protocol):
    """Something whose picture can be copied now and converted later (an ``OutputCanvas``)."""

    def freeze(self) -> Picture: ...


def write_png_atomic(path: Path, pixels: npt.NDArray[np.uint8], mode: int = 0o600) -> None:
    """Write BGR ``pixels`` to ``path`` as PNG; the file appears whole or not at all."""
    ok, encoded = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    write_file(path.parent, path.name, encoded.tobytes(), mode, private=False)


class SnapshotWriter:
    def __init__(self, directory: Path, every: float, share: bool = False) -> None:
        if every <= 0:
            raise ValueError("--every must be a positive number of seconds")
        self.directory = directory
        self.every = every
        self.share = share
        self.next_due = 0.0
        self.written = 0
        self.problem: str | None = None  # why the last snapshot could not be written
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None
        # Set at close: the writer stops between two files. One still encoding when the
        # process exits would be cut inside OpenCV, which aborts the process ("terminate
        # called without an active exception" in the journal at a stop under load).
        self._closing = threading.Event()

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
        mode = 0o644 if self.share else 0o600
        try:
            # Made again if it vanished (a clean-up script): snapshots are looked at
            # by someone who expects them there.
            ensure_folder(self.directory, 0o755 if self.share else 0o700, private=False)
            for output_id, picture in canvases.items():
                if self._closing.is_set():
                    return
                write_png_atomic(self.directory / f"{output_id}.png", picture.to_bgr(), mode)
        except OSError as exc:
            problem = f"cannot write in {self.directory}: {exc.strerror or exc}"
            if problem != self.problem:  # once, not at every snapshot
                log.error("snapshots: %s (the wall runs on; tried again at each)", problem)
            self.problem = problem
        else:
            self.written += 1
            if self.problem is not None:
                log.info("snapshots: written again in %s", self.directory)
            self.problem = None
        finally:
            self._busy.release()

    def wait(self, timeout: float) -> None:
        """Wait up to ``timeout`` s for the snapshots being written, all of them."""
        if self._thread is not None:
            self._thread.join(timeout)

    def request_stop(self) -> None:
        """Stop without waiting: the file being written is finished, the others of its
        round skipped (the wall asks first thing when it stops; :meth:`close` waits)."""
        self._closing.set()

    def close(self, timeout: float = 1.0) -> None:
        """Stop: the file being written is finished, the others of its round skipped."""
        self.request_stop()
        self.wait(timeout)
