"""A wall over two hosts on one machine, end to end, with real parts only: Debian's
Mosquitto on 127.0.0.1 (started here), two ``videowall run --host`` processes
(headless, each its own state folder and API), GStreamer's RTSP server as the cameras
and as the relay between them, and a loopback TCP proxy on the right host's way to
the broker (cut for a partition).

One wall for the module (tiny 160x90 outputs, two cameras); the tests run in order
and each sets the state it checks. About a minute in all on the 2-core VM.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import CollectorRegistry, generate_latest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from compositor.app import RunOptions, WallApp
from compositor.cluster.address import parse_broker_url
from compositor.cluster.metrics import ClusterCollector
from compositor.cluster.node import ClusterOptions
from compositor.control.commands import CLI, SetCallUp
from compositor.demo.broker import Mosquitto
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.doctor.report import offset_findings
from compositor.layout.parse import load_layout
from tests.helpers.cluster import HostWall, TcpProxy, cluster_layout_text, sessions_at, wait_for
from tests.helpers.pixels import GREEN, RED, share_near

pytestmark = pytest.mark.e2e

WALL = "testwall"
CAMERAS = (
    SyntheticCamera("red", "red 16:9", 320, 180, 15, RED),
    SyntheticCamera("green", "green 4:3", 240, 180, 15, GREEN),
)
# A band across the two screens (x 120-200 of the 320 px wall): each host decodes red for
# its piece, so the relay's one session at the camera serves both.
SPAN = """\
wall: {rows: 1, columns: 2, screen: {size_px: [160, 90], size_mm: [400, 225]}}
spans: [{camera: red, rect: [120, 30, 80, 30], fit: fill}]
"""


class Wall:
    def __init__(
        self,
        cameras: SyntheticCameraServer,
        relay: SyntheticCameraServer,
        broker: Mosquitto,
        proxy: TcpProxy,
        left: HostWall,
        right: HostWall,
    ) -> None:
        self.cameras, self.relay, self.broker, self.proxy = cameras, relay, broker, proxy
        self.left, self.right = left, right

    @property
    def hosts(self) -> tuple[HostWall, HostWall]:
        return self.left, self.right


@pytest.fixture(scope="module")
def wall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wall]:
    folder = tmp_path_factory.mktemp("cluster")
    with (
        SyntheticCameraServer(CAMERAS) as cameras,
        SyntheticCameraServer(
            [SyntheticCamera(c, f"relay of {c}", relay=cameras.url(c)) for c in ("red", "green")]
        ) as relay,
        Mosquitto() as broker,
    ):
        proxy = TcpProxy(broker.port)
        layout = folder / "wall.yaml"
        relayed = f'relay: {{url: "rtsp://127.0.0.1:{relay.port}/{{camera}}"}}\n'
        layout.write_text(cluster_layout_text(cameras, SPAN + relayed))
        left = HostWall(folder, layout, "left", broker.url, wall=WALL)
        right = HostWall(folder, layout, "right", proxy.url, wall=WALL)
        try:
            yield Wall(cameras, relay, broker, proxy, left, right)
        finally:
            for host in (left, right):
                host.stop()
            proxy.close()


def snapshot(host: HostWall, output: str) -> np.ndarray:
    with host.client() as client:
        answer = client.get(f"/api/outputs/{output}/snapshot.jpg")
    assert answer.status_code == 200, answer.text
    return np.asarray(cv2.imdecode(np.frombuffer(answer.content, np.uint8), cv2.IMREAD_COLOR))


def shows(host: HostWall, output: str, colour: tuple[int, int, int]) -> bool:
    """The output's picture outside the span's band (its top rows) is mostly ``colour``."""
    return share_near(snapshot(host, output)[:25], colour) > 0.5


def retained(broker: Mosquitto, topic: str) -> bytes:
    """The message the broker keeps on ``topic``, as a new subscriber gets it."""
    got: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="reader")
    client.on_message = lambda _client, _data, message: got.append(message.payload)
    client.connect("127.0.0.1", broker.port)
    client.subscribe(topic, qos=1)
    client.loop_start()
    try:
        wait_for(lambda: got, 5, f"the retained message on {topic}")
    finally:
        client.loop_stop()
        client.disconnect()
    return got[0]


def host_state(seen_from: HostWall, name: str) -> str:
    return str(next(h for h in seen_from.get("/api/hosts")["hosts"] if h["host"] == name)["state"])


def test_two_hosts_show_one_layout_split_and_each_sees_the_whole_wall(wall: Wall) -> None:
    left, right = wall.hosts
    assert [o["id"] for o in left.status()["outputs"]] == ["L1"]
    assert [o["id"] for o in right.status()["outputs"]] == ["R1"]
    wait_for(lambda: shows(left, "L1", RED) and shows(right, "R1", GREEN), 30, "pictures")
    wait_for(lambda: host_state(left, "right") == "online", 10, "right seen online")
    view = left.get("/api/hosts")
    assert view["wall"] == WALL and view["layout_mismatch"] == []
    peer = next(h for h in view["hosts"] if h["host"] == "right")
    assert peer["outputs"] == ["R1"] and peer["layout"] == view["layout"]
    assert peer["clock_offset_ms"] is not None  # an estimate: the same clock here
    assert right.get("/api/status")["cluster"]["hosts"][0]["host"] == "left"
    # The cluster's metrics beside the wall's, on the API's /metrics (loopback: no token).
    with left.client() as client:
        scraped = client.get("/metrics").text
    assert 'videowall_cluster_host_online{host="right"} 1.0' in scraped
    assert "videowall_cluster_broker_connected 1.0" in scraped


def test_a_span_across_the_hosts_is_drawn_by_each_for_its_screens(wall: Wall) -> None:
    def band(host: HostWall, output: str, x0: int, x1: int) -> bool:
        return share_near(snapshot(host, output)[35:55, x0:x1], RED) > 0.6

    # The band is x 120-200 of the wall: L1's last 40 columns, R1's first 40.
    wait_for(lambda: band(wall.left, "L1", 125, 155) and band(wall.right, "R1", 5, 35), 30, "span")
    assert share_near(snapshot(wall.right, "R1")[35:55, 60:150], GREEN) > 0.6


def test_each_camera_serves_one_session_through_the_relay(wall: Wall) -> None:
    # Right decodes red (its piece of the span) and green; left red: three pulls at the
    # relay, one per camera at the cameras.
    wait_for(lambda: sessions_at(wall.relay.port) == 3, 20, "three sessions at the relay")
    assert sessions_at(wall.cameras.port) == 2


def test_a_preset_through_one_hosts_api_switches_both_at_one_instant(wall: Wall) -> None:
    left, right = wall.hosts
    with right.client() as client:
        answer = client.post("/api/presets/swap")
    assert answer.status_code == 200, answer.text
    reply = answer.json()
    assert reply["preset"] == "swap" and "every host" in reply["message"]
    wait_for(lambda: left.preset() == right.preset() == "swap", 10, "swap on both")
    [on_left] = [a for a in left.applied() if a["order"] == reply["order"]]
    [on_right] = [a for a in right.applied() if a["order"] == reply["order"]]
    assert on_left["at"] == on_right["at"]
    # Never before the instant; both at their first frame after it.
    assert on_left["applied"] >= on_left["at"] and on_right["applied"] >= on_right["at"]
    print(f"skew {abs(on_left['applied'] - on_right['applied']) * 1e3:.1f} ms")
    wait_for(lambda: shows(left, "L1", GREEN) and shows(right, "R1", RED), 20, "swapped pictures")
    with left.client() as client:
        assert client.post("/api/presets/default").status_code == 200
    wait_for(lambda: left.preset() is None and right.preset() is None, 10, "default on both")


def test_a_callup_and_a_solo_taken_on_one_host_for_the_others_output(wall: Wall) -> None:
    left, right = wall.hosts
    before = right.status()["cluster"]["orders"]["taken"]
    with left.client() as client:
        answer = client.put("/api/outputs/R1/tiles/1", json={"camera": "red"})
        assert answer.status_code == 200, answer.text
        # A mistake is the taker's to hear; it is never sent to the others.
        wrong = client.put("/api/outputs/R9/tiles/1", json={"camera": "red"})
        assert wrong.status_code == 404 and "unknown output 'R9'" in wrong.json()["error"]
        nothing = client.delete("/api/outputs/L1/tiles/1")
        assert nothing.status_code == 404
    wait_for(lambda: [c["tile"] for c in right.status()["callups"]] == ["R1.1"], 10, "call-up")
    assert left.status()["callups"] == []  # R1 is not left's: it applies nothing
    assert right.status()["cluster"]["orders"]["taken"] == before
    with right.client() as client:
        assert client.delete("/api/outputs/R1/tiles/1").status_code == 200
    wait_for(lambda: right.status()["callups"] == [], 10, "call-up cleared")
    # A solo likewise: taken on right for L1, shown by left only, ended from left.
    with right.client() as client:
        answer = client.post("/api/outputs/L1/solo", json={"camera": "green"})
        assert answer.status_code == 200, answer.text
    wait_for(lambda: [s["output"] for s in left.status()["solos"]] == ["L1"], 10, "solo")
    assert right.status()["solos"] == []
    wait_for(lambda: shows(left, "L1", GREEN), 20, "the solo on screen")
    with left.client() as client:
        assert client.delete("/api/outputs/L1/solo").status_code == 200
    wait_for(lambda: left.status()["solos"] == [], 10, "solo ended")


def test_hostile_messages_on_the_broker_are_refused_and_said(wall: Wall) -> None:
    left = wall.left
    garbled = left.status()["cluster"]["orders"]["garbled"]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="intruder")
    client.connect("127.0.0.1", wall.broker.port)
    client.loop_start()
    prefix = f"videowall/{WALL}"
    order = {
        "v": 1,
        "id": "0123456789abcdef",
        "origin": "right",
        "at": time.time(),
        "taken": time.time(),
        "by": "x",
        "role": "operator",
        "layout": "0" * 12,
        "command": {"command": "preset", "name": "swap"},
    }
    for topic, payload in (
        (f"{prefix}/state/preset", b"\x00garbage"),
        (f"{prefix}/state/preset", json.dumps({**order, "rm": "-rf"}).encode()),
        (f"{prefix}/state/solo/L1", json.dumps(order).encode()),  # not the solo's topic
        (f"{prefix}/host/left", json.dumps({"v": 1, "host": "mallory"}).encode()),
        (f"{prefix}/state/preset", json.dumps({**order, "at": time.time() + 3600}).encode()),
    ):
        client.publish(topic, payload, qos=1).wait_for_publish(5)
    client.loop_stop()
    client.disconnect()
    wait_for(lambda: left.status()["cluster"]["orders"]["garbled"] >= garbled + 4, 10, "refusals")
    log = left.log()
    assert "a message on videowall/testwall/state/preset refused: not JSON" in log
    assert "refused: its instant is 3600 s ahead" in log
    assert left.preset() is None  # nothing of it obeyed
    assert left.process is not None and left.process.poll() is None


def test_the_broker_down_both_keep_pictures_and_agree_when_it_returns(wall: Wall) -> None:
    left, right = wall.hosts
    wall.broker.stop()
    wait_for(lambda: not left.status()["cluster"]["broker"]["connected"], 10, "broker gone")
    with left.client() as client:
        answer = client.post("/api/presets/swap")
    assert answer.status_code == 200 and "broker is away" in answer.json()["message"]
    wait_for(lambda: left.preset() == "swap", 5, "applied here at once")
    assert right.preset() is None  # it cannot know yet
    # Pictures go on, on both: fresh frames, cameras live.
    wait_for(lambda: shows(left, "L1", GREEN) and shows(right, "R1", GREEN), 20, "pictures")
    assert all(c["state"] == "live" for c in right.status()["cameras"].values())
    wall.broker.start()  # on the same port, with none of its retained messages
    wait_for(lambda: right.preset() == "swap", 20, "right hears it when the broker is back")
    wait_for(lambda: host_state(right, "left") == "online", 10, "left online again")
    with left.client() as client:
        assert client.post("/api/presets/default").status_code == 200
    wait_for(lambda: left.preset() is None and right.preset() is None, 10, "default on both")


def test_a_partition_marks_the_host_offline_and_heals_by_last_writer(wall: Wall) -> None:
    left, right = wall.hosts
    wall.proxy.cut()
    wait_for(lambda: host_state(left, "right") == "offline", 10, "right offline by its will")
    with left.client() as client:  # first (older) ...
        assert client.post("/api/presets/swap").status_code == 200
    wait_for(lambda: left.preset() == "swap", 5, "swap on left")
    time.sleep(0.3)
    with right.client() as client:  # ... then, apart, the last writer
        answer = client.put("/api/outputs/R1/tiles/1", json={"camera": "red"})
        assert answer.status_code == 200
        assert client.post("/api/presets/default").status_code == 200
    wait_for(lambda: right.preset() is None, 5, "default on right")
    assert right.preset() is None and left.preset() == "swap"
    wall.proxy.heal()
    wait_for(lambda: left.preset() is None, 30, "left takes the last writer's preset")
    wait_for(lambda: host_state(left, "right") == "online", 10, "right online again")
    superseded = [e for e in right.audit() if e["action"] == "cluster.superseded"]
    assert any("last writer wins" in e["reason"] for e in superseded), right.audit()[-5:]
    # Left applied right's order (by its operator, on right) after its own: both audited.
    presets = [(e["actor"], e.get("after")) for e in left.audit() if e["action"] == "preset"]
    assert presets[-2:] == [("op@left", "swap"), ("op@right", None)]


def test_a_host_killed_and_restarted_catches_up_before_it_draws(wall: Wall) -> None:
    left, right = wall.hosts
    right.kill()
    wait_for(lambda: host_state(left, "right") == "offline", 15, "right offline by its will")
    will = json.loads(retained(wall.broker, f"videowall/{WALL}/host/right"))
    assert will["state"] == "offline" and will["outputs"] == ["R1"]  # its screens, still its
    with left.client() as client:
        assert client.put("/api/outputs/R1/tiles/1", json={"camera": "red"}).status_code == 200
        assert client.post("/api/alarms", json={"camera": "green", "ttl_s": 120}).status_code == 201
    right.start()
    # Its first status (written as the API starts, before the loop draws) has it all.
    status = right.status()
    assert [c["tile"] for c in status["callups"]] == ["R1.1"]
    assert [a["camera"] for a in status["alarms"]] == ["green"]
    log = right.log().split("SIGKILL")[-1] if "SIGKILL" in right.log() else right.log()
    caught_up = log.rfind("caught up from")
    assert caught_up != -1 and caught_up < log.rfind("control page and HTTP API")
    wait_for(lambda: shows(right, "R1", RED), 20, "the call-up on screen")


def test_a_host_with_another_layout_version_says_so_and_refusals_are_audited(
    wall: Wall, tmp_path: Path
) -> None:
    """A third host whose file has one more output (X1): every host says the versions
    differ; its order for X1 is refused by the others (their layout lacks X1)."""
    text = wall.left.layout.read_text()
    text = text.replace("right: [R1]}", "right: [R1], extra: [X1]}")
    text = text.replace(
        "  - {id: R1,", "  - {id: X1, size: [160, 90], grid: 1x1, tiles: [green]}\n  - {id: R1,"
    )
    text = text.replace(
        "wall: {rows: 1, columns: 2,", "wall: {rows: 1, columns: 2, outputs: [L1, R1],"
    )
    path = tmp_path / "wall.yaml"
    path.write_text(text)
    options = RunOptions(
        headless=True,
        workers=1,
        layout_path=path,
        state_dir=tmp_path / "state",
        outputs=("X1",),
        cluster=ClusterOptions(parse_broker_url(wall.broker.url), "extra", WALL, catch_up_s=5),
    )
    app = WallApp(load_layout(path), options)
    runner = threading.Thread(target=app.run, daemon=True)
    try:
        app.start()
        runner.start()
        assert app.cluster is not None
        wait_for(lambda: len(app.cluster.layout_mismatch) == 2, 10, "both others differ")
        wait_for(lambda: "extra (" in str(wall.left.get("/api/hosts")["layout_mismatch"]), 10, "")
        assert "differs from host" in wall.left.log()
        registry = CollectorRegistry()
        registry.register(ClusterCollector(app.cluster))
        assert b"videowall_cluster_layout_mismatch 2.0" in generate_latest(registry)
        reply = app.inbox.submit(
            SetCallUp(command="callup", output="X1", tile=1, camera="red"), CLI
        )
        assert "every host" in reply["message"]
        wait_for(
            lambda: any(e["action"] == "cluster.refused" for e in wall.left.audit()), 10, "refused"
        )
        refused = [e for e in wall.left.audit() if e["action"] == "cluster.refused"][-1]
        assert "output X1 is not in this host's layout" in refused["reason"]
        wait_for(lambda: [c["tile"] for c in app.status()["callups"]] == ["X1.1"], 5, "X1.1")
    finally:
        app.request_stop()
        runner.join(timeout=5)
        app.close()
    wait_for(lambda: "extra (" not in str(wall.left.get("/api/hosts")["layout_mismatch"]), 10, "")


def test_the_doctor_reports_each_hosts_clock_offset_heard_on_the_broker(wall: Wall) -> None:
    # The doctor's broker section alone (`videowall doctor --broker URL --wall NAME` adds
    # it to the host's checks, which other tests run).
    checks = [finding.as_dict() for finding in offset_findings(wall.broker.url, WALL)]
    offsets = {c["data"]["host"]: c for c in checks if c["item"] == "clock offset"}
    assert set(offsets) == {"left", "right"}, checks
    for check in offsets.values():
        assert isinstance(check["data"]["offset_ms"], float)
        assert "an estimate from its health messages" in check["detail"]
    [broker] = [c for c in checks if c["item"] == "broker"]
    assert broker["level"] == "OK" and "2 host(s) heard online" in broker["detail"]
    nowhere = offset_findings("mqtt://127.0.0.1:1", WALL)
    assert nowhere[0].level.value == "WARN" and "cannot reach the broker" in nowhere[0].detail


def test_the_control_page_shows_every_host_and_whose_screens_are_whose(
    wall: Wall, browser: WebDriver
) -> None:
    page = browser
    page.get(wall.left.url)
    wait = WebDriverWait(page, 20)
    wait.until(ec.visibility_of_element_located((By.ID, "token"))).send_keys(wall.left.token)
    page.find_element(By.ID, "login-button").click()
    wait.until(ec.visibility_of_element_located((By.ID, "hosts-section")))
    wait.until(ec.text_to_be_present_in_element((By.ID, "hosts"), "right · online"))
    hosts = page.find_element(By.ID, "hosts").text.splitlines()
    assert hosts[0].startswith("left (this one) · online · 1/1 outputs")
    assert hosts[1].startswith("right · online · 1/1 outputs") and "clock" in hosts[1]
    # The other host's screen is drawn at its size at once (not at the layout's next
    # refresh, 15 s on: a wall drawn while the page was hidden had no width) and says whose.
    label = '.output[data-output="R1"] .label'
    WebDriverWait(page, 8).until(
        ec.text_to_be_present_in_element((By.CSS_SELECTOR, label), "R1 · right: online")
    )
    # The layout redrawn (every 15 s, or after a command): the other host's screen keeps
    # saying whose it is.
    redrawn = page.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "refreshLayout().then(() => done(document.querySelector(arguments[0]).textContent));",
        label,
    )
    assert redrawn == "R1 · right: online"
    # Right cut from the broker: the page says so, on the list and on its screen; healed,
    # online again.
    wall.proxy.cut()
    try:
        wait.until(ec.text_to_be_present_in_element((By.ID, "hosts"), "right · offline"))
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, label), "right: offline"))
    finally:
        wall.proxy.heal()
    wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, label), "right: online"))
    # Logged out: the section goes with the session.
    page.find_element(By.ID, "logout").click()
    wait.until(ec.visibility_of_element_located((By.ID, "token")))
    assert not page.find_element(By.ID, "hosts-section").is_displayed()
    assert page.find_element(By.ID, "hosts").text == ""
