"""The benchmark runs end to end, so its script cannot rot: a reduced quick bench.

Three cameras, a short window, every runner. Only the shape of the results
is checked (every runner measured, every figure present, the ratios and the
targets written); the figures themselves are never judged here: timed
assertions on a shared machine would only be flaky. ``make bench`` judges
them and prints pass/fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from compositor.demo.virtual_x import DUMMY_DRIVER

REPO = Path(__file__).resolve().parent.parent
RUNNERS = ("decode_floor", "wall_headless", "wall_x", "ffmpeg_xstack", "opencv")
ROOM = ("room_floor", "room_wall")  # layouts/control-room-14.yaml, its first 3 cameras here
FIGURES = ("cpu_per_s", "cpu_ms_per_frame", "frames_per_s", "expected_per_s", "peak_rss_mb")

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _missing_tools() -> list[str]:
    missing = []
    if not os.access("/usr/bin/python3", os.X_OK):
        missing.append("/usr/bin/python3 with GStreamer")
    if shutil.which("ffmpeg") is None:
        missing.append("ffmpeg (apt-get install ffmpeg)")
    if shutil.which("Xvfb") is None and not DUMMY_DRIVER.exists():
        missing.append("an X server (Xorg dummy driver or Xvfb)")
    return missing


def test_quick_bench_writes_every_runners_figures(tmp_path: Path) -> None:
    missing = _missing_tools()
    if missing:
        pytest.skip(f"the bench needs {', '.join(missing)}")
    out = tmp_path / "latest.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench",
            "--quick",
            "--cameras",
            "3",
            # Each runner takes 3-5 s to start (a Python with its imports, cameras
            # connecting); a 2 s window after half a second is 50 frames a camera, enough
            # for every figure, which are only checked to be there.
            "--seconds",
            "2",
            "--settle",
            "0.5",
            "--room-cameras",
            "3",
            "--out",
            str(out),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads(out.read_text())

    assert results["mode"] == "quick"
    assert results["workload"]["cameras"] == 3
    assert set(results["runners"]) == {*RUNNERS, *ROOM}
    for name in (*RUNNERS, *ROOM):
        runner = results["runners"][name]
        assert runner["ok"], f"{name}: {runner['error']}"
        assert runner["cameras"] == 3
        for figure in FIGURES:
            assert isinstance(runner[figure], int | float), f"{name}.{figure} = {runner[figure]}"
        assert runner["cpu_per_s"] > 0
        assert runner["frames_per_s"] > 0
        assert isinstance(runner["held"], bool)
    for name in ("decode_floor", "wall_headless", "wall_x", "opencv"):
        assert results["runners"][name]["age_p99_ms"] is not None, name
    assert results["runners"]["wall_x"]["upload_mb_per_s"] > 0

    ratios = results["ratios"]
    assert set(ratios) == {"wall_over_decode_floor", "ffmpeg_over_wall", "opencv_over_wall"}
    assert all(isinstance(v, int | float) and v > 0 for v in ratios.values()), ratios
    assert results["runners"]["room_wall"]["age_p99_ms"] is not None
    assert results["runners"]["room_wall"]["peak_pss_mb"] > 0
    per_camera = results["runners"]["room_wall"]["details"]["per_camera"]
    assert set(per_camera) == {"cam01", "cam02", "cam03"}
    assert all(c["shown_expected"] > 0 for c in per_camera.values())
    # Every target is listed: judged where this run measured it, n/a where it did not
    # (the sub-streams' ratios, cameras held without a ramp).
    targets = {t["target"]: t["pass"] for t in results["targets"]}
    unmeasured = [t for t in targets if t.startswith(("sub-streams", "cameras held"))]
    assert len(unmeasured) == 4 and all(targets[t] is None for t in unmeasured), targets
    judged = [t for t in targets if t not in unmeasured]
    # 3 main-stream ratios, p99 age of wall_headless, wall_x and room_wall, 2 memory ratios:
    # each judged, or (a ratio whose runners fell behind on a busy machine) said why not.
    assert len(judged) == 8, targets
    for entry in results["targets"]:
        if entry["target"] in judged:
            assert entry["pass"] in (True, False) or entry.get("not_judged"), entry
    assert (tmp_path / "cpu_vs_cameras-quick.png").stat().st_size > 1000
    assert "PASS" in completed.stdout or "FAIL" in completed.stdout
