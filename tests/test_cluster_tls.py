"""The broker over TLS with credentials from the environment: ``mqtts://`` against a real
Mosquitto with a self-signed certificate (trusted through VIDEOWALL_MQTT_CA) and a
password file; a wrong password and an untrusted certificate are refused and said."""

from __future__ import annotations

import pytest

from compositor.cluster.address import parse_broker_url
from compositor.cluster.link import BrokerLink, Received
from compositor.cluster.messages import Topics
from compositor.demo.broker import Mosquitto

pytestmark = pytest.mark.e2e

TOPICS = Topics("tls")


def link_to(url: str, env: dict[str, str]) -> BrokerLink:
    received: list[Received] = []
    return BrokerLink(
        parse_broker_url(url, env),
        "tls-test",
        [TOPICS.all_state],
        (TOPICS.host("probe"), b""),
        received.append,
        lambda: None,
        TOPICS.sync,
    )


def test_mqtts_with_credentials_from_the_environment() -> None:
    with Mosquitto(tls=True, users={"wall": "s3cret pw"}) as broker:
        url = f"mqtts://${{MQTT_USER}}:${{MQTT_PASSWORD}}@127.0.0.1:{broker.port}"
        env = {"MQTT_USER": "wall", "MQTT_PASSWORD": "s3cret pw"}
        good = link_to(url, {**env, "VIDEOWALL_MQTT_CA": str(broker.ca_file)})
        wrong = link_to(
            url, {**env, "MQTT_PASSWORD": "guess", "VIDEOWALL_MQTT_CA": str(broker.ca_file)}
        )
        untrusted = link_to(url, env)  # the system's authorities do not know this broker
        links = (good, wrong, untrusted)
        for link in links:
            link.start()
        try:
            assert good.wait_synced(10), good.last_error
            assert not wrong.wait_synced(2) and not untrusted.wait_synced(0.5)
            assert wrong.last_error is not None and "authori" in wrong.last_error.lower()
            assert not untrusted.connected
        finally:
            for link in links:
                link.close()
