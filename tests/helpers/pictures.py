"""Pictures for the image tile tests, made without holding them whole in memory."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_bomb(path: Path, width: int, height: int) -> Path:
    """A valid black RGB PNG of ``width x height``: a few hundred KB on disk (12000x12000:
    about 410 KB), ``3 * width * height`` bytes decoded. Compressed row by row."""
    compress = zlib.compressobj(9)  # on zeros, faster than the default level
    rows = bytes(1 + 3 * width) * 50  # filter "none", then black pixels; 50 rows a call
    body = [compress.compress(rows) for _ in range(height // 50)]
    body.append(compress.compress(bytes(1 + 3 * width) * (height % 50)))
    body.append(compress.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", b"".join(body))
        + _chunk(b"IEND", b"")
    )
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width x height`` and holds no picture data worth the name."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _chunk(b"IEND", b"")
    )


def busy_png(path: Path, width: int, height: int) -> Path:
    """A PNG under the pixel limit that still takes a while to decode (a repeated noise
    tile: small on disk, every pixel decoded)."""
    rng = np.random.default_rng(7)
    tile = rng.integers(0, 256, (256, 256, 3), np.uint8)
    picture = np.tile(tile, (height // 256 + 1, width // 256 + 1, 1))[:height, :width]
    picture[: height // 2, : width // 2] = (200, 0, 200)  # a magenta quarter, to recognise
    assert cv2.imwrite(str(path), picture, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    return path
