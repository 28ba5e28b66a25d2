"""What changed on the wall, for whoever follows it live (the API's event stream).

A bounded ring of the most recent events, each numbered. A reader keeps its own
cursor (the number of the last event it saw) and asks for what came after: a
slow reader that falls behind by more than the ring holds loses the oldest
events, and is told how many, but never makes the ring grow. So a wall that
runs for months with a browser tab left open holds the same memory as on day one.
"""

from __future__ import annotations

__all__ = ["EVENTS_KEPT", "Event", "EventRing", "EventsRead"]

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

EVENTS_KEPT = 1000  # about an hour of a busy wall's changes; memory: a few hundred kB


@dataclass(frozen=True, slots=True)
class Event:
    number: int  # 1, 2, ...: a reader's cursor
    kind: str  # "camera", "layout", "preset", "callup", "solo", "alarm", ...
    at: str  # local time, ISO 8601 with offset
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class EventsRead:
    events: list[Event]
    cursor: int  # the number of the last event returned (or the cursor given)
    lost: int  # events the reader missed: they left the ring before it asked


class EventRing:
    """Thread-safe: the render loop publishes, server threads read."""

    def __init__(self, capacity: int = EVENTS_KEPT) -> None:
        if capacity < 1:
            raise ValueError("an event ring holds at least one event")
        self._ring: deque[Event] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._last = 0

    @property
    def last(self) -> int:
        """The number of the newest event (0: none yet)."""
        return self._last

    def publish(self, kind: str, at: str, data: dict[str, Any]) -> Event:
        with self._lock:
            self._last += 1
            event = Event(self._last, kind, at, data)
            self._ring.append(event)
            return event

    def read_after(self, cursor: int, limit: int = 100) -> EventsRead:
        """Up to ``limit`` events after number ``cursor``, oldest first."""
        with self._lock:
            if cursor >= self._last or not self._ring:
                return EventsRead([], min(cursor, self._last), 0)
            oldest = self._ring[0].number
            lost = max(0, oldest - cursor - 1)
            start = max(0, cursor + 1 - oldest)
            events = [self._ring[i] for i in range(start, min(len(self._ring), start + limit))]
        return EventsRead(events, events[-1].number, lost)
