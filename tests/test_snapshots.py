"""Snapshots when the wall stops: asked first thing (request_stop), a snapshot being
written ends after its current PNG (each 1920x1080 PNG costs about 0.1 s of CPU, a
14-output snapshot more than a second), so stopping is not held up by it; the outputs not
reached keep their last picture. (Closing before a round: tests/test_file_safety.py.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from compositor.live.snapshots import SnapshotWriter


class Picture:
    def __init__(self, on_convert: object = None) -> None:
        self.on_convert = on_convert

    def freeze(self) -> Picture:
        return self

    def to_bgr(self) -> npt.NDArray[np.uint8]:
        if callable(self.on_convert):
            self.on_convert()  # the wall asked to stop while this one is being written
        return np.full((36, 64, 3), 128, np.uint8)


def test_a_snapshot_being_written_stops_after_its_current_png(tmp_path: Path) -> None:
    writer = SnapshotWriter(tmp_path / "snaps", 1.0)
    outputs = {"A1": Picture(), "A2": Picture(writer.request_stop), "A3": Picture()}
    writer.maybe_write(0.0, outputs)
    writer.wait(5.0)
    assert sorted(p.name for p in (tmp_path / "snaps").iterdir()) == ["A1.png", "A2.png"]
    assert writer.written == 0, "an unfinished snapshot is not counted"


def test_wait_alone_waits_for_the_whole_snapshot(tmp_path: Path) -> None:
    writer = SnapshotWriter(tmp_path / "snaps", 1.0)
    writer.maybe_write(0.0, {f"A{i}": Picture() for i in range(1, 4)})
    writer.wait(5.0)
    assert len(list((tmp_path / "snaps").iterdir())) == 3 and writer.written == 1
