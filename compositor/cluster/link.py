"""The connection to the broker: paho-mqtt's client, in its own network thread.

It connects (and reconnects, every 1 to 2 s, for as long as the wall runs) with a
last will that says the host is ``offline``; subscribes to the wall's state and
hosts; and hands every message received to ``on_message`` from the network thread
(the node queues them for the render loop). A publish while the broker is away is
kept by paho (bounded: :data:`MAX_QUEUED`) and sent when it returns, in order.

:meth:`BrokerLink.synced` says when the retained messages that were there at the
last connection have all arrived: after subscribing, the link publishes a probe to a
topic of its own; the broker handles one client's packets in order, so the probe
comes back after the retained messages of the subscriptions before it.
"""

from __future__ import annotations

__all__ = ["MAX_QUEUED", "BrokerLink", "Received"]

import contextlib
import logging
import secrets
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from compositor.cluster.address import BrokerAddress

log = logging.getLogger(__name__)

MAX_QUEUED = 1000  # publishes kept while the broker is away; past it, refused and said
# paho doubles the delay from min to max; a try every 2 s costs a broker nothing.
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 2


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retained: bool  # delivered from the broker's store (at subscription), not live


class BrokerLink:
    """One client connection, for one host of one wall."""

    def __init__(
        self,
        address: BrokerAddress,
        client_name: str,
        subscriptions: list[str],
        will: tuple[str, bytes],
        on_message: Callable[[Received], None],
        on_connected: Callable[[], None],
        sync_topic: Callable[[str], str],
        keepalive_s: int = 5,
    ) -> None:
        self.address = address
        self._subscriptions = subscriptions
        self._on_message = on_message
        self._on_connected = on_connected
        self._keepalive = keepalive_s
        # A fresh id per run: a host restarted at once is a new session, not the old one's.
        self.client_id = f"{client_name}-{secrets.token_hex(4)}"
        self._sync_topic = sync_topic(self.client_id)
        self._probe = ""
        self._synced = threading.Event()
        self._connected = threading.Event()
        self._closing = False  # our own disconnect: not a connection lost
        self._lock = threading.Lock()
        self.connections = 0  # how many times it connected (1 after the first)
        self.last_error: str | None = None
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=True,
            reconnect_on_failure=True,
        )
        client.max_queued_messages_set(MAX_QUEUED)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.will_set(will[0], will[1], qos=1, retain=True)
        if address.username:
            client.username_pw_set(address.username, address.password)
        if address.tls:
            context = ssl.create_default_context(
                cafile=str(address.ca_file) if address.ca_file else None
            )
            client.tls_set_context(context)
        client.on_connect = self._connect
        client.on_disconnect = self._disconnect
        client.on_message = self._message
        client.enable_logger(logging.getLogger(__name__ + ".paho"))
        self._client = client

    # -- lifecycle --

    def set_will(self, will: tuple[str, bytes]) -> None:
        """The last will the broker publishes if the connection dies (before start())."""
        self._client.will_set(will[0], will[1], qos=1, retain=True)

    def start(self) -> None:
        """Connect in the background; the wall does not wait for the broker to start."""
        self._client.connect_async(self.address.host, self.address.port, self._keepalive)
        self._client.loop_start()

    def close(self, last_words: tuple[str, bytes] | None = None, timeout: float = 1.0) -> None:
        """Say ``last_words`` (the host going offline) if connected, then disconnect."""
        self._closing = True
        if last_words is not None and self._connected.is_set():
            info = self._client.publish(*last_words, qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):  # not sent: the will says it
                info.wait_for_publish(timeout)
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_synced(self, timeout: float) -> bool:
        """Wait until the retained state has arrived (bounded); whether it did."""
        return self._synced.wait(timeout)

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    # -- publishing (any thread) --

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> bool:
        """Send now, or when the broker is back; False if even the queue is full."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            log.error(
                "broker %s: %d messages wait already; %s not sent",
                self.address.shown(),
                MAX_QUEUED,
                topic,
            )
            return False
        return True

    # -- paho's network thread --

    def _connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            self.last_error = str(reason)
            log.warning("broker %s refused the connection: %s", self.address.shown(), reason)
            return
        with self._lock:
            self.connections += 1
            self._probe = secrets.token_hex(8)
            self._synced.clear()
        self.last_error = None
        self._connected.set()
        log.info("broker %s: connected (%s)", self.address.shown(), self.client_id)
        client.subscribe([(topic, 1) for topic in [*self._subscriptions, self._sync_topic]])
        client.publish(self._sync_topic, self._probe.encode(), qos=1)
        self._on_connected()

    def _disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._synced.clear()
        if was and not self._closing:
            self.last_error = str(reason)
            log.warning(
                "broker %s: connection lost (%s); the wall keeps its state and pictures, "
                "and tries again",
                self.address.shown(),
                reason,
            )

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self._sync_topic:
            with self._lock:
                if message.payload.decode(errors="replace") == self._probe:
                    self._synced.set()
            return
        try:
            self._on_message(Received(message.topic, bytes(message.payload), bool(message.retain)))
        except Exception:  # a bug must not stop paho's thread (and with it the link)
            log.exception("a message on %s could not be handled", message.topic)
