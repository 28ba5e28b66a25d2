"""The wall headless, as a user runs it: the command line, snapshots, signals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.e2e import check_o1, check_o2, e2e_layout_text
from tests.helpers.pixels import changed, read_png
from tests.helpers.processes import alive, children, cmdline, videowall_process

pytestmark = [pytest.mark.e2e, pytest.mark.alone]


def _wait_for_good_snapshot(
    path: Path, check: object, timeout: float = 25.0
) -> npt.NDArray[np.uint8]:
    deadline = time.monotonic() + timeout
    last_error: AssertionError | None = None
    while time.monotonic() < deadline:
        image = read_png(path)
        if image is not None:
            try:
                check(image)  # type: ignore[operator]
                return image
            except AssertionError as exc:  # cameras still connecting
                last_error = exc
        time.sleep(0.2)
    raise AssertionError(f"{path}: never showed the cameras right: {last_error}")


def _stop(process: subprocess.Popen[str], sig: int) -> str:
    started = time.monotonic()
    process.send_signal(sig)
    output, _ = process.communicate(timeout=10)
    elapsed = time.monotonic() - started
    assert process.returncode == 0, output
    assert elapsed < 2.0, f"stopping took {elapsed:.2f} s"
    return output


def test_headless_snapshots_show_each_camera_and_advance(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text(e2e_layout_text(camera_server))
    snapshots = tmp_path / "snaps"
    process = videowall_process(
        "run", str(layout), "--headless", "--snapshot", str(snapshots), "--every", "0.25"
    )
    try:
        first_o1 = _wait_for_good_snapshot(snapshots / "O1.png", check_o1)
        first_o2 = _wait_for_good_snapshot(snapshots / "O2.png", check_o2)
        time.sleep(1.5)
        later_o1 = _wait_for_good_snapshot(snapshots / "O1.png", check_o1)
        later_o2 = _wait_for_good_snapshot(snapshots / "O2.png", check_o2)
        assert changed(first_o1[:, :160], later_o1[:, :160]) > 0.002
        assert changed(first_o1[:, 160:], later_o1[:, 160:]) > 0.002
        assert changed(first_o2, later_o2) > 0.002
    finally:
        running = process.poll() is None
        output = _stop(process, signal.SIGTERM) if running else process.communicate()[0]
    assert "Traceback" not in output
    assert sorted(p.name for p in snapshots.iterdir() if not p.name.startswith(".")) == [
        "O1.png",
        "O2.png",
    ]
    assert not any(Path("/dev/shm").glob(f"videowall-*{process.pid}*")), "shared memory freed"


def test_ctrl_c_stops_everything_within_two_seconds(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text(e2e_layout_text(camera_server))
    process = videowall_process("run", str(layout), "--headless", "--outputs", "O2")
    time.sleep(3.0)
    started = {pid: cmdline(pid) for pid in children(process.pid)}
    assert any("multiprocessing" in c for c in started.values()), "decoders run in processes"
    output = _stop(process, signal.SIGINT)
    assert "SIGINT received" in output
    time.sleep(0.2)  # multiprocessing's resource tracker exits when it sees its parent go
    for pid, command in started.items():
        assert not alive(pid), f"process {pid} ({command}) outlived the wall"


def test_broken_layout_is_refused_with_file_and_line(tmp_path: Path) -> None:
    layout = tmp_path / "broken.yaml"
    layout.write_text("cameras:\n  a: {url: 'rtsp://h/x'}\noutputs:\n  - id: X\n    sise: [1, 1]\n")
    result = subprocess.run(
        [sys.executable, "-m", "compositor", "run", str(layout), "--headless"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert f"{layout}:5:5: unknown key 'sise'" in result.stderr
    assert "Traceback" not in result.stderr


def test_unknown_output_is_refused(camera_server: SyntheticCameraServer, tmp_path: Path) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text(e2e_layout_text(camera_server))
    result = subprocess.run(
        [sys.executable, "-m", "compositor", "run", str(layout), "--headless", "--outputs", "Z9"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "Z9" in result.stderr and "O1, O2" in result.stderr
    assert "Traceback" not in result.stderr
