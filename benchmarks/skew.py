"""Do two hosts switch together? The skew between their switch instants, over 100 presets.

    .venv/bin/python -m benchmarks.skew [--switches 100] [--every 0.4] [--margin-ms 150]
                                        [--outputs 14] [--through both]

Runs a wall over two hosts on this machine, as ``make demo ARGS="--hosts 2"`` does:
Debian's Mosquitto on 127.0.0.1, two generated cameras from a local RTSP server, and
two ``videowall run --host left|right --broker ...`` processes (headless, 25 fps,
160x90 outputs: the switch is what is measured, not the drawing; ``--outputs 14`` is
the room's wall split 7/7, one row per host, as in the demo layout). Then switches
presets ``--switches`` times, one every ``--every`` seconds, alternating ``swap``
(every output shows the other camera) and the layout's own, through the left host's
API or, with ``--through both``, through each host's in turn.

Each host records, for every order it applies, the order's instant and the wall-clock
time it applied it: on the render loop, just before the first frame composed with the
new arrangement (``GET /api/hosts/applied``). The skew of a switch is the difference
between the two hosts' times; it is printed as p50/p99/max against one frame interval
(40 ms at 25 fps), with each host's lateness (applied minus the instant), and written
to benchmarks/results/skew.json. Both hosts run on one clock here, so the figure is the
render loops' phase and scheduling; between machines, add their clocks' offset
(chrony keeps it under a millisecond on a LAN; see docs/hosts.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from compositor.demo.broker import Mosquitto
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from tests.helpers.cluster import HostWall, cluster_layout_text, wait_for

RESULTS = Path(__file__).resolve().parent / "results" / "skew.json"
FPS = 25.0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def split_layout_text(server: SyntheticCameraServer, outputs: int) -> str:
    """``outputs`` outputs of 160x90 split half and half: left A1.., right B1..; red and
    green in turn, ``swap`` exchanges them everywhere."""
    half = outputs // 2
    ids = [f"A{n}" for n in range(1, half + 1)] + [f"B{n}" for n in range(1, half + 1)]
    shows = {output: ("red", "green")[n % 2] for n, output in enumerate(ids)}
    other = {"red": "green", "green": "red"}
    lines = [
        "labels: {show: false}",
        "cameras:",
        *(f'  {c}: {{name: {c}, url: "{server.url(c)}"}}' for c in ("red", "green")),
        "outputs:",
        *(f"  - {{id: {o}, size: [160, 90], grid: 1x1, tiles: [{c}]}}" for o, c in shows.items()),
        f"hosts: {{left: [{', '.join(ids[:half])}], right: [{', '.join(ids[half:])}]}}",
        "presets:",
        "  swap:",
        "    outputs:",
        *(f"      - {{id: {o}, tiles: [{other[c]}]}}" for o, c in shows.items()),
    ]
    return "\n".join(lines) + "\n"


def measure(
    switches: int, every: float, margin_ms: float, outputs: int = 2, through: str = "left"
) -> dict[str, Any]:
    cameras = (
        SyntheticCamera("red", "red", 320, 180, 15, (200, 40, 40)),
        SyntheticCamera("green", "green", 320, 180, 15, (40, 160, 60)),
    )
    with (
        tempfile.TemporaryDirectory(prefix="videowall-skew-") as folder,
        SyntheticCameraServer(cameras) as server,
        Mosquitto() as broker,
    ):
        layout = Path(folder) / "wall.yaml"
        layout.write_text(
            cluster_layout_text(server) if outputs == 2 else split_layout_text(server, outputs)
        )
        more = ("--fps", str(FPS), "--margin-ms", str(margin_ms))
        hosts = [
            HostWall(Path(folder), layout, name, broker.url, *more, wall="skew")
            for name in ("left", "right")
        ]
        try:
            left = hosts[0]
            wait_for(
                lambda: all(h["state"] == "online" for h in left.get("/api/hosts")["hosts"]),
                20,
                "both hosts online",
            )
            orders = []
            takers = hosts if through == "both" else hosts[:1]
            clients = [host.client() for host in takers]
            try:
                for n in range(switches):
                    name = "swap" if n % 2 == 0 else "default"
                    answer = clients[n % len(clients)].post(f"/api/presets/{name}")
                    answer.raise_for_status()
                    orders.append(answer.json()["order"])
                    time.sleep(every)
            finally:
                for client in clients:
                    client.close()
            time.sleep(1.0)
            applied = [{a["order"]: a for a in host.applied()} for host in hosts]
        finally:
            for host in hosts:
                host.stop()
    skews: list[float] = []
    late: dict[str, list[float]] = {"left": [], "right": []}
    for order in orders:
        on_left, on_right = applied[0].get(order), applied[1].get(order)
        if on_left is None or on_right is None:
            continue
        skews.append(abs(on_left["applied"] - on_right["applied"]) * 1e3)
        late["left"].append((on_left["applied"] - on_left["at"]) * 1e3)
        late["right"].append((on_right["applied"] - on_right["at"]) * 1e3)
    return {
        "switches": switches,
        "outputs": {"left": outputs // 2, "right": outputs - outputs // 2},
        "through": through,
        "measured": len(skews),
        "frame_interval_ms": 1e3 / FPS,
        "margin_ms": margin_ms,
        "skew_ms": {
            "p50": round(percentile(skews, 0.5), 1),
            "p99": round(percentile(skews, 0.99), 1),
            "max": round(max(skews), 1),
            "mean": round(statistics.fmean(skews), 1),
        },
        "late_ms": {
            host: {"p50": round(percentile(v, 0.5), 1), "p99": round(percentile(v, 0.99), 1)}
            for host, v in late.items()
        },
        "within_one_frame": sum(1 for s in skews if s <= 1e3 / FPS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--switches", type=int, default=100)
    parser.add_argument("--every", type=float, default=0.4, help="seconds between switches")
    parser.add_argument("--margin-ms", type=float, default=150.0)
    parser.add_argument(
        "--outputs", type=int, default=2, help="outputs, half on each host (14: the room's 7/7)"
    )
    parser.add_argument(
        "--through", choices=("left", "both"), default="left", help="whose API takes the switches"
    )
    args = parser.parse_args()
    if args.outputs < 2 or args.outputs % 2:
        parser.error("--outputs: an even number, at least 2")
    result = measure(args.switches, args.every, args.margin_ms, args.outputs, args.through)
    skew, frame = result["skew_ms"], result["frame_interval_ms"]
    print(
        f"{args.outputs} outputs ({args.outputs // 2} per host), switched through "
        f"{'each host in turn' if args.through == 'both' else 'the left host'}; "
        f"{result['measured']}/{result['switches']} switches seen on both hosts; skew between "
        f"their switch instants: p50 {skew['p50']} ms, p99 {skew['p99']} ms, max {skew['max']} "
        f"ms (one frame: {frame:g} ms; {result['within_one_frame']} within one frame)"
    )
    for host, late in result["late_ms"].items():
        print(f"  {host}: applied after the instant by p50 {late['p50']} ms, p99 {late['p99']} ms")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
