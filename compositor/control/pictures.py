"""Pictures of the wall for other threads (the HTTP API's snapshots), copied on the
render loop and encoded off it.

A server thread asks with :meth:`PictureDesk.ask` and waits; the render loop, once
per tick after composing, calls :meth:`PictureDesk.serve`, which copies what was
asked (an output's canvas planes, a camera's latest frame: a few memory copies,
never an encoding) and wakes the askers. Asks for the same picture in the same
tick share one copy, so fifty browsers refreshing a screen cost one copy a tick.
The desk is bounded: past ``capacity`` different pictures waiting, an ask is
answered "busy" at once.
"""

from __future__ import annotations

__all__ = ["PictureDesk", "PictureKey", "Picture"]

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from compositor.core.errors import BusyError, CompositorError

PictureKey = tuple[Literal["output", "camera"], str]
ANSWER_WITHIN_S = 5.0  # a tick answers; this is for a wall that hangs
DESK_CAPACITY = 64  # different pictures waiting at once (outputs and cameras)


class Picture(Protocol):
    """A copied picture, turned into BGR off the render loop (a ``CanvasImage``)."""

    def to_bgr(self) -> npt.NDArray[np.uint8]: ...


@dataclass
class _Ask:
    done: threading.Event = field(default_factory=threading.Event)
    picture: Picture | None = None
    error: CompositorError | None = None


class PictureDesk:
    """Asks from any thread, answered on the thread that calls :meth:`serve`."""

    def __init__(self, capacity: int = DESK_CAPACITY) -> None:
        self._capacity = capacity
        self._waiting: dict[PictureKey, _Ask] = {}
        self._lock = threading.Lock()

    def ask(self, key: PictureKey, timeout: float = ANSWER_WITHIN_S) -> Picture:
        """The picture ``key`` names as the wall shows it now; NotFoundError (from the
        wall) for an unknown one, BusyError if the wall does not answer in ``timeout``."""
        with self._lock:
            ask = self._waiting.get(key)
            if ask is None:
                if len(self._waiting) >= self._capacity:
                    raise BusyError(
                        f"the wall is busy ({len(self._waiting)} pictures waiting): try again"
                    )
                ask = self._waiting[key] = _Ask()
        if not ask.done.wait(timeout):
            raise BusyError(f"the wall did not answer in {timeout:g} s")
        if ask.error is not None:
            raise ask.error
        assert ask.picture is not None
        return ask.picture

    def serve(self, take: Callable[[PictureKey], Picture]) -> int:
        """Copy every picture asked for (render loop, after composing); how many."""
        if not self._waiting:  # read without the lock: a late ask is served next tick
            return 0
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for key, ask in waiting.items():
            try:
                ask.picture = take(key)
            except CompositorError as exc:
                ask.error = exc
            except Exception as exc:  # a bug must not stop the wall; the asker hears of it
                ask.error = CompositorError(f"internal error: {type(exc).__name__}: {exc}")
            finally:
                ask.done.set()
        return len(waiting)
