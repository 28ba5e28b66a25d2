"""The wall headless, as a user runs it: the command line, snapshots, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from compositor.demo.testcams import SyntheticCameraServer
from tests.e2e_wall import changed, check_o1, check_o2, e2e_layout_text

pytestmark = pytest.mark.e2e


def _videowall(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "compositor", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_png(path: Path) -> npt.NDArray[np.uint8] | None:
    if not path.exists():
        return None
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} is not a whole PNG (a reader saw a partial file)"
    return image


def _wait_for_good_snapshot(
    path: Path, check: object, timeout: float = 25.0
) -> npt.NDArray[np.uint8]:
    deadline = time.monotonic() + timeout
    last_error: AssertionError | None = None
    while time.monotonic() < deadline:
        image = _read_png(path)
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
    process = _videowall(
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
    process = _videowall("run", str(layout), "--headless", "--outputs", "O2")
    time.sleep(3.0)
    children = {pid: _cmdline(pid) for pid in _children(process.pid)}
    assert any("multiprocessing" in c for c in children.values()), "decoders run in processes"
    output = _stop(process, signal.SIGINT)
    assert "SIGINT received" in output
    time.sleep(0.2)  # multiprocessing's resource tracker exits when it sees its parent go
    for pid, cmdline in children.items():
        assert not _alive(pid), f"process {pid} ({cmdline}) outlived the wall"


def _children(pid: int) -> list[int]:
    result = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in result.stdout.split()]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "?"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().split()[2] != "Z"


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
