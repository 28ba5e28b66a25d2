"""``videowall demo --hosts N``: the demo wall as N hosts on this machine.

A broker (Debian's Mosquitto on a free port of 127.0.0.1) and one ``videowall run
LAYOUT --host NAME --broker ...`` process per host of the layout's ``hosts:`` section,
each with its own state folder (``<demo state>/<host>``) and HTTP API on a free port;
the test cameras are the caller's. It prints every host's control page and an
operator token for each, then waits for Ctrl-C (passed on to every host).
"""

from __future__ import annotations

__all__ = ["run_demo_hosts"]

import json
import logging
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from compositor.core.errors import CompositorError
from compositor.demo.broker import Mosquitto
from compositor.layout.models import Layout

log = logging.getLogger(__name__)

START_WITHIN_S = 60.0  # a host's API up (the catch-up and the decoders started)


def run_demo_hosts(
    layout_path: Path,
    layout: Layout,
    count: int,
    state_base: Path,
    wall_args: Sequence[str],
    make_token: Callable[[Path], str],
) -> None:
    """Run the layout's first ``count`` hosts until Ctrl-C or SIGTERM."""
    hosts = list(layout.hosts or {})
    if len(hosts) < count:
        raise CompositorError(
            f"--hosts {count}: the layout names {len(hosts)} host(s) in its hosts section"
            + (f" ({', '.join(hosts)})" if hosts else "")
        )
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stop.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with Mosquitto() as broker:
            log.info("broker: Eclipse Mosquitto at %s", broker.url)
            states = []
            for host in hosts[:count]:
                state = state_base / host
                token = make_token(state)
                (state / "status.json").unlink(missing_ok=True)
                processes.append(
                    subprocess.Popen(
                        [
                            *(sys.executable, "-m", "compositor", "run", str(layout_path)),
                            *("--host", host, "--broker", broker.url, "--wall", "demo"),
                            *("--state-dir", str(state), "--api", "127.0.0.1:0"),
                            *wall_args,
                        ],
                        start_new_session=True,  # Ctrl-C is ours, passed on as SIGTERM
                    )
                )
                states.append((host, state, token))
            for host, state, token in states:
                url = _wait_for_api(state, stop)
                if url is None:
                    return
                print(f"control page ({host}): {url}", flush=True)
                print(f"  operator token ({host}, for this demo): {token}", flush=True)
            print(
                "  a preset through either page (or curl -X POST -H 'Authorization: Bearer "
                "TOKEN' URLapi/presets/incident) switches every host at once",
                flush=True,
            )
            while not stop.wait(0.5):
                ended = [p for p in processes if p.poll() is not None]
                if ended:
                    log.error("a host stopped (exit %s): stopping the demo", ended[0].returncode)
                    return
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_for_api(state: Path, stop: threading.Event) -> str | None:
    deadline = time.monotonic() + START_WITHIN_S
    while time.monotonic() < deadline and not stop.is_set():
        try:
            api = json.loads((state / "status.json").read_text()).get("api")
        except (OSError, ValueError):
            api = None
        if api:
            return str(api)
        time.sleep(0.2)
    if not stop.is_set():
        raise CompositorError(f"a host did not start within {START_WITHIN_S:g} s (see its log)")
    return None
