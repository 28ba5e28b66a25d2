"""Latest-frame slots and camera status records in shared memory.

A decoder process writes, the render process reads, and neither ever waits
for the other: each slot holds two picture buffers and two counters (a
seqlock). The writer fills the buffer the reader is not meant to use, then
publishes it; a reader that was overtaken mid-copy notices and skips that
read. There is no queue anywhere, so a slow reader sees fewer frames, never
older ones: latency is bounded by construction.

Memory is a file in ``/dev/shm`` mapped by both processes, so nothing is
pickled or sent through a pipe.
"""

from __future__ import annotations

__all__ = [
    "CameraState",
    "CameraStatus",
    "FrameSlot",
    "FrameView",
    "HeartbeatBoard",
    "Plane",
    "SharedDir",
    "StatusBoard",
]

import mmap
import os
import shutil
import tempfile
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

from compositor.core.colour import Matrix
from compositor.core.proc import process_start

_SLOT_HEADER = np.dtype(
    [
        ("begin", "<u8"),  # number of the frame being written (seqlock start)
        ("end", "<u8"),  # number of the last frame completely written
        ("width", "<i4", (2,)),  # per buffer: picture size
        ("height", "<i4", (2,)),
        ("captured_at", "<f8", (2,)),  # per buffer: monotonic time the frame was decoded
        ("matrix", "<i4", (2,)),  # per buffer: colour matrix of the YUV (601 or 709)
        ("owner", "<u8"),  # who the slot was made for (see FrameSlot.owner); 0: not yet
    ]
)
_HEADER_BYTES = 64  # header padded so buffers start aligned
assert _SLOT_HEADER.itemsize <= _HEADER_BYTES


class SharedDir:
    """A private folder in shared memory holding one wall's slots; removed on close.

    A wall killed with SIGKILL cannot remove its folder, and shared memory is RAM:
    each folder names its owner, and a new one sweeps away those whose owner is gone.
    """

    OWNER_FILE = "owner"

    def __init__(self, prefix: str = "videowall-") -> None:
        base = "/dev/shm" if os.path.isdir("/dev/shm") else None
        self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        pid = os.getpid()
        (self.path / self.OWNER_FILE).write_text(f"{pid} {process_start(pid)}\n")
        self.swept = self.sweep_orphans(self.path.parent, prefix)

    @classmethod
    def sweep_orphans(cls, base: Path, prefix: str) -> list[Path]:
        """Remove the folders under ``base`` whose owning process has exited."""
        swept = []
        for folder in base.glob(f"{prefix}*"):
            try:
                pid_text, start = (folder / cls.OWNER_FILE).read_text().split()
                pid = int(pid_text)
            except (OSError, ValueError):
                continue  # not ours, or being created right now
            if process_start(pid) != start:
                shutil.rmtree(folder, ignore_errors=True)
                swept.append(folder)
        return swept

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _map_file(path: Path, size: int, create: bool) -> mmap.mmap:
    flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
    fd = os.open(path, flags, 0o600)
    try:
        if create:
            os.ftruncate(fd, size)
        return mmap.mmap(fd, size)
    finally:
        os.close(fd)  # the mapping keeps the memory; the descriptor is not needed


Plane = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class FrameView:
    """A published picture, viewed in place (no copy) until the writer overtakes it.

    I420 in limited range: ``y`` is ``(height, width)``, ``u`` and ``v`` are
    ``(height / 2, width / 2)``; width and height are even.
    """

    number: int
    y: Plane
    u: Plane
    v: Plane
    captured_at: float
    matrix: Matrix = Matrix.BT601  # the YUV's colour matrix

    @property
    def width(self) -> int:
        return int(self.y.shape[1])

    @property
    def height(self) -> int:
        return int(self.y.shape[0])


def _even_up(value: int) -> int:
    return value + (value & 1)


class FrameSlot:
    """The latest picture of one camera at one tile size: I420, at most ``max_w x max_h``.

    Pictures have even sizes (one chroma sample per 2x2 pixels); an odd
    maximum is rounded up, so a tile of odd size can be covered whole.
    """

    def __init__(
        self, path: Path, max_w: int, max_h: int, create: bool = False, owner: int = 0
    ) -> None:
        """Map the slot at ``path``; ``create`` makes it, tagged with ``owner`` (nonzero).

        Opening an existing slot with an ``owner`` checks the tag: slot files are
        named from a recycled set, and a decoder told of a slot late must not map
        the next slot of that name, made for another camera (ValueError).
        """
        self.path = path
        self.max_w, self.max_h = _even_up(max_w), _even_up(max_h)
        self._buffer_bytes = self.max_w * self.max_h * 3 // 2
        self._mmap = _map_file(path, _HEADER_BYTES + 2 * self._buffer_bytes, create)
        self._header = np.ndarray((), dtype=_SLOT_HEADER, buffer=self._mmap)
        if create:
            self._header["owner"] = owner
        elif owner and int(self._header["owner"]) != owner:
            del self._header  # the map closes only once no view of it is left
            self._mmap.close()
            raise ValueError(f"{path} is another slot now (owner {owner} wanted)")
        self._writing = (0, 0, 0)  # the picture begun: number, width, height
        self._buffers = [
            np.ndarray(
                (self._buffer_bytes,),
                dtype=np.uint8,
                buffer=self._mmap,
                offset=_HEADER_BYTES + i * self._buffer_bytes,
            )
            for i in (0, 1)
        ]

    def _planes(self, index: int, w: int, h: int) -> tuple[Plane, Plane, Plane]:
        """Views of buffer ``index`` as the planes of a ``w x h`` picture, one after another."""
        buffer, luma, chroma = self._buffers[index], w * h, (w // 2) * (h // 2)
        return (
            buffer[:luma].reshape(h, w),
            buffer[luma : luma + chroma].reshape(h // 2, w // 2),
            buffer[luma + chroma : luma + 2 * chroma].reshape(h // 2, w // 2),
        )

    # -- writer side (one decoder thread) --

    def write(
        self, y: Plane, u: Plane, v: Plane, captured_at: float, matrix: Matrix = Matrix.BT601
    ) -> None:
        """Publish an I420 picture: ``y`` (h, w), ``u`` and ``v`` (h/2, w/2); h, w even.

        The planes may be strided views (a decoded frame's, with padding): they
        are copied once, straight into the slot's buffer.
        """
        h, w = y.shape
        if u.shape != (h // 2, w // 2) or v.shape != u.shape:
            raise ValueError(f"not I420 planes of even size: {y.shape}, {u.shape}, {v.shape}")
        for target, plane in zip(self.begin_write(w, h), (y, u, v), strict=True):
            np.copyto(target, plane)
        self.end_write(captured_at, matrix)

    def begin_write(self, w: int, h: int) -> tuple[Plane, Plane, Plane]:
        """The planes of the next picture, ``w x h``, to be filled in place; then :meth:`end_write`.

        For a writer that makes the picture straight into the slot (a scaler
        with a destination) instead of copying it in. Readers of the buffer
        handed out learn they were overtaken.
        """
        if w % 2 or h % 2:
            raise ValueError(f"not an even picture size: {w}x{h}")
        if w > self.max_w or h > self.max_h:
            raise ValueError(f"picture {w}x{h} exceeds slot {self.max_w}x{self.max_h}")
        number = int(self._header["end"]) + 1
        index = number % 2
        self._header["begin"] = number  # readers of this buffer will see they were overtaken
        self._writing = (number, w, h)
        return self._planes(index, w, h)

    def end_write(self, captured_at: float, matrix: Matrix = Matrix.BT601) -> None:
        """Publish the picture begun by :meth:`begin_write`."""
        number, w, h = self._writing
        index = number % 2
        self._header["width"][index] = w
        self._header["height"][index] = h
        self._header["captured_at"][index] = captured_at
        self._header["matrix"][index] = int(matrix)
        self._header["end"] = number

    # -- reader side (render loop) --

    @property
    def number(self) -> int:
        """Number of the last complete frame; 0 before the first."""
        return int(self._header["end"])

    def view(self) -> FrameView | None:
        """The newest complete frame, viewed in place; None before the first frame."""
        number = int(self._header["end"])
        if number == 0:
            return None
        index = number % 2
        w = int(self._header["width"][index])
        h = int(self._header["height"][index])
        try:
            matrix = Matrix(int(self._header["matrix"][index]))
        except ValueError:  # a torn read of the header: intact() will say so
            matrix = Matrix.BT601
        y, u, v = self._planes(index, w, h)
        return FrameView(number, y, u, v, float(self._header["captured_at"][index]), matrix)

    def intact(self, view: FrameView) -> bool:
        """True if ``view`` was not overwritten while it was being read.

        Call after copying the pixels out: frame n's buffer is reused for
        frame n + 2, whose write begins by raising ``begin`` to n + 2.
        """
        return int(self._header["begin"]) < view.number + 2

    @property
    def owner(self) -> int:
        return int(self._header["owner"])

    def close(self) -> None:
        # Views into the map must be dropped before it can close.
        del self._header, self._buffers
        self._mmap.close()


class CameraState(IntEnum):
    """What a camera is doing, as the decoder sees it."""

    STARTING = 0  # not yet tried
    CONNECTING = 1  # opening the stream
    LIVE = 2  # frames are arriving
    RETRYING = 3  # failed; waiting before the next attempt (``reason`` says why)
    STOPPED = 4


_STATUS_RECORD = np.dtype(
    [
        ("begin", "<u8"),
        ("end", "<u8"),
        ("state", "<i4"),
        ("attempts", "<i4"),  # connection attempts since the last success
        ("since", "<f8"),  # monotonic time the state began
        ("last_frame_at", "<f8"),  # monotonic time of the last decoded frame, 0 if none
        ("interval", "<f8"),  # smoothed time between frames, seconds (0 until known)
        ("frames", "<u8"),  # frames decoded since start
        ("src_width", "<i4"),
        ("src_height", "<i4"),
        ("skipping", "<i4"),  # 1: B-frames skipped, the host being behind (budget.py)
        ("lag", "<f8"),  # how far behind its stream the decoder is, seconds
        ("reason", "S160"),  # short human reason for RETRYING, UTF-8
        # What decodes the connection: "cpu", "cuda", "cpu (cuda unavailable: ...)", UTF-8.
        ("decoder", "S96"),
        # Records are recycled: ``ticket`` names the camera the record was last handed to
        # (written by the pool), ``released`` the one whose decoder has stopped writing
        # it for good (written by that decoder, last). Equal: the record is free.
        ("ticket", "<u8"),
        ("released", "<u8"),
    ],
    align=True,  # each field on its own alignment, records a multiple of 8 bytes apart
)


def _utf8(text: str, size: int) -> bytes:
    """``text`` in at most ``size`` bytes of UTF-8, never a character cut in two."""
    return text.encode("utf-8", "replace")[:size].decode("utf-8", "ignore").encode("utf-8")


@dataclass(frozen=True, slots=True)
class CameraStatus:
    state: CameraState
    since: float
    last_frame_at: float
    frames: int
    interval: float
    attempts: int
    source_size: tuple[int, int]
    reason: str
    skipping: int = 0  # 1: the host is behind, reference frames only (budget.py's SkipLevel)
    lag: float = 0.0  # seconds between a frame's capture and its decoding, beyond the usual
    decoder: str = ""  # what decodes it (sources/hwdecode.py); "" until its first open


class StatusBoard:
    """One status record per camera, written by its decoder, read by the render loop.

    A record outlives its camera: the pool hands it to another (:meth:`claim`) only
    once the first one's decoder has said it will not write it again
    (:meth:`release`), or its process is gone.
    """

    def __init__(self, path: Path, cameras: int, create: bool = False) -> None:
        self.path = path
        self._mmap = _map_file(path, max(1, cameras) * _STATUS_RECORD.itemsize, create)
        self._records = np.ndarray((max(1, cameras),), dtype=_STATUS_RECORD, buffer=self._mmap)

    def publish(
        self,
        index: int,
        *,
        state: CameraState | None = None,
        since: float | None = None,
        reason: str | None = None,
        attempts: int | None = None,
        frame_at: float | None = None,
        source_size: tuple[int, int] | None = None,
        skipping: int | None = None,
        lag: float | None = None,
        decoder: str | None = None,
    ) -> None:
        """Update some fields of camera ``index``'s record (only its decoder calls this)."""
        record = self._records[index]
        number = int(record["end"]) + 1
        record["begin"] = number
        if state is not None:
            record["state"] = int(state)
        if since is not None:
            record["since"] = since
        if reason is not None:
            record["reason"] = reason.encode("utf-8", "replace")[:160]
        if attempts is not None:
            record["attempts"] = attempts
        if frame_at is not None:
            previous = float(record["last_frame_at"])
            gap = frame_at - previous
            # The first frame of a connection (published with its state) follows an
            # outage, not a frame interval.
            if previous and state is None and 0 < gap < 60:
                # Smoothed so a burst after a reconnect does not fool the stall rule.
                old = float(record["interval"])
                record["interval"] = gap if old == 0 else 0.9 * old + 0.1 * gap
            record["last_frame_at"] = frame_at
            record["frames"] = int(record["frames"]) + 1
        if source_size is not None:
            record["src_width"], record["src_height"] = source_size
        if skipping is not None:
            record["skipping"] = int(skipping)
        if lag is not None:
            record["lag"] = lag
        if decoder is not None:
            record["decoder"] = _utf8(decoder, 96)
        record["end"] = number

    def claim(self, index: int, ticket: int) -> None:
        """Hand record ``index`` to a new camera, ``ticket``: as new (the pool only)."""
        record = self._records[index]
        number = int(record["end"]) + 1
        fresh = np.zeros((), dtype=_STATUS_RECORD)  # STARTING, no frame, no reason
        fresh["begin"], fresh["end"], fresh["ticket"] = number, number - 1, ticket
        self._records[index] = fresh  # a free record: no decoder writes it, none reads it
        record["end"] = number

    def release(self, index: int, ticket: int) -> None:
        """The decoder of camera ``ticket`` will not write record ``index`` again."""
        self._records[index]["released"] = ticket

    def released(self, index: int, ticket: int) -> bool:
        """True once the decoder of camera ``ticket`` has released record ``index``."""
        return int(self._records[index]["released"]) == ticket

    def released_all(self, indexes: list[int], tickets: list[int]) -> list[bool]:
        """:meth:`released` for many records at once."""
        found = self._records["released"][np.asarray(indexes, dtype=np.intp)]
        return (found == np.asarray(tickets, dtype=np.uint64)).tolist()  # type: ignore[no-any-return]

    def version(self, index: int) -> int:
        """Grows with every update of camera ``index``: a decoder that is alive moves it."""
        return int(self._records[index]["end"])

    def read(self, index: int) -> CameraStatus:
        for _ in range(100):  # the writer holds a record for microseconds
            snapshot = self._records[index].copy()
            if int(self._records[index]["begin"]) == int(snapshot["end"]):
                break
        return CameraStatus(
            state=CameraState(int(snapshot["state"])),
            since=float(snapshot["since"]),
            last_frame_at=float(snapshot["last_frame_at"]),
            frames=int(snapshot["frames"]),
            interval=float(snapshot["interval"]),
            attempts=int(snapshot["attempts"]),
            source_size=(int(snapshot["src_width"]), int(snapshot["src_height"])),
            reason=bytes(snapshot["reason"]).decode("utf-8", "replace"),
            skipping=int(snapshot["skipping"]),
            lag=float(snapshot["lag"]),
            decoder=bytes(snapshot["decoder"]).decode("utf-8", "replace"),
        )

    def close(self) -> None:
        del self._records
        self._mmap.close()


class HeartbeatBoard:
    """One timestamp per decoder worker process, so a hung worker can be told from a busy
    one, and the stop flag they all poll.

    The flag is plain shared memory on purpose: a multiprocessing.Event is a
    semaphore-backed condition, and a worker killed (SIGKILL) while waiting on it
    leaves it broken, so that setting it later blocks the render process forever.
    """

    def __init__(self, path: Path, workers: int, create: bool = False) -> None:
        self.path = path
        self._workers = max(1, workers)
        self._mmap = _map_file(path, (self._workers + 1) * 8, create)
        self._beats = np.ndarray((self._workers + 1,), dtype="<f8", buffer=self._mmap)

    def request_stop(self) -> None:
        self._beats[self._workers] = 1.0

    @property
    def stop_requested(self) -> bool:
        return bool(self._beats[self._workers] != 0.0)

    def beat(self, worker: int, now: float) -> None:
        self._beats[worker] = now

    def last(self, worker: int) -> float:
        return float(self._beats[worker])

    def close(self) -> None:
        del self._beats
        self._mmap.close()
