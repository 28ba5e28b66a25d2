"""Prometheus metrics on the API server: open from the wall's own host, a viewer token from
anywhere else."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.api_wall import ApiWall, api_layout_text
from tests.helpers.walls import wait_until

pytestmark = pytest.mark.e2e


def _outside_address() -> str | None:
    """An address of this host that is not loopback (a client there is 'another host')."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.123", 9))  # no packet is sent: this picks the route
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def wall(
    camera_server: SyntheticCameraServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWall]:
    # Listening beyond loopback, plain HTTP, as a technician may on a closed room network.
    wall = ApiWall(
        tmp_path_factory.mktemp("metrics"),
        api_layout_text(camera_server),
        *("--api", "0.0.0.0:0", "--insecure-http"),
    )
    try:
        yield wall
    finally:
        wall.stop()


def _at(wall: ApiWall, host: str) -> str:
    """The wall's API reached at ``host`` (it listens on every address)."""
    port = httpx.URL(wall.url).port
    return f"http://{host}:{port}/"


def test_metrics_are_open_from_loopback_with_live_values(wall: ApiWall) -> None:
    local = _at(wall, "127.0.0.1")

    def red_up() -> bool:
        answer = httpx.get(f"{local}metrics", timeout=10)  # no token: from this host
        assert answer.status_code == 200, answer.text
        families = {f.name: f for f in text_string_to_metric_families(answer.text)}
        up = families["videowall_camera_up"]
        return any(s.labels.get("camera") == "red" and s.value == 1 for s in up.samples)

    wait_until(red_up, 30, "videowall_camera_up{camera=red} is 1")
    answer = httpx.get(f"{local}metrics", timeout=10)
    names = {f.name for f in text_string_to_metric_families(answer.text)}
    for series in (
        "videowall_camera_frames",
        "videowall_camera_frame_age_seconds",
        "videowall_output_up",
        "videowall_output_draws",
        "videowall_render_loop_seconds",
        "process_cpu_seconds",
    ):
        assert series in names, f"{series} missing from {sorted(names)}"
    assert "/metrics" not in httpx.get(f"{local}openapi.json", timeout=10).text


def test_metrics_from_another_host_need_a_viewer_token(wall: ApiWall) -> None:
    address = _outside_address()
    if address is None:
        pytest.skip("this host has no address but loopback")
    url = _at(wall, address)
    assert httpx.get(f"{url}metrics", timeout=10).status_code == 401
    bad = {"Authorization": "Bearer vw_not-a-token"}
    assert httpx.get(f"{url}metrics", headers=bad, timeout=10).status_code == 401
    viewer = {"Authorization": f"Bearer {wall.tokens['viewer']}"}
    answer = httpx.get(f"{url}metrics", headers=viewer, timeout=10)
    assert answer.status_code == 200 and "videowall_camera_up" in answer.text
