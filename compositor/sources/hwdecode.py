"""Hardware decoding: the device a camera opens on, and the CPU whenever it cannot be used.

PyAV (17+) decodes on a GPU when ``av.open`` is given an ``HWAccel``; the
pictures come back to system memory (NV12, or P010 for 10-bit streams, where
software decoders give YUV 4:2:0 planar: :mod:`camera` reformats them).
What this module settles, per camera (:class:`CameraDecoding`):

- ``cpu``: no device is ever tried.
- ``cuda``: the camera opens with ``HWAccel("cuda")``. Where no driver is
  usable, PyAV raises at the end of the open even with software fallback
  allowed (measured, PyAV 18.1 without a GPU: ``PermissionError(1, 'Operation
  not permitted')``, 5 ms to 0.15 s after the RTSP handshake): the camera is
  opened again on the CPU at once, one log line says so, and the failure is
  remembered for the camera's next reconnects, which go straight to the CPU.
- ``auto``: the best device PyAV offers that exists on this host
  (:class:`HardwareProbe`: looked for once per decoder process, device nodes
  first, so a host without a GPU never loads a driver), then as ``cuda``.

What decodes each connection is published in the camera's status record:
``cuda``, ``cpu``, or ``cpu (cuda unavailable: <reason>)``.
"""

from __future__ import annotations

__all__ = [
    "AUTO_DEVICES",
    "CameraDecoding",
    "HardwareProbe",
    "describe_device_error",
    "why_unusable",
]

import logging
import threading
from pathlib import Path
from typing import Any

import av
import av.codec.hwaccel

from compositor.core.decoding import DecodeSetting
from compositor.core.redact import redact_secrets

log = logging.getLogger(__name__)

# The devices ``auto`` tries, best first: NVIDIA's decoder, then Intel's Quick Sync.
# PyAV's wheels also offer drm (the V4L2 decoders of single-board computers) and amf
# (AMD's, for Windows): not what a wall host decodes with.
AUTO_DEVICES = ("cuda", "qsv")
# How a device shows itself before any driver is loaded: NVIDIA's control node; an
# Intel render node (PCI vendor 0x8086).
NVIDIA_NODE = Path("/dev/nvidiactl")
DRM_CLASS = Path("/sys/class/drm")
INTEL_VENDOR = "0x8086"


def describe_device_error(exc: BaseException) -> str:
    """A short reason a device could not be used, without any URL in it."""
    if isinstance(exc, OSError) and exc.strerror:
        text = str(exc.strerror)
    else:
        text = str(exc) or type(exc).__name__
    return redact_secrets(text)


def _absent(device: str, nvidia_node: Path, drm_class: Path) -> str | None:
    """Why ``device`` cannot be on this host, judged from its device nodes; None: it may be."""
    if device == "cuda":
        return None if nvidia_node.exists() else f"no NVIDIA device ({nvidia_node})"
    if device == "qsv":
        for vendor in sorted(drm_class.glob("renderD*/device/vendor")):
            try:
                if vendor.read_text().strip() == INTEL_VENDOR:
                    return None
            except OSError:
                continue
        return f"no Intel GPU ({drm_class}/renderD*)"
    return "not a device auto tries"


def _try_device(device: str) -> None:
    """Set ``device`` up for H.264 as a decoder would; raises what FFmpeg raises."""
    codec = av.codec.Codec("h264", "r")
    av.codec.hwaccel.HWAccel(device, allow_software_fallback=False).create(codec)


def why_unusable(
    device: str, nvidia_node: Path = NVIDIA_NODE, drm_class: Path = DRM_CLASS
) -> str | None:
    """Why ``device`` cannot decode H.264 on this host; None: it can (set up once to see).

    Device nodes are looked at first, so a host without the device never loads its
    driver; one that has them is set up for H.264, so a broken driver counts as absent.
    """
    if device not in av.codec.hwaccel.hwdevices_available():
        return "not offered by this PyAV"
    absent = _absent(device, nvidia_node, drm_class)
    if absent is not None:
        return absent
    try:
        _try_device(device)
    except Exception as exc:  # PermissionError without a driver, RuntimeError, ...
        return describe_device_error(exc)
    return None


class HardwareProbe:
    """The hardware decoder ``auto`` uses in this process, looked for once, on first need.

    One per decoder process, shared by its camera threads. Device nodes are
    looked at first; a device that has them is set up once for H.264, so a
    driver that is installed but broken counts as absent.
    """

    def __init__(self, nvidia_node: Path = NVIDIA_NODE, drm_class: Path = DRM_CLASS) -> None:
        self._nvidia_node = nvidia_node
        self._drm_class = drm_class
        self._lock = threading.Lock()
        self._found: tuple[str | None, str] | None = None

    def best(self) -> tuple[str | None, str]:
        """(the device ``auto`` decodes on, or None, and then why none)."""
        with self._lock:  # camera threads start together: one of them looks
            if self._found is None:
                self._found = self._look()
                device, why = self._found
                if device is not None:
                    log.info("hardware decoding: %s (cameras set to auto use it)", device)
                else:
                    log.debug("hardware decoding: none here (%s)", why)
            return self._found

    def _look(self) -> tuple[str | None, str]:
        reasons = []
        for device in AUTO_DEVICES:
            why = why_unusable(device, self._nvidia_node, self._drm_class)
            if why is None:
                return device, ""
            reasons.append(f"{device}: {why}")
        return None, "; ".join(reasons)


class CameraDecoding:
    """How one camera is decoded, connection after connection (its thread's own).

    Remembers a device that failed: the camera's later connections go to the
    CPU without trying it again (each try costs an RTSP handshake more), and
    the failure is logged once. A camera restarted (a new URL or setting) or
    a decoder process restarted tries its device again.
    """

    def __init__(self, camera_id: str, setting: DecodeSetting, probe: HardwareProbe) -> None:
        self.camera_id = camera_id
        self.setting = setting
        self._probe = probe
        self._failed: dict[str, str] = {}  # device -> why it could not be used
        self._declined: set[str] = set()  # devices that opened but took no part: said once
        self.device_opens = 0  # opens tried on a device (each a handshake, if it fails)

    def device(self) -> str | None:
        """The device the next connection opens on; None: the CPU."""
        if self.setting == "cpu":
            return None
        device = self.setting if self.setting != "auto" else self._probe.best()[0]
        return None if device is None or device in self._failed else device

    def hwaccel(self, device: str) -> Any:
        """PyAV's settings for opening on ``device``: frames downloaded to system memory;
        a stream the device cannot take (a codec or profile it lacks) decoded in software."""
        self.device_opens += 1
        return av.codec.hwaccel.HWAccel(device, allow_software_fallback=True)

    def failed(self, device: str, exc: BaseException) -> None:
        """Opening on ``device`` failed where the CPU did not: the CPU from now on."""
        reason = describe_device_error(exc)
        self._failed[device] = reason
        log.warning(
            "camera %s: %s unavailable (%s): decoded on the CPU, and its reconnects too",
            self.camera_id,
            device,
            reason,
        )

    def opened(self, device: str | None, accelerated: bool) -> str:
        """What decodes the connection just opened, as its status says it."""
        if device is not None and accelerated:
            return device
        if device is not None:
            # FFmpeg has no configuration of this device for the stream's codec, or the
            # device declined it: software decoding, which allow_software_fallback asked.
            if device not in self._declined:
                self._declined.add(device)
                log.info(
                    "camera %s: %s does not decode this stream: decoded on the CPU",
                    self.camera_id,
                    device,
                )
            return f"cpu ({device} does not decode this stream)"
        failed = next(iter(self._failed.items()), None)
        if failed is not None:
            return f"cpu ({failed[0]} unavailable: {failed[1]})"
        return "cpu"
