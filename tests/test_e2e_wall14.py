"""Fourteen screens: every output on its own monitor of a 14-monitor dummy Xorg,
each showing its own camera, read back from each window."""

from __future__ import annotations

import colorsys
import time

import numpy as np
import pytest

from compositor.app import RunOptions, WallApp
from compositor.core.colour import planes_to_bgr
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.parse import parse_layout
from tests.helpers.pixels import share_near

pytestmark = pytest.mark.e2e


def _colours(count: int) -> list[tuple[int, int, int]]:
    result = []
    for i in range(count):
        r, g, b = colorsys.hsv_to_rgb(i / count, 0.85, 0.8)
        result.append((int(r * 255), int(g * 255), int(b * 255)))
    return result


def test_fourteen_outputs_each_show_their_own_camera() -> None:
    colours = _colours(14)
    cameras = [SyntheticCamera(f"c{i:02d}", f"c{i:02d}", 96, 54, 5, colours[i]) for i in range(14)]
    with SyntheticCameraServer(cameras) as server, VirtualDisplay.dummy_wall(14) as wall:
        lines = ["cameras:"]
        lines += [f"  c{i:02d}: {{url: '{server.url(f'c{i:02d}')}'}}" for i in range(14)]
        lines.append("outputs:")
        for i in range(14):
            # Monitors named in reverse, so a mix-up cannot pass by accident.
            lines += [
                f"  - id: S{i:02d}",
                f"    monitor: DUMMY{13 - i}",
                "    size: [160, 90]",
                "    grid: 1x1",
                f"    tiles: [c{i:02d}]",
            ]
        layout = parse_layout("\n".join(lines) + "\n", "wall14.yaml")
        app = WallApp(layout, RunOptions(display_name=wall.name, fps=5))
        try:
            app.start()
            assert app.display is not None
            assert len(app.display.output_ids) == 14
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and set(app.camera_states.values()) != {"live"}:
                app.tick()
                time.sleep(0.1)
            for _ in range(10):
                app.tick()
                time.sleep(0.1)
            for i in range(14):
                monitor = app.display.monitor_of(f"S{i:02d}")
                assert monitor is not None and monitor.name == f"DUMMY{13 - i}"
                shown = app.display.read_pixels(f"S{i:02d}")
                assert shown.shape == (270, 480, 3)
                own = share_near(shown[40:230, 40:440], colours[i])
                assert own > 0.6, f"S{i:02d} on DUMMY{13 - i} shows its camera ({own:.2f})"
                for j in (i - 1, i + 1):
                    if 0 <= j < 14:
                        assert share_near(shown[40:230, 40:440], colours[j], tol=12) < 0.3
        finally:
            app.close()


def test_a_picture_spanning_two_by_two_screens_is_cut_at_the_bezels() -> None:
    """Each screen's window shows exactly its piece of the one picture, per the geometry."""
    camera = SyntheticCamera("main", "MAIN CAMERA", 640, 360, 2, (40, 120, 200))
    with SyntheticCameraServer([camera]) as server, VirtualDisplay.dummy_wall(4, columns=2) as wall:
        text = f"""\
labels: {{show: false}}
cameras:
  main: {{url: "{server.url("main")}"}}
outputs:
  - {{id: A1, size: [480, 270]}}
  - {{id: A2, size: [480, 270]}}
  - {{id: B1, size: [480, 270]}}
  - {{id: B2, size: [480, 270]}}
wall:
  rows: 2
  columns: 2
  screen: {{size_px: [480, 270], size_mm: [480, 270], bezel_mm: 10}}
spans:
  - {{camera: main, screens: [A1, B2]}}
"""
        layout = parse_layout(text, "span.yaml")
        app = WallApp(layout, RunOptions(display_name=wall.name, fps=10))
        try:
            app.start()
            assert app.display is not None
            slot = app.pool.slot(("main", 980, 560, layout.spans[0].fit))
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                app.tick()
                view = slot.view()
                tiles = [t for c in app.canvases.values() for t in c.tiles]
                shown = {t.shown_number for t in tiles}
                quiet = all(t.painted_notice is None for t in tiles)  # "connecting…" gone
                if view is not None and shown == {view.number} and quiet:
                    picture = planes_to_bgr(view.y, view.u, view.v, view.matrix)
                    if slot.intact(view) and slot.number == view.number:
                        break
                time.sleep(0.05)
            else:
                raise AssertionError("the four screens never showed one frame together")
            # 16:9 letterboxed into the 980x560 box: 980x551, made even (I420) to 980x552.
            assert picture.shape == (552, 980, 3)
            box_top = (560 - 552) // 2
            geometry = layout.wall.geometry() if layout.wall else None
            assert geometry is not None
            for output_id in ("A1", "A2", "B1", "B2"):
                tile = layout.placed_tiles(output_id)[0]
                assert tile.window is not None
                on_screen = app.display.read_pixels(output_id)
                # The piece of the picture this screen must show, in box coordinates.
                w = tile.window
                expected = np.zeros((270, 480, 3), np.uint8)
                rows = slice(max(w.y, box_top), min(w.bottom, box_top + 552))
                piece = picture[rows.start - box_top : rows.stop - box_top, w.x : w.right]
                expected[rows.start - w.y : rows.stop - w.y] = piece
                assert (on_screen == expected).all(), f"{output_id} shows its piece"
        finally:
            app.close()
