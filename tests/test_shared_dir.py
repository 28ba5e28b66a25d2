"""Shared memory left behind by a killed wall is freed by the next one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from compositor.slots import SharedDir

PREFIX = "videowall-sweeptest-"


def _killed_owner_folder() -> Path:
    """A folder made by a process that then died without cleaning up (as with SIGKILL)."""
    script = (
        "import os; from compositor.slots import SharedDir; "
        f"d = SharedDir(prefix={PREFIX!r}); print(d.path); os._exit(0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    ).stdout
    return Path(out.strip())


def test_a_new_folder_sweeps_those_of_dead_owners_only() -> None:
    orphan = _killed_owner_folder()
    (orphan / "slot-0").write_bytes(b"\0" * 4096)
    assert orphan.exists()
    alive = SharedDir(prefix=PREFIX)  # owned by this (living) process
    try:
        newest = SharedDir(prefix=PREFIX)
        try:
            assert orphan in alive.swept or orphan in newest.swept
            assert not orphan.exists()
            assert alive.path.exists() and alive.path not in newest.swept
        finally:
            newest.close()
    finally:
        alive.close()


def test_folders_without_an_owner_file_are_left_alone(tmp_path: Path) -> None:
    stranger = tmp_path / f"{PREFIX}stranger"
    stranger.mkdir()
    assert SharedDir.sweep_orphans(tmp_path, PREFIX) == []
    assert stranger.exists()
