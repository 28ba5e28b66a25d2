"""systemd's notify protocol: READY, WATCHDOG and STATUS datagrams to ``$NOTIFY_SOCKET``.

The protocol is one datagram of ``KEY=value`` lines to a Unix socket named by
the environment (sd_notify(3)); a leading ``@`` names an abstract socket.
These few lines of socket code replace a library on purpose: the PyPI
``sdnotify`` package (last release 2017, untyped) sends with a blocking
``sendto``, and a datagram to a receiver whose queue is full then blocks the
caller. Our caller is the render loop: a stuck service manager must never
stop the wall from drawing, so every send here is ``MSG_DONTWAIT`` and a
message that cannot go is dropped (the next ping follows within seconds).

:class:`ServiceNotifier` decides when to send: READY once, WATCHDOG at half
the interval systemd asked for (``$WATCHDOG_USEC``), STATUS when the line
changes but at most every few seconds.
"""

from __future__ import annotations

__all__ = [
    "STATUS_EVERY_S",
    "NotifySocket",
    "ServiceNotifier",
    "notify_address",
    "watchdog_interval",
]

import logging
import os
import socket
from collections.abc import Mapping

from compositor.core.clock import Clock

log = logging.getLogger(__name__)

STATUS_EVERY_S = 2.0  # a STATUS line at most this often (systemctl status shows the latest)


def notify_address(env: Mapping[str, str]) -> str | bytes | None:
    """The socket address ``$NOTIFY_SOCKET`` names, or None outside a notify service."""
    value = env.get("NOTIFY_SOCKET", "")
    if value.startswith("@"):
        return b"\0" + value[1:].encode()  # the abstract namespace
    if value.startswith("/"):
        return value
    return None  # unset, or a vsock address (AF_VSOCK: not for a wall PC)


def watchdog_interval(env: Mapping[str, str], pid: int) -> float | None:
    """Seconds systemd waits for a ping (``$WATCHDOG_USEC``), None if no watchdog is on.

    ``$WATCHDOG_PID``, when set, names the process meant: a child that inherited
    the variables is not.
    """
    usec = env.get("WATCHDOG_USEC", "")
    owner = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if owner and (not owner.isdigit() or int(owner) != pid):
        return None
    return int(usec) / 1e6


class NotifySocket:
    """Sends notify datagrams to one address; never blocks, never raises."""

    def __init__(self, address: str | bytes) -> None:
        self.address = address
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._failed = False

    def send(self, message: str) -> bool:
        """Send ``message`` (``KEY=value`` lines); False if it could not go now."""
        try:
            data = message.encode("utf-8", "replace")
            self._socket.sendto(data, socket.MSG_DONTWAIT, self.address)
        except OSError as exc:
            if not self._failed:  # said once: a ping every few seconds must not flood the log
                log.warning("cannot notify the service manager (%s): %s", self.address, exc)
            self._failed = True
            return False
        self._failed = False
        return True

    def close(self) -> None:
        self._socket.close()


class ServiceNotifier:
    """When to tell systemd what: built from the environment, fed by the render loop."""

    def __init__(
        self,
        channel: NotifySocket,
        clock: Clock,
        watchdog_s: float | None,
        status_every: float = STATUS_EVERY_S,
    ) -> None:
        self._channel = channel
        self._clock = clock
        self.ping_every = watchdog_s / 2 if watchdog_s else None  # sd_watchdog_enabled(3)
        self._status_every = status_every
        self._next_ping = 0.0
        self._ready = False
        self._status_sent: str | None = None
        self._status_at = float("-inf")

    @classmethod
    def from_environment(
        cls, clock: Clock, env: Mapping[str, str] | None = None
    ) -> ServiceNotifier | None:
        """A notifier if the wall runs as a notify service, else None (nothing to do)."""
        env = os.environ if env is None else env
        address = notify_address(env)
        if address is None:
            return None
        return cls(NotifySocket(address), clock, watchdog_interval(env, os.getpid()))

    @property
    def ready(self) -> bool:
        return self._ready

    def mark_ready(self, status: str | None = None) -> None:
        """READY=1, once: every output has been drawn (with the first STATUS)."""
        if self._ready:
            return
        lines = ["READY=1"]
        if status is not None:
            lines.append(f"STATUS={status}")
            self._status_sent, self._status_at = status, self._clock.now()
        if self._channel.send("\n".join(lines)):
            self._ready = True
            log.info("told systemd the wall is ready")

    def loop_alive(self) -> None:
        """From the render loop's tick, and only there: WATCHDOG=1 every half interval.

        A loop that stops ticking stops pinging, and systemd restarts the wall.
        """
        if self.ping_every is None:
            return
        now = self._clock.now()
        if now >= self._next_ping and self._channel.send("WATCHDOG=1"):
            self._next_ping = now + self.ping_every

    def status(self, text: str) -> None:
        """STATUS=text if it changed, at most every ``status_every`` seconds."""
        now = self._clock.now()
        if text == self._status_sent or now - self._status_at < self._status_every:
            return
        if self._channel.send(f"STATUS={text}"):
            self._status_sent, self._status_at = text, now

    def stopping(self) -> None:
        self._channel.send("STOPPING=1\nSTATUS=stopping")

    def close(self) -> None:
        self._channel.close()
