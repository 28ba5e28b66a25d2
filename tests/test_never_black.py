"""Never a black screen, on a real X server of three small monitors (dummy Xorg).

A starting output shows its id until pictures come; a monitor the layout does
not use says so; a broken layout at boot is shown on every monitor.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import RunOptions, WallApp
from compositor.compose.canvas import OutputCanvas
from compositor.compose.overlay import BannerPainter
from compositor.compose.screen_notice import starting_notice
from compositor.core.clock import MonotonicClock
from compositor.core.errors import LayoutError
from compositor.demo.virtual_x import VirtualDisplay
from compositor.fallback import FallbackOptions, FallbackWall
from compositor.layout.parse import load_layout

pytestmark = pytest.mark.e2e

Pixels = npt.NDArray[np.uint8]
SLATE = (70, 60, 50)  # the starting banner's background (BGR)
NOTICE_SLATE = (60, 48, 36)  # an unused monitor's screen
ERROR_RED = (30, 30, 110)  # a broken layout's screen


@pytest.fixture(scope="module")
def three_monitors() -> Iterator[VirtualDisplay]:
    with VirtualDisplay.dummy_wall(monitors=3, columns=3, mode=(320, 180)) as display:
        yield display


@pytest.fixture
def silent_camera() -> Iterator[str]:
    """A port that takes the connection and never answers: a camera still connecting."""
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(8)
    yield f"rtsp://127.0.0.1:{listening.getsockname()[1]}/silent"
    listening.close()


def _share(pixels: Pixels, bgr: tuple[int, int, int], tol: int = 4) -> float:
    return float((np.abs(pixels.astype(int) - bgr).max(axis=2) <= tol).mean())


def test_a_starting_wall_shows_each_output_id_and_an_unused_monitor_says_so(
    three_monitors: VirtualDisplay, silent_camera: str, tmp_path: Path
) -> None:
    layout_path = tmp_path / "room.yaml"
    layout_path.write_text(f"""labels: {{show: false}}
cameras:
  a: {{url: "{silent_camera}a"}}
  b: {{url: "{silent_camera}b"}}
outputs:
  - {{id: A1, monitor: DUMMY0, size: [320, 180], grid: 1x2, tiles: [a, b]}}
  - {{id: A2, monitor: DUMMY2, size: [320, 180], grid: 1x1, tiles: [b]}}
""")
    options = RunOptions(
        display_name=three_monitors.name, fps=10, layout_path=layout_path, watch=False,
        state_dir=tmp_path / "state",
    )  # fmt: skip
    app = WallApp(load_layout(layout_path), options)
    try:
        app.start()
        app.tick()
        assert app.display is not None
        assert set(app.camera_states.values()) == {"connecting"}, "no camera is live yet"
        for output_id, cameras in (("A1", 2), ("A2", 1)):
            shown = app.display.read_pixels(output_id)
            # Exactly the banner the canvas paints: the output's id, the cameras connecting.
            expected = OutputCanvas(320, 180, [], BannerPainter())
            expected.set_banner(starting_notice(output_id, cameras))
            expected.compose()
            top, bottom = BannerPainter().band(320, 180, starting_notice(output_id, cameras))
            assert _share(shown[top:bottom], SLATE) > 0.5, f"{output_id}: its banner"
            assert np.abs(shown[top:bottom].astype(int) - expected.to_bgr()[top:bottom]).max() <= 2
        # DUMMY1 has no output of room.yaml: a window of its own says so, with its name.
        assert app.display.unused_monitors == ["DUMMY1"]
        unused = app.display.read_unused("DUMMY1")
        assert unused.shape == (180, 320, 3)
        assert _share(unused, NOTICE_SLATE) > 0.6 and (unused.min(axis=2) > 200).mean() > 0.01
    finally:
        app.close()


def test_a_broken_layout_at_boot_is_shown_on_every_monitor_until_fixed(
    three_monitors: VirtualDisplay, tmp_path: Path
) -> None:
    path = tmp_path / "broken.yaml"
    good = """cameras:
  a: {url: "rtsp://127.0.0.1:1/a"}
outputs:
  - {id: A1, size: [320, 180], grid: 1x1, tiles: [a]}
"""
    path.write_text(good.replace("tiles: [a]", "tiles: [b]"))
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    fallback = FallbackWall(
        path, caught.value, FallbackOptions(display_name=three_monitors.name), MonotonicClock()
    )
    try:
        assert fallback.tick() is None
        display = fallback.display
        assert display is not None
        assert sorted(display.output_ids) == ["DUMMY0", "DUMMY1", "DUMMY2"]
        for monitor in display.output_ids:
            shown = display.read_pixels(monitor)
            assert _share(shown, ERROR_RED) > 0.5, f"{monitor}: the errors, not black"
            # The same notice as the canvas holds (the connector's name, the errors).
            canvas = fallback.canvases[monitor]
            assert (shown == canvas.to_bgr()).all()
        path.write_text(good)  # fixed
        deadline = time.monotonic() + 5
        layout = None
        while layout is None and time.monotonic() < deadline:
            layout = fallback.tick()
            time.sleep(0.1)
        assert layout is not None and [o.id for o in layout.outputs] == ["A1"]
    finally:
        fallback.close()


def test_headless_a_broken_layout_is_one_notice_canvas(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("outputs: [\n")
    with pytest.raises(LayoutError) as caught:
        load_layout(path)
    fallback = FallbackWall(path, caught.value, FallbackOptions(headless=True), MonotonicClock())
    try:
        assert fallback.tick() is None
        assert list(fallback.canvases) == ["layout-error"]
        pixels = fallback.canvases["layout-error"].to_bgr()
        assert pixels.shape == (720, 1280, 3) and _share(pixels, ERROR_RED) > 0.5
        assert fallback.status_line() == f"layout broken: 1 error in {path}; waiting"
        # Still broken, differently: the screens follow.
        before = pixels.copy()
        path.write_text("outputs: 3\ncameras: 4\n")
        time.sleep(0.3)
        for _ in range(5):
            fallback.tick()
            time.sleep(0.3)
        after = fallback.canvases["layout-error"].to_bgr()
        assert not (after == before).all()
    finally:
        fallback.close()
