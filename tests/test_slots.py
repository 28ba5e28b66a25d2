from pathlib import Path

import numpy as np
import pytest

from compositor.slots import CameraState, FrameSlot, SharedDir, StatusBoard


@pytest.fixture
def shared() -> Path:
    directory = SharedDir(prefix="videowall-test-")
    yield directory.path
    directory.close()


def test_slot_publishes_latest_frame_only(shared: Path) -> None:
    writer = FrameSlot(shared / "s", 8, 4, create=True)
    reader = FrameSlot(shared / "s", 8, 4)
    assert reader.number == 0 and reader.view() is None
    for value in (10, 20, 30):
        writer.write(np.full((4, 8, 3), value, np.uint8), captured_at=float(value))
    view = reader.view()
    assert view is not None and view.number == 3
    assert int(view.pixels[0, 0, 0]) == 30 and view.captured_at == 30.0
    assert reader.intact(view)


def test_slot_keeps_each_frames_own_size(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 8, 8, create=True)
    slot.write(np.full((2, 6, 3), 1, np.uint8), 1.0)
    view = slot.view()
    assert view is not None and view.pixels.shape == (2, 6, 3)
    slot.write(np.full((8, 4, 3), 2, np.uint8), 2.0)
    view = slot.view()
    assert view is not None and view.pixels.shape == (8, 4, 3)


def test_a_reader_overtaken_mid_copy_notices(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 4, 4, create=True)
    slot.write(np.zeros((4, 4, 3), np.uint8), 1.0)
    view = slot.view()
    assert view is not None
    slot.write(np.ones((4, 4, 3), np.uint8), 2.0)  # other buffer: the view is still good
    assert slot.intact(view)
    slot.write(np.ones((4, 4, 3), np.uint8), 3.0)  # reuses the view's buffer
    assert not slot.intact(view)


def test_too_big_a_picture_is_refused(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 4, 4, create=True)
    with pytest.raises(ValueError):
        slot.write(np.zeros((5, 4, 3), np.uint8), 0.0)


def test_status_board_round_trip(shared: Path) -> None:
    board = StatusBoard(shared / "status", 3, create=True)
    other = StatusBoard(shared / "status", 3)
    board.publish(1, state=CameraState.RETRYING, since=5.0, reason="connection refused")
    board.publish(1, frame_at=7.0, source_size=(704, 576))
    status = other.read(1)
    assert status.state is CameraState.RETRYING and status.reason == "connection refused"
    assert status.frames == 1 and status.last_frame_at == 7.0
    assert status.source_size == (704, 576)
    assert other.read(0).state is CameraState.STARTING
