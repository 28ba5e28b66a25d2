"""Metrics end to end: a scrape of a running wall, and a real Prometheus scraping it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_om
from prometheus_client.parser import text_string_to_metric_families

from compositor.app import WallApp
from compositor.demo.testcams import SyntheticCameraServer
from compositor.metrics.collector import MetricsServer, WallMetrics
from tests.helpers.processes import free_port
from tests.helpers.walls import tick_until

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

pytestmark = pytest.mark.e2e


def _samples(text: str) -> Samples:
    """Every sample of a text exposition, by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: Samples, metric: str, **labels: str) -> float:
    return samples[(metric, tuple(sorted(labels.items())))]


def test_a_scrape_of_a_running_wall_has_every_series_with_live_values(
    camera_server: SyntheticCameraServer, wall: Callable[..., WallApp], tmp_path: Path
) -> None:
    layout_path = tmp_path / "room.yaml"
    text = f"""labels: {{show: false}}
cameras:
  red: {{url: "{camera_server.url("red")}"}}
  gone: {{url: "rtsp://127.0.0.1:1/nothing"}}
outputs:
  - {{id: O1, size: [320, 180], grid: 1x2, tiles: [red, gone]}}
"""
    app = wall(text, workers=1, layout_path=layout_path, state_dir=tmp_path / "state")
    metrics = WallMetrics(app)
    server = MetricsServer(metrics, "127.0.0.1", 0)
    try:
        tick_until(app, lambda: app.camera_states.get("red") == "live", 20, "red live")

        def refused_twice() -> bool:
            reading = app.counters.reconnects.reading()
            return reading.get("gone", {}).get("refused", 0) >= 2

        tick_until(app, refused_twice, 20, "the dead camera refused twice")
        layout_path.write_text(text.replace("grid: 1x2", "grid: 2x1"))  # an edit: applied
        tick_until(app, lambda: app.counters.layout_changes()["applied"] == 1, 10, "applied")
        layout_path.write_text(text.replace("tiles: [red, gone]", "tiles: [red, nope]"))
        tick_until(app, lambda: app.counters.layout_changes()["refused"] == 1, 10, "refused")

        url = f"http://127.0.0.1:{server.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = response.read().decode()
    finally:
        server.close()
    samples = _samples(body)
    assert _value(samples, "videowall_camera_up", camera="red") == 1.0
    assert _value(samples, "videowall_camera_up", camera="gone") == 0.0
    assert _value(samples, "videowall_camera_state", camera="red", state="live") == 1.0
    assert _value(samples, "videowall_camera_state", camera="gone", state="retrying") == 1.0
    assert _value(samples, "videowall_camera_frames_total", camera="red") > 5
    assert (
        _value(samples, "videowall_camera_reconnects_total", camera="gone", reason="refused") >= 2
    )
    assert _value(samples, "videowall_camera_degraded", camera="red") == 0.0
    assert _value(samples, "videowall_camera_info", camera="red", name="red", stream="main") == 1
    shown = _value(samples, "videowall_camera_frame_age_seconds_count", camera="red")
    assert shown > 5
    assert (
        _value(samples, "videowall_camera_frame_age_seconds_bucket", camera="red", le="+Inf")
        == shown
    )
    assert _value(samples, "videowall_output_up", output="O1", monitor="") == 1.0
    assert _value(samples, "videowall_output_draws_total", output="O1") > 5
    assert _value(samples, "videowall_layout_changes_total", result="applied") == 1
    assert _value(samples, "videowall_layout_changes_total", result="refused") == 1
    assert _value(samples, "videowall_render_loop_seconds_count") == pytest.approx(app.ticks, abs=2)
    assert _value(samples, "videowall_render_target_fps") == 25.0
    assert _value(samples, "videowall_decoder_restarts_total") == 0
    assert _value(samples, "videowall_decoder_processes") == 1
    assert _value(samples, "videowall_decoder_cpu_seconds_total", worker="0") > 0
    assert _value(samples, "videowall_decoder_resident_memory_bytes", worker="0") > 10e6
    assert _value(samples, "process_cpu_seconds_total") > 0  # the render process's own
    assert _value(samples, "process_resident_memory_bytes") > 10e6
    # Asked for OpenMetrics, the same registry answers in it (and parses as such).
    body_om, content_type = metrics.exposition("application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    names = {family.name for family in parse_om(body_om.decode())}
    assert {"videowall_camera_up", "videowall_camera_frames", "videowall_output_draws"} <= names


def _query(prometheus: str, expression: str) -> list[dict[str, object]]:
    url = f"{prometheus}/api/v1/query?query={urllib.request.quote(expression)}"
    with urllib.request.urlopen(url, timeout=5) as response:
        answer = json.load(response)
    assert answer["status"] == "success"
    return list(answer["data"]["result"])


def test_a_real_prometheus_scrapes_the_wall(
    camera_server: SyntheticCameraServer, tmp_path: Path
) -> None:
    """`videowall run --metrics`, and Debian's Prometheus scraping it every second."""
    layout = tmp_path / "wall.yaml"
    layout.write_text(f"""cameras:
  red: {{url: "{camera_server.url("red")}"}}
outputs:
  - {{id: O1, size: [160, 90], grid: 1x1, tiles: [red]}}
""")
    wall_port, prometheus_port = free_port(), free_port()
    (tmp_path / "prometheus.yml").write_text(f"""global: {{scrape_interval: 1s}}
rule_files: ["{Path("deploy/videowall-alerts.yml").absolute()}"]
scrape_configs:
  - job_name: videowall
    static_configs: [{{targets: ["127.0.0.1:{wall_port}"]}}]
""")
    wall = subprocess.Popen(
        [sys.executable, "-m", "compositor", "run", str(layout), "--headless", "--workers", "1",
         "--metrics", f"127.0.0.1:{wall_port}", "--state-dir", str(tmp_path / "state")],
    )  # fmt: skip
    prometheus = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
         f"--storage.tsdb.path={tmp_path / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prometheus_port}"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
    )  # fmt: skip
    base = f"http://127.0.0.1:{prometheus_port}"
    try:
        deadline = time.monotonic() + 45
        live: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                live = _query(base, 'videowall_camera_up{job="videowall", camera="red"} == 1')
            except OSError:
                continue  # Prometheus not listening yet
            if live:
                break
        log = (tmp_path / "prometheus.log").read_text()
        assert live, f"Prometheus never saw red live; its log:\n{log[-2000:]}"
        assert _query(base, 'up{job="videowall"}')[0]["value"][1] == "1"  # type: ignore[index]
        frames = _query(base, 'videowall_camera_frames_total{camera="red"}')
        assert float(frames[0]["value"][1]) > 0  # type: ignore[index]
        assert _query(base, "videowall_render_loop_seconds_count > 0")
        assert _query(base, 'videowall_output_up{output="O1"} == 1')
        with urllib.request.urlopen(f"{base}/api/v1/rules", timeout=5) as response:
            groups = json.load(response)["data"]["groups"]
        assert {rule["name"] for g in groups for rule in g["rules"]} >= {"VideowallCameraDown"}
    finally:
        for process in (prometheus, wall):
            process.send_signal(signal.SIGTERM)
        for process in (prometheus, wall):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    assert wall.returncode == 0
    assert os.path.exists(tmp_path / "tsdb")
