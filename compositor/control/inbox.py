"""The one hand-off from every transport to the render loop.

A transport (the control socket's thread, an HTTP server's thread, a broker
client) calls :meth:`CommandInbox.submit` with a checked command and waits;
the render loop calls :meth:`CommandInbox.drain` between two frames and
carries out what is waiting. So whatever a command changes is changed between
frames, never during one, and never from two threads at once.

The inbox is bounded: a burst of requests beyond it is answered "busy" at
once, instead of queueing work the wall would do seconds late. A caller that
gives up waiting (the wall is behind, or hangs) gets "busy" too, and its
command is then never carried out: the render loop takes a command or its
caller abandons it, never both (an operator told "the wall did not answer"
must not see the preset appear a minute later). Closing answers every
command still waiting: the wall is stopping.
"""

from __future__ import annotations

__all__ = ["CommandInbox", "Handler", "Reply"]

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from compositor.control.commands import Actor, Command
from compositor.core.errors import BusyError, CompositorError, ForbiddenError

Reply = dict[str, Any]
Handler = Callable[[Command, Actor], Reply]

INBOX_CAPACITY = 64  # waiting commands; a render loop drains them every frame
ANSWER_WITHIN_S = 5.0  # the loop answers within a frame; this is for a wall that hangs


@dataclass
class _Pending:
    """A command waiting for the render loop; ``taken`` and ``abandoned`` under the inbox's
    lock: the render loop takes it, or its caller gives up on it, not both."""

    command: Command
    actor: Actor
    done: threading.Event = field(default_factory=threading.Event)
    reply: Reply | None = None
    error: CompositorError | None = None
    taken: bool = False
    abandoned: bool = False


class CommandInbox:
    """Commands from any thread, carried out on the thread that calls :meth:`drain`."""

    def __init__(self, capacity: int = INBOX_CAPACITY) -> None:
        self._waiting: queue.Queue[_Pending] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()  # each command's taken/abandoned, and closing
        self._closed = False

    def submit(self, command: Command, actor: Actor, timeout: float = ANSWER_WITHIN_S) -> Reply:
        """Carry out ``command`` for ``actor`` on the render loop; its reply.

        Raises what the command raised (a CompositorError: unknown camera, refused…),
        ForbiddenError if the actor's role is too low, BusyError if the wall does not
        take it in ``timeout`` seconds.
        """
        if actor.role < command.required_role:
            raise ForbiddenError(
                f"'{command.command}' needs the {command.required_role.label} role "
                f"({actor.name} is {actor.role.label})"
            )
        pending = _Pending(command, actor)
        with self._lock:
            if self._closed:
                raise BusyError("the wall is stopping")
            try:
                self._waiting.put_nowait(pending)
            except queue.Full:
                raise BusyError(
                    f"the wall is busy ({self._waiting.maxsize} requests waiting): try again"
                ) from None
        if not pending.done.wait(timeout):
            with self._lock:
                if not pending.taken:
                    pending.abandoned = True
                    raise BusyError(
                        f"the wall did not answer in {timeout:g} s: the request was not "
                        "carried out; try again"
                    )
            # Taken just now: the render loop is on it, and done in a moment.
            if not pending.done.wait(timeout):
                raise BusyError(f"the wall did not finish in {timeout:g} s (it may still)")
        if pending.error is not None:
            raise pending.error
        assert pending.reply is not None
        return pending.reply

    def drain(self, handle: Handler) -> int:
        """Carry out every command waiting (render loop, between two frames); how many.

        A command that fails fails alone: its caller gets the error, the loop goes on.
        Only CompositorErrors are the caller's; anything else is a bug, and is re-raised
        here after the caller was told (the loop logs it and keeps drawing).
        """
        done = 0
        bug: BaseException | None = None
        while True:
            try:
                pending = self._waiting.get_nowait()
            except queue.Empty:
                break
            with self._lock:
                if pending.abandoned:
                    continue  # its caller was told the wall did not answer: not now either
                pending.taken = True
            try:
                pending.reply = handle(pending.command, pending.actor)
            except CompositorError as exc:
                pending.error = exc
            except Exception as exc:
                pending.error = CompositorError(f"internal error: {type(exc).__name__}: {exc}")
                bug = bug or exc
            finally:
                pending.done.set()
                done += 1
        if bug is not None:
            raise bug
        return done

    def close(self) -> None:
        """Take no more commands; those waiting are answered: the wall is stopping."""
        with self._lock:
            self._closed = True
            waiting = []
            while True:
                try:
                    pending = self._waiting.get_nowait()
                except queue.Empty:
                    break
                if not pending.abandoned:
                    pending.abandoned = True
                    waiting.append(pending)
        for pending in waiting:
            pending.error = BusyError("the wall is stopping")
            pending.done.set()
