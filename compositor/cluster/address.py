"""The broker's address: ``mqtt://host:1883`` or ``mqtts://host:8883`` (TLS), credentials
from the environment.

``--broker mqtt://${MQTT_USER}:${MQTT_PASSWORD}@broker.example:1883``: each ``${VAR}``
comes from the environment, as in camera URLs, so no password is written in a unit
file or a command line; ``VIDEOWALL_MQTT_USERNAME``/``VIDEOWALL_MQTT_PASSWORD`` are
used when the URL names no user. ``mqtts://`` checks the broker's certificate
against the system's authorities, or ``VIDEOWALL_MQTT_CA`` (a PEM file) when set.
"""

from __future__ import annotations

__all__ = ["BrokerAddress", "parse_broker_url"]

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from compositor.core.errors import CompositorError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None

    def shown(self) -> str:
        """For logs and status: never the credentials."""
        user = "***@" if self.username else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def parse_broker_url(url: str, env: Mapping[str, str] | None = None) -> BrokerAddress:
    """``--broker``'s value; CompositorError saying what is wrong (never the password)."""
    env = os.environ if env is None else env
    missing = [name for name in _VAR.findall(url) if name not in env]
    if missing:
        raise CompositorError(
            f"--broker: environment variable {', '.join(sorted(set(missing)))} is not set"
        )
    expanded = _VAR.sub(lambda match: env[match.group(1)], url)
    parts = urlsplit(expanded)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise CompositorError(
            f"--broker: use mqtt://host:1883 or mqtts://host:8883 (not {scheme or 'no'} scheme)"
        )
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:
        raise CompositorError("--broker: the port is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise CompositorError("--broker: the URL names no host (mqtt://host:1883)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise CompositorError(
            "--broker: only mqtt[s]://[user:password@]host[:port] (the wall's name is --wall)"
        )
    username = unquote(parts.username) if parts.username else env.get("VIDEOWALL_MQTT_USERNAME")
    password = unquote(parts.password) if parts.password else env.get("VIDEOWALL_MQTT_PASSWORD")
    ca = env.get("VIDEOWALL_MQTT_CA")
    if ca and scheme != "mqtts":
        raise CompositorError("VIDEOWALL_MQTT_CA is set: the broker's URL should be mqtts://")
    if ca and not Path(ca).is_file():
        raise CompositorError(f"VIDEOWALL_MQTT_CA: {ca} is not a file")
    return BrokerAddress(
        parts.hostname,
        port,
        scheme == "mqtts",
        username or None,
        password or None,
        Path(ca) if ca else None,
    )
