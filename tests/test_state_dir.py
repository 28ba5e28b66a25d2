"""The state folder under a full, read-only or vanished filesystem, and run by hostile
neighbours: the wall keeps showing pictures, applies or refuses edits as usual, says
once (log and status) what it could not write, and recovers the folder and its
control socket by itself.

Real parts only: a tmpfs of a few hundred kB filled up with a file (full), the same
remounted read-only (as ext4's ``errors=remount-ro`` does), the folder removed with
``shutil.rmtree`` under a running wall, folders owned by another user. These need
root (mount, chown): skipped otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from compositor.live.reload import LayoutHistory, revert_layout

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="needs root: mounts a tmpfs, chowns folders to another user"
)
NOBODY = 65534  # another user (Debian's nobody)


def test_history_files_named_like_a_date_but_not_one_are_ignored(tmp_path: Path) -> None:
    history = LayoutHistory(tmp_path / "history")
    history.record("a\n", 1_700_000_000.0)
    history.record("b\n", 1_700_000_100.0)
    for name in ("20261399-250000-7.yaml", "99999999-999999-8.yaml", "00000000-000000-9.yaml"):
        (history.folder / name).write_text("bogus\n")
    assert [entry.text() for entry in history.entries()] == ["a\n", "b\n"]
    layout = tmp_path / "wall.yaml"
    layout.write_text("b\n")
    assert revert_layout(layout, history).text() == "a\n"


# -- hostile neighbours ------------------------------------------------------------------


@needs_root
def test_status_and_history_never_follow_a_planted_link(tmp_path: Path) -> None:
    from compositor.live.state_dir import StateDir
    from compositor.live.status import StatusWriter

    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    victim = tmp_path / "root-owned.conf"
    victim.write_text("precious\n")
    (state / "status.json").symlink_to(victim)
    writer = StatusWriter(StateDir(state))
    writer.maybe_write(0.0, lambda: {"pid": 1})
    assert victim.read_text() == "precious\n"
    assert not (state / "status.json").is_symlink()
    assert json.loads((state / "status.json").read_text()) == {"pid": 1}


# -- helpers -----------------------------------------------------------------------------
