from compositor.display.monitors import Monitor, assign_monitors, parse_listmonitors

LISTING = """Monitors: 3
 0: +*DUMMY0 480/127x270/71+0+0  DUMMY0
 1: +DUMMY2 480/127x270/71+960+0  DUMMY2
 2: +DUMMY1 480/127x270/71+480+0  DUMMY1
"""


def test_parse_listmonitors_in_position_order() -> None:
    monitors = parse_listmonitors(LISTING)
    assert [m.name for m in monitors] == ["DUMMY0", "DUMMY1", "DUMMY2"]
    assert monitors[0] == Monitor("DUMMY0", 0, 0, 480, 270, primary=True)
    assert monitors[1].x == 480 and not monitors[1].primary


def test_assign_by_name_index_and_next_free() -> None:
    monitors = parse_listmonitors(LISTING)
    placed = assign_monitors(
        [("A", None), ("B", "DUMMY0"), ("C", 2), ("D", None), ("E", "HDMI-9")], monitors
    )
    where = {p.output_id: (p.monitor.name if p.monitor else None) for p in placed}
    assert where == {"A": "DUMMY1", "B": "DUMMY0", "C": "DUMMY2", "D": None, "E": None}
