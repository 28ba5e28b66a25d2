"""How far each host's clock is from this one's, as its health messages tell: for
``videowall doctor --broker``.

Each host publishes its health every second with its wall-clock send time. Heard
live (not the broker's retained copy), ``sent - arrived`` is the sender's clock
minus ours *plus* the way through the broker: an estimate, too high by the broker's
latency (a millisecond or two on a LAN), which the median over a few messages
steadies but cannot remove. chrony or PTP keep real offsets far below a frame.
"""

from __future__ import annotations

__all__ = ["LISTEN_S", "peer_offsets"]

import statistics
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from compositor.cluster.address import BrokerAddress
from compositor.cluster.messages import MessageRefused, Topics, parse_health
from compositor.core.errors import CompositorError

LISTEN_S = 2.5  # two health messages of each host, at one a second


def peer_offsets(address: BrokerAddress, wall: str, listen_s: float = LISTEN_S) -> dict[str, float]:
    """Each host heard online within ``listen_s``: the median of (its clock - ours), in
    seconds. CompositorError if the broker cannot be reached."""
    topics = Topics(wall)
    samples: dict[str, list[float]] = {}
    lock = threading.Lock()
    connected = threading.Event()
    failure: list[str] = []

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            failure.append(str(reason))
        else:
            client.subscribe(topics.all_hosts, qos=0)
        connected.set()

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        arrived = time.time()
        if message.retain:
            return  # the broker's copy: sent long ago
        try:
            health = parse_health(bytes(message.payload))
        except MessageRefused:
            return
        if health.state == "online":
            with lock:
                samples.setdefault(health.host, []).append(health.at - arrived)

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="", clean_session=True)
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        import ssl

        client.tls_set_context(
            ssl.create_default_context(cafile=str(address.ca_file) if address.ca_file else None)
        )
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(address.host, address.port, keepalive=10)
    except OSError as exc:
        raise CompositorError(f"cannot reach the broker {address.shown()}: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(5.0) or failure:
            why = failure[0] if failure else "no answer in 5 s"
            raise CompositorError(f"the broker {address.shown()} refused: {why}")
        time.sleep(listen_s)
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        return {host: statistics.median(values) for host, values in samples.items()}
