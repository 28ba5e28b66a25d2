"""What ``videowall doctor`` asks of PyAV: versions, decoders, hardware, each camera's answer.

Here because only the decoder modules import ``av``. A camera is asked with
the wall's own stream options (TCP, socket timeout, the RTSP protocol
whitelist, video tracks only, the picture size limit), decoded up to its first
picture and closed; all cameras at once,
each within its timeout, so a dead camera costs its timeout and nothing more.
Answers never carry the URL or its password.
"""

from __future__ import annotations

__all__ = [
    "CameraProbe",
    "HardwareDecoder",
    "hardware_decoders",
    "has_decoder",
    "library_versions",
    "probe_camera",
    "probe_cameras",
]

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import av
import av.codec.hwaccel

from compositor.sources.camera import describe_look_error, open_for_a_look, picture_too_large
from compositor.sources.limits import DEFAULT_MAX_PIXELS

# Cameras asked at once: waiting on the network costs a thread each, and the doctor
# should answer in a few seconds for a whole wall (40 cameras: one round).
MAX_PARALLEL = 64


@dataclass(frozen=True, slots=True)
class CameraProbe:
    """A camera's answer: live with its codec and size, or why not."""

    live: bool
    reason: str = ""  # why not: "connection refused", "not found (404): check the path", ...
    codec: str = ""
    width: int = 0
    height: int = 0
    fps: float = 0.0
    seconds: float = 0.0  # how long the answer took

    def describe(self) -> str:
        if not self.live:
            return self.reason
        rate = f" {self.fps:.4g} fps" if self.fps else ""
        return f"live, {self.codec} {self.width}x{self.height}{rate}"


def library_versions() -> dict[str, str]:
    """PyAV's version and that of the FFmpeg it is built with."""
    ffmpeg = getattr(av, "ffmpeg_version_info", "")
    if not ffmpeg:
        major, minor, micro = av.library_versions.get("libavcodec", (0, 0, 0))
        ffmpeg = f"libavcodec {major}.{minor}.{micro}"
    return {"pyav": str(av.__version__), "ffmpeg": str(ffmpeg)}


def has_decoder(codec: str) -> bool:
    try:
        av.codec.Codec(codec, "r")
    except Exception:  # UnknownCodecError, or a name FFmpeg has no decoder for
        return False
    return True


@dataclass(frozen=True, slots=True)
class HardwareDecoder:
    """A device type PyAV's FFmpeg offers, and whether it decodes here (per codec)."""

    device: str
    usable: tuple[str, ...]  # codecs it decodes on this machine
    why_not: str  # when none: why (no device, no configuration for the codec)


def hardware_decoders(codecs: Sequence[str] = ("h264", "hevc")) -> list[HardwareDecoder]:
    """Try each device type PyAV offers on each codec: a device opened is a decoder usable."""
    found = []
    for device in av.codec.hwaccel.hwdevices_available():
        usable: list[str] = []
        reasons: list[str] = []
        for name in codecs:
            try:
                codec = av.codec.Codec(name, "r")
                av.codec.hwaccel.HWAccel(device, allow_software_fallback=False).create(codec)
            except NotImplementedError:
                reasons.append(f"this FFmpeg has no {'/'.join(codecs)} decoder for it")
            except Exception as exc:  # PermissionError without a driver, RuntimeError, ...
                detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                reasons.append(f"no device ({detail})")
            else:
                usable.append(name)
        found.append(HardwareDecoder(device, tuple(usable), "; ".join(dict.fromkeys(reasons))))
    return found


def _first_picture(container: Any, deadline: float) -> CameraProbe | str:
    """The first picture's codec and size; a stream whose packets flow but whose first key
    frame does not come in time is live too (a long GOP), sized by its parameters."""
    if not container.streams.video:
        return "no video in the stream"
    stream = container.streams.video[0]
    codec = stream.codec_context
    if codec is None:
        return "unsupported codec: FFmpeg has no decoder for this video"
    too_large = picture_too_large(codec.width, codec.height, DEFAULT_MAX_PIXELS)
    if too_large is not None:  # the wall would refuse it too (--max-pixels)
        return too_large
    rate = stream.average_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    flowing = False
    for packet in container.demux(stream):
        flowing = flowing or packet.size > 0
        for frame in packet.decode():
            return CameraProbe(True, "", str(codec.name), frame.width, frame.height, fps)
        if time.monotonic() > deadline:
            break
    if flowing and codec.width and codec.height:
        return CameraProbe(True, "", str(codec.name), int(codec.width), int(codec.height), fps)
    return "timeout: no picture from the camera"


def probe_camera(url: str, timeout_s: float = 4.0) -> CameraProbe:
    """Connect to ``url`` as the wall would and decode one picture, within about ``timeout_s``."""
    started = time.monotonic()
    try:
        container = open_for_a_look(url, timeout_s)
    except Exception as exc:  # any failure is this camera's answer
        return CameraProbe(
            False, _reason(exc, started, timeout_s), seconds=time.monotonic() - started
        )
    try:
        answer = _first_picture(container, started + timeout_s)
    except Exception as exc:
        answer = _reason(exc, started, timeout_s)
    finally:
        container.close()
    seconds = time.monotonic() - started
    if isinstance(answer, str):
        return CameraProbe(False, answer, seconds=seconds)
    return CameraProbe(True, "", answer.codec, answer.width, answer.height, answer.fps, seconds)


def _reason(exc: BaseException, started: float, timeout_s: float) -> str:
    # An open cut short by our own timeout surfaces as "immediate exit requested" or
    # invalid data (field notes): at the timeout, it is a timeout.
    if time.monotonic() - started >= timeout_s * 0.95:
        return f"timeout: no answer within {timeout_s:g} s"
    return describe_look_error(exc)


def probe_cameras(urls: Mapping[str, str], timeout_s: float = 4.0) -> dict[str, CameraProbe]:
    """:func:`probe_camera` for every camera id -> URL, all at once."""
    if not urls:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(urls))) as pool:
        futures = {cid: pool.submit(probe_camera, url, timeout_s) for cid, url in urls.items()}
        return {cid: future.result() for cid, future in futures.items()}
