"""Every change, said once and heard twice: in the audit log (kept) and on the event
stream (live, for the control page and other followers).

The parts that change the wall (the command handler, the live layout, the wall's own
expiries) each call :meth:`Journal.change`; they need not know who listens.
"""

from __future__ import annotations

__all__ = ["Journal"]

from typing import Any

from compositor.core.clock import Clock, local_iso
from compositor.core.events import EventRing
from compositor.live.audit import AuditLog


class Journal:
    """The audit log (None: not kept, e.g. a wall from memory) and the event ring."""

    def __init__(self, audit: AuditLog | None, events: EventRing, clock: Clock) -> None:
        self.audit = audit
        self.events = events
        self._clock = clock

    def change(
        self,
        action: str,
        actor: str,
        role: str | None = None,
        *,
        publish: bool = True,
        audit: bool = True,
        **fields: Any,
    ) -> None:
        """Audit ``action`` (``callup.set``, ...) if ``audit``, and, if ``publish``, tell the
        followers (an alarm moving between tiles is worth an event, not an audit line).

        ``fields``: ``target``, ``before``, ``after``, ``result``, ``reason``, and any
        detail; JSON values, never a secret.
        """
        if audit and self.audit is not None:
            self.audit.append(action, actor, role, **fields)
        if publish:
            data = {"action": action, "actor": actor, "role": role, **fields}
            self.event(action.split(".", 1)[0], data)

    def event(self, kind: str, data: dict[str, Any]) -> None:
        """Tell the followers something that is no change of anyone's (a camera's state)."""
        self.events.publish(kind, local_iso(self._clock.wall_time()), data)
