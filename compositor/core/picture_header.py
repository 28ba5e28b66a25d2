"""A picture's width and height, read from its header without decoding it.

A PNG of 12000x12000 pixels in one colour compresses to 581 KB; decoded it
takes 432 MB, and seconds. The size on disk says nothing of the size in
memory, so image tiles are limited by pixel count (:data:`MAX_IMAGE_PIXELS`),
read here from the few bytes that declare it: PNG's IHDR, JPEG's SOF,
GIF's logical screen, BMP's info header, WebP's VP8/VP8L/VP8X chunk, TIFF's
first IFD, PNM's text header. OpenCV reads more formats, but one whose size
cannot be read here cannot be bounded, so the wall does not take it.

Pure Python, no decoding: safe on any bytes, hostile ones included (a header
that lies is found out by the decoder, which is given the same bytes, never
more pixels than the header said: see compositor.compose.pictures.load_picture).
"""

from __future__ import annotations

__all__ = [
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "READABLE_FORMATS",
    "PictureHeader",
    "header_of_bytes",
    "header_of_file",
    "header_of_path",
    "pixel_problem",
]

import os
import stat
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# 40 Mpx: a map of 8000x5000 for a 4K screen, with room. Decoded with transparency
# that is 160 MB and about a second of one core; 144 Mpx took 2.6 GB and 10 s.
MAX_IMAGE_PIXELS = 40_000_000
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # a map or a logo; a bigger file is a mistake
READABLE_FORMATS = "PNG, JPEG, GIF, BMP, WebP, TIFF, PNM"
_MAX_SEGMENTS = 4096  # JPEG segments (or TIFF entries) walked before giving up on a header

Read = Callable[[int, int], bytes]  # (offset, count) -> up to count bytes


@dataclass(frozen=True)
class PictureHeader:
    format: str
    width: int
    height: int

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def describe(self) -> str:
        """``12000x12000 (144 Mpx)``."""
        return f"{self.width}x{self.height} ({_mpx(self.pixels)} Mpx)"


def _mpx(pixels: int) -> str:
    value = pixels / 1e6
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def pixel_problem(header: PictureHeader | None, limit: int = MAX_IMAGE_PIXELS) -> str | None:
    """Why a picture of this header is not taken (it reads as ``image X <problem>``)."""
    if header is None:
        return f"is not a picture whose size the wall can read ({READABLE_FORMATS})"
    if header.width <= 0 or header.height <= 0:
        return f"declares an empty size ({header.width}x{header.height})"
    if header.pixels > limit:
        return f"is {header.describe()}: the limit is {_mpx(limit)} Mpx"
    return None


def header_of_bytes(data: bytes) -> PictureHeader | None:
    """The header of a picture held whole in ``data``; None if not one read here."""

    def read(offset: int, count: int) -> bytes:
        return data[offset : offset + count] if offset >= 0 else b""

    return _header(read)


def header_of_file(stream: BinaryIO) -> PictureHeader | None:
    """The header of the picture in ``stream`` (seekable), reading only what declares it."""

    def read(offset: int, count: int) -> bytes:
        if offset < 0:
            return b""
        stream.seek(offset)
        return stream.read(count)

    return _header(read)


def _header(read: Read) -> PictureHeader | None:
    head = read(0, 32)
    try:
        for magic, parse in _PARSERS:
            if head.startswith(magic):
                return parse(read, head)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp(read, head)
        if len(head) >= 2 and head[0:1] == b"P" and head[1:2] in b"123456":
            return _pnm(read)
    except (struct.error, ValueError, IndexError):
        return None  # cut short or garbled: not a picture whose size is known
    return None


def _png(read: Read, head: bytes) -> PictureHeader | None:
    # The first chunk must be IHDR: 4 bytes length, "IHDR", width, height (big-endian).
    if head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return PictureHeader("PNG", width, height)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(read: Read, head: bytes) -> PictureHeader | None:
    """The first SOF segment's size (libjpeg refuses a second one)."""
    offset = 2
    for _ in range(_MAX_SEGMENTS):
        marker = read(offset, 4)
        if len(marker) < 2 or marker[0] != 0xFF:
            return None
        kind = marker[1]
        if kind == 0xFF:  # fill byte before a marker
            offset += 1
            continue
        if kind in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            offset += 2
            continue
        if kind in (0xD9, 0xDA):  # end of image, or the scan began before any frame header
            return None
        (length,) = struct.unpack(">H", marker[2:4])
        if length < 2:
            return None
        if kind in _SOF:
            frame = read(offset + 4, 5)
            _precision, height, width = struct.unpack(">BHH", frame)
            return PictureHeader("JPEG", width, height)
        offset += 2 + length
    return None


def _gif(read: Read, head: bytes) -> PictureHeader | None:
    # The logical screen: OpenCV's decoder refuses frames outside it.
    width, height = struct.unpack("<HH", head[6:10])
    return PictureHeader("GIF", width, height)


def _bmp(read: Read, head: bytes) -> PictureHeader | None:
    (info_size,) = struct.unpack("<I", head[14:18])
    if info_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes
        width, height = struct.unpack("<HH", head[18:22])
        return PictureHeader("BMP", width, height)
    width, height = struct.unpack("<ii", head[18:26])
    return PictureHeader("BMP", width, abs(height))  # negative: stored top-down


def _webp(read: Read, head: bytes) -> PictureHeader | None:
    chunk = head[12:16]
    body = read(20, 10)
    if chunk == b"VP8X":  # the canvas: 24-bit width-1 and height-1
        width = int.from_bytes(body[4:7], "little") + 1
        height = int.from_bytes(body[7:10], "little") + 1
        return PictureHeader("WebP", width, height)
    if chunk == b"VP8 ":  # lossy: frame tag (3), start code (3), 14-bit sizes
        if body[3:6] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", body[6:10])
        return PictureHeader("WebP", width & 0x3FFF, height & 0x3FFF)
    if chunk == b"VP8L":  # lossless: signature, then 14-bit width-1 and height-1
        if body[0] != 0x2F:
            return None
        (bits,) = struct.unpack("<I", body[1:5])
        return PictureHeader("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    return None


def _tiff(read: Read, head: bytes) -> PictureHeader | None:
    """The first page's ImageWidth and ImageLength (OpenCV reads the first page)."""
    order = "<" if head[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", head[4:8])
    (count,) = struct.unpack(order + "H", read(ifd, 2))
    entries = read(ifd + 2, 12 * min(count, _MAX_SEGMENTS))
    sizes: dict[int, int] = {}
    for index in range(min(count, _MAX_SEGMENTS)):
        tag, kind, _count, value = struct.unpack(
            order + "HHI4s", entries[12 * index : 12 * index + 12]
        )
        if tag in (256, 257):
            if kind == 3:  # SHORT, left-justified in the value field
                sizes[tag] = struct.unpack(order + "H", value[:2])[0]
            elif kind == 4:  # LONG
                sizes[tag] = struct.unpack(order + "I", value)[0]
            else:
                return None
    if 256 not in sizes or 257 not in sizes:
        return None
    return PictureHeader("TIFF", sizes[256], sizes[257])


def _pnm(read: Read) -> PictureHeader | None:
    """P1-P6: magic, then width and height as decimal text, comments (#) allowed."""
    text = read(0, 1024)
    fields: list[bytes] = []
    for line in text.split(b"\n"):
        fields += line.split(b"#", 1)[0].split()
        if len(fields) >= 3:
            break
    if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
        return None
    if len(fields[1]) > 9 or len(fields[2]) > 9:
        return PictureHeader("PNM", 10**9, 10**9)  # absurd: over any limit
    return PictureHeader("PNM", int(fields[1]), int(fields[2]))


_PARSERS: tuple[tuple[bytes, Callable[[Read, bytes], PictureHeader | None]], ...] = (
    (b"\x89PNG\r\n\x1a\n", _png),
    (b"\xff\xd8", _jpeg),
    (b"GIF87a", _gif),
    (b"GIF89a", _gif),
    (b"BM", _bmp),
    (b"II*\x00", _tiff),
    (b"MM\x00*", _tiff),
)


def header_of_path(path: Path) -> PictureHeader | None:
    """As :func:`header_of_file`, opening ``path`` (OSError if it cannot be read); None
    for what is not a regular file (a FIFO put in its place is never waited on)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        return header_of_file(stream)
