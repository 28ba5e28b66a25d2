"""Writing files safely as the wall's user, who may be root on a machine shared with others.

Every file the wall and its commands write (status, history, snapshots, the layout
put back by ``videowall revert``) goes through :func:`write_file` or
:func:`replace_following_link`:

- a new file is made under an unpredictable name with ``O_CREAT | O_EXCL |
  O_NOFOLLOW``, so a link planted in its place is never written through (a
  predictable temp name, ``.A1.png.<pid>.tmp``, let another user point it at a
  root-owned file);
- it is then renamed over the final name: a rename replaces a link planted
  there, it never follows it; a reader sees the old file or the new one, whole;
- its mode is set before the rename and never wider in between;
- the folder is opened once and everything happens relative to that descriptor,
  so the folder cannot be swapped for another between the check and the write.

A private folder (the state folder) must belong to this user (or root) and be
writable by nobody else; :class:`UnsafeFolder` otherwise: whoever else can write
there could plant what the wall later trusts (the history that revert puts back,
the socket that ``videowall preset`` talks to).
"""

from __future__ import annotations

__all__ = [
    "UnsafeFolder",
    "check_private_folder",
    "ensure_folder",
    "folder_problem",
    "replace_following_link",
    "write_file",
]

import contextlib
import os
import secrets
import stat
from pathlib import Path

from compositor.core.errors import CompositorError

_OPEN_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class UnsafeFolder(CompositorError):
    """A folder others could write in, where the wall keeps what it later trusts."""


def folder_problem(info: os.stat_result, path: Path) -> str | None:
    """Why ``path`` (described by ``info``) is no private folder of ours; None if it is."""
    if not stat.S_ISDIR(info.st_mode):
        return f"{path} is not a folder"
    # Root's folders are trusted by everyone: root could change anything anyway.
    if info.st_uid not in (os.geteuid(), 0):
        return (
            f"{path} is owned by another user (uid {info.st_uid}): "
            "use a state folder of your own (--state-dir)"
        )
    if info.st_mode & 0o022:
        return (
            f"{path} is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o}): "
            f"make it yours only (chmod 700 {path})"
        )
    return None


def check_private_folder(path: Path) -> None:
    """UnsafeFolder if ``path`` exists and others could write in it (a missing one is fine)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CompositorError(f"cannot look at {path}: {exc.strerror}") from None
    problem = folder_problem(info, path)
    if problem is not None:
        raise UnsafeFolder(problem)


def ensure_folder(path: Path, mode: int = 0o700, private: bool = True) -> bool:
    """``path`` made with ``mode`` if missing (its parents too); True if it was made.

    ``private``: UnsafeFolder if the folder (made now or long ago) is not ours alone.
    A folder that exists keeps its mode: someone made it so on purpose.
    """
    made = False
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.mkdir(path, 0o700)  # never wider than asked, not even for a moment
            made = True
        except FileExistsError:
            pass  # made meanwhile (another wall, a person): checked below like any
        else:
            os.chmod(path, mode)  # exactly this mode, whatever the umask
    if private:
        check_private_folder(path)
    return made


def _write_in(
    folder: int, name: str, data: bytes, mode: int, durable: bool, owner: tuple[int, int] | None
) -> None:
    """Replace ``name`` in the open ``folder`` by a new file holding ``data``."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"not a file name: {name!r}")
    temp = f".{name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, _CREATE, 0o600, dir_fd=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if owner is not None:
                os.fchown(handle.fileno(), *owner)  # before the mode: chown clears set-id bits
            os.fchmod(handle.fileno(), mode)
            if durable:
                os.fsync(handle.fileno())
        os.replace(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=folder)
        raise
    if durable:  # the rename itself on disk too
        with contextlib.suppress(OSError):
            os.fsync(folder)


def write_file(
    folder: Path,
    name: str,
    data: bytes,
    mode: int = 0o600,
    *,
    durable: bool = False,
    private: bool = True,
) -> Path:
    """Replace ``folder/name`` by a file holding ``data`` with ``mode``; its path.

    A link at ``folder/name`` is replaced, never followed. ``private``: the folder
    must be ours alone (UnsafeFolder). ``durable``: on disk before the rename (a
    layout, its history); not for what is rewritten every second anyway (the
    status), where a sync could stall a frame. OSError as the system says.
    """
    fd = os.open(folder, _OPEN_FOLDER)
    try:
        if private:
            problem = folder_problem(os.fstat(fd), folder)
            if problem is not None:
                raise UnsafeFolder(problem)
        _write_in(fd, name, data, mode, durable, None)
    finally:
        os.close(fd)
    return folder / name


def replace_following_link(path: Path, data: bytes) -> bool:
    """Replace the file at ``path`` by ``data``, keeping its owner, group and mode; the
    file a link at ``path`` points to is replaced, the link kept.

    Only for the layout file, which ``videowall revert`` writes back: it may
    well be a link into a configuration repository, and the person who made it
    wants the file in the repository changed, not the link turned into a copy.
    The path was named by the user (or recorded by their wall), never found in
    a folder others write. Returns False if the owner could not be kept (only
    root may give a file to another user): the file is then the caller's.
    """
    target = path.resolve()
    fd = os.open(target.parent, _OPEN_FOLDER)
    try:
        try:
            info = os.stat(target.name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            mode, owner = 0o644, None  # gone meanwhile: made again as a layout usually is
        else:
            mode, owner = stat.S_IMODE(info.st_mode), (info.st_uid, info.st_gid)
            if owner == (os.geteuid(), os.getegid()):
                owner = None  # ours already
        try:
            _write_in(fd, target.name, data, mode, True, owner)
        except PermissionError:
            if owner is None:
                raise
            _write_in(fd, target.name, data, mode, True, None)  # not root: ours, same mode
            return False
    finally:
        os.close(fd)
    return True
