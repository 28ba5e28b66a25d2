"""`videowall screens` and `videowall identify` on a real 3-monitor dummy X server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from compositor.compose.patterns import identify_pattern
from compositor.demo.virtual_x import VirtualDisplay
from tests.helpers.processes import videowall

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wall() -> Iterator[VirtualDisplay]:
    with VirtualDisplay.dummy_wall(monitors=3, columns=3, mode=(480, 270)) as display:
        yield display


def test_screens_lists_monitors_and_the_outputs_on_them(wall: VirtualDisplay) -> None:
    result = videowall(
        "screens", str(REPO / "layouts" / "demo.yaml"), "--display", wall.name, timeout=60
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "3 monitor(s):"
    assert "DUMMY0" in lines[1] and "primary" in lines[1] and "<- output A1" in lines[1]
    assert "DUMMY2" in lines[3] and "480x270+960+0" in lines[3] and "<- output A3" in lines[3]
    assert "output A4: no monitor — not shown" in result.stdout


def test_screens_without_x_is_a_clear_error() -> None:
    result = videowall("screens", "--display", ":59", timeout=60)
    assert result.returncode == 2
    assert "cannot list the monitors" in result.stderr and "Traceback" not in result.stderr


def test_identify_opens_a_window_per_monitor_and_stops_after_its_time(
    wall: VirtualDisplay,
) -> None:
    started = time.monotonic()
    result = videowall("identify", "--display", wall.name, "--seconds", "1.5", timeout=60)
    assert result.returncode == 0, result.stderr
    assert 1.5 <= time.monotonic() - started < 20
    for name in ("DUMMY0", "DUMMY1", "DUMMY2"):
        assert f"on monitor {name}" in result.stderr


def test_identify_pattern_shows_the_title_and_reaches_the_corners() -> None:
    pattern = identify_pattern(480, 270, "A5", "DUMMY4 · 1920x1080")
    assert pattern.shape == (270, 480, 3)
    assert tuple(pattern[0, 0]) == (0, 255, 255)  # corner mark, top left
    assert tuple(pattern[0, 479]) == (0, 255, 255)
    middle = pattern[90:135, 180:300]
    assert (middle == 255).all(axis=2).mean() > 0.1  # big white title on black
    assert (middle == 0).all(axis=2).mean() > 0.1
    assert len(np.unique(pattern[-10:].reshape(-1, 3), axis=0)) >= 8  # colour bars
