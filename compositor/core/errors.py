"""The exception tree of the compositor.

Every error a user can cause (a broken layout, an unknown output, a missing
dependency) is a :class:`CompositorError`; the command line prints its message
and exits without a traceback. Anything else is a bug.
"""

from __future__ import annotations

__all__ = [
    "CompositorError",
    "LayoutError",
    "LayoutIssue",
    "SourceError",
    "DisplayError",
    "EnvironmentSetupError",
    "UnknownPresetError",
    "NotFoundError",
    "RefusedError",
    "BusyError",
    "ForbiddenError",
]

from dataclasses import dataclass


class CompositorError(Exception):
    """Base of every error the compositor reports to its user."""


@dataclass(frozen=True)
class LayoutIssue:
    """One problem in a layout file, located as ``file:line:col``."""

    file: str
    line: int  # 1-based; 0 when the position is unknown
    col: int  # 1-based; 0 when the position is unknown
    message: str

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}: {self.message}"
        return f"{self.file}: {self.message}"


class LayoutError(CompositorError):
    """A layout file that cannot be used; carries every issue found."""

    def __init__(self, issues: list[LayoutIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class NotFoundError(CompositorError):
    """A request names something the wall does not have (a camera, an output, a preset,
    a tile, an alarm); the message says what exists. An HTTP API answers 404.

    ``details``: what exists, as data for an API's answer (``nearest=[...]``, ``tiles=4``).
    """

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.details = details


class UnknownPresetError(NotFoundError):
    """A preset name the layout does not define."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        has = f"it has {', '.join(known)}" if known else "it has none"
        super().__init__(f"unknown preset {name!r}: {has}", presets=list(known))


class RefusedError(CompositorError):
    """A well-formed request the wall cannot carry out as things are (the tile it names
    was removed by an edit, the wall follows no layout file). An HTTP API answers 409."""


class BusyError(CompositorError):
    """The wall did not take a request in time (its render loop is behind or stopping).
    An HTTP API answers 503: try again."""


class SourceError(CompositorError):
    """A camera source that cannot be set up (not a camera that fails: those recover)."""


class DisplayError(CompositorError):
    """No display to draw on, or an output that cannot be shown."""


class EnvironmentSetupError(CompositorError):
    """Something the program needs from the machine is missing (a package, a server)."""


class ForbiddenError(CompositorError):
    """A caller whose role does not allow the request (a viewer asking for a call-up).
    An HTTP API answers 403."""
