"""Operators' overrides as an arrangement over the layout, without a wall: call-ups,
solos, holds running out on an injected clock, the alarm queue by priority and
``min_hold_s`` (a burst does not flicker), what a new layout keeps and drops; the
alarms section of the layout with its located errors; the event ring and the audit
log's rotation, reading and a full disk."""

from __future__ import annotations

import json
import resource
import signal
from pathlib import Path

import pytest

from compositor.core.clock import ManualClock
from compositor.core.errors import LayoutError, NotFoundError, RefusedError
from compositor.core.events import EventRing
from compositor.core.geometry import TileRect
from compositor.layout.models import Layout
from compositor.layout.parse import parse_layout
from compositor.live.audit import AuditLog, format_entry, parse_since, read_audit
from compositor.live.operator import Alarm, CallUp, OperatorState, Solo

LAYOUT = """\
cameras:
  red: {url: "rtsp://127.0.0.1:1/red"}
  green: {url: "rtsp://127.0.0.1:1/green"}
  blue: {url: "rtsp://127.0.0.1:1/blue"}
  c1: {url: "rtsp://127.0.0.1:1/c1"}
  c2: {url: "rtsp://127.0.0.1:1/c2"}
  c3: {url: "rtsp://127.0.0.1:1/c3"}
outputs:
  - id: A1
    size: [320, 180]
    grid: 2x2
    tiles: [red, green, {clock: "%H:%M"}, blue]
  - id: A2
    size: [320, 180]
    grid: 1x2
    tiles: [c1, c2]
alarms: {tiles: [A2.1, A2.2], min_hold_s: 10}
presets:
  small:
    outputs: [{id: A2, grid: 1x1, tiles: [c3]}]
"""


@pytest.fixture
def layout() -> Layout:
    return parse_layout(LAYOUT, "ops.yaml")


def shown(layout: Layout, output: str) -> list[str]:
    return [tile.camera for tile in layout.placed_tiles(output)]


def alarm(number: int, camera: str, priority: int, at: float, ttl: float = 60.0) -> Alarm:
    return Alarm(f"a{number}", camera, priority, "", "test", at, at, at + ttl)


def test_a_callup_replaces_one_tile_keeping_its_place_and_a_solo_the_whole_output(
    layout: Layout,
) -> None:
    state = OperatorState().with_callup(CallUp("A1", 3, "c3", "alice", 0.0, None))
    arranged = state.arrange(layout)
    tiles = arranged.placed_tiles("A1")
    assert [t.camera for t in tiles] == ["red", "green", "c3", "blue"]  # the clock's tile
    assert tiles[2].rect == layout.placed_tiles("A1")[2].rect and tiles[2].number == 3
    assert arranged.placed_tiles("A2") == layout.placed_tiles("A2")

    state = state.with_solo(Solo("A1", "c1", "bob", 0.0, None))
    tiles = state.arrange(layout).placed_tiles("A1")
    assert [(t.camera, t.rect) for t in tiles] == [("c1", TileRect(0, 0, 320, 180))]
    assert state.without_solo("A1").arrange(layout).placed_tiles("A1")[2].camera == "c3"
    assert state.without_views().arrange(layout) == layout
    with pytest.raises(NotFoundError, match=r"tile A1\.1 has no call-up \(call-ups: A1\.3\)"):
        state.without_callup("A1", 1)


def test_holds_end_on_the_injected_clock(layout: Layout) -> None:
    clock = ManualClock(start=100.0)
    state = OperatorState().with_callup(CallUp("A1", 1, "c1", "alice", 100.0, 130.0))
    state = state.with_solo(Solo("A2", "c2", "alice", 100.0, 160.0))
    assert state.next_deadline(layout, clock.now()) == 130.0
    clock.advance(29.9)
    kept, notes = state.settled(layout, clock.now())
    assert kept == state and notes == []
    clock.advance(0.1)
    kept, notes = state.settled(layout, clock.now())
    assert list(kept.callups) == [] and list(kept.solos) == ["A2"]
    assert [(n.action, n.target, n.before, n.reason) for n in notes] == [
        ("callup.ended", "A1.1", "c1", "held 30 s")
    ]
    assert kept.next_deadline(layout, clock.now()) == 160.0


def test_a_new_layout_keeps_overrides_that_fit_and_says_why_it_drops_the_others(
    layout: Layout,
) -> None:
    state = (
        OperatorState()
        .with_callup(CallUp("A1", 4, "c1", "alice", 0.0, None))
        .with_callup(CallUp("A2", 2, "red", "alice", 0.0, None))
        .with_solo(Solo("A2", "c2", "bob", 0.0, None))
    )
    fewer = parse_layout(
        LAYOUT.replace("tiles: [c1, c2]", "tiles: [c1]").replace("A2.1, A2.2", "A2.1"),
        "ops.yaml",
    )
    kept, notes = state.settled(fewer, 0.0)
    assert list(kept.callups) == [("A1", 4)] and list(kept.solos) == ["A2"]
    assert [(n.action, n.target, n.reason) for n in notes] == [
        ("callup.dropped", "A2.2", "output A2 has 1 tile(s) now")
    ]
    no_c1 = parse_layout(
        LAYOUT.replace('  c1: {url: "rtsp://127.0.0.1:1/c1"}\n', "").replace("c1, c2", "c3, c2"),
        "ops.yaml",
    )
    kept, notes = state.settled(no_c1, 0.0)
    assert ("A1", 4) not in kept.callups
    assert [n.reason for n in notes] == ["camera c1 is no longer in the layout"]


def test_alarms_take_the_alarm_tiles_most_urgent_first_the_rest_wait(layout: Layout) -> None:
    state = OperatorState()
    for number, (camera, priority) in enumerate([("red", 5), ("green", 2), ("blue", 7)], 1):
        state = state.with_alarm(alarm(number, camera, priority, 0.0))
    state, notes = state.settled(layout, 0.0)
    assert {ref: on.alarm for ref, on in state.showing.items()} == {
        ("A2", 1): "a2",  # priority 2 on the first alarm tile
        ("A2", 2): "a1",
    }
    assert [n.action for n in notes] == ["alarm.shown", "alarm.shown"]
    assert shown(state.arrange(layout), "A2") == ["green", "red"]
    # Clearing a shown alarm frees its tile at once for the next one waiting.
    state, _ = state.without_alarm("a2").settled(layout, 1.0)
    assert shown(state.arrange(layout), "A2") == ["blue", "red"]
    with pytest.raises(NotFoundError, match="no alarm 'a9'"):
        state.without_alarm("a9")
    # A preset with one alarm tile fewer: the alarm there waits again, the other stays.
    small = layout.with_preset("small")
    state, _ = state.settled(small, 2.0)
    assert {ref: on.alarm for ref, on in state.showing.items()} == {("A2", 1): "a3"}
    assert shown(state.arrange(small), "A2") == ["blue"]


def test_a_burst_of_alarms_does_not_flicker_min_hold_s(layout: Layout) -> None:
    """15 alarms in 10 s, each more urgent than the last (the worst case): the two alarm
    tiles change when they are free, and then at most once per min_hold_s each."""
    clock = ManualClock(start=0.0)
    state = OperatorState()
    shows = shown(state.arrange(layout), "A2")
    switches = 0
    for number in range(15):
        camera = ["red", "green", "blue", "c3"][number % 4]
        state = state.with_alarm(alarm(number, camera, 9 - number * 8 // 14, clock.now()))
        state, _ = state.settled(layout, clock.now())
        now_shows = shown(state.arrange(layout), "A2")
        switches += sum(a != b for a, b in zip(shows, now_shows, strict=True))
        shows = now_shows
        clock.advance(10 / 15)
    assert clock.now() == pytest.approx(10.0)
    assert switches == 2, "only the first two alarms: every tile holds 10 s"
    # The holds are over (the second alarm came 0.67 s after the first): the two most
    # urgent waiting take the tiles, once.
    assert state.next_deadline(layout, 9.0) == pytest.approx(10.0)
    state, notes = state.settled(layout, 11.0)
    assert {state.alarms[on.alarm].priority for on in state.showing.values()} == {1, 2}
    assert [n.action for n in notes].count("alarm.shown") == 2
    # An alarm on screen stays its min_hold_s, even past its ttl; then it ends.
    short = OperatorState().with_alarm(alarm(99, "red", 1, 20.0, ttl=2.0))
    short, _ = short.settled(layout, 20.0)
    short, notes = short.settled(layout, 25.0)
    assert list(short.alarms) == ["a99"] and notes == []
    short, notes = short.settled(layout, 30.0)
    assert list(short.alarms) == [] and [n.action for n in notes] == ["alarm.expired"]


def test_a_solo_hides_the_alarm_tiles_of_its_output(layout: Layout) -> None:
    state = OperatorState().with_alarm(alarm(1, "red", 1, 0.0))
    state, _ = state.with_solo(Solo("A2", "c3", "bob", 0.0, None)).settled(layout, 0.0)
    assert state.showing == {}
    assert shown(state.arrange(layout), "A2") == ["c3"]
    state, _ = state.without_solo("A2").settled(layout, 1.0)
    assert shown(state.arrange(layout), "A2") == ["red", "c2"]


def test_too_many_alarms_are_refused_not_queued(layout: Layout) -> None:
    state = OperatorState()
    for number in range(200):
        state = state.with_alarm(alarm(number, "red", 5, 0.0))
    with pytest.raises(RefusedError, match="200 alarms"):
        state.with_alarm(alarm(999, "red", 5, 0.0))


def test_the_alarms_section_is_checked_with_located_errors() -> None:
    base = LAYOUT.replace("alarms: {tiles: [A2.1, A2.2], min_hold_s: 10}", "{}")
    broken = base.replace("{}", "alarms: {tiles: [A2.3, B1.1, A2], min_hold: 5}")
    with pytest.raises(LayoutError) as caught:
        parse_layout(broken, "ops.yaml")
    messages = [str(issue) for issue in caught.value.issues]
    line = broken.splitlines().index("alarms: {tiles: [A2.3, B1.1, A2], min_hold: 5}") + 1
    assert any(f"ops.yaml:{line}:" in m and "unknown key 'min_hold'" in m for m in messages)
    assert any("'A2' is not a tile: write OUTPUT.N" in m for m in messages), messages
    ok_keys = base.replace("{}", "alarms: {tiles: [A2.3, B1.1, A2.1, A2.1]}")
    with pytest.raises(LayoutError) as caught:
        parse_layout(ok_keys, "ops.yaml")
    assert [issue.message for issue in caught.value.issues] == [
        "alarm tile A2.3: output A2 has 2 tile(s)",
        "alarm tile B1.1: unknown output (outputs: A1, A2)",
        "alarm tile A2.1 is listed twice",
    ]
    reserved = LAYOUT.replace("  small:", "  default:")
    with pytest.raises(LayoutError, match="a preset cannot be called 'default'"):
        parse_layout(reserved, "ops.yaml")


def test_the_event_ring_is_bounded_and_a_slow_reader_is_told_what_it_lost() -> None:
    ring = EventRing(capacity=5)
    for number in range(12):
        ring.publish("alarm", "now", {"n": number})
    read = ring.read_after(3)
    assert read.lost == 4 and [e.data["n"] for e in read.events] == [7, 8, 9, 10, 11]
    assert read.cursor == 12 and ring.read_after(12).events == []
    assert ring.read_after(0, limit=2).cursor == 9


def test_the_audit_log_rotates_reads_back_and_survives_a_full_disk(tmp_path: Path) -> None:
    clock = ManualClock(start=0.0, epoch=1_800_000_000.0)
    audit = AuditLog(tmp_path / "audit.jsonl", clock, max_bytes=600, keep=2)
    for number in range(20):
        audit.append("callup.set", "alice", "operator", target=f"A1.{number}", after="c1")
        clock.advance(60)
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2"]
    assert all(p.stat().st_size <= 600 for p in tmp_path.glob("audit.jsonl*"))
    entries = list(read_audit(tmp_path))
    numbers = [int(e["target"].split(".")[1]) for e in entries]
    assert numbers == sorted(numbers) and numbers[-1] == 19 and len(numbers) < 20  # oldest gone
    recent = list(read_audit(tmp_path, since=clock.wall_time() - 5 * 60 - 1))
    assert [e["target"] for e in recent] == [f"A1.{n}" for n in range(15, 20)]
    assert format_entry(entries[-1]).endswith("alice (operator)       callup.set A1.19: - -> c1")
    assert oct((tmp_path / "audit.jsonl").stat().st_mode & 0o777) == "0o600"

    # A full disk (here: the file size limit, which fails a write the same way, EFBIG): the
    # entry is lost, the wall is not stopped, the log says so once.
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    full = AuditLog(tmp_path / "full" / "audit.jsonl", clock)
    full.append("preset", "bob", "operator", after="night")  # the file exists, small
    resource.setrlimit(resource.RLIMIT_FSIZE, (64, limits[1]))
    try:
        full.append("preset", "bob", "operator", after="day")
        full.append("preset", "bob", "operator", after="dusk")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, previous)
    assert full.lost == 2
    full.append("preset", "bob", "operator", after="dawn")  # room again: written
    assert [e["after"] for e in read_audit(tmp_path / "full")] == ["night", "dawn"]
    # A state folder that vanished comes back with the next entry.
    gone = AuditLog(tmp_path / "gone" / "audit.jsonl", clock)
    gone.append("alarm.raise", "nvr", "operator", target="a1")
    assert json.loads((tmp_path / "gone" / "audit.jsonl").read_text())["actor"] == "nvr"


def test_since_takes_durations_and_local_times() -> None:
    assert parse_since("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_since("90s", now=100.0) == 10.0
    with pytest.raises(Exception, match="give a duration"):
        parse_since("yesterday")
