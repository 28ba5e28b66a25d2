"""A wall over several hosts, without a broker: the layout's hosts and relay sections,
--host, the broker's address, the orders' messages and the last-writer ledger."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compositor.cluster.address import parse_broker_url
from compositor.cluster.ledger import Ledger, replayable
from compositor.cluster.messages import (
    MAX_MESSAGE_BYTES,
    MessageRefused,
    Order,
    parse_health,
    parse_order,
    state_key,
)
from compositor.cluster.node import layout_version
from compositor.cluster.options import host_selection, wall_name
from compositor.control.commands import (
    ClearAlarm,
    ClearCallUp,
    RaiseAlarm,
    SetCallUp,
    ShowPreset,
    Solo,
)
from compositor.core.errors import CompositorError, LayoutError
from compositor.layout.parse import load_layout, parse_layout

T0 = 1_790_000_000.0  # a wall-clock instant

LAYOUT = """\
cameras:
  c1: {url: "rtsp://10.0.0.1/main", url_low: "rtsp://10.0.0.1/sub"}
  c2: {url: "rtsp://10.0.0.2/main"}
outputs:
  - {id: A1, size: [160, 90], grid: 1x1, tiles: [c1]}
  - {id: A2, size: [160, 90], grid: 1x1, tiles: [c2]}
  - {id: B1, size: [160, 90], grid: 1x1, tiles: [c2]}
wall: {rows: 1, columns: 3, screen: {size_px: [160, 90], size_mm: [400, 225]}}
spans:
  - {camera: c1, rect: [100, 20, 200, 40]}
"""


def layout_with(extra: str, env: dict[str, str] | None = None) -> object:
    return parse_layout(LAYOUT + extra, "wall.yaml", env=env or {})


# -- the layout's hosts section ------------------------------------------------------------


def test_hosts_split_the_outputs_and_host_selects_them() -> None:
    layout = parse_layout(LAYOUT + "hosts: {left: [A1, A2], right: [B1]}\n", "wall.yaml", env={})
    assert layout.host_outputs("left") == ("A1", "A2")
    assert layout.host_of("B1") == "right"
    assert host_selection(layout, _path(), "right", (), None) == (("B1",), None)
    with pytest.raises(CompositorError, match="hosts are left, right"):
        layout.host_outputs("middle")
    with pytest.raises(CompositorError, match="choose one"):
        host_selection(layout, _path(), "left", ("A1",), None)
    with pytest.raises(CompositorError, match="--broker needs --host"):
        host_selection(layout, _path(), None, (), "mqtt://127.0.0.1:1883")
    plain = parse_layout(LAYOUT, "wall.yaml", env={})
    with pytest.raises(CompositorError, match="no hosts section"):
        plain.host_outputs("left")


def _path() -> object:
    from pathlib import Path

    return Path("/walls/room-1.yaml")


def test_every_output_on_exactly_one_host_each_error_at_its_line() -> None:
    with pytest.raises(LayoutError) as caught:
        parse_layout(LAYOUT + "hosts:\n  left: [A1, A9]\n  right: [B1, A1]\n", "wall.yaml", env={})
    messages = [str(issue) for issue in caught.value.issues]
    assert messages == [
        "wall.yaml:11:1: outputs on no host: A2 (each output is on one host)",
        "wall.yaml:12:14: host left: unknown output A9 (outputs: A1, A2, B1)",
        "wall.yaml:13:15: host right: output A1 is listed on host left too (one host each)",
    ]


def test_a_span_across_hosts_is_drawn_by_each_host_for_its_own_screens() -> None:
    """The layout cuts a span into per-output pieces: a host that shows some outputs has
    exactly the pieces of the whole wall's on them, nothing of the others'."""
    layout = parse_layout(LAYOUT + "hosts: {left: [A1, A2], right: [B1]}\n", "wall.yaml", env={})
    pieces = {o.id: [t for t in layout.placed_tiles(o.id) if t.window] for o in layout.outputs}
    # The span (x 100-300 of a 480 px wall) covers A1's right part and A2's left part.
    assert [(p.rect.x, p.rect.w) for p in pieces["A1"]] == [(100, 60)]
    assert [(p.rect.x, p.rect.w) for p in pieces["A2"]] == [(0, 140)]
    assert pieces["B1"] == []
    # Both hosts' walls take their tiles from the same function: the same pieces.
    from compositor.app import select_outputs

    left = select_outputs(layout, layout.host_outputs("left"))
    assert [o.id for o in left] == ["A1", "A2"]


# -- the relay ------------------------------------------------------------------------------


def test_the_relay_rewrites_camera_urls_with_its_secrets_hidden() -> None:
    relay = 'relay: {url: "rtsp://${RELAY_USER}:${RELAY_PASS}@relay:8554/{camera}"}\n'
    layout = parse_layout(LAYOUT + relay, "wall.yaml", env={"RELAY_USER": "u", "RELAY_PASS": "p"})
    assert layout.cameras["c1"].url == "rtsp://u:p@relay:8554/c1"
    assert layout.cameras["c1"].url_low == "rtsp://u:p@relay:8554/c1_low"
    assert layout.cameras["c2"].url == "rtsp://u:p@relay:8554/c2"
    assert "p@" not in layout.model_dump_json()
    assert layout.redactor().url(layout.cameras["c2"].url) == "rtsp://***:***@relay:8554/c2"


def test_a_relay_for_some_cameras_and_its_mistakes_at_their_lines() -> None:
    only = 'relay: {url: "rtsp://relay:8554/live/{camera}", cameras: [c2]}\n'
    layout = parse_layout(LAYOUT + only, "wall.yaml", env={})
    assert layout.cameras["c1"].url == "rtsp://10.0.0.1/main"
    assert layout.cameras["c2"].url == "rtsp://relay:8554/live/c2"
    with pytest.raises(LayoutError) as caught:
        parse_layout(LAYOUT + 'relay: {url: "rtsp://relay:8554/x", cameras: [c9]}\n', "w", env={})
    text = str(caught.value)
    assert "must hold {camera}" in text and "unknown camera 'c9'" in text
    with pytest.raises(LayoutError, match="scheme 'http' is not allowed"):
        parse_layout(LAYOUT + 'relay: {url: "http://relay/{camera}"}\n', "w", env={})


# -- the broker's address -------------------------------------------------------------------


def test_broker_urls_with_credentials_from_the_environment() -> None:
    env = {"MQTT_USER": "wall", "MQTT_PASSWORD": "s3cret"}
    address = parse_broker_url("mqtts://${MQTT_USER}:${MQTT_PASSWORD}@broker.example", env)
    assert (address.host, address.port, address.tls) == ("broker.example", 8883, True)
    assert (address.username, address.password) == ("wall", "s3cret")
    assert address.shown() == "mqtts://***@broker.example:8883"
    assert "s3cret" not in repr(address)
    plain = parse_broker_url("mqtt://10.1.2.3", {"VIDEOWALL_MQTT_USERNAME": "w"})
    assert (plain.port, plain.tls, plain.username) == (1883, False, "w")
    for bad, why in (
        ("http://broker", "use mqtt://"),
        ("mqtt://", "names no host"),
        ("mqtt://broker:99999", "port"),
        ("mqtt://broker/room", "--wall"),
        ("mqtt://${NOPE}@broker", "NOPE is not set"),
    ):
        with pytest.raises(CompositorError, match=why):
            parse_broker_url(bad, {})


def test_the_walls_name_on_the_broker() -> None:
    from pathlib import Path

    assert wall_name(Path("/etc/videowall/room-1.yaml"), None) == "room-1"
    assert wall_name(Path("x.yaml"), "Salle.B") == "Salle.B"
    with pytest.raises(CompositorError, match="give --wall NAME"):
        wall_name(Path("/walls/my room.yaml"), None)
    with pytest.raises(CompositorError, match="--wall"):
        wall_name(Path("x.yaml"), "room/#")


# -- orders ---------------------------------------------------------------------------------


def order(command: object, at: float, origin: str = "left", **more: object) -> Order:
    return Order.model_validate(
        {
            "id": more.pop("id", f"{int(at * 1000) % 10**12:012x}"),
            "origin": origin,
            "at": at,
            "taken": at - 0.15,
            "by": "op",
            "role": "operator",
            "layout": "0123456789ab",
            "command": command,
            **more,
        }
    )


PRESET_NIGHT = {"command": "preset", "name": "night"}
CALLUP = {"command": "callup", "output": "A1", "tile": 1, "camera": "c2", "hold_s": 60}


def test_orders_round_trip_and_garbled_ones_are_refused_without_their_values() -> None:
    night = order(PRESET_NIGHT, T0)
    assert parse_order(night.model_dump_json().encode()) == night
    assert isinstance(night.command, ShowPreset)
    assert state_key(night) == "preset"
    assert state_key(order(CALLUP, T0)) == "callup/A1/1"
    alarm = order({"command": "alarm", "camera": "c1"}, T0, alarm_id="abcdef12")
    assert isinstance(alarm.command, RaiseAlarm) and state_key(alarm) == "alarm/abcdef12"
    good = json.loads(night.model_dump_json())
    for payload, why in (
        (b"\xff\xfe", "not JSON"),
        (b"[" * 10_000, "not JSON"),
        (b"x" * (MAX_MESSAGE_BYTES + 1), "bytes"),
        (json.dumps({**good, "sneaky": 1}).encode(), "sneaky: Extra inputs"),
        (json.dumps({**good, "at": 1790000000000}).encode(), "at:"),  # milliseconds
        (json.dumps({**good, "command": {"command": "revert"}}).encode(), "command"),
        (json.dumps({**good, "origin": "../x"}).encode(), "origin"),
        (json.dumps({**good, "by": "secret-token-value" * 10}).encode(), "by"),
    ):
        with pytest.raises(MessageRefused, match=why) as caught:
            parse_order(payload)
        assert "secret-token-value" not in str(caught.value)
    with pytest.raises(MessageRefused, match="state"):
        parse_health(json.dumps({"v": 1, "host": "a", "state": "maybe", "at": T0}).encode())


def test_last_writer_by_timestamp_wins_whatever_the_order_heard() -> None:
    first, second = order(PRESET_NIGHT, T0), order({"command": "preset", "name": None}, T0 + 1)
    for heard in ((first, second), (second, first)):
        ledger = Ledger()
        applied = []
        for o in heard:
            judgement = ledger.judge(o)
            if judgement.apply:
                ledger.record(o)
                applied.append(o)
        assert ledger.get("preset") == second
        if heard[0] is second:
            assert applied == [second]  # the older, heard late, was superseded
            assert ledger.judge(first).newer == second
    # Heard twice: the same order is not newer than itself.
    assert not ledger.judge(second).apply


def test_a_preset_ends_the_callups_taken_before_it_not_after() -> None:
    ledger = Ledger()
    before, preset = order(CALLUP, T0), order(PRESET_NIGHT, T0 + 1)
    after = order({**CALLUP, "output": "A2"}, T0 + 2)
    for o in (before, preset, after):
        assert ledger.judge(o).apply
        ledger.record(o)
    assert ledger.get("callup/A1/1") is None and ledger.get("callup/A2/1") == after
    late = order({**CALLUP, "tile": 1, "output": "B1"}, T0 + 0.5, origin="right")
    judgement = ledger.judge(late)
    assert not judgement.apply and judgement.newer == preset


def test_a_host_catching_up_gets_holds_shortened_and_nothing_that_is_over() -> None:
    ledger = Ledger()
    for o in (
        order(PRESET_NIGHT, T0),
        order(CALLUP, T0 + 1),  # held 60 s
        order({"command": "solo", "output": "B1", "camera": "c1", "hold_s": 5}, T0 + 2),
        order({"command": "alarm", "camera": "c1", "ttl_s": 30}, T0 + 3, alarm_id="aa11bb22"),
        order({"command": "clear_callup", "output": "A2", "tile": 1}, T0 + 4),
    ):
        ledger.record(o)
    replay = ledger.replay(T0 + 21)
    assert [state_key(o) for o in replay] == ["preset", "callup/A1/1", "alarm/aa11bb22"]
    callup, alarm = replay[1].command, replay[2].command
    assert isinstance(callup, SetCallUp) and callup.hold_s == pytest.approx(40)
    assert isinstance(alarm, RaiseAlarm) and alarm.ttl_s == pytest.approx(12)
    assert replayable(order({"command": "clear_alarm", "id": "aa11bb22"}, T0), T0) is None
    assert isinstance(order({"command": "clear_alarm", "id": "aa11bb22"}, T0).command, ClearAlarm)
    assert isinstance(
        order({"command": "clear_callup", "output": "A1", "tile": 1}, T0).command, ClearCallUp
    )
    assert isinstance(order({"command": "solo", "output": "A1", "camera": "c1"}, T0).command, Solo)


def test_the_ledger_is_bounded() -> None:
    ledger = Ledger(capacity=10)
    for n in range(50):
        ledger.record(order({**CALLUP, "tile": n + 1}, T0 + n))
    assert len(ledger) == 10
    assert ledger.get("callup/A1/50") is not None and ledger.get("callup/A1/1") is None


def test_the_layout_version_ignores_comments_and_secrets_values() -> None:
    relay = 'relay: {url: "rtsp://${U}:x@relay/{camera}"}\n'
    one = parse_layout(LAYOUT + relay, "a.yaml", env={"U": "alice"})
    two = parse_layout("# the room\n" + LAYOUT + relay, "b.yaml", env={"U": "bob"})
    assert layout_version(one) == layout_version(two)
    three = parse_layout(LAYOUT.replace("[c2]}\n  - {id: B1", "[c1]}\n  - {id: B1"), "c", env={})
    assert layout_version(three) != layout_version(one)


def test_status_prints_the_broker_and_every_host() -> None:
    from compositor.live.status import format_status

    cluster = {
        "wall": "room-1",
        "host": "left",
        "broker": {"url": "mqtt://broker:1883", "connected": False},
        "layout": "0123456789ab",
        "layout_mismatch": ["right (ba9876543210)"],
        "hosts": [
            {
                "host": "left",
                "state": "away from the broker",
                "outputs": ["A1"],
                "outputs_up": 1,
                "cameras_live": 2,
                "cameras": 2,
                "clock_offset_ms": 0.0,
                "this_host": True,
            },
            {
                "host": "right",
                "state": "offline",
                "outputs": ["B1"],
                "outputs_up": 0,
                "cameras_live": 0,
                "cameras": 2,
                "clock_offset_ms": 0.4,
            },
        ],
    }
    text = "\n".join(format_status({"pid": 1, "cluster": cluster}))
    assert "broker:   mqtt://broker:1883 AWAY (state and pictures kept); wall room-1" in text
    assert "  host right: offline, 0/1 outputs, 0/2 cameras live, clock +0.4 ms" in text
    assert "LAYOUT DIFFERS from: right (ba9876543210)" in text


def test_the_command_line_refuses_what_does_not_go_together(
    tmp_path: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from compositor.cli import main

    assert isinstance(tmp_path, Path)
    layout = tmp_path / "room.yaml"
    layout.write_text(LAYOUT + "hosts: {left: [A1, A2], right: [B1]}\n")
    for argv, said in (
        (["run", str(layout), "--host", "left", "--outputs", "A1"], "choose one"),
        (["run", str(layout), "--broker", "mqtt://127.0.0.1:1"], "--broker needs --host"),
        (["run", str(layout), "--host", "middle"], "hosts are left, right"),
        (["run", str(layout), "--host", "left", "--broker", "http://x"], "use mqtt://"),
        (["doctor", "--broker", "mqtt://127.0.0.1:1"], "give the layout or --wall"),
    ):
        assert main(argv) != 0
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err, (argv, err)


def test_the_preview_outlines_each_hosts_part_of_the_wall() -> None:
    import numpy as np

    from compositor.preview import HOST_COLOURS, render_preview

    layout = parse_layout(LAYOUT + "hosts: {left: [A1, A2], right: [B1]}\n", "wall.yaml", env={})
    image = render_preview(layout, width=600)
    plain = render_preview(parse_layout(LAYOUT, "wall.yaml", env={}), width=600)

    def share(colour: tuple[int, int, int], columns: slice) -> float:
        return float((image[:, columns] == np.array(colour, np.uint8)).all(axis=2).mean())

    # Left's colour on the first two screens' side of the wall, right's on the third's.
    third = image.shape[1] // 3
    assert share(HOST_COLOURS[0], slice(0, 2 * third)) > 0.01
    assert share(HOST_COLOURS[1], slice(2 * third + 20, None)) > 0.01
    assert share(HOST_COLOURS[1], slice(0, third)) == 0
    assert not (plain == np.array(HOST_COLOURS[0], np.uint8)).all(axis=2).any()


def test_the_demo_wall_is_fourteen_outputs_split_seven_and_seven() -> None:
    """What ``make demo ARGS="--hosts 2"`` runs: one row of the room's wall per host, and
    a preset that changes a screen of each."""
    layout = load_layout(Path(__file__).resolve().parents[1] / "layouts" / "demo.yaml")
    left, right = layout.host_outputs("left"), layout.host_outputs("right")
    assert left == tuple(f"A{n}" for n in range(1, 8))
    assert right == tuple(f"B{n}" for n in range(1, 8))
    assert sorted(left + right) == sorted(o.id for o in layout.outputs)
    incident = {o.id for o in layout.presets["incident"].outputs}
    assert incident & set(left) and incident & set(right)
