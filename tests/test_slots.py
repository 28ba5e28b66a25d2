from pathlib import Path

import numpy as np
import pytest

from compositor.core.colour import Matrix
from compositor.slots import CameraState, FrameSlot, SharedDir, StatusBoard


@pytest.fixture
def shared() -> Path:
    directory = SharedDir(prefix="videowall-test-")
    yield directory.path
    directory.close()


def planes(w: int, h: int, value: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """I420 planes of a flat picture: Y = value, U = value + 1, V = value + 2."""
    return (
        np.full((h, w), value, np.uint8),
        np.full((h // 2, w // 2), value + 1, np.uint8),
        np.full((h // 2, w // 2), value + 2, np.uint8),
    )


def test_slot_publishes_latest_frame_only(shared: Path) -> None:
    writer = FrameSlot(shared / "s", 8, 4, create=True)
    reader = FrameSlot(shared / "s", 8, 4)
    assert reader.number == 0 and reader.view() is None
    for value in (10, 20, 30):
        writer.write(*planes(8, 4, value), captured_at=float(value), matrix=Matrix.BT709)
    view = reader.view()
    assert view is not None and view.number == 3
    assert (int(view.y[0, 0]), int(view.u[0, 0]), int(view.v[0, 0])) == (30, 31, 32)
    assert view.captured_at == 30.0 and view.matrix is Matrix.BT709
    assert reader.intact(view)


def test_slot_keeps_each_frames_own_size_and_matrix(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 8, 8, create=True)
    slot.write(*planes(6, 2, 1), 1.0, Matrix.BT601)
    view = slot.view()
    assert view is not None and (view.width, view.height) == (6, 2)
    assert view.u.shape == view.v.shape == (1, 3) and view.matrix is Matrix.BT601
    slot.write(*planes(4, 8, 2), 2.0, Matrix.BT709)
    view = slot.view()
    assert view is not None and view.y.shape == (8, 4) and view.u.shape == (4, 2)
    assert view.matrix is Matrix.BT709 and int(view.v[3, 1]) == 4


def test_planes_are_copied_from_strided_views(shared: Path) -> None:
    """A decoder's planes have padding at the end of each row: only the picture is kept."""
    slot = FrameSlot(shared / "s", 4, 2, create=True)
    padded = np.arange(2 * 16, dtype=np.uint8).reshape(2, 16)
    chroma = np.arange(16, dtype=np.uint8).reshape(1, 16)
    slot.write(padded[:, :4], chroma[:, :2], chroma[:, 4:6], 0.0)
    view = slot.view()
    assert view is not None
    assert view.y.tolist() == [[0, 1, 2, 3], [16, 17, 18, 19]]
    assert view.u.tolist() == [[0, 1]] and view.v.tolist() == [[4, 5]]


def test_an_odd_slot_size_rounds_up_to_hold_even_pictures(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 275, 155, create=True)
    assert (slot.max_w, slot.max_h) == (276, 156)
    slot.write(*planes(276, 156, 9), 0.0)
    with pytest.raises(ValueError):
        slot.write(*planes(278, 156, 9), 0.0)


def test_a_reader_overtaken_mid_copy_notices(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 4, 4, create=True)
    slot.write(*planes(4, 4, 0), 1.0)
    view = slot.view()
    assert view is not None
    slot.write(*planes(4, 4, 1), 2.0)  # other buffer: the view is still good
    assert slot.intact(view)
    slot.write(*planes(4, 4, 1), 3.0)  # reuses the view's buffer
    assert not slot.intact(view)


def test_too_big_or_odd_a_picture_is_refused(shared: Path) -> None:
    slot = FrameSlot(shared / "s", 4, 4, create=True)
    with pytest.raises(ValueError):
        slot.write(*planes(4, 6, 0), 0.0)
    y, u, v = planes(4, 4, 0)
    with pytest.raises(ValueError):
        slot.write(y[:3], u, v, 0.0)  # odd height
    with pytest.raises(ValueError):
        slot.write(y, u[:, :1], v, 0.0)  # chroma of the wrong size


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


def test_a_slot_made_again_under_its_name_is_not_mapped_by_the_old_owner(shared: Path) -> None:
    first = FrameSlot(shared / "slot-0", 8, 4, create=True, owner=7)
    assert FrameSlot(shared / "slot-0", 8, 4, owner=7).owner == 7
    first.close()
    (shared / "slot-0").unlink()
    FrameSlot(shared / "slot-0", 8, 4, create=True, owner=9)  # the name, given to another
    with pytest.raises(ValueError, match="another slot"):
        FrameSlot(shared / "slot-0", 8, 4, owner=7)


def test_a_status_record_is_free_once_its_writer_releases_it(shared: Path) -> None:
    board = StatusBoard(shared / "status", 2, create=True)
    board.claim(1, ticket=5)
    board.publish(1, state=CameraState.LIVE, reason="x", frame_at=3.0)
    assert not board.released(1, 5) and board.released_all([1, 0], [5, 0]) == [False, True]
    board.release(1, 5)
    assert board.released(1, 5) and not board.released(1, 6)
    version = board.version(1)
    board.claim(1, ticket=6)  # handed to another camera: as new, its version moving on
    status = board.read(1)
    assert status.state is CameraState.STARTING and status.frames == 0 and not status.reason
    assert board.version(1) > version and not board.released(1, 6)
