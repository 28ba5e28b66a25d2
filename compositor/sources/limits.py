"""What one camera may make its decoder process use: picture size, blocks, memory.

Measured here (PyAV 18.1): a camera whose SDP was padded to 1 GB took its
decoder to 1.1 GB while the wall read it (8 s, at every attempt), and one of
8192x8192 pictures to 380 MB while FFmpeg probed it, before a frame was
shown. So, for every camera:

- **pictures** over :attr:`SourceLimits.max_pixels` (8K UHD by default) are
  refused before the decoder opens, and while FFmpeg probes the stream, with
  the size on the tile (``--max-pixels``);
- **no single block** FFmpeg allocates may exceed
  :attr:`SourceLimits.max_block_bytes` (a picture plane at the size limit,
  twice over, 64 MiB at least): a description of a gigabyte is refused at its
  first allocation, before a byte of it is read;
- **each decoder process** may use :attr:`SourceLimits.worker_memory_mb` of
  private memory (``--worker-memory``), set as its data limit: past it,
  allocations fail, the camera that asked says ``out of memory`` and tries
  again later; a worker that cannot go on exits, and the pool names it and
  its cameras when it restarts it. A worker measured 300 MB with one 1080p
  camera and 570 MB with eight (its data size; 130 MB and 370 MB resident),
  and one core decodes about twelve: the default of 2 GiB leaves room.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_WORKER_MEMORY_MB",
    "EXIT_OUT_OF_MEMORY",
    "MIN_WORKER_MEMORY_MB",
    "SourceLimits",
    "describe_pixels",
    "parse_pixels",
]

import re
from dataclasses import dataclass

DEFAULT_MAX_PIXELS = 7680 * 4320  # 8K UHD: the largest cameras sold (32 MP panoramas) fit
DEFAULT_WORKER_MEMORY_MB = 2048
MIN_WORKER_MEMORY_MB = 512  # a worker and its first camera, with room to spare
MIN_BLOCK_BYTES = 64 << 20
# A decoder process that ran out of memory where it cannot carry on (its own thread
# could not start, or Python itself failed an allocation) exits with this code.
EXIT_OUT_OF_MEMORY = 75


@dataclass(frozen=True, slots=True)
class SourceLimits:
    """The same for every camera of a wall."""

    max_pixels: int = DEFAULT_MAX_PIXELS  # per picture
    worker_memory_mb: int = DEFAULT_WORKER_MEMORY_MB  # per decoder process; 0: unbounded

    def __post_init__(self) -> None:
        if self.max_pixels < 16 * 16:
            raise ValueError(f"max_pixels must be at least 256, not {self.max_pixels}")
        if self.worker_memory_mb < 0:
            raise ValueError(f"worker memory must not be negative: {self.worker_memory_mb}")

    @property
    def max_block_bytes(self) -> int:
        """The largest block FFmpeg may allocate at once.

        A picture's planes are its largest blocks: the luma plane of one at the
        size limit, padded, in up to 16 bits a sample, is under twice its pixels.
        """
        return max(MIN_BLOCK_BYTES, 2 * self.max_pixels)


DEFAULT_LIMITS = SourceLimits()

_SIZE = re.compile(r"\s*(\d+)\s*[xX]\s*(\d+)\s*")


def parse_pixels(text: str) -> int:
    """``7680x4320`` or ``33177600``: a number of pixels; ValueError if neither."""
    match = _SIZE.fullmatch(text)
    if match:
        return int(match.group(1)) * int(match.group(2))
    try:
        return int(text.replace("_", ""))
    except ValueError:
        message = f"not a picture size (7680x4320) or a number of pixels: {text!r}"
        raise ValueError(message) from None


def describe_pixels(pixels: int) -> str:
    return f"{pixels / 1e6:.1f} megapixels"
