"""A real filesystem to fill up: a tmpfs mounted for a wall's state folder (the soak, the tests).

Mounting needs root: :func:`why_no_tmpfs` says why not otherwise, and the
callers skip what needs one.
"""

from __future__ import annotations

__all__ = ["fill", "remount", "tmpfs", "why_no_tmpfs"]

import contextlib
import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path


def why_no_tmpfs() -> str | None:
    """Why a tmpfs cannot be mounted here; None if it can."""
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "no mount/umount command"
    return None


@contextlib.contextmanager
def tmpfs(folder: Path, size: str = "384k") -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted on ``folder`` (0700, as a state folder is)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)], check=True
    )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def remount(folder: Path, mode: str) -> None:
    """Remount the filesystem at ``folder`` with ``mode`` (``ro``, ``rw``)."""
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


def fill(folder: Path, name: str = "filler") -> Path:
    """Fill the filesystem of ``folder`` to its last byte; returns the file that does it."""
    filler = folder / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = b"\0" * 65536
        while True:
            try:
                os.write(fd, block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                if len(block) == 1:
                    return filler
                block = block[: len(block) // 2]  # then the last few bytes
    finally:
        os.close(fd)
