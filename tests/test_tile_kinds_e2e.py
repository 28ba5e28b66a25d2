"""The running wall shows clocks, texts, images, tours and labels (headless, real cameras)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.app import WallApp
from compositor.compose.overlay import BannerPainter
from compositor.compose.painters import CLOCK_BACKGROUND, TEXT_BACKGROUND, label_strip
from compositor.compose.screen_notice import starting_notice
from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.e2e import e2e_cameras_yaml
from tests.helpers.layouts import line_of, save
from tests.helpers.pictures import busy_png, png_bomb
from tests.helpers.pixels import BLUE, RED, share_near
from tests.helpers.processes import alive, children
from tests.helpers.walls import tick_until, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

Pixels = npt.NDArray[np.uint8]
MAGENTA_BGR = (200, 0, 200)


def white_share(region: Pixels) -> float:
    return float((region >= 200).all(axis=2).mean())


def test_clock_text_image_tour_and_labels_on_the_wall(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    logo = np.zeros((90, 160, 3), np.uint8)
    logo[:] = MAGENTA_BGR
    cv2.imwrite(str(tmp_path / "logo.png"), logo)
    app = wall(
        f"""
labels: {{position: bottom-left, size: 1.5}}
{e2e_cameras_yaml(camera_server)}outputs:
  - id: O1
    size: [640, 360]
    grid: 2x2
    tiles:
      - {{clock: "%H:%M:%S"}}
      - {{text: "Incident room B"}}
      - {{image: "{tmp_path / "logo.png"}"}}
      - {{tour: [red, blue], every: 1, fit: fill}}
  - id: O2
    size: [640, 180]
    grid: 1x2
    tiles: [red, {{camera: red, label: false}}]
"""
    )
    o1, o2 = app.canvases["O1"], app.canvases["O2"]

    def picture(canvas_id: str) -> Pixels:
        return app.canvases[canvas_id].to_bgr()

    # The clock and the text are there from the first frame on, around the banner that
    # says the output waits for its cameras (two, the tour's); the image once decoded (in
    # its own process, never on the render loop: see the tests of pictures below).
    app.tick()
    first = picture("O1")
    top, _ = BannerPainter().band(640, 360, starting_notice("O1", 2))
    assert o1.banner == starting_notice("O1", 2)
    clock, text = first[:top, :320], first[:top, 320:]
    assert share_near(clock, CLOCK_BACKGROUND[::-1], 2) > 0.5 and white_share(clock) > 0.02
    assert share_near(text, TEXT_BACKGROUND[::-1], 2) > 0.5 and white_share(text) > 0.02

    def image_shown() -> bool:  # 16:9 into 16:9: all of it
        return share_near(picture("O1")[180:, :320], MAGENTA_BGR[::-1], 2) > 0.9

    tick_until(app, image_shown, 20, "the image shown")

    # Labels: on the labelled tile, a dark strip with white text at the bottom left;
    # the same camera with `label: false` is plain red there.
    def labelled() -> bool:
        o2_now = picture("O2")
        return share_near(o2_now[:, 320:], RED) > 0.9 and white_share(o2_now[120:, :160]) > 0.02

    tick_until(app, labelled, 20, "red live, with its label on one tile only")
    o2_now = picture("O2")
    label = label_strip("Red", 320, 180, "bottom-left", 1.5)
    assert label is not None
    r = label.rect
    strip, plain = (
        o2_now[r.y : r.bottom, r.x : r.right],
        o2_now[r.y : r.bottom, 320 + r.x :][:, : r.w],
    )
    assert share_near(plain, RED) > 0.95
    assert share_near(strip, RED) < 0.5  # darkened under the strip
    assert share_near(o2_now[: r.y - 1, :320], RED) > 0.95  # the rest of the tile untouched

    # The tour: red and blue in turn, a second each; its label follows (present throughout).
    def tour_shows(rgb: tuple[int, int, int]) -> Callable[[], bool]:
        return lambda: share_near(picture("O1")[180:300, 320:], rgb) > 0.6

    tick_until(app, tour_shows(RED), 20, "the tour on red")
    took = tick_until(app, tour_shows(BLUE), 3, "the tour on blue")
    assert took < 1.5
    assert white_share(picture("O1")[320:, 320:420]) > 0.02  # the label, on blue
    took = tick_until(app, tour_shows(RED), 3, "the tour back on red")
    assert took < 1.5

    # The clock moves on with the seconds.
    before = picture("O1")[:180, :320].copy()
    time.sleep(1.1)
    app.tick()
    assert not np.array_equal(before, picture("O1")[:180, :320])
    # Only camera tiles are canvas tiles: the painted ones need no decoder.
    assert len(o1.tiles) == 1 and len(o2.tiles) == 2
    assert set(app.pool.camera_ids) == {"red", "blue"}


# --- pictures: limited, decoded off the render loop ---------------------------------------


def _image_layout(server: SyntheticCameraServer, tile: str) -> str:
    return f"""\
{e2e_cameras_yaml(server)}outputs:
  - id: O1
    size: [640, 360]
    grid: 1x2
    tiles: [red, {tile}]
"""


def _magenta_quarter(app: WallApp) -> float:
    """How much of the picture's magenta quarter shows: a 6000x6000 picture letterboxed
    into the 320x360 tile is 320x320 at y 20, its top-left quarter 160x160."""
    return share_near(app.canvases["O1"].to_bgr()[40:160, 340:460], MAGENTA_BGR[::-1], 2)


def test_a_picture_is_decoded_off_the_render_loop_and_a_bomb_is_refused_live(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    busy_png(tmp_path / "big.png", 6000, 6000)  # 36 Mpx: under the limit, not instant
    path = tmp_path / "wall.yaml"
    app = wall(
        _image_layout(camera_server, '{text: "before"}'),
        layout_path=path,
        state_dir=tmp_path / "state",
    )
    live = app.live
    assert live is not None
    before = live.last_result
    save(path, _image_layout(camera_server, "{image: big.png}"))
    tick_until(app, lambda: live.last_result is not before, 5, "the edit applied")
    assert live.last_result.outcome == "applied", live.last_result
    # The tick that applied the layout did not decode the picture: frames are drawn
    # while it is decoded, and then it shows.
    frames_while_decoding = 0

    def shown() -> bool:
        nonlocal frames_while_decoding
        if _magenta_quarter(app) > 0.9:
            return True
        frames_while_decoding += 1
        return False

    tick_until(app, shown, 30, "the picture shown")
    assert frames_while_decoding >= 1

    # The picture, saved over the layout of a running wall: refused at its line,
    # and the wall keeps what it shows.
    png_bomb(tmp_path / "city.png", 12000, 12000)
    before = live.last_result
    bomb_text = _image_layout(camera_server, "{image: city.png}")
    save(path, bomb_text)
    tick_until(app, lambda: live.last_result is not before, 10, "the bomb handled")
    result = live.last_result
    assert result.outcome == "refused"
    assert any(
        error.startswith(f"{path}:{line_of(bomb_text, 'city.png')}:")
        and "image 'city.png'" in error
        and "is 12000x12000 (144 Mpx): the limit is 40 Mpx" in error
        for error in result.errors
    ), result.errors
    assert _magenta_quarter(app) > 0.9


def test_the_wall_stops_within_2_s_with_a_bomb_refused_and_a_picture_in_decoding(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    busy_png(tmp_path / "big.png", 6300, 6300)  # 39.7 Mpx: just under the limit
    png_bomb(tmp_path / "city.png", 12000, 12000)
    path = tmp_path / "wall.yaml"
    path.write_text(_image_layout(camera_server, '{text: "before"}'))
    wall = subprocess.Popen(
        [
            *(sys.executable, "-m", "compositor", "run", str(path)),
            *("--headless", "--state-dir", str(tmp_path / "state")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(wall.stdout or []), daemon=True)
    reader.start()

    def logged(text: str, after: int = 0) -> Callable[[], bool]:
        return lambda: any(text in line for line in lines[after:])

    try:
        wait_until(logged("wall started"), 20, "the wall started")
        seen = len(lines)
        save(path, _image_layout(camera_server, "{image: city.png}"))
        wait_until(logged("refused", seen), 3, "the bomb refused at once")
        seen = len(lines)
        save(path, _image_layout(camera_server, "{image: big.png}"))
        wait_until(logged("applied", seen), 3, "the picture's layout applied")
        started = children(wall.pid)  # the decoders, and the pictures' decoder
    finally:
        stopping = time.monotonic()
        wall.send_signal(signal.SIGTERM)
        try:
            wall.wait(timeout=10)
        finally:
            if wall.poll() is None:
                wall.kill()
        took = time.monotonic() - stopping
        reader.join(timeout=5)
    output = "".join(lines)
    assert wall.returncode == 0, output
    assert "Traceback" not in output and "stopped" in output
    assert took < 2.0, f"stopping took {took:.2f} s"
    time.sleep(0.2)  # multiprocessing's resource tracker exits when it sees its parent go
    assert not [pid for pid in started if alive(pid)], "a process outlived the wall"
    print(f"stopped in {took:.2f} s; picture decoded before the stop: {'decoded in' in output}")
