"""Hardware decoding with its fallback, end to end: a camera asking for a GPU this host
does not have is decoded on the CPU, said once, remembered across its reconnects, and
every place that reports on cameras (status.json, ``videowall status``, /api/cameras,
the metrics, the doctor) says what decodes it.

This machine has no GPU: the tests cover the path where the device cannot be used,
with real parts (PyAV's real ``HWAccel("cuda")``, which fails here as it does on any host
without NVIDIA's driver; real RTSP test cameras; real decoder processes). A host with a
usable cuda skips the fallback tests: there, the device decodes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from compositor.app import WallApp
from compositor.core.clock import MonotonicClock
from compositor.core.geometry import Fit
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.doctor.findings import Finding, Level
from compositor.doctor.report import collect_findings
from compositor.live.status import format_status
from compositor.metrics.collector import WallMetrics
from compositor.slots import CameraState, FrameSlot, StatusBoard
from compositor.sources.backoff import Backoff
from compositor.sources.camera import CameraJob, RenditionSpec, run_camera
from compositor.sources.hwdecode import CameraDecoding, HardwareProbe
from tests.helpers.devices import without_cuda
from tests.helpers.walls import tick_until

pytestmark = pytest.mark.e2e


# -- one camera, in its own thread, against a real RTSP camera ------------------------


def _run(
    server: SyntheticCameraServer, board: StatusBoard, folder: Path, decoding: CameraDecoding
) -> tuple[threading.Event, threading.Thread]:
    path = folder / f"slot-{decoding.setting}"
    FrameSlot(path, 160, 90, create=True).close()
    job = CameraJob(
        0,
        "cam",
        server.url("cam"),
        (RenditionSpec(str(path), 160, 90, Fit.LETTERBOX),),
        decode=decoding.setting,
    )
    stop = threading.Event()
    thread = threading.Thread(
        target=run_camera,
        args=(job, board, stop, MonotonicClock(), lambda: Backoff(floor=0.05, cap=0.1)),
        kwargs={"decoding": decoding},
        daemon=True,
    )
    thread.start()
    return stop, thread


def _wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.05)


def _connections(server: SyntheticCameraServer, board: StatusBoard, count: int) -> list[int]:
    """Frames decoded on each of ``count`` connections (the server killed between them)."""
    decoded = []
    for number in range(count):
        if number:
            server.kill()
            server.start()
        frames = board.read(0).frames
        _wait_for(
            lambda frames=frames: (
                board.read(0).state is CameraState.LIVE and board.read(0).frames > frames + 5
            ),
            20,
            f"connection {number + 1} live",
        )
        decoded.append(board.read(0).frames - frames)
    return decoded


@without_cuda
def test_a_camera_asking_for_cuda_here_is_decoded_on_the_cpu_said_once_and_remembered(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="compositor.sources")
    board = StatusBoard(tmp_path / "status", 1, create=True)
    decoding = CameraDecoding("cam", "cuda", HardwareProbe())
    with SyntheticCameraServer([SyntheticCamera("cam", "cam", 320, 180, 15)]) as server:
        stop, thread = _run(server, board, tmp_path, decoding)
        try:
            decoded = _connections(server, board, 3)
            status = board.read(0)
        finally:
            stop.set()
            thread.join(timeout=10)
    assert all(frames > 5 for frames in decoded), decoded  # never a failed camera
    # PyAV's own words for a host without NVIDIA's driver.
    assert status.decoder == "cpu (cuda unavailable: Operation not permitted)", status
    assert decoding.device_opens == 1, "the device tried again at a reconnect"
    said = [r.getMessage() for r in caplog.records if "cuda unavailable" in r.getMessage()]
    assert said == [
        "camera cam: cuda unavailable (Operation not permitted): decoded on the CPU, "
        "and its reconnects too"
    ]
    assert caplog.records[[r.getMessage() for r in caplog.records].index(said[0])].levelname == (
        "WARNING"
    )


def test_auto_and_cpu_never_try_a_device_this_host_does_not_have(tmp_path: Path) -> None:
    probe = HardwareProbe()
    device, why = probe.best()
    board = StatusBoard(tmp_path / "status", 1, create=True)
    with SyntheticCameraServer([SyntheticCamera("cam", "cam", 320, 180, 15)]) as server:
        for setting in ("auto", "cpu"):
            decoding = CameraDecoding("cam", setting, probe)
            stop, thread = _run(server, board, tmp_path, decoding)
            try:
                _connections(server, board, 2)
                status = board.read(0)
            finally:
                stop.set()
                thread.join(timeout=10)
            if setting == "cpu" or device is None:
                assert status.decoder == "cpu"
                assert decoding.device_opens == 0
            else:  # a host with a GPU: auto decodes on it, or says why not
                assert status.decoder in (device, f"cpu ({device} does not decode this stream)")
    if device is None:
        # Each device auto would try, and why not here.
        assert why.startswith("cuda: ") and "; qsv: " in why, why


@without_cuda
def test_the_wall_says_what_decodes_each_camera_in_its_status_and_metrics(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    # Real decoder processes: one camera asks for cuda, one for the CPU, one follows the
    # wall's --decode auto.
    text = f"""labels: {{show: false}}
cameras:
  red: {{url: "{camera_server.url("red")}", decode: cuda}}
  green: {{url: "{camera_server.url("green")}", decode: cpu}}
  blue: {{url: "{camera_server.url("blue")}"}}
outputs:
  - {{id: O1, size: [480, 90], grid: 1x3, tiles: [red, green, blue]}}
"""
    app = wall(
        text, workers=2, layout_path=tmp_path / "wall.yaml", state_dir=tmp_path / "state",
        decode="auto",
    )  # fmt: skip
    tick_until(
        app,
        lambda: all(app.camera_states.get(c) == "live" for c in ("red", "green", "blue")),
        30,
        "every camera live",
    )
    cameras = app.status()["cameras"]
    fallback = "cpu (cuda unavailable: Operation not permitted)"
    assert (cameras["red"]["decode"], cameras["red"]["decoder"]) == ("cuda", fallback)
    assert (cameras["green"]["decode"], cameras["green"]["decoder"]) == ("cpu", "cpu")
    assert (cameras["blue"]["decode"], cameras["blue"]["decoder"]) == ("auto", "cpu")
    json.dumps(app.status())  # status.json's document, as written
    shown = "\n".join(format_status(app.status()))
    assert f"[decoder: {fallback}]" in shown and shown.count("[decoder:") == 1
    assert {c["id"]: c["decoder"] for c in app.camera_report()} == {
        "red": fallback, "green": "cpu", "blue": "cpu"
    }  # fmt: skip
    body, _ = WallMetrics(app).exposition()
    info = {
        sample.labels["camera"]: sample.labels
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
        if sample.name == "videowall_camera_decoder_info"
    }
    assert info["red"] == {"camera": "red", "decode": "cuda", "decoder": "cpu", "detail": fallback}
    assert info["blue"] == {"camera": "blue", "decode": "auto", "decoder": "cpu", "detail": "cpu"}


def _camera_lines(findings: list[Finding]) -> dict[str, Finding]:
    return {str(f.data["camera"]): f for f in findings if f.item == "camera" and f.data}


@without_cuda
def test_the_doctor_says_what_decodes_each_camera_and_warns_of_a_device_missing_here(
    camera_server: SyntheticCameraServer,
    wall: Callable[..., WallApp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)  # the screens are not what is looked at
    layout = tmp_path / "wall.yaml"
    text = f"""cameras:
  red: {{url: "{camera_server.url("red")}", decode: cuda}}
  green: {{url: "{camera_server.url("green")}", decode: auto}}
  blue: {{url: "{camera_server.url("blue")}"}}
outputs:
  - {{id: O1, size: [480, 90], grid: 1x3, tiles: [red, green, blue]}}
"""
    layout.write_text(text)
    # No wall running: what the layout asks for, against this host.
    before = _camera_lines(collect_findings(layout, state_dir=tmp_path / "state"))
    assert before["red"].level is Level.WARN
    assert "; decode: cuda, which this machine cannot use (no device (Operation not " in (
        before["red"].detail
    )
    assert "nvidia-driver" in before["red"].fix
    assert before["green"].level is Level.OK
    assert before["green"].detail.endswith(
        "; decode: auto, here the CPU (no hardware decoder usable)"
    )
    assert before["blue"].detail.endswith("live, h264 352x288 15 fps")  # follows --decode
    # The wall running: what decodes each camera, from its status.
    app = wall(text, workers=1, layout_path=layout, state_dir=tmp_path / "state")
    tick_until(app, lambda: len(app.status()["cameras"]) == 3 and all(
        c["decoder"] for c in app.status()["cameras"].values()
    ), 30, "every camera opened")  # fmt: skip
    app.status_changed()  # status.json written now
    running = _camera_lines(collect_findings(layout, state_dir=tmp_path / "state"))
    assert running["red"].level is Level.WARN
    assert running["red"].detail.endswith(
        "; decoded on cpu (cuda unavailable: Operation not permitted) by the running wall "
        "(decode: cuda)"
    )
    assert running["blue"].level is Level.OK
    assert running["blue"].detail.endswith("; decoded on cpu by the running wall (decode: cpu)")
