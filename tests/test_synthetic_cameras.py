"""The demo's own test fixtures, checked for real: the RTSP test cameras and the virtual X servers.

The cameras are decoded with PyAV exactly as the wall decodes them; the X
servers are checked with xrandr and with pyglet in a child process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import numpy as np
import numpy.typing as npt
import pytest

import compositor.demo.testcams as testcams
from compositor.core.errors import DisplayError, EnvironmentSetupError
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.demo.virtual_x import DUMMY_DRIVER, VirtualDisplay

pytestmark = pytest.mark.e2e  # real decoder processes, RTSP and X servers

OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000"}

CAMERAS = (
    SyntheticCamera("red", "red 16:9", 320, 180, 15, (200, 40, 40)),
    SyntheticCamera("blue", "blue 4:3", 240, 180, 15, (40, 70, 200), sar=(1, 1)),
    # PAL-like: 352x288 with 12:11 pixels.
    SyntheticCamera("pal", "green PAL · 12:11", 352, 288, 15, (40, 160, 60), sar=(12, 11)),
    SyntheticCamera("hevc", "yellow H.265", 320, 180, 15, (210, 160, 30), sar=(4, 3), codec="h265"),
    SyntheticCamera("mjpeg", "purple MJPEG", 320, 176, 15, (150, 50, 170), codec="mjpeg"),
)
CODEC_NAMES = {"h264": "h264", "h265": "hevc", "mjpeg": "mjpeg"}


@dataclass
class Decoded:
    codec: str
    sar: Fraction | None
    frames: list[npt.NDArray[np.uint8]]  # RGB, the first frame and one about 1 s later


def _decode(url: str, count: int = 15) -> Decoded:
    container = av.open(url, options=OPTIONS)
    try:
        stream = container.streams.video[0]
        frames: list[npt.NDArray[np.uint8]] = []
        for index, frame in enumerate(container.decode(stream)):
            if index in (0, count - 1):
                frames.append(frame.to_ndarray(format="rgb24").astype(np.uint8, copy=False))
            if index == count - 1:
                break
        sar = stream.codec_context.sample_aspect_ratio
        return Decoded(stream.codec_context.name, sar, frames)
    finally:
        container.close()


def _middle(picture: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    height, width = picture.shape[:2]
    return picture[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]


def _share_near(region: npt.NDArray[np.uint8], rgb: tuple[int, int, int], tol: int = 40) -> float:
    distance = np.abs(region.astype(np.int16) - np.array(rgb, np.int16)).max(axis=2)
    return float((distance <= tol).mean())


def _changed(a: npt.NDArray[np.uint8], b: npt.NDArray[np.uint8]) -> float:
    return float((np.abs(a.astype(np.int16) - b).max(axis=2) > 40).mean())


@pytest.fixture(scope="module")
def server() -> Iterator[SyntheticCameraServer]:
    with SyntheticCameraServer(CAMERAS) as started:
        yield started


@pytest.fixture(scope="module")
def decoded(server: SyntheticCameraServer) -> dict[str, Decoded | BaseException]:
    """Every camera decoded at once (each open probes for ~2 s)."""
    results: dict[str, Decoded | BaseException] = {}

    def run(camera: SyntheticCamera) -> None:
        try:
            results[camera.path] = _decode(server.url(camera.path))
        except BaseException as exc:
            results[camera.path] = exc

    threads = [threading.Thread(target=run, args=(c,)) for c in CAMERAS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


@pytest.mark.parametrize("camera", CAMERAS, ids=[c.path for c in CAMERAS])
def test_camera_decodes_with_its_size_colour_motion_and_sar(
    camera: SyntheticCamera, decoded: dict[str, Decoded | BaseException]
) -> None:
    result = decoded[camera.path]
    if isinstance(result, BaseException):
        raise result
    assert result.codec == CODEC_NAMES[camera.codec]
    first, later = result.frames
    assert first.shape == (camera.height, camera.width, 3)
    assert later.shape == first.shape
    # The background colour dominates the middle (the ball covers a little of it).
    assert _share_near(_middle(first), camera.color) > 0.8
    assert _share_near(_middle(later), camera.color) > 0.8
    # The ball moves: about a second apart, the pictures differ.
    assert _changed(first, later) > 0.005
    # The pixel aspect ratio reaches the decoder (RTP/JPEG cannot carry one).
    if camera.codec != "mjpeg":
        assert result.sar == Fraction(*camera.sar)


def test_url_has_port_path_and_quoted_credentials() -> None:
    plain = SyntheticCameraServer(CAMERAS[:1], port=8554)
    assert plain.url("red") == "rtsp://127.0.0.1:8554/red"
    secured = SyntheticCameraServer(CAMERAS[:1], port=8554, user="a b", password="p@ss:")
    assert secured.url("/red") == "rtsp://a%20b:p%40ss%3A@127.0.0.1:8554/red"
    with pytest.raises(RuntimeError):
        _ = SyntheticCameraServer(CAMERAS[:1]).port  # port 0: known once started


def test_bad_cameras_are_refused() -> None:
    with pytest.raises(ValueError, match="codec"):
        SyntheticCamera("x", "x", codec="vp8")
    with pytest.raises(ValueError, match="even"):
        SyntheticCamera("x", "x", width=321)
    with pytest.raises(ValueError, match="multiples of 8"):
        SyntheticCamera("x", "x", 320, 180, codec="mjpeg")
    with pytest.raises(ValueError, match="repeat"):
        SyntheticCameraServer([CAMERAS[0], CAMERAS[0]])


def test_busy_port_is_an_environment_error(server: SyntheticCameraServer) -> None:
    second = SyntheticCameraServer(CAMERAS[:1], port=server.port)
    with pytest.raises(EnvironmentSetupError, match="busy"):
        second.start()
    assert not second.running


def test_system_python_without_gstreamer_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    # The venv's python has no gi: the error says what to install.
    monkeypatch.setattr(testcams, "SYSTEM_PYTHON", sys.executable)
    with pytest.raises(EnvironmentSetupError, match=r"gir1\.2-gst-rtsp-server-1\.0"):
        SyntheticCameraServer(CAMERAS[:1]).start()
    monkeypatch.setattr(testcams, "SYSTEM_PYTHON", "/nonexistent/python3")
    with pytest.raises(EnvironmentSetupError, match="python3-gi"):
        SyntheticCameraServer(CAMERAS[:1]).start()


def test_basic_auth() -> None:
    camera = SyntheticCamera("secret", "secret", 160, 90, 15, (200, 40, 40))
    with SyntheticCameraServer([camera], user="viewer", password="s3cret") as server:
        anonymous = f"rtsp://127.0.0.1:{server.port}/secret"
        wrong = f"rtsp://viewer:nope@127.0.0.1:{server.port}/secret"
        for url in (anonymous, wrong):
            with pytest.raises(av.error.HTTPUnauthorizedError):
                av.open(url, options=OPTIONS)
        frames = _decode(server.url("secret"), count=1).frames
        assert frames[0].shape == (90, 160, 3)


def test_kill_ends_the_stream_and_start_comes_back_on_the_same_port() -> None:
    camera = SyntheticCamera("cam", "cam", 160, 90, 15, (40, 70, 200))
    with SyntheticCameraServer([camera]) as server:
        port = server.port
        container = av.open(server.url("cam"), options=OPTIONS)
        try:
            frames = container.decode(video=0)
            next(frames)
            server.kill()
            assert not server.running
            # A killed camera ends the iteration, or (when the kill cut the last packet
            # short) raises InvalidDataError on that packet; it never goes on or hangs.
            deadline = time.monotonic() + 15
            with contextlib.suppress(av.error.InvalidDataError):
                for _ in frames:
                    assert time.monotonic() < deadline, "the stream of a killed server goes on"
        finally:
            container.close()
        with pytest.raises(av.error.ConnectionRefusedError):
            av.open(server.url("cam"), options=OPTIONS)

        started = time.monotonic()
        server.start()
        assert time.monotonic() - started < 5
        assert server.port == port
        assert _decode(server.url("cam"), count=1).frames[0].shape == (90, 160, 3)
    assert not server.running
    server.stop()  # idempotent


def test_pause_and_resume_signal_the_server() -> None:
    with SyntheticCameraServer([SyntheticCamera("cam", "cam", 160, 90)]) as server:
        assert server.running
        server.pause()
        assert server.running
        server.stop()  # a paused server stops too
        assert not server.running


# -- virtual X servers ----------------------------------------------------------------


def _pyglet_in(display: VirtualDisplay, code: str) -> str:
    """Run ``code`` with pyglet on ``display`` in a child process; its stdout."""
    result = subprocess.run(
        [sys.executable, "-c", "import pyglet\n" + code],
        env={**os.environ, "DISPLAY": display.name},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def _display_free(number: int) -> bool:
    return not Path(f"/tmp/.X{number}-lock").exists()


@pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("xdpyinfo") is None,
    reason="Xvfb or xdpyinfo is not installed (Debian: xvfb x11-utils; "
    "scripts/install-system-deps.sh test)",
)
def test_xvfb_has_one_screen_with_glx() -> None:
    with VirtualDisplay.xvfb(640, 360) as display:
        assert display.name.startswith(":")
        assert display.monitors() == [("screen", 0, 0, 640, 360)]
        renderer = _pyglet_in(
            display,
            "from pyglet.gl import gl_info\n"
            "screens = pyglet.display.get_display().get_screens()\n"
            "window = pyglet.window.Window(64, 64)\n"
            "print(len(screens), gl_info.get_renderer())\n"
            "window.close()\n",
        )
        assert renderer.startswith("1 ")
        with pytest.raises(DisplayError):
            display.set_monitor("DUMMY0", False)
    assert not display.running
    assert _display_free(display.number)
    display.stop()  # idempotent


@pytest.mark.skipif(
    shutil.which("Xorg") is None or shutil.which("xrandr") is None or not DUMMY_DRIVER.exists(),
    reason="Xorg, its dummy driver or xrandr is not installed (Debian: xserver-xorg-core "
    "xserver-xorg-video-dummy x11-xserver-utils; scripts/install-system-deps.sh test)",
)
@pytest.mark.skipif(os.geteuid() != 0, reason="Xorg with the dummy driver needs root")
def test_dummy_wall_has_14_monitors_that_can_fail_and_return() -> None:
    with VirtualDisplay.dummy_wall(14, columns=7, mode=(480, 270)) as display:
        monitors = display.monitors()
        assert len(monitors) == 14
        assert monitors[0] == ("DUMMY0", 0, 0, 480, 270)
        assert ("DUMMY13", 6 * 480, 270, 480, 270) in monitors
        screens = _pyglet_in(
            display,
            "screens = pyglet.display.get_display().get_screens()\n"
            "print(sorted((s.x, s.y, s.width, s.height) for s in screens))\n",
        )
        expected = sorted((480 * (i % 7), 270 * (i // 7), 480, 270) for i in range(14))
        assert screens == str(expected)

        display.set_monitor("DUMMY5", False)
        assert len(display.monitors()) == 13
        assert "DUMMY5" not in {m[0] for m in display.monitors()}
        display.set_monitor("DUMMY5", True)
        assert len(display.monitors()) == 14
        assert ("DUMMY5", 5 * 480, 0, 480, 270) in display.monitors()
    assert not display.running
    assert _display_free(display.number)
