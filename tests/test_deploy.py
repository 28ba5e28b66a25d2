"""What deploy/ ships: the systemd unit (systemd-analyze verify), the alert rules (promtool)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from compositor.cli import main
from compositor.core.errors import CompositorError
from compositor.core.histogram import HistogramReading
from compositor.metrics.collector import WallCollector
from compositor.metrics.readings import (
    CameraReading,
    DecoderReading,
    OutputReading,
    WallReadings,
)
from compositor.service.unit import DEFAULT_EXECUTABLE, render_unit

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"{name} is missing: `make test` installs it (scripts/install-system-deps.sh test)"
        )
    return path


def test_the_shipped_unit_is_the_rendered_default() -> None:
    assert (DEPLOY / "videowall.service").read_text() == render_unit()


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_tool("systemd-analyze"), "verify", str(unit)],
        capture_output=True,
        text=True,
        cwd=unit.parent,
        timeout=60,
    )


def test_the_unit_verifies_and_asks_for_notify_watchdog_restarts_and_hardening(
    tmp_path: Path,
) -> None:
    text = render_unit()
    for setting in (
        "Type=notify", "WatchdogSec=20", "Restart=always", "User=videowall", "Group=video",
        "StateDirectory=videowall", "NoNewPrivileges=yes", "ProtectSystem=strict",
        "PrivateTmp=yes", "CapabilityBoundingSet=\n", "Environment=DISPLAY=:0",
    ):  # fmt: skip
        assert setting in text, setting
    # systemd-analyze needs the program to exist: the same unit, run by a stand-in.
    program = tmp_path / "videowall"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    unit = tmp_path / "videowall.service"
    unit.write_text(text.replace(str(DEFAULT_EXECUTABLE), str(program)))
    result = _verify(unit)
    # It exits 0 on unknown keys and bad values too, saying so: it must say nothing.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result
    # ... and it would say so: a misspelt key is reported.
    unit.write_text(unit.read_text().replace("ProtectHome=yes", "ProtectHme=yes"))
    assert "ProtectHme" in _verify(unit).stderr


def test_install_service_writes_the_unit_for_a_layout_and_display(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "videowall.service"
    program = tmp_path / "bin" / "videowall"
    code = main(
        ["install-service", "/etc/videowall/room.yaml", "--display", ":1", "-o", str(output),
         "--executable", str(program), "--metrics", "127.0.0.1:9480"]
    )  # fmt: skip
    assert code == 0
    text = output.read_text()
    assert (
        f"ExecStart={program} run /etc/videowall/room.yaml --display :1 "
        "--state-dir ${STATE_DIRECTORY} --wait-for-valid-layout --metrics 127.0.0.1:9480"
    ) in text
    assert "Environment=DISPLAY=:1" in text
    said = capsys.readouterr().out
    assert f"wrote {output}" in said and "systemctl daemon-reload" in said
    assert main(["install-service", "/etc/videowall/room.yaml", "-o", "-"]) == 0
    assert "Type=notify" in capsys.readouterr().out
    # The unit hides /home from the service: a layout there would never be read.
    assert main(["install-service", "/home/tech/room.yaml", "-o", str(output)]) == 2
    assert "ProtectHome" in capsys.readouterr().err
    with pytest.raises(CompositorError):
        render_unit(display="not a display")


def test_the_alert_rules_pass_promtool_and_fire_as_their_tests_say() -> None:
    promtool = _tool("promtool")
    checked = subprocess.run(
        [promtool, "check", "rules", "videowall-alerts.yml"],
        capture_output=True, text=True, cwd=DEPLOY, timeout=60,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    tested = subprocess.run(
        [promtool, "test", "rules", "videowall-alerts.test.yml"],
        capture_output=True, text=True, cwd=DEPLOY, timeout=60,
    )  # fmt: skip
    assert tested.returncode == 0, tested.stdout + tested.stderr


def _readings() -> WallReadings:
    ages = HistogramReading((0.1, 1.0), (3, 4, 4), 0.5)
    return WallReadings(
        cameras=[
            CameraReading("cam01", "Quay", "main", "live", 10, False, 0.0, {"refused": 1}, ages)
        ],
        outputs=[OutputReading("A1", "DP-1", True, 5)],
        decoders=[DecoderReading(0, 123, 1.5, 1 << 20)],
        decoder_restarts=0,
        layout_changes={"applied": 1},
        loop_seconds=HistogramReading((0.01,), (2, 2), 0.01),
        target_fps=60.0,
    )


def test_the_rules_use_only_series_the_wall_exposes() -> None:
    exposed = set()
    for family in WallCollector(_readings).collect():
        for sample in family.samples:
            exposed.add(sample.name)
    rules = (DEPLOY / "videowall-alerts.yml").read_text()
    used = set(re.findall(r"\b(videowall_[a-z_]+)", rules))
    assert used and used <= exposed, used - exposed


def test_the_exposition_of_readings_parses_and_keeps_its_labels() -> None:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(WallCollector(_readings))
    families = {
        f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())
    }
    assert families["videowall_camera_frame_age_seconds"].type == "histogram"
    assert families["videowall_camera_reconnects"].type == "counter"
    assert families["videowall_output_up"].samples[0].labels == {"output": "A1", "monitor": "DP-1"}
    states = [s for s in families["videowall_camera_state"].samples if s.value == 1.0]
    assert [s.labels["state"] for s in states] == ["live"]
