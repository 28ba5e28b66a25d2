"""Slowing down an address that keeps presenting bad tokens.

The first few failures from an address cost nothing (a typo, a token pasted short).
After them, each request from that address is given its own slot in time, spaced
further apart with every failure (0.5 s, 1 s, 2 s, ... up to 5 s), so an address
gets at most one guess per slot however many connections it opens; a request whose
slot is more than ``max_wait`` away is refused at once, unchecked. A success
clears the address; an address with no failure for 15 minutes is forgotten.

The table is bounded (the oldest addresses leave first), so a scan from many
addresses costs a fixed amount of memory. Pure, with the time passed in.
"""

from __future__ import annotations

__all__ = ["FailureThrottle"]

import threading
from collections import OrderedDict
from dataclasses import dataclass

FREE_FAILURES = 3
FIRST_STEP_S = 0.5
MAX_STEP_S = 5.0
MAX_WAIT_S = 10.0
FORGET_AFTER_S = 15 * 60.0
MAX_ADDRESSES = 4096


@dataclass
class _Address:
    failures: int = 0
    last_failure: float = 0.0
    next_slot: float = 0.0


class FailureThrottle:
    def __init__(
        self,
        free: int = FREE_FAILURES,
        first_step: float = FIRST_STEP_S,
        max_step: float = MAX_STEP_S,
        max_wait: float = MAX_WAIT_S,
        forget_after: float = FORGET_AFTER_S,
        capacity: int = MAX_ADDRESSES,
    ) -> None:
        self._free = free
        self._first_step = first_step
        self._max_step = max_step
        self._max_wait = max_wait
        self._forget_after = forget_after
        self._capacity = capacity
        self._addresses: OrderedDict[str, _Address] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._addresses)

    def admit(self, address: str, now: float) -> float | None:
        """Seconds this request must wait before its token is checked; None: refuse it
        unchecked (its turn is too far off)."""
        with self._lock:
            entry = self._addresses.get(address)
            if entry is None:
                return 0.0
            if now - entry.last_failure > self._forget_after:
                del self._addresses[address]
                return 0.0
            if entry.failures < self._free:
                return 0.0
            step = min(self._max_step, self._first_step * 2 ** (entry.failures - self._free))
            start = max(now, entry.next_slot)
            if start - now > self._max_wait:
                return None
            entry.next_slot = start + step
            return start - now

    def failed(self, address: str, now: float) -> None:
        with self._lock:
            entry = self._addresses.pop(address, None) or _Address()
            entry.failures += 1
            entry.last_failure = now
            self._addresses[address] = entry  # the newest at the end: the oldest leave first
            while len(self._addresses) > self._capacity:
                self._addresses.popitem(last=False)

    def succeeded(self, address: str) -> None:
        with self._lock:
            self._addresses.pop(address, None)
