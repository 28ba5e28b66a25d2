"""The API's contract fuzzed from its own OpenAPI document (schemathesis) against a running
wall: whatever a client sends, well-formed or not, the answer is never a server error,
its status is one the document declares, and the wall keeps running."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    status_code_conformance,
)

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.api_wall import ApiWall, api_layout_text
from tests.helpers.pixels import shows
from tests.helpers.walls import wait_until

pytestmark = pytest.mark.e2e

EXAMPLES = 12  # per operation and mode: about 400 requests in all


@pytest.fixture(scope="module")
def wall(
    camera_server: SyntheticCameraServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWall]:
    wall = ApiWall(tmp_path_factory.mktemp("fuzz"), api_layout_text(camera_server))
    try:
        wait_until(lambda: shows(wall.snapshot("O1"), "1x2", ["red", "green"]), 30, "the wall up")
        yield wall
    finally:
        output = wall.stop()
        assert "Traceback" not in output, output


def test_no_request_makes_a_server_error(wall: ApiWall) -> None:
    """Every operation of the document, with valid and with malformed requests. (Driven
    by hand rather than by ``schemathesis.pytest.from_fixture``: that one needs pytest 8.)"""
    schema = schemathesis.openapi.from_url(wall.url + "openapi.json")
    headers = {"Authorization": f"Bearer {wall.tokens['admin']}"}
    tried = []
    # The event stream never ends: it is read by test_api.py, not fuzzed here.
    for result in schema.exclude(path="/api/events").get_all_operations():
        operation = result.ok()
        tried.append(f"{operation.method.upper()} {operation.path}")
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,  # the same requests every run: a failure can be run again
                database=None,
            )
            def call(case: Any) -> None:
                case.call_and_validate(
                    headers=headers,
                    checks=[not_a_server_error, status_code_conformance, content_type_conformance],
                    timeout=15,
                )

            call()
    assert len(tried) == 16 and "PUT /api/outputs/{output}/tiles/{n}" in tried, tried


def test_the_wall_still_runs_after_the_fuzzing(wall: ApiWall) -> None:
    with wall.client("admin") as client:
        status = client.get("/api/status")
        assert status.status_code == 200
        assert set(status.json()["cameras"]) <= {"red", "green", "blue"}
        assert client.post("/api/presets/default").status_code == 200
        for alarm in client.get("/api/alarms").json()["alarms"]:
            assert client.delete(f"/api/alarms/{alarm['id']}").status_code == 200
    wait_until(lambda: shows(wall.snapshot("O1"), "1x2", ["red", "green"]), 15, "the layout")
