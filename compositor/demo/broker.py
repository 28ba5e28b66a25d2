"""A real MQTT broker for the demo and the tests: Debian's Eclipse Mosquitto on 127.0.0.1.

Started with a configuration file of its own (``listener PORT 127.0.0.1``,
``allow_anonymous true``, no persistence; or, with ``tls=True`` and ``users``, TLS
with a self-signed certificate made here by ``openssl`` and a password file made by
``mosquitto_passwd``, anonymous clients refused): the system's mosquitto service, if any,
is neither used nor touched. :meth:`Mosquitto.stop` and :meth:`Mosquitto.start` again
on the same port are a broker going away and coming back (its retained messages
lost, as a broker without persistence loses them).
"""

from __future__ import annotations

__all__ = ["MOSQUITTO", "Mosquitto", "mosquitto_path"]

import getpass
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from compositor.core.errors import EnvironmentSetupError

MOSQUITTO = "mosquitto"
_SEARCH = "/usr/sbin:/usr/bin:/sbin:/bin"  # Debian puts it in /usr/sbin, often not on PATH


def _tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=_SEARCH)
    if found is None:
        raise EnvironmentSetupError(
            f"{name} is not installed: `sudo scripts/install-system-deps.sh test`"
        )
    return found


def mosquitto_path() -> str:
    found = shutil.which(MOSQUITTO) or shutil.which(MOSQUITTO, path=_SEARCH)
    if found is None:
        raise EnvironmentSetupError(
            "Eclipse Mosquitto is not installed: `sudo scripts/install-system-deps.sh demo` "
            "(Debian's mosquitto package)"
        )
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mosquitto:
    """``mosquitto -c <its own file>`` on 127.0.0.1:``port`` (a free one if 0)."""

    def __init__(
        self, port: int = 0, tls: bool = False, users: dict[str, str] | None = None
    ) -> None:
        self.port = port or _free_port()
        self.tls = tls
        self._folder = Path(tempfile.mkdtemp(prefix="videowall-mosquitto-"))
        self._config = self._folder / "mosquitto.conf"
        # The broker's certificate, self-signed: what a client trusts (VIDEOWALL_MQTT_CA).
        self.ca_file = self._folder / "broker-cert.pem"
        secure = ""
        if tls:
            self._make_certificate()
            secure += f"certfile {self.ca_file}\nkeyfile {self._folder / 'broker-key.pem'}\n"
        if users:
            passwords = self._folder / "passwords"
            for number, (name, password) in enumerate(users.items()):
                made = subprocess.run(
                    [
                        _tool("mosquitto_passwd"),
                        *(["-c"] if number == 0 else []),
                        *("-b", str(passwords), name, password),
                    ],
                    capture_output=True,
                    text=True,
                )
                if made.returncode != 0:
                    raise EnvironmentSetupError(f"mosquitto_passwd failed: {made.stderr.strip()}")
            secure += f"password_file {passwords}\n"
        self._config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            + secure
            + f"allow_anonymous {'false' if users else 'true'}\n"
            # Run as root, mosquitto would become the user "mosquitto", who cannot read
            # this private folder (its key, passwords and log): it stays who started it.
            + f"user {getpass.getuser()}\n"
            "persistence false\n"
            # Its log to a file of ours: the tests read it when the broker fails to start.
            f"log_dest file {self._folder / 'mosquitto.log'}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
        )
        self._process: subprocess.Popen[bytes] | None = None

    def _make_certificate(self) -> None:
        made = subprocess.run(
            [
                _tool("openssl"),
                *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
                *("-keyout", str(self._folder / "broker-key.pem"), "-out", str(self.ca_file)),
                *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            ],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            raise EnvironmentSetupError(f"openssl could not make a certificate: {made.stderr}")

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        self._process = subprocess.Popen(
            [mosquitto_path(), "-c", str(self._config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EnvironmentSetupError(
                    f"mosquitto stopped at once (port {self.port} taken?): {self.log_tail()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    time.sleep(0.05)  # listening: its TLS context is ready a moment later
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise EnvironmentSetupError(f"mosquitto did not listen on {self.port} in {timeout:g} s")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        """The broker goes away: its clients' connections break (no will is sent for
        them: the broker is what sends wills)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self) -> str:
        try:
            return " | ".join((self._folder / "mosquitto.log").read_text().splitlines()[-5:])
        except OSError:
            return "(no log)"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
