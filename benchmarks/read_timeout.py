"""What the decoders' read timeout costs: two decoder pools side by side, one with it.

    .venv/bin/python -m benchmarks.read_timeout --rounds 3 --clips 720p,720p,576p

PyAV's read timeout (``av.open(timeout=(open, read))``, the picture watchdog of
``sources/camera.py``) works through FFmpeg's interrupt callback, which takes
the GIL each time FFmpeg checks it, a few times per network read. Both pools
decode the same cameras of the same server at the same time, so a busy shared
host slows both alike; the figure is CPU time per decoded frame of each
pool's worker processes. Measured on the 2-core development VM (2026-12-01,
load 7-11 from other work): 360p sub-streams 2.39/2.40, 2.37/2.41, 2.19/2.16
ms a frame without/with; 720p and 576p main streams 5.51/5.48, 5.82/5.85,
5.71/5.72: within +-2 %, the noise.
"""

from __future__ import annotations

import argparse
import functools
import sys
import time

from benchmarks.clips import CLIP_SPECS, ensure_clips
from benchmarks.procstat import cpu_split
from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.layout.models import CameraConfig
from compositor.sources import pool as pool_module
from compositor.sources.camera import NO_PICTURE_S, CameraJob
from compositor.sources.pool import DecoderPool


def _cpu(pids: list[int]) -> float:
    return sum(sum(cpu_split(pid) or (0.0, 0.0)) for pid in pids)


def measure(clips: list[str], rounds: int, seconds: float) -> list[dict[str, float]]:
    """Per round: CPU ms per decoded frame of each pool ("off": no read timeout)."""
    paths = ensure_clips(sorted(set(clips)))
    cameras = [
        SyntheticCamera.from_clip(f"c{i}", f"c{i}", paths[name], start=i * 11)
        for i, name in enumerate(clips)
    ]
    results = []
    original = getattr(pool_module, "CameraJob")  # noqa: B009
    with SyntheticCameraServer(cameras) as server:
        configs = {c.path: CameraConfig(url=server.url(c.path)) for c in cameras}
        keys = [(c.path, 480, 270, Fit.LETTERBOX) for c in cameras]
        for _ in range(rounds):
            pools = {}
            try:
                for name, timeout in (("off", None), ("on", NO_PICTURE_S)):
                    # The pool makes its jobs here: each pool's cameras get its setting.
                    setattr(  # noqa: B010
                        pool_module,
                        "CameraJob",
                        functools.partial(CameraJob, picture_timeout_s=timeout),
                    )
                    pools[name] = DecoderPool(configs, keys, MonotonicClock(), workers=1)
                for pool in pools.values():
                    pool.start()
                time.sleep(5.0)  # opened, and past the first burst
                start = {
                    name: (_cpu(p.worker_pids()), sum(p.status(c).frames for c in configs))
                    for name, p in pools.items()
                }
                time.sleep(seconds)
                row = {}
                for name, pool in pools.items():
                    cpu0, frames0 = start[name]
                    frames = sum(pool.status(c).frames for c in configs) - frames0
                    row[name] = (_cpu(pool.worker_pids()) - cpu0) / max(1, frames) * 1e3
                results.append(row)
            finally:
                setattr(pool_module, "CameraJob", original)  # noqa: B010
                for pool in pools.values():
                    pool.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--clips", default="720p,720p,576p", help=f"one camera per clip ({', '.join(CLIP_SPECS)})"
    )
    args = parser.parse_args(argv)
    for row in measure(args.clips.split(","), args.rounds, args.seconds):
        change = 100 * (row["on"] / row["off"] - 1)
        print(
            f"CPU per frame: without {row['off']:.3f} ms, with {row['on']:.3f} ms ({change:+.1f} %)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
