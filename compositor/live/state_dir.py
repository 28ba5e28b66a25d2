"""The running wall's state folder, kept there and private, and what could not be written in it.

The wall runs around the clock; its state folder (status, history, control socket)
may meanwhile fill up, be remounted read-only, or be removed by a clean-up script.
None of that may stop the pictures. :class:`StateDir` makes the folder again
(0700) when it vanishes, refuses one that others could write in, and keeps the
list of what could not be written: each problem is logged once when it appears
(again only if its reason changes) and once when it is gone, and named in the
status (``state_problems``) meanwhile.
"""

from __future__ import annotations

__all__ = ["StateDir", "default_state_dir", "describe", "state_base"]

import hashlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path

from compositor.core.errors import CompositorError
from compositor.core.files import UnsafeFolder, ensure_folder

log = logging.getLogger(__name__)

FOLDER = "state folder"  # the problem of the folder itself


def describe(error: BaseException) -> str:
    """An OSError's reason without Python's decoration; other errors as they say."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


class StateDir:
    """The state folder at ``path`` and the problems of writing in it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._problems: dict[str, str] = {}  # what could not be written -> why
        self._made_once = False

    def ensure(self) -> bool:
        """True if the folder is there and ours alone (made again, 0700, if it vanished)."""
        try:
            made = ensure_folder(self.path, 0o700, private=True)
        except UnsafeFolder as exc:
            self.failed(FOLDER, f"refused: {exc}; no status, history or control socket")
            return False
        except (OSError, CompositorError) as exc:
            self.failed(FOLDER, f"cannot make {self.path}: {describe(exc)}")
            return False
        if made and self._made_once:
            log.warning("state folder %s was gone: made again", self.path)
        self._made_once = True
        self.recovered(FOLDER)
        return True

    def failed(self, what: str, why: str) -> None:
        """``what`` could not be written, because ``why``: logged if new, kept for the status."""
        if self._problems.get(what) != why:
            log.error("%s: %s (the wall runs on; retried every second)", what, why)
        self._problems[what] = why

    def recovered(self, what: str) -> None:
        """``what`` was written: if it had failed, say that it works again."""
        if self._problems.pop(what, None) is not None:
            log.info("%s: written again in %s", what, self.path)

    def problems(self, but: str | None = None) -> list[str]:
        """What cannot be written now, and why (``but``: leave that one out)."""
        return [f"{what}: {why}" for what, why in self._problems.items() if what != but]


def state_base(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_STATE_HOME/videowall``, else ``~/.local/state/videowall``."""
    env = os.environ if env is None else env
    xdg = env.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "state"
    return base / "videowall"


def default_state_dir(layout_path: Path, env: Mapping[str, str] | None = None) -> Path:
    """One folder per layout file: ``<base>/<stem>-<hash of its absolute path>``.

    The hash tells apart two files of the same name; the stem lets a person
    find theirs.
    """
    absolute = Path(os.path.abspath(layout_path))
    digest = hashlib.sha256(str(absolute).encode()).hexdigest()[:8]
    return state_base(env) / f"{absolute.stem}-{digest}"
