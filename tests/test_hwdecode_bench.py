"""benchmarks.hwdecode: the hardware-decoding measurement, on a host without a GPU.

What runs here is the path every host has: the CPU measured through the wall's
own rendition, and each device that cannot be used named with why, its figures
said to be missing (never estimated). The device path itself needs a GPU.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.clips import ClipSpec, ensure_clip
from benchmarks.hwdecode import Flat, Live, Report, main, read_clip, run, summary
from compositor.sources.hwdecode import NVIDIA_NODE

TINY = ClipSpec("tiny", 320, 180, kbps=300, seconds=2)  # 50 pictures, one GOP


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_clip(TINY, tmp_path_factory.mktemp("clips"), log=False)


def test_the_packets_are_the_clips_whole_in_decode_order(tiny: Path) -> None:
    clip = read_clip(tiny)
    packets = clip.packets
    assert clip.gop == TINY.gop
    assert len(packets) == TINY.frames
    assert sum(len(p) for p in packets) == tiny.stat().st_size
    assert packets[0].startswith(b"\x00\x00\x00\x01") or packets[0].startswith(b"\x00\x00\x01")


@pytest.mark.skipif(NVIDIA_NODE.exists(), reason="this host has an NVIDIA device")
def test_the_cpu_is_measured_and_a_missing_gpu_is_named_not_estimated(tiny: Path) -> None:
    said: list[str] = []
    report = run({"tiny": tiny}, ["tiny"], ["cpu", "cuda"], "tiny", [1], 1.0, said.append)

    assert report.devices["cpu"] is None
    assert report.devices["cuda"]  # why it cannot be used, e.g. no /dev/nvidiactl
    assert report.gpu_missing
    flat = report.flat
    assert [(f.device, f.frames, f.error, f.accelerated) for f in flat] == [
        ("cpu", TINY.frames, None, False)
    ]
    assert flat[0].picture_format == "yuv420p"
    assert flat[0].cpu_ms_per_frame is not None and flat[0].cpu_ms_per_frame > 0
    (live,) = report.live  # only the CPU's: nothing is run on an unusable device
    assert (live.device, live.streams, live.error, live.accelerated) == ("cpu", 1, None, 0)
    assert live.due > 0 and live.decoded > 0  # counted in its window
    assert any("cuda: not usable here" in line for line in said)
    lines = summary(report)
    assert lines[-1].startswith("GPU figures: missing (no device usable here: cuda: ")
    out = report.to_json()
    assert out["gpu_figures"] == "missing: no usable device here"
    assert {f["device"] for f in out["flat"]} == {"cpu"}


def test_the_summary_gives_each_devices_most_cameras_held_and_their_cpu() -> None:
    report = Report({}, {"cpu": None, "cuda": None, "qsv": "no Intel GPU"})
    report.flat.append(Flat("1080p", "cuda", 250, 1.0, 0.5, True, "nv12"))
    for device, streams, cpu, late in (
        ("cpu", 4, 1.0, 0),
        ("cpu", 8, 2.0, 100),
        ("cuda", 16, 0.8, 0),
        ("cuda", 32, 1.6, 0),
    ):
        due = 250 * streams
        report.live.append(Live("1080p", device, streams, 10.0, cpu, due, due, late, 0))
    assert not report.gpu_missing
    assert summary(report) == [
        "cpu: held 4 live cameras at 1.00 CPU-s/s (250 CPU-ms a camera-second)",
        "cuda: held 32 live cameras at 1.60 CPU-s/s (50 CPU-ms a camera-second)",
    ]
    assert report.to_json()["flat"][0]["cpu_ms_per_frame"] == 2.0


def test_a_count_short_of_pictures_is_not_held() -> None:
    assert Live("c", "cpu", 2, 10.0, 1.0, 500, 495, 4, 0).held  # 1 % short, 0.8 % late
    assert not Live("c", "cpu", 2, 10.0, 1.0, 500, 494, 0, 0).held
    assert not Live("c", "cpu", 2, 10.0, 1.0, 500, 500, 6, 0).held
    assert not Live("c", "cpu", 2, 10.0, 0.0, 0, 0, 0, 0, error="boom").held


def test_an_unknown_clip_or_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--clips", "4k"], ["--streams", "many"], ["--streams", "0"]):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "no such clip: 4k" in err
    assert "--streams: counts" in err
    assert "at least one count" in err


def test_the_results_file_says_what_was_measured(tiny: Path, tmp_path: Path) -> None:
    report = Report({"cores": 2}, {"cpu": None, "cuda": "no NVIDIA device"})
    report.live.append(Live("tiny", "cpu", 1, 1.0, 0.1, 25, 25, 0, 0))
    out = report.to_json()
    path = tmp_path / "r.json"
    path.write_text(json.dumps(out))
    back = json.loads(path.read_text())
    assert back["live"][0]["held"] is True
    assert back["devices"]["cuda"] == "no NVIDIA device"
    assert "1 %" in back["held_rule"]
