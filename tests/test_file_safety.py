"""Files the wall and its commands write, and the layout files they read, on a machine
shared with others: no planted link is followed, revert keeps the layout's owner,
group and mode, snapshots are private unless asked, and a FIFO, a device, a folder
or a socket given as the layout is refused at once instead of hanging.

Real files, FIFOs, sockets and processes; the chown cases need root.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from compositor.core.errors import LayoutError
from compositor.layout.yaml_reader import read_layout_text
from compositor.live.reload import LayoutHistory, LayoutWatcher, revert_layout
from compositor.live.snapshots import SnapshotWriter

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root: chowns files")
OTHER = 1000  # a uid and gid that are not root's


class Still:
    """A canvas that always shows the same grey picture."""

    def freeze(self) -> Still:
        return self

    def to_bgr(self) -> np.ndarray:
        return np.full((36, 64, 3), 128, np.uint8)


def write_snapshots(writer: SnapshotWriter) -> None:
    writer.maybe_write(0.0, {"A1": Still()})
    writer.wait(5.0)


# -- snapshots ---------------------------------------------------------------------------


def test_closing_snapshots_skips_the_files_not_yet_begun(tmp_path: Path) -> None:
    # A writer still inside OpenCV when the process exits aborts it: close stops between files.
    writer = SnapshotWriter(tmp_path, 1.0)
    writer.close()
    writer.maybe_write(0.0, {f"A{i}": Still() for i in range(1, 15)})
    writer.wait(5.0)
    assert writer.written == 0
    assert not list(tmp_path.glob("*.png"))


def test_snapshots_never_follow_a_planted_temp_file(tmp_path: Path) -> None:
    folder = tmp_path / "snaps"
    folder.mkdir()
    victim = tmp_path / "precious.conf"
    victim.write_text("precious\n")
    for pid in range(os.getpid() - 5, os.getpid() + 5):  # every name it could have guessed
        (folder / f".A1.png.{pid}.tmp").symlink_to(victim)
    (folder / "A1.png").symlink_to(victim)
    writer = SnapshotWriter(folder, 1.0)
    write_snapshots(writer)
    assert writer.written == 1
    assert victim.read_text() == "precious\n"
    assert not (folder / "A1.png").is_symlink()
    assert (folder / "A1.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_snapshots_are_private_by_default_and_shared_when_asked(tmp_path: Path) -> None:
    private = tmp_path / "new" / "snaps"
    write_snapshots(SnapshotWriter(private, 1.0))
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    assert stat.S_IMODE((private / "A1.png").stat().st_mode) == 0o600

    shared = tmp_path / "shared"
    write_snapshots(SnapshotWriter(shared, 1.0, share=True))
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "A1.png").stat().st_mode) == 0o644

    mine = tmp_path / "mine"  # made by the technician: its mode is theirs
    mine.mkdir()
    os.chmod(mine, 0o750)
    write_snapshots(SnapshotWriter(mine, 1.0))
    assert stat.S_IMODE(mine.stat().st_mode) == 0o750
    assert stat.S_IMODE((mine / "A1.png").stat().st_mode) == 0o600


def test_snapshots_come_back_after_their_folder_is_removed(tmp_path: Path) -> None:
    folder = tmp_path / "snaps"
    writer = SnapshotWriter(folder, 1.0)
    write_snapshots(writer)
    (folder / "A1.png").unlink()
    folder.rmdir()
    writer.next_due = 0.0
    write_snapshots(writer)
    assert (folder / "A1.png").exists() and writer.written == 2


# -- revert ------------------------------------------------------------------------------


@needs_root
def test_revert_as_root_keeps_the_layouts_owner_group_and_mode(tmp_path: Path) -> None:
    history = LayoutHistory(tmp_path / "state" / "history")
    history.record("a\n", 1_700_000_000.0)
    history.record("b\n", 1_700_000_100.0)
    repo = tmp_path / "config-repo"
    repo.mkdir()
    target = repo / "wall.yaml"
    target.write_text("b\n")
    os.chown(target, OTHER, OTHER)
    os.chmod(target, 0o640)
    link = tmp_path / "wall.yaml"  # the layout is a link into a config repository
    link.symlink_to(target)
    assert revert_layout(link, history).text() == "a\n"
    assert link.is_symlink() and target.read_text() == "a\n"
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (OTHER, OTHER, 0o640)
    assert sorted(os.listdir(repo)) == ["wall.yaml"], "no temp file left"


def test_revert_into_a_folder_it_cannot_write_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    history = LayoutHistory(state / "history")
    history.record("a\n", 1_700_000_000.0)
    history.record("b\n", 1_700_000_100.0)
    layout = tmp_path / "ro" / "wall.yaml"
    layout.parent.mkdir()
    layout.write_text("b\n")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(layout.parent)])
    mounted = os.path.ismount(layout.parent)
    try:
        if mounted:
            layout.write_text("b\n")
            subprocess.run(["mount", "-o", "remount,ro", str(layout.parent)], check=True)
        else:  # not root: a folder without write permission does the same
            os.chmod(layout.parent, 0o500)
        reverted = subprocess.run(
            [sys.executable, "-m", "compositor", "revert", str(layout), "--state-dir", str(state)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(layout.parent)], check=False)
        os.chmod(layout.parent, 0o700)
    assert reverted.returncode == 2, reverted
    assert "Traceback" not in reverted.stderr and str(layout) in reverted.stderr, reverted.stderr


# -- layouts that are not regular files --------------------------------------------------


def special_files(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    sock = tmp_path / "socket.yaml"
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(sock))
    return {"FIFO": fifo, "folder": folder, "socket": sock, "device": Path("/dev/zero")}


def test_a_layout_that_is_not_a_regular_file_is_refused_at_once(tmp_path: Path) -> None:
    for kind, path in special_files(tmp_path).items():
        started = time.monotonic()
        with pytest.raises(LayoutError, match="not a regular file") as caught:
            read_layout_text(path)
        assert kind.lower() in str(caught.value).lower(), caught.value
        assert time.monotonic() - started < 1.0
        for command in (["validate", str(path)], ["run", str(path), "--headless"]):
            done = subprocess.run(
                [sys.executable, "-m", "compositor", *command],
                capture_output=True,
                text=True,
                timeout=20,
            )
            assert done.returncode == 1, (kind, command, done)
            assert "not a regular file" in done.stdout + done.stderr, (kind, command, done)


def test_the_watcher_never_opens_a_fifo_put_in_place_of_the_layout(tmp_path: Path) -> None:
    from compositor.core.clock import ManualClock
    from compositor.layout.parse import parse_layout
    from compositor.live.reload import LiveLayout
    from compositor.live.state_dir import StateDir

    path = tmp_path / "wall.yaml"
    text = (
        "cameras: {a: {url: 'rtsp://127.0.0.1:9/a'}}\n"
        "outputs: [{id: O1, size: [64, 36], grid: 1x1, tiles: [a]}]\n"
    )
    path.write_text(text)
    applied: list[object] = []
    live = LiveLayout(
        path,
        StateDir(tmp_path / "state"),
        parse_layout(text, str(path)),
        lambda layout: applied.append(layout) or "ok",
        ManualClock(),
    )
    live.start()
    try:
        fifo = tmp_path / "new.fifo"
        os.mkfifo(fifo)
        os.replace(fifo, path)  # the layout's name now a FIFO: opening it would block
        live.request_reload("test")
        deadline = time.monotonic() + 3
        result = None
        while result is None and time.monotonic() < deadline:
            result = live.poll()
            time.sleep(0.05)
        assert result is not None and result.outcome == "refused", result
        assert "not a regular file (a FIFO)" in result.errors[0]
        assert LayoutWatcher(path).poll(0.0) is False
    finally:
        live.close()
