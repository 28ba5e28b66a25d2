"""One camera: open its RTSP stream with PyAV, decode, scale to each tile size, publish.

Runs as a thread inside a decoder worker process (see :mod:`worker`). This
module and :mod:`worker` are the only ones that import ``av``.
"""

from __future__ import annotations

__all__ = [
    "METADATA_ERRORS",
    "NO_VIDEO_OR_REFUSED",
    "NO_PICTURE_S",
    "OPEN_TIMEOUT_S",
    "OUT_OF_MEMORY",
    "CameraJob",
    "Rendition",
    "RenditionSet",
    "RenditionSpec",
    "colour_matrix",
    "HalvingScratch",
    "describe_error",
    "exact_halvings",
    "halve_into",
    "rescale_into",
    "rescales_whole",
    "scale_straight_into",
    "describe_look_error",
    "open_for_a_look",
    "picture_too_large",
    "plan_scaling",
    "run_camera",
    "scaled_frame",
]

import ctypes
import logging
import resource
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import cv2
import numpy as np
import numpy.typing as npt
from av.video.reformatter import ColorRange, Interpolation, VideoReformatter

from compositor.core.clock import Clock
from compositor.core.colour import Matrix
from compositor.core.decoding import DEFAULT_DECODE, DecodeSetting
from compositor.core.geometry import Fit, TileRect, plan_fit
from compositor.core.redact import redact_secrets
from compositor.slots import CameraState, FrameSlot, Plane, StatusBoard
from compositor.sources.backoff import Backoff
from compositor.sources.budget import (
    DecodeBudget,
    DecodePolicy,
    FrameInterval,
    SkipLevel,
    SkipTier,
    deblocking_skip,
    skip_tier,
)
from compositor.sources.hwdecode import CameraDecoding, HardwareProbe
from compositor.sources.limits import (
    DEFAULT_MAX_PIXELS,
    SourceLimits,
    describe_pixels,
)
from compositor.sources.timing import CaptureClock

log = logging.getLogger(__name__)

DEFAULT_POLICY = DecodePolicy()


# Why each option: TCP survives packet loss without smearing; `timeout` (µs)
# bounds every socket read, without it a frozen camera blocks a read forever;
# nobuffer/low_delay keep FFmpeg from holding frames back; a short probe keeps
# the open fast; the whitelist stops a URL from reaching other protocols
# (files, pipes) through FFmpeg.
def stream_options(timeout_s: float, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, str]:
    return {
        "rtsp_transport": "tcp",
        "timeout": str(int(timeout_s * 1_000_000)),
        "fflags": "nobuffer",
        "flags": "low_delay",
        # 0.25 s of probing opens in ~0.3 s instead of ~1.2 s; RTSP's SDP already
        # carries the codec parameters, so nothing is lost (measured, PyAV 18).
        "analyzeduration": "250000",
        "probesize": "262144",
        "protocol_whitelist": "rtsp,rtsps,tcp,tls,udp,rtp",
        # Read by the decoders FFmpeg opens to probe the stream, too: a picture over
        # the limit is never decoded, not even once (8192x8192: 380 MB while probing).
        "max_pixels": str(max_pixels),
        # Only video tracks are set up: a camera with fifty audio tracks beside its
        # video (seen in the field) cost 14x the CPU of its video alone, and audio
        # packets kept every read busy however long the picture was gone.
        "allowed_media_types": "video",
    }


# A camera's metadata (the SDP's session name, titles) is irrelevant to its picture, and
# cameras send it in whatever encoding their firmware uses: PyAV's default ("strict")
# refuses a whole stream over one Latin-1 byte in its name (UnicodeDecodeError), while
# FFmpeg itself plays it. Undecodable bytes become U+FFFD instead.
METADATA_ERRORS = "replace"
# A camera that decodes no picture for this long is reconnected by its own thread, long
# before the pool's last resort (CAMERA_STUCK_AFTER_S, 30 s: its whole worker restarted).
# Longer than FFmpeg's own ~10.2 s for a silent socket, so a frozen camera is still
# called a timeout; well under the 16-18 s it takes when RTP stops but RTSP stays up.
NO_PICTURE_S = 12.0
OPEN_TIMEOUT_S = 15.0  # see CameraJob.open_timeout_s


@dataclass(frozen=True, slots=True)
class RenditionSpec:
    """One tile size a camera is shown at; several tiles of that size share it."""

    slot_path: str
    box_w: int
    box_h: int
    fit: Fit
    owner: int = 0  # the slot's tag (FrameSlot.owner): its name may be another slot's later


@dataclass(frozen=True, slots=True)
class CameraJob:
    """Everything a worker needs to run one camera; picklable."""

    index: int  # this camera's record in the status board
    camera_id: str
    url: str
    renditions: tuple[RenditionSpec, ...]
    timeout_s: float = 5.0  # socket timeout: no byte for this long ends a read
    # Opening (RTSP handshake and probing) may take at most this long. The socket
    # timeout does not bound it: a camera that answers one byte a second keeps
    # av.open busy forever (measured). A 1 fps camera takes ~4 s to open.
    open_timeout_s: float = OPEN_TIMEOUT_S
    # No picture for this long and the camera is reconnected (see _decode); None: never.
    picture_timeout_s: float | None = NO_PICTURE_S
    decoder_threads: int = 1
    # Frames skipped when the host falls behind, deblocking on small tiles (budget.py).
    policy: DecodePolicy = DEFAULT_POLICY
    # Who holds the status record: released by this camera's thread when it ends, so
    # the pool can hand the record to another camera (StatusBoard.release).
    ticket: int = 0
    max_pixels: int = DEFAULT_MAX_PIXELS  # larger pictures are refused (limits.py)
    decode: DecodeSetting = DEFAULT_DECODE  # cpu, cuda, or auto (hwdecode.py)


# AVColorSpace values (FFmpeg's pixfmt.h) of the matrices a camera may signal.
_AVCOL_SPC_BT709, _AVCOL_SPC_SMPTE240M = 1, 7
_AVCOL_SPC_BT470BG, _AVCOL_SPC_SMPTE170M, _AVCOL_SPC_FCC = 5, 6, 4
_AVCOL_SPC_BT2020 = (9, 10)
_SD_MAX_HEIGHT = 576  # an unsignalled picture this tall or less is SD video: BT.601


def colour_matrix(colorspace: int, height: int) -> Matrix:
    """The matrix a decoded frame's YUV was made with, from what the stream signals.

    Unsignalled (most cameras): BT.601 for SD heights, BT.709 above, as
    players do. SMPTE 240M and BT.2020 are drawn with BT.709, the nearest
    of the two the display knows.
    """
    if colorspace in (_AVCOL_SPC_BT470BG, _AVCOL_SPC_SMPTE170M, _AVCOL_SPC_FCC):
        return Matrix.BT601
    if colorspace in (_AVCOL_SPC_BT709, _AVCOL_SPC_SMPTE240M, *_AVCOL_SPC_BT2020):
        return Matrix.BT709
    return Matrix.BT601 if height <= _SD_MAX_HEIGHT else Matrix.BT709


def _even(value: int) -> int:
    """Odd sizes round up: a picture one pixel larger than its box is cut by the canvas."""
    return value + (value & 1)


@dataclass(frozen=True, slots=True)
class _Scaling:
    """What to do with frames of one size: scale (or not) and keep a region, all even."""

    width: int  # the scaled picture (the frame's own size: no swscale at all)
    height: int
    crop: TileRect  # the part kept, even offsets and sizes
    interpolation: Interpolation


def plan_scaling(
    src_w: int, src_h: int, box_w: int, box_h: int, fit: Fit, sar: Fraction
) -> _Scaling:
    """The fit plan made even for I420: each chroma sample covers 2x2 whole pixels."""
    plan = plan_fit(src_w, src_h, box_w, box_h, fit, sar)
    width, height = _even(plan.scaled_w), _even(plan.scaled_h)
    if plan.crop.w == plan.scaled_w and plan.crop.h == plan.scaled_h:
        crop = TileRect(0, 0, width, height)
    else:  # crop fit: the box's middle, the box rounded up, offsets down to even
        crop_w, crop_h = min(width, _even(box_w)), min(height, _even(box_h))
        crop = TileRect((width - crop_w) // 2 & ~1, (height - crop_h) // 2 & ~1, crop_w, crop_h)
    # swscale's AREA averages every source pixel of a downscale: no aliasing, and it
    # is the cheapest filter that does so here (1080p -> 480x270 in I420: AREA 0.62 ms,
    # 45 dB against Lanczos; BILINEAR 0.93 ms, 42 dB; FAST_BILINEAR 0.35 ms but 28 dB,
    # visibly grainy on moving texture: benchmarks/README.md). Upscaling, swscale's
    # area filter is bilinear; BILINEAR says so.
    downscale = width <= src_w and height <= src_h
    interpolation = Interpolation.AREA if downscale else Interpolation.BILINEAR
    return _Scaling(width, height, crop, interpolation)


_FULL = int(ColorRange.JPEG)


def scaled_frame(
    frame: av.VideoFrame, scaling: _Scaling, reformatter: VideoReformatter
) -> av.VideoFrame:
    """``frame`` at the planned size in limited-range I420: itself if it is already."""
    same_size = (scaling.width, scaling.height) == (frame.width, frame.height)
    if same_size and frame.format.name == "yuv420p" and frame.color_range != _FULL:
        return frame
    return reformatter.reformat(
        frame,
        width=scaling.width,
        height=scaling.height,
        format="yuv420p",
        interpolation=scaling.interpolation,
        dst_color_range=ColorRange.MPEG,  # full-range (JPEG) pictures to limited
        threads=1,  # the pool runs a thread per camera already: no oversubscription
    )


def _plane(frame: av.VideoFrame, index: int, rows: int) -> npt.NDArray[np.uint8]:
    """A decoded plane as an array over PyAV's buffer (no copy), padding included."""
    plane = frame.planes[index]
    return np.frombuffer(memoryview(plane), np.uint8).reshape(rows, plane.line_size)


def _chroma(crop: TileRect) -> TileRect:
    """The chroma samples of an even ``crop`` of an I420 picture (one per 2x2 pixels)."""
    return TileRect(crop.x // 2, crop.y // 2, crop.w // 2, crop.h // 2)


MAX_HALVINGS = 3  # 2160p to 480x270


def exact_halvings(frame: av.VideoFrame, scaling: _Scaling) -> int:
    """How many times in a row the planned picture is ``frame`` at exactly half size,
    chroma included: 1 for a half, 2 for a quarter...; 0 if it is not.

    The commonest downscales on a wall: 1080p cameras on 960x540 quarters and
    on 480x270 tiles of 4x4 grids, 720p on 640x360. OpenCV's 2x2 box average
    writes them straight into the slot, the same picture as swscale's AREA
    (both average each 2x2 block: within 1 of each other, 58.4 dB against an
    exact float average either way; a quarter is two halvings, 44.6-45.0 dB
    against Lanczos on the clips where AREA makes 44.8-45.3), in less time
    than swscale and the copy. Per frame fresh from the decoder (the clips,
    one thread, 4 runs of 100 frames, ``Rendition.publish``): a half of 1080p
    0.73-0.98 against 1.29-1.73 ms, a quarter of 1080p 0.78-0.94 against
    0.83-1.04 ms (reading the frame is most of it), a quarter of 720p
    0.33-0.40 against 0.42-0.69 ms.
    """
    for steps in range(1, MAX_HALVINGS + 1):
        scale = 1 << steps
        if scale * scaling.width == frame.width and scale * scaling.height == frame.height:
            return (
                steps
                if frame.width % (2 * scale) == 0  # so the chroma planes halve exactly too
                and frame.height % (2 * scale) == 0
                and frame.format.name == "yuv420p"
                and frame.color_range != _FULL
                else 0
            )
    return 0


class HalvingScratch:
    """The in-between planes of a rendition's halvings, one per size: allocated once for
    the stream, not per frame; dropped when the camera's frame size changes."""

    def __init__(self) -> None:
        self._planes: dict[tuple[int, int], Plane] = {}

    def plane(self, height: int, width: int) -> Plane:
        found = self._planes.get((height, width))
        if found is None:
            found = self._planes[(height, width)] = np.empty((height, width), np.uint8)
        return found

    def clear(self) -> None:
        self._planes.clear()


def halve_into(
    frame: av.VideoFrame,
    crop: TileRect,
    steps: int,
    y: Plane,
    u: Plane,
    v: Plane,
    scratch: HalvingScratch,
) -> None:
    """The ``crop`` part of ``frame`` halved ``steps`` times (2x2 box averages) into
    ``y``, ``u``, ``v``; the last halving writes straight into them.

    ``crop`` is in the halved picture, with even offsets and sizes (a plan's crop).
    """
    n = 1 << steps
    k = _chroma(crop)
    for index, target, part in ((0, y, crop), (1, u, k), (2, v, k)):
        rows = frame.height if index == 0 else frame.height // 2
        source = _plane(frame, index, rows)[
            n * part.y : n * part.bottom, n * part.x : n * part.right
        ]
        for _ in range(steps - 1):
            h, w = source.shape[0] // 2, source.shape[1] // 2
            halved = scratch.plane(h, w)
            cv2.resize(source, (w, h), dst=halved, interpolation=cv2.INTER_AREA)
            source = halved
        cv2.resize(source, (part.w, part.h), dst=target, interpolation=cv2.INTER_AREA)


def rescales_whole(frame: av.VideoFrame, scaling: _Scaling) -> bool:
    """True if the planned picture is all of ``frame`` (no crop) made larger, or smaller
    by up to 1.5x, in I420: what OpenCV's bilinear filter scales straight into the slot.

    swscale makes its picture in a frame of its own that is then copied; for a
    picture larger than the camera's frames (a sub-stream on a large tile, a
    1080p camera spanning 2x2 screens at 3844x2164) the copy costs as much as
    the scaling. Down to 2/3 of the size bilinear is as good as swscale's
    area filter (against Lanczos on the bench's clips: 1080p to 720p 46.4-46.8
    dB against 47.2-47.3, 720p and 576p to 960x540 within 0.3 dB either way);
    smaller than that it would alias, and swscale's AREA keeps those.
    """
    return (
        (scaling.width, scaling.height) != (frame.width, frame.height)  # same size: a copy
        and (scaling.crop.w, scaling.crop.h) == (scaling.width, scaling.height)
        and 3 * scaling.width >= 2 * frame.width
        and 3 * scaling.height >= 2 * frame.height
        and frame.width % 2 == 0  # whole chroma samples on both sides
        and frame.height % 2 == 0
        and frame.format.name == "yuv420p"
        and frame.color_range != _FULL
    )


def rescale_into(frame: av.VideoFrame, y: Plane, u: Plane, v: Plane) -> None:
    """All of ``frame`` scaled (bilinear, pixel centres aligned) into ``y``, ``u``, ``v``."""
    for index, target in ((0, y), (1, u), (2, v)):
        rows = frame.height if index == 0 else frame.height // 2
        cols = frame.width if index == 0 else frame.width // 2
        source = _plane(frame, index, rows)[:, :cols]
        height, width = target.shape
        cv2.resize(source, (width, height), dst=target, interpolation=cv2.INTER_LINEAR)


def scale_straight_into(
    frame: av.VideoFrame,
    scaling: _Scaling,
    begin_write: Callable[[int, int], tuple[Plane, Plane, Plane]],
    scratch: HalvingScratch,
) -> bool:
    """The planned picture made by OpenCV straight into the planes ``begin_write(w, h)``
    hands out (a slot's), where OpenCV makes it as well as swscale: exact halvings (a
    crop too), or all of the frame made larger or up to 1.5x smaller. False: nothing
    was written; swscale's turn."""
    c = scaling.crop
    halvings = exact_halvings(frame, scaling)
    if halvings:
        halve_into(frame, c, halvings, *begin_write(c.w, c.h), scratch)
        return True
    if rescales_whole(frame, scaling):
        rescale_into(frame, *begin_write(c.w, c.h))
        return True
    return False


class Rendition:
    """Brings decoded frames to one tile size in I420 (inside FFmpeg) and publishes them.

    No RGB anywhere: swscale scales YUV to YUV (the matrix is kept and recorded
    with the frame; full-range MJPEG is brought to limited range), and a frame
    that already has the slot's size and format is not touched by swscale at
    all. Either way the planes are copied once, straight into the slot. A
    frame halved exactly (once or more), made larger or a little smaller is
    made by OpenCV straight into the slot instead (:func:`scale_straight_into`).
    """

    def __init__(self, spec: RenditionSpec) -> None:
        self.spec = spec
        self.slot = FrameSlot(Path(spec.slot_path), spec.box_w, spec.box_h, owner=spec.owner)
        self._key: tuple[int, int, Fraction] | None = None
        self._scaling: _Scaling | None = None
        # One scaler kept for the stream: frame.reformat() would set up a new swscale
        # context for every frame (~0.07 ms each, measured).
        self._reformatter = VideoReformatter()
        self._scratch = HalvingScratch()

    def publish(self, frame: av.VideoFrame, sar: Fraction, captured_at: float) -> None:
        key = (frame.width, frame.height, sar)
        scaling = self._scaling
        if key != self._key or scaling is None:
            # Sizes are read from every frame: a camera may change resolution mid-stream.
            spec = self.spec
            scaling = plan_scaling(frame.width, frame.height, spec.box_w, spec.box_h, spec.fit, sar)
            self._scaling, self._key = scaling, key
            self._scratch.clear()
        matrix = colour_matrix(frame.colorspace, frame.height)
        if scale_straight_into(frame, scaling, self.slot.begin_write, self._scratch):
            self.slot.end_write(captured_at, matrix)
            return
        c = scaling.crop
        frame = scaled_frame(frame, scaling, self._reformatter)
        y = _plane(frame, 0, scaling.height)[c.y : c.bottom, c.x : c.right]
        k = _chroma(c)
        u = _plane(frame, 1, scaling.height // 2)[k.y : k.bottom, k.x : k.right]
        v = _plane(frame, 2, scaling.height // 2)[k.y : k.bottom, k.x : k.right]
        self.slot.write(y, u, v, captured_at, matrix)

    def close(self) -> None:
        self.slot.close()


def describe_error(exc: BaseException) -> str:
    """A short reason a technician understands, for the tile and the log."""
    table: Sequence[tuple[type[BaseException], str]] = (
        (av.error.ConnectionRefusedError, "connection refused"),
        (av.error.HTTPUnauthorizedError, "unauthorised (401): check the credentials"),
        (av.error.HTTPForbiddenError, "forbidden (403)"),
        (av.error.HTTPNotFoundError, "not found (404): check the path"),
        (av.error.TimeoutError, "timeout: no data from the camera"),
        (av.error.ExitError, "timeout: no data from the camera"),
        (av.error.DecoderNotFoundError, "unsupported codec"),
        (av.error.InvalidDataError, "no valid stream (timeout, or not an RTSP camera)"),
        (av.error.ConnectionResetError, "connection reset by the camera"),
    )
    for kind, text in table:
        if isinstance(exc, kind):
            return text
    if isinstance(exc, MemoryError):  # av.error.MemoryError (ENOMEM) is one too
        return OUT_OF_MEMORY
    # FFmpeg's messages may quote the URL, password and all: never pass one on as is.
    if isinstance(exc, av.error.FFmpegError):
        return redact_secrets(f"stream error: {exc.strerror or type(exc).__name__}")
    if isinstance(exc, OSError):
        return redact_secrets(f"network error: {exc.strerror or exc}")
    return redact_secrets(f"{type(exc).__name__}: {exc}")


class _NoVideo(Exception):
    pass


class _OpenTimeout(Exception):
    pass


class _NoPicture(Exception):
    pass


class _TooLarge(Exception):
    pass


class _OutOfMemory(Exception):
    pass


class _Undecodable(Exception):
    pass


OUT_OF_MEMORY = "out of memory: the camera needs more than its decoder may use (--worker-memory)"


def _memory_exhausted(job: CameraJob) -> bool:
    """True if this process is at its data limit (limits.py), so what failed failed for that.

    FFmpeg reports an allocation refused at the limit as whatever its caller made of
    it: invalid data, "resource temporarily unavailable" (measured), rarely ENOMEM.
    What failed asked for at most a block, so the process is within a block of it.
    """
    limit, _ = resource.getrlimit(resource.RLIMIT_DATA)
    if limit == resource.RLIM_INFINITY:
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            data_kb = next(int(line.split()[1]) for line in status if line.startswith("VmData:"))
    except (OSError, StopIteration, ValueError):
        return False
    # Never more than an eighth of the limit: a limit set low beside a picture size set
    # high must not make every failure of every camera look like memory.
    margin = min(SourceLimits(max_pixels=job.max_pixels).max_block_bytes, limit // 8)
    return (data_kb << 10) + margin >= limit


def picture_too_large(width: int, height: int, max_pixels: int) -> str | None:
    """Why a picture of ``width`` x ``height`` is refused; None if it is not."""
    if width * height <= max_pixels:
        return None
    return (
        f"picture too large: {width}x{height} ({describe_pixels(width * height)}) is over "
        f"the wall's limit of {describe_pixels(max_pixels)} (--max-pixels)"
    )


def _too_large(job: CameraJob, width: int, height: int) -> _TooLarge | None:
    reason = picture_too_large(width, height, job.max_pixels)
    return None if reason is None else _TooLarge(reason)


def cap_ffmpeg_blocks(max_bytes: int) -> bool:
    """Refuse any single allocation over ``max_bytes`` in FFmpeg (this process); True if set.

    FFmpeg reads a camera's description (SDP) into one block of the size the
    camera announces: a gigabyte was allocated and read at every attempt. Its
    ``av_max_alloc`` caps every block (its default is 2 GiB); PyAV does not wrap
    it, so it is called in the libavutil PyAV links (looked up through PyAV's
    own module: OpenCV brings another copy of FFmpeg into the process).
    """
    try:
        module = av._core.__file__
        cap = ctypes.CDLL(module).av_max_alloc
    except (AttributeError, OSError, TypeError) as exc:  # a PyAV built another way
        log.warning("FFmpeg's allocations cannot be capped here: %s", exc)
        return False
    cap.argtypes, cap.restype = [ctypes.c_size_t], None
    cap(max_bytes)
    return True


NO_VIDEO_OR_REFUSED = "no video in the stream (audio or data only?), or the camera refused it"


def open_for_a_look(url: str, timeout_s: float) -> Any:
    """The camera at ``url`` opened as the wall opens it, for one picture (a preview, the
    doctor): every open and read within ``timeout_s``.

    FFmpeg's block cap (:func:`cap_ffmpeg_blocks`) is the decoder processes' alone:
    it holds for the whole process, and a caller may encode pictures of any size.
    """
    try:
        return av.open(
            url,
            options=stream_options(timeout_s),
            timeout=(timeout_s, timeout_s),
            metadata_errors=METADATA_ERRORS,  # a Latin-1 camera name must not cost its picture
        )
    except (av.error.HTTPBadRequestError, av.error.HTTPOtherClientError):
        # Opened for video only (stream_options), a camera with none is refused by its
        # own server: the wall looks again to say why (_why_no_video); a look need not.
        raise _NoVideo(NO_VIDEO_OR_REFUSED) from None


def describe_look_error(exc: BaseException) -> str:
    """:func:`describe_error`, and what :func:`open_for_a_look` says itself."""
    return str(exc) if isinstance(exc, _NoVideo) else describe_error(exc)


def _no_video(container: Any) -> _NoVideo:
    """Why ``container`` (opened without a media filter) has no video FFmpeg can decode."""
    # A payload FFmpeg does not know shows up as a "data" stream.
    kinds = sorted({str(s.type) for s in container.streams} - {"video"})
    if kinds and set(kinds) <= {"audio"}:
        return _NoVideo("no video: the stream carries audio only")
    carried = ", ".join(kinds) or "nothing"
    return _NoVideo(f"unsupported codec: no video FFmpeg can decode (carries {carried})")


def _why_no_video(job: CameraJob) -> _NoVideo | None:
    """The camera opened whole, once, to say why a video-only open failed; None: not that.

    Opened for video only (see stream_options), a camera with no video track at
    all is refused by its own server (PLAY with nothing set up: 455, measured).
    This second look, on that failure only, tells audio only from a codec FFmpeg
    does not know.
    """
    options = stream_options(job.timeout_s, job.max_pixels)
    del options["allowed_media_types"]
    try:
        container = av.open(
            job.url,
            options=options,
            timeout=(job.open_timeout_s, job.picture_timeout_s),
            metadata_errors=METADATA_ERRORS,
        )
    except Exception:  # it fails whole too: the first failure's reason stands
        return None
    try:
        return None if container.streams.video else _no_video(container)
    finally:
        container.close()


# An open that fails with these failed for the camera (or the network), whatever decodes
# it: never a reason to blame a hardware decoder and try the CPU (an open timeout tried
# twice would take 30 s, when the pool takes a camera silent that long for stuck).
_CAMERA_FAULTS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    MemoryError,
    av.error.ExitError,
    av.error.HTTPError,
    av.error.HTTPClientError,
    av.error.InvalidDataError,
    av.error.ProtocolNotFoundError,
)


def _open(job: CameraJob, clock: Clock, decoding: CameraDecoding) -> tuple[Any, str]:
    """The camera's stream opened, on its device if it has one, and what decodes it.

    A device that fails the open (no driver, no device: PyAV raises even with
    software fallback allowed) is the device's fault only if the CPU then opens
    the stream: it is remembered (:class:`CameraDecoding`), and the camera
    carries on on the CPU. A camera that fails either way fails as usual.
    """
    device = decoding.device()
    if device is not None:
        try:
            container = _open_stream(job, clock, decoding.hwaccel(device))
        except Exception as exc:  # PermissionError without a driver, RuntimeError, ...
            if isinstance(exc, (*_CAMERA_FAULTS, _NoVideo, _OpenTimeout, _OutOfMemory)):
                raise
            fault = exc
        else:
            video = container.streams.video
            codec = video[0].codec_context if video else None
            accelerated = codec is not None and bool(codec.is_hwaccel)
            return container, decoding.opened(device, accelerated)
        container = _open_stream(job, clock, None)  # its failure is the camera's
        decoding.failed(device, fault)
        return container, decoding.opened(None, False)
    return _open_stream(job, clock, None), decoding.opened(None, False)


def _open_stream(job: CameraJob, clock: Clock, hwaccel: Any) -> Any:
    """The camera's stream opened (decoded on ``hwaccel``'s device, None: the CPU)."""
    started = clock.now()
    try:
        # PyAV's (open, read) timeouts work through FFmpeg's interrupt callback. The
        # read one bounds each av_read_frame: the socket timeout does not, as a camera
        # that trickles a byte every 2 s never lets a read time out (and never completes
        # a frame), and nothing else can end a call blocked inside FFmpeg but its worker's
        # death. It takes the GIL on each of FFmpeg's checks (a few per network read):
        # measured, +0.5 ms of CPU a second per camera when only demuxing, and within
        # +-2 % (the noise) of CPU per decoded frame in two pools run side by side, one
        # with it and one without. Only a CPU-bound Python thread in the same process
        # would make it costly (a third fewer frames in that test): workers have none.
        return av.open(
            job.url,
            options=stream_options(job.timeout_s, job.max_pixels),
            timeout=(job.open_timeout_s, job.picture_timeout_s),
            metadata_errors=METADATA_ERRORS,
            hwaccel=hwaccel,
        )
    except (av.error.FFmpegError, MemoryError) as exc:
        if _memory_exhausted(job):  # probing a stream of huge pictures, say
            raise _OutOfMemory(OUT_OF_MEMORY) from None
        if isinstance(exc, MemoryError):
            raise
        took = clock.now() - started
        if took >= job.open_timeout_s * 0.95:
            raise _OpenTimeout(
                f"timeout: the camera did not finish answering in {job.open_timeout_s:g} s"
            ) from None
        if isinstance(exc, (av.error.HTTPBadRequestError, av.error.HTTPOtherClientError)):
            no_video = _why_no_video(job)
            if no_video is not None:
                raise no_video from None
        if isinstance(exc, av.error.InvalidDataError) and took >= job.timeout_s * 0.95:
            # FFmpeg reports a request left unanswered as invalid data, not as a timeout.
            raise _OpenTimeout(
                f"timeout: the camera accepted the connection but did not answer "
                f"in {job.timeout_s:g} s"
            ) from None
        raise


def _decode(
    job: CameraJob,
    renditions: RenditionSet,
    status: StatusBoard,
    stop: threading.Event,
    clock: Clock,
    budget: DecodeBudget,
    decoding: CameraDecoding,
) -> float:
    """Stream until the camera stops or ``stop`` is set; returns when frames began."""
    container, decoder = _open(job, clock, decoding)  # probed within job.max_pixels
    status.publish(job.index, decoder=decoder)
    live_since = 0.0
    try:
        if not container.streams.video:
            raise _no_video(container)
        stream = container.streams.video[0]
        codec = stream.codec_context
        if codec is None:  # FFmpeg knows the codec but was built without its decoder
            raise _NoVideo("unsupported codec: FFmpeg has no decoder for this video")
        too_large = _too_large(job, codec.width, codec.height)  # known from the SDP or probe
        if too_large is not None:
            raise too_large
        # One thread per decoder: the pool decodes many cameras in parallel,
        # and frame threading would add a frame of latency per thread.
        codec.thread_count = job.decoder_threads
        # Read by FFmpeg when the codec opens, at the first packet; current() first
        # applies a reload's tile sizes, so the tier is this connection's.
        renditions.current()
        codec.options = {
            "skip_loop_filter": deblocking_skip(job.policy, renditions.tier),
            "max_pixels": str(job.max_pixels),  # a new size mid-stream (SPS) is checked too
        }
        capture = CaptureClock()
        pace = FrameInterval()
        budget.reset()
        _set_level(job, codec, status, budget.level)  # a new codec decodes every frame
        no_picture = _PictureWatch(job, clock)
        for frame in _frames(job, container, stream, stop, no_picture):
            arrival = no_picture.seen()
            restarts = capture.restarts
            now = capture.capture_time(frame.time, arrival)
            if capture.restarts != restarts:
                log.info("camera %s: its timestamps went back: timing restarted", job.camera_id)
            sar = Fraction(codec.sample_aspect_ratio or 1)
            current = renditions.current()
            for rendition in current:
                rendition.publish(frame, sar, now)
            level = budget.level
            interval = pace.update(frame.time, hold=budget.skipping)
            if budget.observe(arrival, arrival - now, interval, renditions.tier) != level:
                _set_level(job, codec, status, budget.level)
            if not live_since:
                live_since = now
                status.publish(
                    job.index,
                    state=CameraState.LIVE,
                    since=now,
                    reason="",
                    attempts=0,
                    source_size=(frame.width, frame.height),
                    frame_at=now,
                )
            else:
                status.publish(
                    job.index,
                    frame_at=now,
                    source_size=(frame.width, frame.height),
                    lag=budget.lag,
                )
    except (av.error.FFmpegError, MemoryError):
        # Asked before the container lets go of what it holds (see _memory_exhausted).
        if _memory_exhausted(job):
            raise _OutOfMemory(OUT_OF_MEMORY) from None
        raise
    finally:
        container.close()  # every reconnect gets a fresh container: no leaked sockets
    return live_since


class _PictureWatch:
    """A camera's frame-level watchdog: no picture for ``picture_timeout_s``, reconnect.

    Packets that bring no picture (a decoder that cannot read them, a stream that
    only trickles) do not count. The first picture of a connection gets twice the
    time: a camera with long key-frame intervals shows none before its next one.
    """

    BAD_PACKETS = 10  # refused by the decoder since the last picture: a stream it cannot read

    def __init__(self, job: CameraJob, clock: Clock) -> None:
        self._clock = clock
        self._timeout = job.picture_timeout_s
        self._since = self._packet_at = clock.now()
        self._first = True
        self._bad = 0

    def bad_packet(self) -> bool:
        """A packet the decoder refused; True once there have been too many."""
        self._bad += 1
        return self._bad >= self.BAD_PACKETS

    def packet(self) -> None:
        self._packet_at = self._clock.now()

    def read_timed_out(self) -> bool:
        """True if the read under way has lasted the read timeout (an error now is it)."""
        timeout = self._timeout
        return timeout is not None and self._clock.now() - self._packet_at >= 0.95 * timeout

    @property
    def reason(self) -> str:
        return f"no picture for {self._timeout:g} s: reconnecting"

    def seen(self) -> float:
        """A picture came; returns the time it came."""
        self._since, self._first, self._bad = self._clock.now(), False, 0
        return self._since

    def check(self) -> None:
        if self._timeout is None:
            return
        limit = 2 * self._timeout if self._first else self._timeout
        if self._clock.now() - self._since > limit:
            raise _NoPicture(self.reason)


def _frames(
    job: CameraJob, container: Any, stream: Any, stop: threading.Event, watch: _PictureWatch
) -> Any:
    """The stream's pictures until ``stop``; raises _NoPicture when the watchdog bites.

    Packet by packet rather than container.decode(), so the watchdog is also asked
    when packets come and pictures do not.
    """
    try:
        # Every stream's packets: a packet of another one (a second video track) comes
        # back here too, where the watchdog sees it brings no picture. PyAV's own filter
        # would keep reading them inside FFmpeg, each one restarting the read timeout.
        for packet in container.demux():
            if watch.read_timed_out():
                # What FFmpeg hands over after an interrupted read is the cut-off end of
                # a frame, and its reader is mid-message: nothing more to be had here.
                raise _NoPicture(watch.reason)
            watch.packet()
            if packet.stream_index == stream.index:
                yield from _decoded(job, packet, stream, stop, watch)
            if stop.is_set():
                return
            watch.check()
    except av.error.FFmpegError as exc:
        # The read timeout (see _open) ended a read blocked for picture_timeout_s. FFmpeg
        # says so with "exit" or, from deeper in the RTSP reader, an I/O error (measured).
        if isinstance(exc, av.error.ExitError) or watch.read_timed_out():
            raise _NoPicture(watch.reason) from None
        raise


def _decoded(
    job: CameraJob, packet: Any, stream: Any, stop: threading.Event, watch: _PictureWatch
) -> Any:
    """The pictures of one packet; a packet the decoder refuses is dropped, and too many
    of them in a row end the connection."""
    try:
        frames = packet.decode()
    except av.error.FFmpegError as exc:
        if _memory_exhausted(job):
            raise _OutOfMemory(OUT_OF_MEMORY) from None
        # The decoder refuses a picture over max_pixels (a new size mid-stream) as an
        # invalid argument, after reading its size.
        codec = stream.codec_context
        too_large = _too_large(job, codec.width, codec.height)
        if too_large is not None:
            raise too_large from None
        # One bad packet is no reason to reconnect: a reset camera's last one comes cut
        # short (its end is said next), a glitch spoils one. Many in a row, without a
        # picture between them, were seen when a camera switched codec without ending
        # its session (H.264 to H.265 on one payload type).
        if watch.bad_packet():
            raise _Undecodable(
                f"pictures the decoder cannot read ({exc.strerror or type(exc).__name__}): "
                "did the camera's codec or settings change?"
            ) from None
        log.debug("camera %s: a packet the decoder cannot read: %s", job.camera_id, exc)
        return
    for frame in frames:
        if stop.is_set():
            return
        yield frame


_SKIP_FRAME = {
    SkipLevel.EVERY_FRAME: "DEFAULT",
    SkipLevel.REFERENCE_FRAMES: "NONREF",
}


def _set_level(job: CameraJob, codec: Any, status: StatusBoard, level: SkipLevel) -> None:
    # FFmpeg reads skip_frame before each frame: the switch needs no reopen. Skipped
    # frames are never output, so they cost neither decoding nor scaling.
    codec.skip_frame = _SKIP_FRAME[level]
    status.publish(job.index, skipping=int(level))


class RenditionSet:
    """The tile sizes a running camera is published at, replaceable while it runs.

    A layout reload may change the sizes a camera is shown at. The worker
    replaces the set from its own thread; the camera's thread switches at its
    next frame, keeping the renditions that stay: no reconnect, no gap.
    """

    def __init__(self, specs: Sequence[RenditionSpec]) -> None:
        self._wanted: tuple[RenditionSpec, ...] = tuple(specs)
        self._applied: tuple[RenditionSpec, ...] | None = None
        self._open: dict[RenditionSpec, Rendition] = {}
        self._current: list[Rendition] = []
        # How early this camera gives up frames when the host is behind (budget.py).
        self.tier = SkipTier.LARGE

    def replace(self, specs: Sequence[RenditionSpec]) -> None:
        """Called from another thread: one attribute store, atomic under the GIL."""
        self._wanted = tuple(specs)

    def current(self) -> list[Rendition]:
        """The renditions to publish this frame to (camera thread only)."""
        wanted = self._wanted
        if wanted is not self._applied:
            self._switch(wanted)
        return self._current

    def _switch(self, wanted: tuple[RenditionSpec, ...]) -> None:
        for spec in set(self._open) - set(wanted):
            self._open.pop(spec).close()
        for spec in wanted:
            if spec not in self._open:
                try:
                    self._open[spec] = Rendition(spec)
                except (OSError, ValueError) as exc:
                    # Its slot is gone already (a newer reload dropped it), or its name
                    # has been given to another slot since.
                    log.debug("rendition %s not opened: %s", spec.slot_path, exc)
        self._current = [self._open[spec] for spec in wanted if spec in self._open]
        self._applied = wanted
        self.tier = skip_tier([(spec.box_w, spec.box_h) for spec in wanted])

    def close(self) -> None:
        for rendition in self._open.values():
            rendition.close()
        self._open.clear()
        self._current = []
        self._applied = None


def run_camera(
    job: CameraJob,
    status: StatusBoard,
    stop: threading.Event,
    clock: Clock,
    backoff_factory: Callable[[], Backoff] = Backoff,
    renditions: RenditionSet | None = None,
    decoding: CameraDecoding | None = None,
) -> None:
    """Thread body: keep one camera on the wall until ``stop`` is set; never raises.

    ``renditions`` (default: the job's) may be replaced while the camera runs.
    ``decoding`` (default: the job's setting, a probe of its own) keeps what the
    camera's device did across its reconnects.
    """
    if renditions is None:
        renditions = RenditionSet(job.renditions)
    if decoding is None:
        decoding = CameraDecoding(job.camera_id, job.decode, HardwareProbe())
    backoff = backoff_factory()
    # Kept across reconnects: it remembers relapses.
    budget = DecodeBudget(enabled=job.policy.degrade)
    attempts = 0
    down_since = clock.now()  # "since" on the tile counts from the first failure, not the last
    try:
        while not stop.is_set():
            attempts += 1
            status.publish(
                job.index, state=CameraState.CONNECTING, since=down_since, attempts=attempts
            )
            started = clock.now()
            live_since = 0.0
            try:
                live_since = _decode(job, renditions, status, stop, clock, budget, decoding)
                reason = "stream ended: the camera closed the connection"
            except (
                _NoVideo,
                _OpenTimeout,
                _NoPicture,
                _TooLarge,
                _OutOfMemory,
                _Undecodable,
            ) as exc:
                reason = str(exc)
            except Exception as exc:  # any failure of one camera stays with that camera
                reason = describe_error(exc)
            if stop.is_set():
                break
            if live_since:
                attempts = 0
                down_since = clock.now()
            delay = backoff.next_delay(connected_for=clock.now() - (live_since or started))
            log.info("camera %s: %s; retrying in %.1f s", job.camera_id, reason, delay)
            status.publish(
                job.index,
                state=CameraState.RETRYING,
                since=down_since,
                reason=reason,
                attempts=attempts,
            )
            stop.wait(delay)
    finally:
        status.publish(job.index, state=CameraState.STOPPED, since=clock.now())
        # The last write to the record: from now on the pool may give it to another camera.
        status.release(job.index, job.ticket)
        renditions.close()
