"""The wall's HTTP API end to end: ``videowall run`` with its API on 127.0.0.1, real test
cameras, real decoder processes, a real uvicorn server, asked over HTTP (httpx) and
through the command line; what a change does is read back from the wall's own
snapshots, its status file, its audit log and its event stream."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from compositor.demo.testcams import SyntheticCameraServer
from tests.helpers.api_wall import ApiWall, api_layout_text
from tests.helpers.layouts import save
from tests.helpers.pixels import Pixels, shows
from tests.helpers.processes import videowall
from tests.helpers.walls import wait_until

pytestmark = pytest.mark.e2e

ALARM_BAND = (0, 110, 210)  # BGR of an alarm's banner (compose/overlay.py)


@pytest.fixture(scope="module")
def wall(
    camera_server: SyntheticCameraServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiWall]:
    wall = ApiWall(tmp_path_factory.mktemp("api"), api_layout_text(camera_server))
    try:
        wait_until(lambda: o1_shows(wall, "red", "green"), 30, "the wall up")
        wait_until(lambda: o2_shows(wall, "blue"), 10, "O2 up")
        yield wall
    finally:
        wall.stop()


def o1_shows(wall: ApiWall, left: str, right: str) -> bool:
    return shows(wall.snapshot("O1"), "1x2", [left, right])


def o2_shows(wall: ApiWall, camera: str) -> bool:
    return shows(wall.snapshot("O2"), "1x1", [camera])


def alarm_band(pixels: Pixels) -> float:
    """How much of the top eighth is an alarm banner's amber (JPEG-blurred)."""
    top = pixels[: pixels.shape[0] // 8].astype(np.int16)
    return float((np.abs(top - np.array(ALARM_BAND, np.int16)).max(axis=2) <= 40).mean())


class EventTail:
    """The wall's event stream, read in a thread from now on."""

    def __init__(self, wall: ApiWall) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._client = wall.client("viewer", timeout=httpx.Timeout(10, read=30))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_until(lambda: self._started, 10, "the event stream open")

    _started = False

    def _read(self) -> None:
        try:
            self._follow()
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise  # closing the client ends the read: that one is expected

    def _follow(self) -> None:
        with self._client.stream("GET", "/api/events") as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            self._started = True
            kind = ""
            for line in stream.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: "):
                    self.events.append((kind, json.loads(line[6:])))

    def saw(self, kind: str, **data: Any) -> bool:
        return any(
            k == kind and all(d.get(key) == value for key, value in data.items())
            for k, d in self.events
        )

    def close(self) -> None:
        self._stop.set()
        self._client.close()
        self._thread.join(5)


def audited(wall: ApiWall, action: str, **fields: Any) -> list[dict[str, Any]]:
    return [
        entry
        for entry in wall.audit()
        if entry["action"] == action and all(entry.get(k) == v for k, v in fields.items())
    ]


def test_a_viewer_reads_the_status_cameras_layout_presets_alarms_and_pictures(
    wall: ApiWall,
) -> None:
    with wall.client("viewer") as client:
        status = client.get("/api/status").json()
        assert status["api"] == wall.url and status["preset"] is None
        assert set(status["cameras"]) == {"red", "green", "blue"}
        cameras = {c["id"]: c for c in client.get("/api/cameras").json()["cameras"]}
        assert cameras["red"]["state"] == "live" and cameras["red"]["frames"] > 0
        assert cameras["red"]["frame_age_ms"]["p99"] >= cameras["red"]["frame_age_ms"]["p50"]
        assert cameras["green"]["shown_on"] == ["O1.2"]
        layout = client.get("/api/layout").json()
        o1 = next(o for o in layout["outputs"] if o["id"] == "O1")
        assert [(t["tile"], t["shows"], t["rect"]) for t in o1["tiles"]] == [
            ("O1.1", "red", [0, 0, 160, 180]),
            ("O1.2", "green", [160, 0, 160, 180]),
        ]
        assert {c["id"]: c["name"] for c in layout["cameras"]}["blue"] == "Blue"
        assert client.get("/api/presets").json() == {"presets": ["swap"], "preset": None}
        assert client.get("/api/alarms").json() == {
            "alarms": [],
            "alarm_tiles": ["O2.1"],
            "min_hold_s": 2.0,
        }
        picture = client.get("/api/cameras/red/snapshot.jpg")
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
        assert picture.headers["cache-control"] == "no-store"
        small = client.get("/api/outputs/O1/snapshot.jpg", params={"width": 160})
        assert small.status_code == 200
    document = httpx.get(wall.url + "openapi.json").json()
    assert "/api/outputs/{output}/tiles/{n}" in document["paths"]
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    page = httpx.get(wall.url)
    assert (
        page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    )
    assert "access-control-allow-origin" not in page.headers  # no CORS unless asked


def test_no_token_or_a_wrong_one_is_401_alike_a_role_too_low_403_all_audited(
    wall: ApiWall,
) -> None:
    missing = httpx.get(wall.url + "api/status")
    wrong = httpx.get(wall.url + "api/status", headers={"Authorization": "Bearer vw_wrong"})
    basic = httpx.get(wall.url + "api/status", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert missing.status_code == wrong.status_code == basic.status_code == 401
    assert missing.json() == wrong.json() == basic.json()  # never a hint of which part failed
    assert wrong.headers["www-authenticate"] == "Bearer"
    with wall.client("viewer") as viewer:
        refused = viewer.put("/api/outputs/O1/tiles/1", json={"camera": "blue"})
        assert refused.status_code == 403
        assert refused.json()["error"] == "this needs the operator role (viewer1 is viewer)"
        assert viewer.post("/api/presets/swap").status_code == 403
    with wall.client("operator") as operator:
        assert operator.post("/api/reload").status_code == 403  # admin only
    with wall.client("admin") as admin:
        assert admin.post("/api/reload").json() == {"message": "reload requested"}
    assert o1_shows(wall, "red", "green"), "nothing refused reached the wall"
    failed = audited(wall, "login.failed", actor="address 127.0.0.1")
    assert {entry["reason"] for entry in failed} >= {"no token", "not a valid token"}
    assert audited(wall, "forbidden", actor="viewer1", target="PUT /api/outputs/O1/tiles/1")
    assert audited(wall, "reload", actor="admin1", role="admin")
    text = (wall.state / "audit.jsonl").read_text()
    assert "vw_wrong" not in text and all(token not in text for token in wall.tokens.values())


def test_an_operator_calls_a_camera_up_and_gives_the_tile_back(wall: ApiWall) -> None:
    tail = EventTail(wall)
    try:
        with wall.client("operator") as client:
            answer = client.put("/api/outputs/O1/tiles/2", json={"camera": "blue"})
            assert answer.status_code == 200, answer.text
            assert answer.json()["tile"] == "O1.2"
            wait_until(lambda: o1_shows(wall, "red", "blue"), 5, "blue on O1.2")
            callups = wall.status()["callups"]
            assert [(c["tile"], c["camera"], c["by"]) for c in callups] == [
                ("O1.2", "blue", "operator1")
            ]
            layout = client.get("/api/layout").json()
            assert layout["outputs"][0]["tiles"][1]["callup"] == "blue"
            assert audited(
                wall,
                "callup.set",
                actor="operator1",
                role="operator",
                target="O1.2",
                before="green",
                after="blue",
                result="applied",
            )
            wait_until(lambda: tail.saw("callup", action="callup.set", target="O1.2"), 5, "event")

            back = client.delete("/api/outputs/O1/tiles/2")
            assert back.status_code == 200, back.text
            wait_until(lambda: o1_shows(wall, "red", "green"), 5, "green back on O1.2")
            assert wall.status()["callups"] == []
            assert audited(wall, "callup.clear", target="O1.2", before="blue", result="applied")
            wait_until(lambda: tail.saw("callup", action="callup.clear"), 5, "clear event")
    finally:
        tail.close()


def test_bad_requests_say_what_is_wrong_and_what_exists(wall: ApiWall) -> None:
    with wall.client("operator") as client:
        typo = client.put("/api/outputs/O1/tiles/1", json={"camera": "gren"})
        assert typo.status_code == 404
        assert typo.json()["nearest"] == ["green"] and "did you mean green" in typo.json()["error"]
        past = client.put("/api/outputs/O1/tiles/3", json={"camera": "red"})
        assert past.status_code == 404 and past.json()["tiles"] == 2
        assert "output O1 has 2 tile(s)" in past.json()["error"]
        nowhere = client.post("/api/outputs/O9/solo", json={"camera": "red"})
        assert nowhere.status_code == 404 and nowhere.json()["outputs"] == ["O1", "O2"]
        malformed = client.put(
            "/api/outputs/O1/tiles/1",
            content=b'{"camera": ',
            headers={"content-type": "application/json"},
        )
        assert malformed.status_code == 422 and "not valid JSON" in malformed.json()["error"]
        extra = client.put("/api/outputs/O1/tiles/1", json={"camera": "red", "colour": "x"})
        assert extra.status_code == 422
        assert extra.json()["problems"] == [{"where": "body.colour", "problem": "unknown field"}]
        negative = client.post("/api/alarms", json={"camera": "red", "priority": 12})
        assert negative.status_code == 422 and "body.priority" in negative.json()["error"]
        title = client.post("/api/alarms", json={"camera": "red", "title": "two\nlines"})
        assert title.status_code == 422 and "control character U+000A" in title.json()["error"]
        huge = client.post("/api/alarms", content=b"x" * (65 * 1024))
        assert huge.status_code == 413 and "64 KB" in huge.json()["error"]
        preset = client.post("/api/presets/swp")
        assert preset.status_code == 404
        assert preset.json() == {"error": "unknown preset 'swp': it has swap", "presets": ["swap"]}
        assert client.delete("/api/alarms/nope").status_code == 404
        assert "has no call-up" in client.delete("/api/outputs/O1/tiles/1").json()["error"]
        assert client.get("/api/outputs/O7/snapshot.jpg").status_code == 404
        assert client.get("/api/nothing").status_code == 404
        assert client.patch("/api/alarms").status_code == 405
    assert o1_shows(wall, "red", "green") and o2_shows(wall, "blue"), "the wall unchanged"


def test_solo_and_a_preset_switch_which_clears_call_ups(wall: ApiWall) -> None:
    with wall.client("operator") as client:
        assert client.post("/api/outputs/O1/solo", json={"camera": "blue"}).status_code == 200
        wait_until(lambda: shows(wall.snapshot("O1"), "1x1", ["blue"]), 5, "blue alone on O1")
        assert [s["camera"] for s in wall.status()["solos"]] == ["blue"]
        assert client.delete("/api/outputs/O1/solo").status_code == 200
        wait_until(lambda: o1_shows(wall, "red", "green"), 5, "O1's tiles back")

        assert client.put("/api/outputs/O1/tiles/1", json={"camera": "blue"}).status_code == 200
        switched = client.post("/api/presets/swap")
        assert switched.status_code == 200 and "cleared O1.1 (blue)" in switched.json()["message"]
        wait_until(lambda: o1_shows(wall, "green", "red"), 5, "the preset")
        status = wall.status()
        assert status["preset"] == "swap" and status["callups"] == []
        assert client.post("/api/presets/default").json()["preset"] is None
        wait_until(lambda: o1_shows(wall, "red", "green"), 5, "the layout as written")
    assert audited(wall, "preset", actor="operator1", before=None, after="swap")
    assert audited(wall, "solo.set", target="O1", after="blue")


def test_alarms_take_the_alarm_tile_by_priority_and_hold_it(wall: ApiWall) -> None:
    with wall.client("operator") as client:
        first = client.post(
            "/api/alarms", json={"camera": "red", "priority": 5, "title": "Door forced"}
        )
        assert first.status_code == 201 and first.json()["tile"] == "O2.1", first.text
        wait_until(lambda: o2_shows(wall, "red"), 5, "red on the alarm tile")
        wait_until(lambda: alarm_band(wall.snapshot("O2")) > 0.5, 3, "the ALARM banner")
        # More urgent, but the first holds its tile min_hold_s (2 s): the second waits.
        urgent = client.post("/api/alarms", json={"camera": "green", "priority": 1})
        assert urgent.status_code == 201 and urgent.json()["tile"] is None, urgent.text
        listed = client.get("/api/alarms").json()["alarms"]
        assert [(a["camera"], a["priority"], a["tile"]) for a in listed] == [
            ("green", 1, None),
            ("red", 5, "O2.1"),
        ]
        wait_until(lambda: o2_shows(wall, "green"), 10, "the urgent alarm after the hold")
        assert client.delete(f"/api/alarms/{urgent.json()['id']}").status_code == 200
        wait_until(lambda: o2_shows(wall, "red"), 5, "the other alarm back")
        assert client.delete(f"/api/alarms/{first.json()['id']}").status_code == 200
        wait_until(
            lambda: o2_shows(wall, "blue") and alarm_band(wall.snapshot("O2")) < 0.1, 5, "O2"
        )
    assert len(audited(wall, "alarm.raise", actor="operator1")) == 2
    assert len(audited(wall, "alarm.clear", actor="operator1")) == 2


def test_the_command_line_speaks_the_same_commands_over_the_socket(wall: ApiWall) -> None:
    state = ("--state-dir", str(wall.state))
    called = videowall("callup", "O1", "1", "blue", *state)
    assert called.returncode == 0, called.stderr
    assert called.stdout.startswith("O1.1: blue")
    wait_until(lambda: o1_shows(wall, "blue", "green"), 5, "blue on O1.1")
    assert videowall("callup", "O1", "1", "--clear", *state).returncode == 0
    assert videowall("solo", "O2", "red", *state).returncode == 0
    wait_until(lambda: o2_shows(wall, "red"), 5, "red alone on O2")
    assert videowall("solo", "O2", "--clear", *state).returncode == 0
    raised = videowall("alarm", "green", "--priority", "3", "--title", "Smoke", *state)
    assert raised.returncode == 0 and "on O2.1" in raised.stdout, raised.stderr
    listed = videowall("alarm", "--list", *state)
    assert "alarm tiles: O2.1" in listed.stdout and "Smoke" in listed.stdout
    alarm_id = raised.stdout.split()[1]
    assert videowall("alarm", "--clear", alarm_id, *state).returncode == 0
    wrong = videowall("callup", "O1", "9", "red", *state)
    assert wrong.returncode == 2 and "output O1 has 2 tile(s)" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    wait_until(lambda: o1_shows(wall, "red", "green") and o2_shows(wall, "blue"), 5, "back")
    assert audited(wall, "callup.set", actor="cli", role="admin", target="O1.1")
    assert audited(wall, "alarm.raise", actor="cli", title="Smoke")


def test_a_call_up_survives_an_edit_that_keeps_its_tile_and_is_dropped_with_a_reason(
    wall: ApiWall, camera_server: SyntheticCameraServer
) -> None:
    text = wall.layout.read_text()
    tail = EventTail(wall)
    try:
        with wall.client("operator") as client:
            assert client.put("/api/outputs/O1/tiles/2", json={"camera": "blue"}).status_code == 200
            wait_until(lambda: o1_shows(wall, "red", "blue"), 5, "the call-up")
            save(wall.layout, text.replace('name: "Red"', 'name: "Red North"'))
            wait_until(
                lambda: wall.status()["cameras"]["red"]["name"] == "Red North", 5, "the edit"
            )
            assert [c["tile"] for c in wall.status()["callups"]] == ["O1.2"]
            assert o1_shows(wall, "red", "blue"), "the call-up stays on its tile"

            save(wall.layout, api_layout_text(camera_server, o1="[red]"))
            wait_until(lambda: wall.status()["callups"] == [], 5, "the call-up dropped")
            dropped = audited(wall, "callup.dropped", actor="wall", target="O1.2")
            assert dropped and dropped[0]["reason"] == "output O1 has 1 tile(s) now"
            wait_until(lambda: tail.saw("callup", action="callup.dropped"), 5, "the event")
            assert audited(wall, "layout.applied", actor="file", trigger="file changed")
    finally:
        tail.close()
        save(wall.layout, text)
    wait_until(lambda: o1_shows(wall, "red", "green"), 10, "the layout back")


def test_tokens_never_reach_the_log_and_nothing_ended_in_a_traceback(wall: ApiWall) -> None:
    output = wall.stop()
    assert "Traceback" not in output, output
    assert all(token not in output for token in wall.tokens.values())
    assert "vw_wrong" not in output
    assert wall.process.returncode == 0
    printed = videowall("audit", "--state-dir", str(wall.state), "--since", "1h")
    assert printed.returncode == 0 and "operator1 (operator)" in printed.stdout
    assert "callup.set O1.2: green -> blue  [applied]" in printed.stdout
    as_json = videowall("audit", "--state-dir", str(wall.state), "--json")
    assert all(json.loads(line)["action"] for line in as_json.stdout.splitlines())
    assert oct((wall.state / "tokens.json").stat().st_mode & 0o777) == "0o600"
    stored = json.loads((wall.state / "tokens.json").read_text())
    assert {t["name"] for t in stored["tokens"]} == {"viewer1", "operator1", "admin1"}
    assert all(token not in json.dumps(stored) for token in wall.tokens.values())
    listed = videowall("token", "list", "--state-dir", str(wall.state))
    assert "operator1  operator" in listed.stdout and "vw_" not in listed.stdout
    revoked = videowall("token", "revoke", "viewer1", "--state-dir", str(wall.state))
    assert revoked.returncode == 0 and audited(wall, "token.revoke", target="viewer1")


def test_listening_beyond_loopback_needs_tls_or_saying_so(tmp_path: Path) -> None:
    layout = tmp_path / "wall.yaml"
    layout.write_text("cameras: {}\noutputs: [{id: O1, size: [64, 64]}]\n")
    refused = videowall("run", str(layout), "--headless", "--api", "0.0.0.0:0")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--tls-cert and --tls-key" in refused.stderr and "--insecure-http" in refused.stderr
    half = videowall("run", str(layout), "--headless", "--api", "127.0.0.1:0", "--tls-cert", "x")
    assert half.returncode == 2 and "--tls-cert and --tls-key go together" in half.stderr
    missing = videowall(
        "run", str(layout), "--headless", "--tls-cert", "nope.pem", "--tls-key", "nope.key"
    )
    assert missing.returncode == 2 and "cannot be used" in missing.stderr
    bad = videowall("run", str(layout), "--headless", "--api", "localhost")
    assert bad.returncode == 2 and "give HOST:PORT" in bad.stderr
