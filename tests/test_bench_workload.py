"""The room's workload at fewer cameras: the same screens, fewer pictures, a valid layout."""

from __future__ import annotations

import pytest

from benchmarks.bench import ROOM_RAMP
from benchmarks.workload import room_workload


@pytest.mark.parametrize("count", sorted({*ROOM_RAMP, 14, 19}))
def test_a_smaller_room_is_a_valid_layout_of_its_first_cameras(count: int) -> None:
    # 6, 14 and 19 cut a tour to one camera (B4's [cam06, cam07, cam08], A4's
    # [cam14, cam15, cam16], A5's [cam19 .. cam22]): shown as a camera tile, since a
    # tour is of two cameras or more (these three were LayoutErrors before).
    work = room_workload(count)
    assert [c.id for c in work.cameras] == [f"cam{i:02d}" for i in range(1, count + 1)]
    shown = {tile.camera for _, tile in work.tiles()}
    assert shown == {c.id for c in work.cameras}
