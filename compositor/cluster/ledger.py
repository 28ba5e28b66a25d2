"""The wall's shared state as orders, last writer by timestamp: pure, no broker, no wall.

Each part of the state (the preset, a tile's call-up, an output's solo, an alarm) is
held by the order that last set it (:func:`~compositor.cluster.messages.state_key`).
An order is applied only if it is newer (by :attr:`Order.stamp`: its instant, then
its host and id) than the one holding its part, and, for a call-up or a solo, newer
than the preset (a preset ends every call-up and solo taken before it). So hosts
that saw the same orders in any order end in the same state, whatever a partition
or a broker restart delayed.
"""

from __future__ import annotations

__all__ = ["MAX_ENTRIES", "Judgement", "Ledger", "as_of", "replayable"]

from dataclasses import dataclass

from compositor.cluster.messages import Order, state_key
from compositor.control.commands import (
    ClearAlarm,
    ClearCallUp,
    ClearSolo,
    RaiseAlarm,
    SetCallUp,
    ShowPreset,
    Solo,
)

# Parts of the state held: tiles, outputs and alarms of one wall are far fewer. Past it
# the oldest go (their retained messages stay on the broker, older than what holds now).
MAX_ENTRIES = 4096


@dataclass(frozen=True)
class Judgement:
    """Whether an order is to be applied, and what it loses to or replaces."""

    apply: bool
    newer: Order | None = None  # not applied: this order is newer
    replaces: Order | None = None  # applied: it replaces this one


def _is_view(order: Order) -> bool:
    return isinstance(order.command, SetCallUp | ClearCallUp | Solo | ClearSolo)


def replayable(order: Order, now_wall: float) -> Order | None:
    """``order`` as a host catching up at ``now_wall`` applies it: a hold or an alarm's
    time shortened by what has passed; None if it is over or carries no state (a clear)."""
    if isinstance(order.command, ClearCallUp | ClearSolo | ClearAlarm):
        return None  # the part is empty: nothing to show
    return as_of(order, now_wall)


def as_of(order: Order, now_wall: float) -> Order | None:
    """``order`` applied at ``now_wall`` (late: heard after its instant): a hold or an
    alarm's time shortened by what has passed, so it ends when it would have; None if
    it is over already."""
    command = order.command
    passed = max(0.0, now_wall - order.at)
    if isinstance(command, SetCallUp | Solo) and command.hold_s is not None:
        left = command.hold_s - passed
        if left <= 0:
            return None
        return order.model_copy(update={"command": command.model_copy(update={"hold_s": left})})
    if isinstance(command, RaiseAlarm):
        left = command.ttl_s - passed
        if left <= 0:
            return None
        return order.model_copy(update={"command": command.model_copy(update={"ttl_s": left})})
    return order


class Ledger:
    """The order holding each part of the state."""

    def __init__(self, capacity: int = MAX_ENTRIES) -> None:
        self._capacity = capacity
        self._entries: dict[str, Order] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Order | None:
        return self._entries.get(key)

    def items(self) -> list[tuple[str, Order]]:
        """Oldest first."""
        return sorted(self._entries.items(), key=lambda item: item[1].stamp)

    def judge(self, order: Order) -> Judgement:
        holder = self._entries.get(state_key(order))
        if holder is not None and holder.stamp >= order.stamp:
            return Judgement(False, newer=holder)
        preset = self._entries.get("preset")
        if _is_view(order) and preset is not None and preset.stamp > order.stamp:
            return Judgement(False, newer=preset)
        return Judgement(True, replaces=holder)

    def record(self, order: Order) -> None:
        """``order`` holds its part now (it was judged newer)."""
        self._entries[state_key(order)] = order
        if isinstance(order.command, ShowPreset):
            # The call-ups and solos taken before it ended with it.
            for key in [
                k for k, o in self._entries.items() if _is_view(o) and o.stamp < order.stamp
            ]:
                del self._entries[key]
        while len(self._entries) > self._capacity:
            oldest = min(self._entries, key=lambda k: self._entries[k].stamp)
            del self._entries[oldest]

    def knows(self, order: Order) -> bool:
        holder = self._entries.get(state_key(order))
        return holder is not None and holder.id == order.id

    def replay(self, now_wall: float) -> list[Order]:
        """What a host catching up applies, in order: the preset first, then the rest."""
        orders = [replayable(order, now_wall) for _, order in self.items()]
        return [order for order in orders if order is not None]
