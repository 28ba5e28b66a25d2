"""The whole wall on a real X server: RTSP -> decoder processes -> canvas -> OpenGL.

Pixels are read back from the windows with glReadPixels.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import cv2
import pytest

from compositor.app import RunOptions, WallApp
from compositor.demo.testcams import SyntheticCameraServer
from compositor.demo.virtual_x import VirtualDisplay
from compositor.layout.parse import parse_layout
from tests.helpers.e2e import check_o1, check_o2, e2e_cameras_yaml, e2e_layout_text
from tests.helpers.pixels import changed
from tests.helpers.processes import alive, children, cmdline, read_status, videowall_process
from tests.helpers.walls import tick_for, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.alone]


def _tick_until_live(app: WallApp, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app.tick()
        if app.camera_states and set(app.camera_states.values()) == {"live"}:
            # A few more ticks so every tile has its picture on screen.
            for _ in range(5):
                time.sleep(0.1)
                app.tick()
            return
        time.sleep(0.05)
    raise AssertionError(f"cameras not live after {timeout} s: {app.camera_states}")


def test_wall_in_windows_shows_each_camera_letterboxed_and_moving(
    camera_server: SyntheticCameraServer, x_display: VirtualDisplay
) -> None:
    layout = parse_layout(e2e_layout_text(camera_server), "e2e.yaml")
    app = WallApp(layout, RunOptions(windowed=True, display_name=x_display.name, fps=15))
    try:
        app.start()
        _tick_until_live(app)
        assert app.display is not None
        first = {o: app.display.read_pixels(o) for o in ("O1", "O2")}
        assert first["O1"].shape == (180, 320, 3)
        check_o1(first["O1"])
        check_o2(first["O2"])
        uploaded = app.display.bytes_uploaded
        tick_for(app, 1.5)
        later = {o: app.display.read_pixels(o) for o in ("O1", "O2")}
        check_o1(later["O1"])
        check_o2(later["O2"])
        assert changed(first["O1"][:, :160], later["O1"][:, :160]) > 0.002, "red frames advance"
        assert changed(first["O1"][:, 160:], later["O1"][:, 160:]) > 0.002, "green advances"
        assert changed(first["O2"], later["O2"]) > 0.002, "blue frames advance"
        # Only changed tiles are uploaded, never more than the canvases' worth per tick.
        assert app.display.bytes_uploaded > uploaded
        # Right after a tick, each window shows exactly what its canvas holds: the
        # shader's YUV -> RGB gives, byte for byte, the canvas's own to_bgr().
        app.tick()
        for output_id, canvas in app.canvases.items():
            assert (app.display.read_pixels(output_id) == canvas.to_bgr()).all()
    finally:
        app.close()


def test_fullscreen_outputs_go_to_their_named_monitors(
    camera_server: SyntheticCameraServer,
) -> None:
    """On a 2-monitor dummy Xorg: `monitor: DUMMY1` puts O1 on the right-hand screen,
    and O2 (no monitor given) takes the free one; each window fills its monitor."""
    text = e2e_layout_text(camera_server).replace(
        "  - id: O1\n", "  - id: O1\n    monitor: DUMMY1\n"
    )
    layout = parse_layout(text, "e2e.yaml")
    with VirtualDisplay.dummy_wall(monitors=2, columns=2, mode=(480, 270)) as wall:
        app = WallApp(layout, RunOptions(display_name=wall.name, fps=15))
        try:
            app.start()
            assert app.display is not None
            right, left = app.display.monitor_of("O1"), app.display.monitor_of("O2")
            assert right is not None and (right.name, right.x) == ("DUMMY1", 480)
            assert left is not None and (left.name, left.x) == ("DUMMY0", 0)
            _tick_until_live(app)
            shown = app.display.read_pixels("O2")
            assert shown.shape == (270, 480, 3)  # the 320x180 canvas scaled to the monitor
            # Scaled by 1.5: the blue picture spans x 60..420, black bars outside.
            check_o2(cv2.resize(shown, (320, 180), interpolation=cv2.INTER_AREA))
        finally:
            app.close()


def test_a_screen_that_fails_leaves_the_others_running_and_comes_back(
    camera_server: SyntheticCameraServer,
) -> None:
    text = e2e_layout_text(camera_server) + (
        "  - id: O3\n    size: [320, 180]\n    tiles:\n"
        "      - {camera: red, rect: [0, 0, 320, 180]}\n"
    )
    layout = parse_layout(text, "e2e.yaml")
    with VirtualDisplay.dummy_wall(monitors=3, columns=3, mode=(480, 270)) as wall:
        app = WallApp(layout, RunOptions(display_name=wall.name, fps=15))
        try:
            app.start()
            assert app.display is not None
            _tick_until_live(app)
            assert app.display.monitor_of("O2") is not None
            wall.set_monitor("DUMMY1", on=False)
            tick_for(app, 2.5)  # the watcher polls every second
            assert app.display.output_ids == ["O1", "O3"], "O2 lost its monitor"
            before = {o: app.display.read_pixels(o) for o in ("O1", "O3")}
            tick_for(app, 1.5)
            after = {o: app.display.read_pixels(o) for o in ("O1", "O3")}
            for output_id in ("O1", "O3"):
                assert changed(before[output_id], after[output_id]) > 0.001, f"{output_id} runs"
            wall.set_monitor("DUMMY1", on=True)
            tick_for(app, 2.5)
            monitor = app.display.monitor_of("O2")
            assert monitor is not None and monitor.name == "DUMMY1"
            shown = app.display.read_pixels("O2")
            check_o2(cv2.resize(shown, (320, 180), interpolation=cv2.INTER_AREA))
        finally:
            app.close()


def _all_live(state: Path) -> bool:
    cameras = read_status(state)["cameras"]
    assert isinstance(cameras, dict)
    return all(camera["state"] == "live" for camera in cameras.values())


def test_ctrl_c_stops_a_wall_drawn_slowly_within_two_seconds(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    """Four 1920x1080 screens drawn by Mesa's software renderer: a tick takes a large part
    of a second (every screen behind, the loop never idle). Ctrl-C in the middle of one
    stops windows, decoders and all within two seconds (the screens left in that tick are
    not drawn; the decoders stop while the rest closes)."""
    outputs = "".join(
        f"  - {{id: S{i}, size: [1920, 1080], grid: 2x2, tiles: [red, green, blue, red]}}\n"
        for i in range(4)
    )
    layout = tmp_path / "wall.yaml"
    layout.write_text(
        f"labels: {{show: false}}\n{e2e_cameras_yaml(camera_server)}outputs:\n{outputs}"
    )
    with VirtualDisplay.dummy_wall(monitors=4, columns=2, mode=(1920, 1080)) as wall:
        state = tmp_path / "state"
        process = videowall_process(
            "run", str(layout), "--display", wall.name, "--api", "off", "--state-dir", str(state)
        )
        try:
            wait_until(lambda: _all_live(state), 30, "every camera live")
            time.sleep(1.0)  # every tick late
            started = {pid: cmdline(pid) for pid in children(process.pid)}
            assert any("multiprocessing" in c for c in started.values()), "decoders running"
            asked = time.monotonic()
            process.send_signal(signal.SIGINT)
            output, _ = process.communicate(timeout=10)
            elapsed = time.monotonic() - asked
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, output
    assert "SIGINT received" in output and "Traceback" not in output
    assert elapsed < 2.0, f"stopping took {elapsed:.2f} s"
    time.sleep(0.2)  # multiprocessing's resource tracker exits when it sees its parent go
    for pid, command in started.items():
        assert not alive(pid), f"process {pid} ({command}) outlived the wall"
