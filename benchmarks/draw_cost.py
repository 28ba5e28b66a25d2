"""What drawing a 14-screen wall costs the renderer here, by monitor size.

    .venv/bin/python -m benchmarks.draw_cost [--ticks 40] [--sizes 480x270,1920x1080]

For each monitor size, a virtual wall of 14 monitors (Xorg's dummy driver,
whatever renderer it gets: Mesa's llvmpipe without a GPU) shows 14 outputs of
1920x1080, as the demo does: each tick a quarter of every canvas changes
(uploaded) and every window is drawn and flipped. Per tick: the wall-clock
time of presenting all 14, and the CPU time of the whole process (the
software renderer draws in threads of its own). The figures behind the demo's
monitor size (compositor/demo/virtual_wall.py, docs/performance.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from compositor.core.colour import Matrix
from compositor.core.geometry import TileRect
from compositor.demo.virtual_x import VirtualDisplay

OUTPUT = (1920, 1080)
MONITORS = 14


@dataclass
class _Picture:
    """An output's picture as the display takes it (I420 planes, one matrix)."""

    y: npt.NDArray[np.uint8]
    u: npt.NDArray[np.uint8]
    v: npt.NDArray[np.uint8]

    def matrices(self) -> tuple[Matrix, tuple[tuple[TileRect, Matrix], ...]]:
        return Matrix.BT709, ()


def _canvases(count: int) -> list[_Picture]:
    """Textured pictures (noise and gradients): a flat picture would flatter the upload."""
    rng = np.random.default_rng(1)
    width, height = OUTPUT
    pictures = []
    for index in range(count):
        y = rng.integers(16, 235, (height, width), dtype=np.uint8)
        u = np.full((height // 2, width // 2), 100 + index * 5, np.uint8)
        v = rng.integers(90, 170, (height // 2, width // 2), dtype=np.uint8)
        pictures.append(_Picture(y, u, v))
    return pictures


def measure(mode: tuple[int, int], ticks: int, share: float) -> dict[str, float]:
    from compositor.display.windows import OutputWindowSpec, WallDisplay, opengl_info

    with VirtualDisplay.dummy_wall(MONITORS, 7, mode) as x:
        renderer = opengl_info(x.name).renderer
        specs = [OutputWindowSpec(f"S{i:02d}", *OUTPUT) for i in range(MONITORS)]
        display = WallDisplay(specs, windowed=False, display_name=x.name)
        try:
            canvases = _canvases(MONITORS)
            width, height = OUTPUT
            # The changed part of each canvas, uploaded each tick (0: drawn only).
            part = [TileRect(0, 0, width, max(2, int(height * share) & ~1))] if share else []
            for spec, canvas in zip(specs, canvases, strict=True):  # whole canvases once
                display.present(spec.output_id, canvas, [TileRect(0, 0, width, height)])
            walls, cpus = [], []
            for _ in range(ticks):
                started, cpu = time.monotonic(), time.process_time()
                for spec, canvas in zip(specs, canvases, strict=True):
                    if part:
                        display.present(spec.output_id, canvas, part)
                    else:  # nothing uploaded: the window drawn again all the same
                        output = display._windows[spec.output_id]
                        output.draw(canvas)
                        output.window.flip()
                display.dispatch_events()
                walls.append(time.monotonic() - started)
                cpus.append(time.process_time() - cpu)
        finally:
            display.close()
    return {
        "tick_ms_median": round(1e3 * statistics.median(walls), 1),
        "tick_ms_p90": round(1e3 * sorted(walls)[int(0.9 * len(walls))], 1),
        "cpu_ms_median": round(1e3 * statistics.median(cpus), 1),
        "renderer": renderer,  # type: ignore[dict-item]
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=40)
    parser.add_argument("--sizes", default="480x270,960x540,1920x1080")
    parser.add_argument(
        "--changed", type=float, default=0.25, help="share of each canvas uploaded per tick"
    )
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {MONITORS} outputs of "
          f"{OUTPUT[0]}x{OUTPUT[1]}, {args.changed:g} of each uploaded per tick")  # fmt: skip
    print(f"{'monitors':>10} {'tick ms (median)':>17} {'p90':>7} {'CPU ms':>7}  renderer")
    for size in args.sizes.split(","):
        w, h = (int(part) for part in size.split("x"))
        figures = measure((w, h), args.ticks, args.changed)
        print(
            f"{size:>10} {figures['tick_ms_median']:>17} {figures['tick_ms_p90']:>7} "
            f"{figures['cpu_ms_median']:>7}  {figures['renderer']}",
            flush=True,
        )
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
