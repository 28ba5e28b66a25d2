"""Benchmark clips: H.264 with real texture and motion, encoded once and cached.

Flat test patterns encode to ~0.1 Mbit/s and decode far cheaper than a real
camera, which would flatter every runner. These clips look like a camera to a
decoder: a textured scene (1/f noise, like foliage, façades and tarmac) that
pans slowly, vehicles crossing it, and sensor grain on every frame, encoded by
libx264 (High profile, CABAC, GOP 50, two B-frames, closed GOPs) at a camera's
bit rate: about 4 Mbit/s at 1080p; and a 640x360 clip at a sub-stream's
0.6 Mbit/s, which every bench camera also serves as its ``url_low``.

Each clip is an Annex-B ``.h264`` file (packets in decode order, SPS/PPS
before every IDR) and a JSON index beside it (``<clip>.h264.json``): per
packet its byte offset and size, its display index and whether it is a key
frame. The RTSP test server replays it from memory through ``appsrc``
(``SyntheticCamera(..., clip=path)``), looping with continuous timestamps.

    python -m benchmarks.clips            # generate (or find) the clips
"""

from __future__ import annotations

__all__ = ["CLIP_SPECS", "SUBSTREAM_CLIP", "ClipSpec", "cache_dir", "ensure_clip", "ensure_clips"]

import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import numpy.typing as npt

FORMAT_VERSION = 1  # bump to regenerate every cached clip


@dataclass(frozen=True)
class ClipSpec:
    name: str  # "1080p", "720p", "576p", "360p"
    width: int
    height: int
    fps: int = 25
    kbps: int = 4000  # target bit rate
    seconds: int = 10  # clip length; a multiple of the GOP
    gop: int = 50
    bframes: int = 2
    seed: int = 7

    @property
    def frames(self) -> int:
        return self.fps * self.seconds

    def key(self) -> str:
        text = json.dumps([FORMAT_VERSION, asdict(self)], sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()[:10]


# Bit rates of typical IP cameras' main streams at these sizes (H.264, 25 fps), and of
# their sub-streams (640x360, about 0.5 Mbit/s): every bench camera also serves the
# 360p clip as its sub-stream (``url_low``).
CLIP_SPECS: dict[str, ClipSpec] = {
    "1080p": ClipSpec("1080p", 1920, 1080, kbps=4000),
    "720p": ClipSpec("720p", 1280, 720, kbps=2000),
    "576p": ClipSpec("576p", 1024, 576, kbps=1500),
    "360p": ClipSpec("360p", 640, 360, kbps=600),
}
SUBSTREAM_CLIP = "360p"  # what every bench camera's sub-stream plays


def cache_dir() -> Path:
    """Where clips are kept: ``$VIDEOWALL_BENCH_CACHE``, else ``~/.cache/videowall/bench-clips``."""
    explicit = os.environ.get("VIDEOWALL_BENCH_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "videowall" / "bench-clips"


# -- pictures ------------------------------------------------------------------------------

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


def _octave_noise(rng: np.random.Generator, height: int, width: int, octaves: int) -> F32:
    """Noise with a roughly 1/f spectrum (detail at every scale), values about 0..1."""
    import cv2  # the project's dependency; only used to upsample noise smoothly

    total = np.zeros((height, width), np.float32)
    weight_sum = 0.0
    for octave in range(octaves):
        cell = 2 ** (octaves - 1 - octave)  # coarse to fine
        small = rng.random(
            (max(2, height // cell + 2), max(2, width // cell + 2)), dtype=np.float32
        )
        layer = cv2.resize(small, (width + 2 * cell, height + 2 * cell), interpolation=2)
        weight = 1.0 / (1.4**octave)
        total += weight * layer[cell : cell + height, cell : cell + width]
        weight_sum += weight
    total /= weight_sum
    lo, hi = np.percentile(total, [1, 99])
    scaled: F32 = np.clip((total - lo) / (hi - lo + 1e-6), 0.0, 1.0).astype(np.float32)
    return scaled


class SceneGenerator:
    """A street-camera-like picture sequence in YUV 4:2:0 (I420 planes stacked)."""

    PAN_PX = 1  # per frame, horizontally, back and forth

    def __init__(self, spec: ClipSpec) -> None:
        self.spec = spec
        rng = np.random.default_rng(spec.seed)
        w, h = spec.width, spec.height
        self.margin = spec.frames // 2 * self.PAN_PX + 4
        octaves = 9 if w >= 1600 else 8
        base = _octave_noise(rng, h, w + self.margin, octaves)
        # Blocks of brighter and darker "buildings" with edges, over the texture.
        for _ in range(40):
            bw, bh = int(rng.integers(w // 20, w // 4)), int(rng.integers(h // 12, h // 3))
            x, y = int(rng.integers(0, w + self.margin - bw)), int(rng.integers(0, h - bh))
            base[y : y + bh, x : x + bw] = 0.6 * base[y : y + bh, x : x + bw] + 0.4 * rng.random()
        self.luma = (16 + 219 * base).astype(np.uint8)
        cw = (w + self.margin) // 2
        u = _octave_noise(rng, h // 2, cw, 6)
        v = _octave_noise(rng, h // 2, cw, 6)
        self.u = (108 + 40 * u).astype(np.uint8)
        self.v = (108 + 40 * v).astype(np.uint8)
        # Vehicles: textured boxes crossing at different speeds and heights.
        self.vehicles = []
        for _ in range(6):
            vw, vh = int(rng.integers(w // 16, w // 7)), int(rng.integers(h // 16, h // 8))
            texture = (16 + 219 * _octave_noise(rng, vh, vw, 5)).astype(np.uint8)
            y = int(rng.integers(h // 3, h - vh))
            speed = float(rng.uniform(2.0, 9.0)) * (1 if rng.random() < 0.5 else -1)
            start = float(rng.uniform(0, w))
            colour = (int(rng.integers(60, 200)), int(rng.integers(60, 200)))
            self.vehicles.append((texture, y, speed, start, colour))
        # Sensor grain: a bank of noise fields, drawn with random offsets each frame.
        self.grain = rng.normal(0.0, 2.2, (4, h + 16, w + 16)).astype(np.int16)
        self.rng = rng

    def frame(self, index: int) -> U8:
        w, h = self.spec.width, self.spec.height
        half = self.spec.frames // 2
        pan = (index if index < half else 2 * half - index) * self.PAN_PX
        y_plane = self.luma[:, pan : pan + w].astype(np.int16)
        cpan = pan // 2
        u_plane = self.u[:, cpan : cpan + w // 2].copy()
        v_plane = self.v[:, cpan : cpan + w // 2].copy()
        for texture, y, speed, start, (cu, cv) in self.vehicles:
            vh, vw = texture.shape
            x = int(start + speed * index) % (w + vw) - vw
            x0, x1 = max(0, x), min(w, x + vw)
            if x1 <= x0:
                continue
            y_plane[y : y + vh, x0:x1] = texture[:, x0 - x : x1 - x]
            u_plane[y // 2 : (y + vh) // 2, x0 // 2 : x1 // 2] = cu
            v_plane[y // 2 : (y + vh) // 2, x0 // 2 : x1 // 2] = cv
        gy, gx = self.rng.integers(0, 16, 2)
        y_plane += self.grain[index % 4, gy : gy + h, gx : gx + w]
        out = np.empty((h * 3 // 2, w), np.uint8)
        out[:h] = np.clip(y_plane, 0, 255)
        out[h : h + h // 4] = u_plane.reshape(h // 4, w)
        out[h + h // 4 :] = v_plane.reshape(h // 4, w)
        return out


# -- encoding ------------------------------------------------------------------------------


def clip_path(spec: ClipSpec, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"{spec.name}-{spec.key()}.h264"


def ensure_clip(spec: ClipSpec, directory: Path | None = None, log: bool = True) -> Path:
    """The clip for ``spec``, encoded now unless already cached; returns its path."""
    path = clip_path(spec, directory)
    index_path = path.with_name(path.name + ".json")
    if path.exists() and index_path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if log:
        print(f"bench: encoding clip {spec.name} ({spec.frames} frames) ...", file=sys.stderr)
    data, packets = _encode(spec)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    index = {
        "version": FORMAT_VERSION,
        "codec": "h264",
        "width": spec.width,
        "height": spec.height,
        "fps": spec.fps,
        "gop": spec.gop,
        "bframes": spec.bframes,
        "kbps": round(len(data) * 8 / spec.seconds / 1000),
        "packets": packets,
    }
    tmp_index = index_path.with_name(index_path.name + f".tmp{os.getpid()}")
    tmp_index.write_text(json.dumps(index))
    tmp.replace(path)
    tmp_index.replace(index_path)  # the index last: a clip with an index is complete
    if log:
        print(
            f"bench: clip {spec.name}: {index['kbps']} kbit/s, "
            f"{time.monotonic() - started:.1f} s -> {path}",
            file=sys.stderr,
        )
    return path


def _encode(spec: ClipSpec) -> tuple[bytes, list[list[int]]]:
    import av

    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height = spec.width, spec.height
    codec.pix_fmt = "yuv420p"
    codec.time_base = Fraction(1, spec.fps)
    codec.framerate = Fraction(spec.fps)
    codec.bit_rate = spec.kbps * 1000
    params = (
        f"keyint={spec.gop}:min-keyint={spec.gop}:scenecut=0:bframes={spec.bframes}:"
        f"b-adapt=0:open-gop=0:vbv-maxrate={spec.kbps * 5 // 4}:vbv-bufsize={spec.kbps * 2}"
    )
    codec.options = {"preset": "faster", "profile": "high", "x264-params": params}
    scene = SceneGenerator(spec)
    chunks: list[bytes] = []
    packets: list[list[int]] = []  # [offset, size, pts, key]
    offset = 0

    def take(encoded: list[object]) -> None:
        nonlocal offset
        for packet in encoded:
            raw = bytes(packet)  # type: ignore[call-overload]
            pts = int(packet.pts)  # type: ignore[attr-defined]
            packets.append([offset, len(raw), pts, int(bool(packet.is_keyframe))])  # type: ignore[attr-defined]
            chunks.append(raw)
            offset += len(raw)

    for index in range(spec.frames):
        frame = av.VideoFrame.from_ndarray(scene.frame(index), format="yuv420p")
        frame.pts = index
        take(list(codec.encode(frame)))
    take(list(codec.encode(None)))
    if len(packets) != spec.frames:
        raise RuntimeError(f"clip {spec.name}: encoder gave {len(packets)} packets")
    first = min(p[2] for p in packets)
    for packet in packets:
        packet[2] -= first  # display index from 0
    return b"".join(chunks), packets


def ensure_clips(names: list[str] | None = None, directory: Path | None = None) -> dict[str, Path]:
    wanted = names or list(CLIP_SPECS)
    return {name: ensure_clip(CLIP_SPECS[name], directory) for name in wanted}


if __name__ == "__main__":
    for name, found in ensure_clips().items():
        meta = json.loads(found.with_name(found.name + ".json").read_text())
        print(f"{name}: {found} ({meta['kbps']} kbit/s)")
