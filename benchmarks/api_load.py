"""Does the HTTP API slow the wall? Frame age with and without 50 requests a second.

    .venv/bin/python -m benchmarks.api_load [--cameras 8] [--rate 50] [--seconds 25]

Serves N generated cameras (640x360, 25 fps) from a local RTSP server and runs
``videowall run --headless --api 127.0.0.1:0`` on them (two 1280x720 outputs of 2x2
tiles, the second's first tile an alarm tile). Then two phases of the same length:

- **quiet**: no request;
- **load**: ``--rate`` requests a second from this process (another process than the
  wall's, as an operator's browser would be), a mix like the control page's and a
  script's: status, layout, cameras, output snapshots (480 px wide, as the page asks),
  and a call-up put and taken back every second.

After each phase the wall is asked for its frame ages (``GET /api/cameras``: p50/p99
per camera over its last 512 frames, about 20 s at 25 fps: the phase alone), and the
wall process's CPU over the phase is read from /proc. Prints a table and writes
benchmarks/results/api_load.json. Every request goes to 127.0.0.1; the load stops by
itself after ``--seconds``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from compositor.api.tokens import TokenStore
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer

RESULTS = Path(__file__).resolve().parent / "results"
PALETTE = [(200, 40, 40), (40, 150, 60), (40, 70, 200), (210, 160, 30), (150, 50, 170)]


@dataclass
class Phase:
    name: str
    seconds: float
    requests: int = 0
    errors: int = 0
    request_p50_ms: float = 0.0
    request_p99_ms: float = 0.0
    wall_cpu_s_per_s: float = 0.0
    age_p50_ms: dict[str, float] = field(default_factory=dict)
    age_p99_ms: dict[str, float] = field(default_factory=dict)
    # The render loop's ticks in the phase (videowall_render_loop_seconds from /metrics):
    # how many, their mean, and the share longer than 5 and 10 ms.
    ticks: int = 0
    tick_mean_ms: float = 0.0
    ticks_over_5ms_pct: float = 0.0
    ticks_over_10ms_pct: float = 0.0

    @property
    def worst_p99(self) -> float:
        return max(self.age_p99_ms.values(), default=0.0)

    @property
    def median_p99(self) -> float:
        return statistics.median(self.age_p99_ms.values()) if self.age_p99_ms else 0.0

    @property
    def median_spread(self) -> float:
        """p99 - p50 of the median camera: a camera's p50 is mostly where its frames fall
        between two ticks (0-40 ms, a matter of phase); the spread is the delay on top."""
        spread = [p99 - self.age_p50_ms[c] for c, p99 in self.age_p99_ms.items()]
        return round(statistics.median(spread), 1) if spread else 0.0


def _layout(server: SyntheticCameraServer, cameras: int) -> str:
    ids = [f"cam{n:02d}" for n in range(1, cameras + 1)]
    lines = ["labels: {show: false}", "cameras:"]
    lines += [f'  {c}: {{url: "{server.url(c)}"}}' for c in ids]
    lines.append("outputs:")
    for index, output in enumerate(("O1", "O2")):
        tiles = ids[index * 4 : index * 4 + 4] or ids[:1]
        lines.append(
            f"  - {{id: {output}, size: [1280, 720], grid: 2x2, tiles: [{', '.join(tiles)}]}}"
        )
    lines.append("alarms: {tiles: [O2.1], min_hold_s: 5}")
    return "\n".join(lines) + "\n"


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _loop_histogram(client: httpx.Client) -> tuple[dict[float, float], float, float]:
    """The render loop's tick durations so far: cumulative counts by upper bound, the
    count and the sum (seconds), from the Prometheus text at /metrics."""
    buckets: dict[float, float] = {}
    count = total = 0.0
    name = "videowall_render_loop_seconds"
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "_bucket{"):
            bound = line.split('le="', 1)[1].split('"', 1)[0]
            buckets[float("inf") if bound == "+Inf" else float(bound)] = float(line.split()[-1])
        elif line.startswith(name + "_count"):
            count = float(line.split()[-1])
        elif line.startswith(name + "_sum"):
            total = float(line.split()[-1])
    return buckets, count, total


def _ticks(phase: Phase, before: Any, after: Any) -> None:
    (b0, n0, s0), (b1, n1, s1) = before, after
    ticks = n1 - n0
    if ticks <= 0:
        return
    phase.ticks = int(ticks)
    phase.tick_mean_ms = round(1e3 * (s1 - s0) / ticks, 2)
    for limit, attribute in ((0.005, "ticks_over_5ms_pct"), (0.01, "ticks_over_10ms_pct")):
        within = b1.get(limit, 0.0) - b0.get(limit, 0.0)
        setattr(phase, attribute, round(100 * (ticks - within) / ticks, 2))


def _frame_ages(client: httpx.Client, phase: Phase) -> None:
    for camera in client.get("/api/cameras").json()["cameras"]:
        ages = camera.get("frame_age_ms")
        if ages:
            phase.age_p50_ms[camera["id"]] = ages["p50"]
            phase.age_p99_ms[camera["id"]] = ages["p99"]


def _load(client: httpx.Client, rate: float, seconds: float, phase: Phase, camera: str) -> None:
    """``rate`` requests a second, each started on its schedule (never in a burst to catch
    up), answered by a pool of threads."""
    mix = ["status", "layout", "snapshot", "status", "cameras", "snapshot", "alarms", "snapshot"]
    latencies: list[float] = []
    lock = threading.Lock()

    def one(kind: str) -> None:
        started = time.monotonic()
        try:
            if kind == "snapshot":
                answer = client.get("/api/outputs/O1/snapshot.jpg", params={"width": 480})
            elif kind == "callup":
                answer = client.put("/api/outputs/O1/tiles/4", json={"camera": camera})
            elif kind == "back":
                answer = client.delete("/api/outputs/O1/tiles/4")
            else:
                answer = client.get(f"/api/{kind}")
            failed = answer.status_code >= 400
        except httpx.HTTPError:
            failed = True
        with lock:
            latencies.append(time.monotonic() - started)
            phase.errors += failed

    interval = 1.0 / rate
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        number = 0
        while time.monotonic() - start < seconds:
            due = start + number * interval
            time.sleep(max(0.0, due - time.monotonic()))
            if number % int(rate) == 0:
                kind = "callup" if (number // int(rate)) % 2 == 0 else "back"
            else:
                kind = mix[number % len(mix)]
            pool.submit(one, kind)
            number += 1
    phase.requests = len(latencies)
    ordered = sorted(latencies)
    if ordered:
        phase.request_p50_ms = round(ordered[len(ordered) // 2] * 1e3, 1)
        phase.request_p99_ms = round(
            ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 1
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cameras", type=int, default=8)
    parser.add_argument("--rate", type=float, default=50.0, help="requests a second")
    parser.add_argument("--seconds", type=float, default=25.0, help="each phase")
    parser.add_argument("--output", type=Path, default=RESULTS / "api_load.json")
    args = parser.parse_args(argv)
    cameras = [
        SyntheticCamera(f"cam{n:02d}", f"cam{n:02d}", 640, 360, 25, PALETTE[n % len(PALETTE)])
        for n in range(1, args.cameras + 1)
    ]
    with tempfile.TemporaryDirectory() as folder, SyntheticCameraServer(cameras) as server:
        layout, state = Path(folder) / "wall.yaml", Path(folder) / "state"
        layout.write_text(_layout(server, args.cameras))
        token = TokenStore(state).add("bench", "operator", time.time())
        wall = subprocess.Popen(
            [
                *(sys.executable, "-m", "compositor", "run", str(layout), "--headless"),
                *("--api", "127.0.0.1:0", "--state-dir", str(state)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = _wait_for_api(state, wall)
            client = httpx.Client(
                base_url=url,
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
                limits=httpx.Limits(max_connections=32),
            )
            _wait_live(client, args.cameras)
            phases = []
            for name in ("quiet", "load"):
                phase = Phase(name, args.seconds)
                cpu = _cpu_seconds(wall.pid)
                loop = _loop_histogram(client)
                started = time.monotonic()
                if name == "quiet":
                    time.sleep(args.seconds)
                else:
                    _load(client, args.rate, args.seconds, phase, "cam08")
                elapsed = time.monotonic() - started
                phase.wall_cpu_s_per_s = round((_cpu_seconds(wall.pid) - cpu) / elapsed, 3)
                _ticks(phase, loop, _loop_histogram(client))
                _frame_ages(client, phase)
                phases.append(phase)
                print(
                    f"{name:<6} {phase.requests:>5} requests ({phase.errors} failed), "
                    f"request p50/p99 {phase.request_p50_ms:.0f}/{phase.request_p99_ms:.0f} ms; "
                    f"render process {phase.wall_cpu_s_per_s:.2f} CPU-s/s; frame age p99: "
                    f"median camera {phase.median_p99:.0f} ms, worst {phase.worst_p99:.0f} ms, "
                    f"p99 - p50 {phase.median_spread:.0f} ms; render loop: {phase.ticks} ticks, "
                    f"{phase.tick_mean_ms:.1f} ms mean, {phase.ticks_over_5ms_pct:.1f} % "
                    f"over 5 ms, {phase.ticks_over_10ms_pct:.1f} % over 10 ms"
                )
            client.close()
        finally:
            wall.terminate()
            wall.wait(timeout=20)
    result: dict[str, Any] = {
        "cameras": args.cameras,
        "rate": args.rate,
        "seconds": args.seconds,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "host_cpus": os.cpu_count(),
        "phases": [
            asdict(p)
            | {
                "worst_p99": p.worst_p99,
                "median_p99": p.median_p99,
                "median_spread": p.median_spread,
            }
            for p in phases
        ],
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


def _wait_for_api(state: Path, wall: subprocess.Popen[bytes], timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if wall.poll() is not None:
            raise SystemExit("the wall stopped before its API started")
        try:
            status = json.loads((state / "status.json").read_text())
        except (OSError, ValueError):
            status = {}
        if status.get("api"):
            return str(status["api"])
        time.sleep(0.2)
    raise SystemExit("the wall's API did not start")


def _wait_live(client: httpx.Client, cameras: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [c["state"] for c in client.get("/api/cameras").json()["cameras"]]
        if states.count("live") >= min(cameras, 8):
            return
        time.sleep(0.5)
    raise SystemExit("the cameras did not all come live")


if __name__ == "__main__":
    sys.exit(main())
