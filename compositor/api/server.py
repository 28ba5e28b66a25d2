"""Serving the API: uvicorn in its own thread, on a socket bound before the wall starts.

The socket is bound here, on the caller's thread, so a port in use or an address
that is not this machine's is a clear error at start (``--api 127.0.0.1:8480:
address already in use``), not a log line from a thread. Listening beyond the
loopback needs TLS (``--tls-cert``/``--tls-key``), or ``--insecure-http``, which
the log warns about at every start: tokens travel in every request.

The server never holds the render loop: requests wait for the loop in uvicorn's
worker threads (see :class:`~compositor.control.inbox.CommandInbox`), and
pictures are encoded there too.
"""

from __future__ import annotations

__all__ = ["DEFAULT_API", "ApiOptions", "ApiServer", "parse_listen"]

import ipaddress
import logging
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from compositor.core.errors import CompositorError

log = logging.getLogger(__name__)

DEFAULT_API = "127.0.0.1:8480"  # also in compositor.cli, which does not import this module
START_WITHIN_S = 10.0
STOP_WITHIN_S = 3.0
# While the API serves, a thread waiting for the GIL forces it free after this long, not
# CPython's 5 ms: the render loop, woken for its tick while a request's Python holds the
# GIL, waited up to 5 ms at each of its waits (benchmarks/api_load.py: the p99 frame age
# of the median camera rose 25 -> 36 ms at 50 requests a second). The whole process's
# setting, so set by start() and given back by close().
GIL_SWITCH_S = 0.001


@dataclass(frozen=True)
class ApiOptions:
    host: str = "127.0.0.1"
    port: int = 8480  # 0: any free port (tests); the log and status.json say which
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_http: bool = False  # plain HTTP beyond the loopback, on purpose

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None


def parse_listen(text: str) -> tuple[str, int] | None:
    """``HOST:PORT``, ``[::1]:PORT`` or ``off`` (None)."""
    text = text.strip()
    if text.lower() == "off":
        return None
    host, colon, port = text.rpartition(":")
    if not colon or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise CompositorError(
            f"--api {text!r}: give HOST:PORT (127.0.0.1:8480, [::1]:8480, 0.0.0.0:8480) or off"
        )
    host = host.removeprefix("[").removesuffix("]") or "127.0.0.1"
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def _tls_context(options: ApiOptions) -> None:
    """Refuse, at start and in words, a certificate or key that cannot be used."""
    if (options.tls_cert is None) != (options.tls_key is None):
        raise CompositorError("--tls-cert and --tls-key go together")
    if options.tls_cert is None or options.tls_key is None:
        return
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(options.tls_cert, options.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise CompositorError(
            f"--tls-cert {options.tls_cert} / --tls-key {options.tls_key}: cannot be used "
            f"({getattr(exc, 'strerror', None) or exc})"
        ) from None


def check_exposure(options: ApiOptions) -> None:
    """Plain HTTP beyond the loopback only when asked for in so many words."""
    _tls_context(options)
    if is_loopback(options.host) or options.tls:
        return
    if not options.insecure_http:
        raise CompositorError(
            f"--api {options.host}:{options.port} listens beyond this machine: give "
            "--tls-cert and --tls-key (tokens travel in every request), or --insecure-http "
            "on a network you trust"
        )
    log.warning(
        "the API listens on %s:%d with plain HTTP (--insecure-http): anyone on the network "
        "can read the tokens it carries; use --tls-cert/--tls-key",
        options.host,
        options.port,
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except socket.gaierror as exc:
        raise CompositorError(f"--api {host}:{port}: unknown host ({exc.strerror})") from None
    except OSError as exc:
        raise CompositorError(f"--api {host}:{port}: {exc.strerror or exc}") from None


class ApiServer:
    """``app`` served on ``options``' address; :meth:`start`, then :meth:`close`."""

    def __init__(self, app: FastAPI, options: ApiOptions) -> None:
        check_exposure(options)
        self.options = options
        self._socket = _bind(options.host, options.port)
        self.port = int(self._socket.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_config=None,  # the wall's logging as it is
            log_level="warning",
            access_log=False,  # 14 snapshots a second per page: the audit log says what matters
            proxy_headers=False,  # a client cannot pass for another address (the throttle)
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=int(STOP_WITHIN_S),
            ssl_certfile=str(options.tls_cert) if options.tls_cert else None,
            ssl_keyfile=str(options.tls_key) if options.tls_key else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="api-server", daemon=True)
        self._failed: BaseException | None = None
        self._switch_before: float | None = None

    @property
    def url(self) -> str:
        host = self.options.host
        shown = f"[{host}]" if ":" in host else host
        if host in ("0.0.0.0", "::"):
            shown = "127.0.0.1"  # where a person on this machine reaches it
        return f"{'https' if self.options.tls else 'http'}://{shown}:{self.port}/"

    def _serve(self) -> None:
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as exc:  # SystemExit from uvicorn included: the wall runs on
            self._failed = exc
            log.error("the API server stopped: %s", exc)

    def start(self) -> None:
        self._switch_before = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_before, GIL_SWITCH_S))
        self._thread.start()
        waited = 0.0
        while not self._server.started and self._thread.is_alive() and waited < START_WITHIN_S:
            threading.Event().wait(0.02)
            waited += 0.02
        if not self._server.started:
            self._socket.close()
            sys.setswitchinterval(self._switch_before)
            raise CompositorError(f"the API server did not start: {self._failed or 'timeout'}")

    def close(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_WITHIN_S + 1.0)
        self._socket.close()
        if self._switch_before is not None:
            sys.setswitchinterval(self._switch_before)
            self._switch_before = None
