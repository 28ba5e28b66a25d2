"""One host's part in a wall over several hosts: orders out, orders in, health.

:class:`ClusterNode` sits between the wall's transports (the HTTP API, the control
socket) and its command handler, on the render loop:

- a command that changes what the wall shows, taken here, is checked against the
  whole layout (every host's outputs), stamped to apply at now + the margin, published
  (kept by the broker link while the broker is away) and scheduled here too; the
  caller hears when every host applies it;
- orders from the broker (other hosts', and the retained state at each connection)
  are queued by the link's thread and scheduled on the render loop; each is applied at
  the first tick at or after its instant, if it is the last writer of its part of the
  state (:class:`~compositor.cluster.ledger.Ledger`); a late order that lost is written
  to the audit log;
- an order for an output of another host is that host's; one for an output this
  host's layout does not have at all (its layout differs) is refused and said;
- every second the host publishes its health (retained; ``offline`` by its last will)
  and reads the others'.

Nothing here blocks the render loop except :meth:`ClusterNode.start`, which waits
(bounded) for the retained state before the wall draws its first frame.
"""

from __future__ import annotations

__all__ = [
    "CATCH_UP_S",
    "HEALTH_EVERY_S",
    "MARGIN_S",
    "ClusterNode",
    "ClusterOptions",
    "HostHealth",
    "layout_version",
]

import hashlib
import heapq
import logging
import queue
import secrets
import statistics
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI

from compositor.cluster.address import BrokerAddress
from compositor.cluster.ledger import MAX_ENTRIES, Ledger, as_of
from compositor.cluster.link import BrokerLink, Received
from compositor.cluster.messages import (
    SHARED_KINDS,
    Health,
    MessageRefused,
    Order,
    SharedCommand,
    Topics,
    parse_health,
    parse_order,
    state_key,
)
from compositor.control.commands import (
    Actor,
    ClearAlarm,
    ClearCallUp,
    ClearSolo,
    Command,
    RaiseAlarm,
    Role,
    SetCallUp,
    ShowPreset,
    Solo,
)
from compositor.control.inbox import Handler, Reply
from compositor.core.clock import Clock, local_iso
from compositor.core.errors import (
    CompositorError,
    NotFoundError,
    RefusedError,
    UnknownPresetError,
)
from compositor.layout.models import Layout
from compositor.live.journal import Journal
from compositor.live.operator import tile_count
from compositor.live.reload import LiveLayout

log = logging.getLogger(__name__)

MARGIN_S = 0.15  # default: how far ahead of now an order applies (broker latency, ticks)
CATCH_UP_S = 3.0  # default: how long a starting host waits for the state before drawing
HEALTH_EVERY_S = 1.0  # how often a host says how it is
MAX_INBOUND = 8192  # messages received and not yet handled (a whole retained state fits)
MAX_DUE = 1024  # orders waiting for their instant
MAX_SEEN = 4096  # order ids remembered, so an order heard twice is applied once
MAX_PEERS = 64  # hosts remembered (the layout's, and names heard on the topic)
APPLIED_KEPT = 256  # recent orders applied, with their instants (status, the benchmark)
OFFSET_SAMPLES = 16  # health messages per peer behind its clock offset estimate
LATE_S = 1.0  # an order applied this long after its instant was late (audited as such)
# An order to apply further ahead than this comes from a clock far off (or a forger): it
# would wait, invisible, for minutes. Refused and said; the margin is seconds at most.
AHEAD_S = 60.0


def layout_version(layout: Layout) -> str:
    """The layout's content hash (12 hex digits): the same file means the same version on
    every host, whatever its comments, spacing or the values of its ${VAR}."""
    return hashlib.sha256(layout.model_dump_json().encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ClusterOptions:
    broker: BrokerAddress
    host: str  # this host's name in the layout's hosts section
    wall: str  # the topic prefix's name: videowall/<wall>/...
    margin_s: float = MARGIN_S
    catch_up_s: float = CATCH_UP_S
    keepalive_s: int = 5


@dataclass(frozen=True)
class HostHealth:
    """How this host is, as the wall knows it (outputs drawn, cameras live)."""

    outputs_up: int
    cameras_live: int
    cameras: int
    api: str | None


@dataclass
class _Peer:
    health: Health
    received: float  # wall clock here
    offsets: deque[float] = field(default_factory=lambda: deque(maxlen=OFFSET_SAMPLES))

    def describe(self, now_wall: float, stale_after: float) -> dict[str, Any]:
        health = self.health
        state: str = health.state
        if state == "online" and now_wall - self.received > stale_after:
            state = "silent"  # no word for a while: its will comes when the broker notices
        offset = statistics.median(self.offsets) if self.offsets else None
        return {
            "host": health.host,
            "state": state,
            "seen": local_iso(self.received),
            "layout": health.layout,
            "outputs": list(health.outputs),
            "outputs_up": health.outputs_up,
            "cameras_live": health.cameras_live,
            "cameras": health.cameras,
            "api": health.api,
            # Its clock minus ours, from its health messages' send times against their
            # arrival here: an estimate, too high by the broker's latency (a few ms on a LAN).
            "clock_offset_ms": round(offset * 1e3, 1) if offset is not None else None,
        }


@dataclass(order=True)
class _Due:
    at: float
    seq: int
    order: Order = field(compare=False)


def _what(command: SharedCommand) -> str:
    match command:
        case ShowPreset():
            return f"preset {command.name}" if command.name else "the layout's own arrangement"
        case SetCallUp():
            return f"{command.output}.{command.tile}: {command.camera}"
        case ClearCallUp():
            return f"{command.output}.{command.tile}: back to the layout"
        case Solo():
            return f"{command.output}: {command.camera} alone"
        case ClearSolo():
            return f"{command.output}: its tiles again"
        case RaiseAlarm():
            return f"alarm on {command.camera}"
        case ClearAlarm():
            return f"alarm {command.id} cleared"
    raise AssertionError(command)  # pragma: no cover


def _precise(wall_time: float) -> str:
    """``21:40:01.234``: an order's instant, as people compare two hosts' logs."""
    return time.strftime("%H:%M:%S", time.localtime(wall_time)) + f".{int(wall_time % 1 * 1e3):03d}"


class ClusterNode:
    """This host's link to the others (see the module's documentation)."""

    def __init__(self, options: ClusterOptions, clock: Clock) -> None:
        self.options = options
        self.topics = Topics(options.wall)
        self._clock = clock
        self._inbound: queue.Queue[Received] = queue.Queue(MAX_INBOUND)
        self._dropped = 0  # messages the inbound queue had no room for (said once a second)
        self.ledger = Ledger()
        self._due: list[_Due] = []
        self._seq = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._peers: dict[str, _Peer] = {}
        self._broker_has: dict[str, tuple[int, tuple[float, str, str]]] = {}
        self._merged_at = 0  # the link's connection count at the last merge
        self._alarm_id: str | None = None  # the id the handler gives the alarm it raises now
        self.applied: deque[dict[str, Any]] = deque(maxlen=APPLIED_KEPT)
        self._next_health = 0.0
        self._mismatch: tuple[str, ...] = ()
        self._version: tuple[int, str] | None = None  # (id of the layout, its version)
        self._view: dict[str, Any] = {}  # what GET /api/hosts answers (swapped whole)
        self._view_lock = threading.Lock()
        self.counts = {"taken": 0, "applied": 0, "superseded": 0, "refused": 0, "garbled": 0}
        # Set by attach(): the wall's parts this node works with.
        self._handler: Handler | None = None
        self._live: LiveLayout | None = None
        self._journal: Journal | None = None
        self._output_ids: Callable[[], list[str]] = list
        self._health: Callable[[], HostHealth] = lambda: HostHealth(0, 0, 0, None)
        will = self._health_message("offline", clock.wall_time())
        self.link = BrokerLink(
            options.broker,
            f"videowall-{options.wall}-{options.host}",
            [self.topics.all_state, self.topics.all_hosts],
            (self.topics.host(options.host), will),
            self._received,
            self._connected,
            self.topics.sync,
            options.keepalive_s,
        )

    # -- wiring --------------------------------------------------------------------------

    def attach(
        self,
        handler: Handler,
        live: LiveLayout,
        journal: Journal,
        output_ids: Callable[[], list[str]],
        health: Callable[[], HostHealth],
    ) -> None:
        """The wall's command handler (orders are carried out through it), its live layout
        (what is checked against), journal (audit) and what its health is read from."""
        self._handler, self._live, self._journal = handler, live, journal
        self._output_ids, self._health = output_ids, health

    def next_alarm_id(self) -> str:
        """The id of the alarm the handler raises now: the order's, the same on every host."""
        return self._alarm_id or secrets.token_hex(4)

    def start(self) -> None:
        """Connect, and catch up from the retained state before the wall draws (bounded:
        past ``catch_up_s`` the wall draws, and the state is applied when it comes)."""
        # The will again, now that the wall is attached: it names this host's outputs and
        # layout version, so an offline host's screens are still known to be its.
        offline = self._health_message("offline", self._clock.wall_time())
        self.link.set_will((self.topics.host(self.options.host), offline))
        self.link.start()
        started = time.monotonic()
        if self.link.wait_synced(self.options.catch_up_s):
            self.tick()
            log.info(
                "wall %s, host %s: caught up from %s in %.0f ms (%d parts of the state)",
                self.options.wall,
                self.options.host,
                self.options.broker.shown(),
                (time.monotonic() - started) * 1e3,
                len(self.ledger),
            )
        else:
            log.warning(
                "wall %s, host %s: no state from the broker %s within %g s: drawing the "
                "layout as it is; the wall's state is applied when the broker answers",
                self.options.wall,
                self.options.host,
                self.options.broker.shown(),
                self.options.catch_up_s,
            )

    def close(self) -> None:
        self.link.close(
            (
                self.topics.host(self.options.host),
                self._health_message("offline", self._clock.wall_time()),
            )
        )

    # -- commands taken here (render loop) ------------------------------------------------

    def handle(self, command: Command, actor: Actor) -> Reply:
        """The wall's command handler with the cluster in front: a command that changes
        what the wall shows becomes an order for every host; any other is this host's."""
        assert self._handler is not None
        if command.command not in SHARED_KINDS:
            return self._handler(command, actor)
        shared: SharedCommand = command  # type: ignore[assignment]
        self._check(shared)
        now = self._clock.wall_time()
        order = Order(
            id=secrets.token_hex(8),
            origin=self.options.host,
            at=now + self.options.margin_s,
            taken=now,
            by=actor.name[:64],
            role="admin" if actor.role >= Role.ADMIN else "operator",
            alarm_id=secrets.token_hex(4) if isinstance(shared, RaiseAlarm) else None,
            layout=self.layout_version,
            command=shared,
        )
        self._publish(order)
        self._schedule(order)
        self.counts["taken"] += 1
        when = _precise(order.at)
        sent = (
            "every host"
            if self.link.connected
            else "this host now (the broker is away: the others when it is back)"
        )
        reply: Reply = {
            "message": f"{_what(shared)}: on {sent} at {when}",
            "order": order.id,
            "at": when,
        }
        if isinstance(shared, ShowPreset):
            reply["preset"] = shared.name
        if isinstance(shared, RaiseAlarm):
            reply["id"] = order.alarm_id
        return reply

    def _check(self, command: SharedCommand) -> None:
        """What the command names exists on the wall (every host's outputs): a mistake is
        refused here, to the one who made it, and never sent to the others."""
        live = self._live
        assert live is not None
        base = live.arranged_base
        outputs = {o.id: o for o in base.outputs}
        output_id = getattr(command, "output", None)
        if output_id is not None and output_id not in outputs:
            raise NotFoundError(
                f"unknown output {output_id!r}; the wall has {', '.join(outputs)}",
                outputs=list(outputs),
            )
        camera = getattr(command, "camera", None)
        if camera is not None and camera not in base.cameras:
            raise NotFoundError(
                f"unknown camera {camera!r}; the layout has {len(base.cameras)} cameras"
            )
        match command:
            case ShowPreset() if command.name is not None and command.name not in live.presets:
                raise UnknownPresetError(command.name, tuple(live.presets))
            case SetCallUp() | ClearCallUp() if command.tile > tile_count(outputs[command.output]):
                count = tile_count(outputs[command.output])
                raise NotFoundError(
                    f"output {command.output} has {count} tile(s): there is no tile {command.tile}",
                    tiles=count,
                )
            case ClearCallUp() if not isinstance(
                (held := self.ledger.get(f"callup/{command.output}/{command.tile}"))
                and held.command,
                SetCallUp,
            ):
                raise NotFoundError(f"tile {command.output}.{command.tile} has no call-up")
            case ClearSolo() if not isinstance(
                (held := self.ledger.get(f"solo/{command.output}")) and held.command, Solo
            ):
                raise NotFoundError(f"output {command.output} shows no solo")
            case RaiseAlarm() if base.alarms is None:
                raise RefusedError(
                    "the layout has no alarm tiles: add an `alarms:` section naming them"
                )
            case ClearAlarm() if not isinstance(
                (held := self.ledger.get(f"alarm/{command.id}")) and held.command, RaiseAlarm
            ):
                raise NotFoundError(f"no alarm {command.id!r}")

    def _publish(self, order: Order) -> None:
        payload = order.model_dump_json().encode()
        self.link.publish(self.topics.state(state_key(order)), payload, retain=True)
        self.link.publish(self.topics.command, payload)

    def _schedule(self, order: Order) -> None:
        self._seen[order.id] = None
        while len(self._seen) > MAX_SEEN:
            self._seen.popitem(last=False)
        if len(self._due) >= MAX_DUE:
            log.error("%d orders wait for their instant already: %s dropped", MAX_DUE, order.id)
            return
        self._seq += 1
        heapq.heappush(self._due, _Due(order.at, self._seq, order))

    # -- the broker's thread -------------------------------------------------------------

    def _received(self, message: Received) -> None:
        try:
            self._inbound.put_nowait(message)
        except queue.Full:
            self._dropped += 1

    def _connected(self) -> None:
        # Said at once (not at the next second): the others see this host back.
        self._next_health = 0.0

    # -- the render loop -----------------------------------------------------------------

    def tick(self) -> None:
        """Between two frames: take what arrived, apply the orders that are due, say how
        this host is. Cheap when nothing happened."""
        synced = self.link.synced  # before draining: what arrived before the probe is queued
        connection = self.link.connections
        now = self._clock.wall_time()
        self._drain(connection, now)
        if synced and self._merged_at != connection:
            self._merged_at = connection
            self._merge(connection)
        while self._due and self._due[0].at <= self._clock.wall_time():
            self._apply(heapq.heappop(self._due).order)
        if self._clock.now() >= self._next_health:
            self._next_health = self._clock.now() + HEALTH_EVERY_S
            self._say_health()

    def _drain(self, connection: int, now: float) -> None:
        if self._dropped:
            log.error("broker: %d messages dropped (the wall fell behind)", self._dropped)
            self._dropped = 0
        while True:
            try:
                message = self._inbound.get_nowait()
            except queue.Empty:
                return
            if (key := self.topics.key_of(message.topic)) is not None:
                self._state_message(key, message, connection)
            elif (host := self.topics.host_of(message.topic)) is not None:
                self._health_message_in(host, message, now)

    def _refuse(self, topic: str, why: str) -> None:
        self.counts["garbled"] += 1
        log.warning("broker: a message on %s refused: %s", topic, why)

    def _state_message(self, key: str, message: Received, connection: int) -> None:
        if not message.payload:
            self._broker_has.pop(key, None)  # a part cleared on the broker (by hand)
            return
        try:
            order = parse_order(message.payload)
        except MessageRefused as exc:
            self._refuse(message.topic, str(exc))
            return
        if state_key(order) != key:
            self._refuse(message.topic, f"it holds an order for state/{state_key(order)}")
            return
        if order.at > self._clock.wall_time() + AHEAD_S:
            ahead = order.at - self._clock.wall_time()
            self._refuse(message.topic, f"its instant is {ahead:.0f} s ahead (a clock far off?)")
            return
        self._broker_has[key] = (connection, order.stamp)
        while len(self._broker_has) > 2 * MAX_ENTRIES:
            del self._broker_has[next(iter(self._broker_has))]  # the first heard
        holder = self.ledger.get(key)
        if holder is not None and holder.stamp > order.stamp and self.link.synced:
            # The broker keeps an older order than this host applied (a host that was
            # away sent what it took then): put the newer back, so a host starting
            # later catches up to what the wall shows.
            self._publish_state(holder)
        if order.id in self._seen:
            return
        self._schedule(order)

    def _publish_state(self, order: Order) -> None:
        payload = order.model_dump_json().encode()
        self.link.publish(self.topics.state(state_key(order)), payload, retain=True)

    def _merge(self, connection: int) -> None:
        """After (re)connecting: what this host holds that the broker lost or never had
        (it restarted without its store, or this host took commands while away) is
        retained again. What the broker had that is newer was scheduled as it came."""
        restored = 0
        for key, order in self.ledger.items():
            had = self._broker_has.get(key)
            if had is None or had[0] != connection or had[1] < order.stamp:
                self._publish_state(order)
                restored += 1
        if restored:
            log.info("broker: %d parts of the wall's state published again", restored)
        self._broker_has = {k: v for k, v in self._broker_has.items() if v[0] == connection}

    def _apply(self, order: Order) -> None:
        """Carry out ``order`` now, if it is the last writer of its part of the state."""
        assert self._handler is not None and self._journal is not None
        judgement = self.ledger.judge(order)
        if not judgement.apply:
            newer = judgement.newer
            assert newer is not None
            if newer.id != order.id:
                self._superseded(order, newer)
            return
        self.ledger.record(order)
        now = self._clock.wall_time()
        current = as_of(order, now)
        if current is None:
            return  # its hold ran out before it came: recorded, nothing to show
        command = current.command
        output = getattr(command, "output", None)
        if output is not None and output not in self._output_ids():
            self._not_here(order, output)
            return
        actor = Actor(f"{order.by}@{order.origin}", Role[order.role.upper()])
        self._alarm_id = order.alarm_id
        try:
            self._handler(command, actor)
        except NotFoundError as exc:
            # A clear of what is clear already (a preset ended it), or a name this host's
            # layout lacks: said, not an error of the wall.
            log.info("order %s (%s from %s): %s", order.id, _what(command), order.origin, exc)
        except CompositorError as exc:
            self.counts["refused"] += 1
            log.warning(
                "order %s (%s from %s) refused here: %s",
                order.id,
                _what(command),
                order.origin,
                exc,
            )
        finally:
            self._alarm_id = None
        applied = self._clock.wall_time()
        self.counts["applied"] += 1
        self.applied.append(
            {"order": order.id, "what": _what(order.command), "at": order.at, "applied": applied}
        )
        if applied - order.at > LATE_S:
            self._journal.change(
                "cluster.late",
                actor.name,
                order.role,
                target=state_key(order),
                after=_what(order.command),
                result="applied",
                reason=f"taken on {order.origin} at {_precise(order.taken)}, heard "
                f"{applied - order.at:.1f} s after its instant (the broker or a host was away)",
            )

    def _superseded(self, order: Order, newer: Order) -> None:
        assert self._journal is not None
        self.counts["superseded"] += 1
        reason = (
            f"last writer wins: {_what(newer.command)} by {newer.by}@{newer.origin} at "
            f"{_precise(newer.at)} is newer than this order's {_precise(order.at)}"
        )
        log.info("order %s (%s) superseded: %s", order.id, _what(order.command), reason)
        self._journal_outcome(order, "superseded", reason)

    def _not_here(self, order: Order, output: str) -> None:
        live = self._live
        assert live is not None and self._journal is not None
        if any(o.id == output for o in live.file_layout.outputs):
            return  # another host's output: that host applies it
        self.counts["refused"] += 1
        reason = (
            f"output {output} is not in this host's layout (version {self.layout_version}; "
            f"{order.origin}'s is {order.layout})"
        )
        log.warning("order %s (%s) refused: %s", order.id, _what(order.command), reason)
        self._journal_outcome(order, "refused", reason)

    def _journal_outcome(self, order: Order, result: str, reason: str) -> None:
        """An order not applied here, in the audit journal, under its author's name."""
        assert self._journal is not None
        self._journal.change(
            f"cluster.{result}",
            f"{order.by}@{order.origin}",
            order.role,
            target=state_key(order),
            after=_what(order.command),
            result=result,
            reason=reason,
        )

    # -- health --------------------------------------------------------------------------

    @property
    def layout_version(self) -> str:
        live = self._live
        if live is None:
            return "0" * 12
        layout = live.file_layout
        if self._version is None or self._version[0] != id(layout):
            self._version = (id(layout), layout_version(layout))
        return self._version[1]

    def _health_message(self, state: str, now_wall: float) -> bytes:
        health = self._health()
        message = Health(
            host=self.options.host,
            state="online" if state == "online" else "offline",
            at=now_wall,
            layout=self.layout_version if self._live is not None else None,
            outputs=self._output_ids(),
            outputs_up=min(health.outputs_up, 256),
            cameras_live=health.cameras_live,
            cameras=health.cameras,
            api=health.api,
        )
        return message.model_dump_json().encode()

    def _say_health(self) -> None:
        now = self._clock.wall_time()
        if self.link.connected:
            self.link.publish(
                self.topics.host(self.options.host), self._health_message("online", now), True
            )
        self._check_versions()
        view = self._describe_hosts(now)
        with self._view_lock:
            self._view = view

    def _health_message_in(self, host: str, message: Received, now: float) -> None:
        if not message.payload:
            self._peers.pop(host, None)
            return
        try:
            health = parse_health(message.payload)
        except MessageRefused as exc:
            self._refuse(message.topic, str(exc))
            return
        if health.host != host:
            self._refuse(message.topic, f"it speaks for host {health.host}")
            return
        if host == self.options.host:
            return  # our own word, as the broker keeps it
        peer = self._peers.get(host)
        if peer is None:
            if len(self._peers) >= MAX_PEERS:
                self._refuse(message.topic, f"over {MAX_PEERS} hosts")
                return
            peer = self._peers[host] = _Peer(health, now)
        if health.state != peer.health.state:
            log.log(
                logging.INFO if health.state == "online" else logging.WARNING,
                "host %s is %s",
                host,
                health.state,
            )
        peer.health, peer.received = health, now
        if not message.retained and health.state == "online":
            peer.offsets.append(health.at - now)

    def _check_versions(self) -> None:
        mine = self.layout_version
        differ = tuple(
            sorted(
                f"{name} ({peer.health.layout})"
                for name, peer in self._peers.items()
                if peer.health.state == "online"
                and peer.health.layout is not None
                and peer.health.layout != mine
            )
        )
        if differ != self._mismatch:
            if differ:
                log.warning(
                    "layout version %s here differs from host %s: orders for outputs this "
                    "layout lacks are refused; give every host the same layout file",
                    mine,
                    ", ".join(differ),
                )
            else:
                log.info("layout version %s: the same on every host online", mine)
            self._mismatch = differ

    @property
    def layout_mismatch(self) -> tuple[str, ...]:
        """Hosts online whose layout version differs from this one's."""
        return self._mismatch

    def _describe_hosts(self, now: float) -> dict[str, Any]:
        health = self._health()
        me = {
            "host": self.options.host,
            "state": "online" if self.link.connected else "away from the broker",
            "seen": local_iso(now),
            "layout": self.layout_version,
            "outputs": self._output_ids(),
            "outputs_up": health.outputs_up,
            "cameras_live": health.cameras_live,
            "cameras": health.cameras,
            "api": health.api,
            "clock_offset_ms": 0.0,
            "this_host": True,
        }
        stale = 3 * HEALTH_EVERY_S + self.options.keepalive_s
        layout_hosts = self._live.file_layout.hosts if self._live is not None else None
        peers = [peer.describe(now, stale) for peer in self._peers.values()]
        for peer in peers:
            if not peer["outputs"]:  # its last will names none: the layout says whose they are
                peer["outputs"] = list((layout_hosts or {}).get(peer["host"], ()))
            if not self.link.connected:
                peer["state"] = f"unknown (last {peer['state']}: this host is away from the broker)"
        known = {self.options.host, *self._peers}
        never = [
            {"host": name, "state": "never seen", "outputs": list(outputs)}
            for name, outputs in (layout_hosts or {}).items()
            if name not in known
        ]
        order = list(layout_hosts or {})
        hosts = sorted(
            [me, *peers, *never],
            key=lambda h: (order.index(h["host"]) if h["host"] in order else len(order), h["host"]),
        )
        return {
            "wall": self.options.wall,
            "host": self.options.host,
            "broker": {
                "url": self.options.broker.shown(),
                "connected": self.link.connected,
                "connections": self.link.connections,
                "error": self.link.last_error,
            },
            "layout": self.layout_version,
            "layout_mismatch": list(self._mismatch),
            "margin_ms": round(self.options.margin_s * 1e3),
            "hosts": hosts,
        }

    # -- what others read (any thread) ----------------------------------------------------

    def hosts(self) -> dict[str, Any]:
        """Every host of the wall, as this one knows them (GET /api/hosts)."""
        with self._view_lock:
            return dict(self._view)

    def describe(self) -> dict[str, Any]:
        """The cluster's part of the status (render loop)."""
        view = self._describe_hosts(self._clock.wall_time())
        recent = list(self.applied)[-1:]
        return {
            **view,
            "orders": dict(self.counts),
            "waiting": len(self._due),
            "last_applied": [
                {
                    "order": entry["order"],
                    "what": entry["what"],
                    "at": _precise(entry["at"]),
                    "late_ms": round((entry["applied"] - entry["at"]) * 1e3, 1),
                }
                for entry in recent
            ],
        }

    def api_routes(self, app: FastAPI) -> None:
        """GET /api/hosts (viewer): every host of the wall, its health and clock offset; and
        GET /api/hosts/applied: the last orders applied here, with their instants."""
        viewer = [Depends(app.state.requires(Role.VIEWER))]

        @app.get("/api/hosts", tags=["wall"], dependencies=viewer)
        def hosts() -> dict[str, Any]:
            """Every host of the wall: online/offline (by its last will), outputs drawn,
            cameras live, its layout version, its clock's offset from this host's."""
            return self.hosts()

        @app.get("/api/hosts/applied", tags=["wall"], dependencies=viewer)
        def applied() -> dict[str, Any]:
            """The last orders applied on this host: their instant and when it applied them
            (wall clock, seconds since the epoch), for measuring the hosts' skew."""
            return {"host": self.options.host, "applied": list(self.applied)}
