"""Churn: switch presets and reload a running wall thousands of times; its tables stay flat.

    .venv/bin/python -m benchmarks.churn --switches 10000 --reloads 1000

A headless wall of 16 cameras in a 4x4 grid, 15 of them with a sub-stream
(``url_low``), and a preset that shows one of those nearly full screen beside
a live camera: each switch to the preset removes 14 cameras, moves one to its
main stream (a new connection) and gives the live one a new tile size; each
switch back undoes it all. Every so often a reload replaces a camera by one of
a new id and URL. The 15 cameras point at a port where nothing listens, so a
start costs a refused connection, not a stream; the live camera is a real
RTSP test camera, so a slot in use by a running decoder is retired and made
again at every switch.

Sampled every so many switches, once the cameras removed have stopped: status
records in use, files in the wall's shared-memory folder, open descriptors
and threads of the render process, threads of the decoder processes, and
memory (RSS) of both. :func:`run_churn` is the reusable part (``make test``
runs it for well under a minute; a soak may run it for hours).
"""

from __future__ import annotations

__all__ = ["PRESET", "ChurnResult", "ChurnSample", "process_tables", "run_churn"]

import argparse
import os
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compositor.app import RunOptions, WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.layout.models import Layout
from compositor.layout.parse import load_layout

SIDE = 4  # the grid: 4x4, 16 cameras (15 that cannot connect, and one live)
PRESET = "pair"
SETTLE_S = 5.0  # at most, for removed cameras' threads to end before a sample
# Switches between two frames of the wall. A wall serves one change a frame at most;
# more here make a long run short (a frame repaints the notices of every new tile).
TICK_EVERY = 100
# Cameras still stopping past which the churn waits for the decoder processes: a wall
# changes its layout a few times a second at most, the churn hundreds of times, and a
# worker whose command pipe (64 KiB) fills is restarted. 32 removals and the starts
# around them are about 30 KiB of commands.
MAX_STOPPING = 32


@dataclass(frozen=True)
class ChurnSample:
    switches: int
    reloads: int
    at: float  # seconds since the start
    cameras: int  # cameras decoded
    records: int  # status records in use (cameras decoded + removed ones stopping)
    shm_files: int  # files in the wall's folder in /dev/shm
    fds: int  # open descriptors of the render process
    threads: int  # threads of the render process
    worker_threads: int  # threads of the decoder processes, together
    # Memory mappings (a slot left mapped after its file is gone shows only here).
    maps: int  # of the render process
    worker_maps: int  # of the decoder processes, together
    rss_mb: float  # memory of the render process
    worker_rss_mb: float  # memory of the decoder processes, together
    workers: tuple[int, ...]  # the decoder processes' ids: a restart changes them


@dataclass
class ChurnResult:
    switches: int = 0
    reloads: int = 0
    seconds: float = 0.0
    refused: list[str] = field(default_factory=list)  # changes the wall refused
    samples: list[ChurnSample] = field(default_factory=list)

    def growth(self, name: str, warm_up: int = 2) -> float:
        """How much ``name`` grew from its highest in the first ``warm_up`` samples to the last."""
        first = max(float(getattr(s, name)) for s in self.samples[:warm_up])
        return float(getattr(self.samples[-1], name)) - first


def process_tables(pid: int) -> tuple[float, int, int]:
    """(RSS in MB, threads, memory mappings) of process ``pid``; zeros if it is gone."""
    rss_kb, threads, maps = 0, 0, 0
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads = int(line.split()[1])
        with open(f"/proc/{pid}/maps") as handle:
            maps = sum(1 for _ in handle)
    except OSError:
        pass
    return rss_kb / 1024, threads, maps


def _refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def layout_text(live_url: str, dead_port: int, side: int = SIDE) -> str:
    """The churn wall: a ``side`` x ``side`` grid of c00, c01... on a port where nothing
    listens, and ``live`` last; the preset shows c00 nearly full screen beside ``live``."""
    cameras = {
        f"c{i:02d}": (
            f"rtsp://127.0.0.1:{dead_port}/main{i}",
            f"rtsp://127.0.0.1:{dead_port}/sub{i}",
        )
        for i in range(side * side - 1)
    }
    lines = ["labels: {show: false}", "cameras:"]
    for camera_id, (url, url_low) in cameras.items():
        lines.append(f"  {camera_id}: {{url: '{url}', url_low: '{url_low}'}}")
    lines.append(f"  live: {{url: '{live_url}'}}")
    # The grid drawn by rects: a preset may then place tiles freely on the same output.
    lines += ["outputs:", "  - id: O1", "    size: [1280, 720]", "    tiles:"]
    w, h = 1280 // side, 720 // side
    for cell, camera_id in enumerate([*cameras, "live"]):
        x, y = cell % side * w, cell // side * h
        lines.append(f"      - {{camera: {camera_id}, rect: [{x}, {y}, {w}, {h}]}}")
    lines += [
        "presets:",
        f"  {PRESET}:",
        "    outputs:",
        # c00 over a 2x2 cell's size, so from its main stream; the live camera in a corner.
        "      - id: O1",
        "        tiles:",
        "          - {camera: c00, rect: [0, 0, 1000, 720]}",
        "          - {camera: live, rect: [1000, 0, 280, 158]}",
    ]
    return "\n".join(lines) + "\n"


def _reloaded(layout: Layout, number: int, dead_port: int) -> Layout:
    """``layout`` as a reload might bring it: its last dead camera replaced by a camera of
    a new id and URL (the preset left out: a reload while the default is shown)."""
    data: dict[str, Any] = layout.model_dump(exclude_unset=True)
    data.pop("presets", None)
    cameras = data["cameras"]
    old_id = [camera_id for camera_id in cameras if camera_id != "live"][-1]
    del cameras[old_id]
    new_id = f"n{number}"
    cameras[new_id] = {"name": f"new {number}", "url": f"rtsp://127.0.0.1:{dead_port}/n{number}"}
    for tile in data["outputs"][0]["tiles"]:
        if tile["camera"] == old_id:
            tile["camera"] = new_id
    return Layout.model_validate(data, context={"env": {}})


def _settle(app: WallApp) -> None:
    """Tick until every removed camera's thread has ended (its record taken back)."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        app.tick()
        if app.pool.records_in_use == len(app.pool.camera_ids):
            return
        time.sleep(0.05)


def _sample(app: WallApp, result: ChurnResult, started: float) -> ChurnSample:
    _settle(app)
    rss, threads, maps = process_tables(os.getpid())
    workers = tuple(app.pool.worker_pids())
    worker_stats = [process_tables(pid) for pid in workers]
    sample = ChurnSample(
        switches=result.switches,
        reloads=result.reloads,
        at=round(time.monotonic() - started, 1),
        cameras=len(app.pool.camera_ids),
        records=app.pool.records_in_use,
        shm_files=len(os.listdir(app.pool.shared_path)),
        fds=len(os.listdir("/proc/self/fd")),
        threads=threads,
        worker_threads=sum(stat[1] for stat in worker_stats),
        maps=maps,
        worker_maps=sum(stat[2] for stat in worker_stats),
        rss_mb=round(rss, 1),
        worker_rss_mb=round(sum(stat[0] for stat in worker_stats), 1),
        workers=workers,
    )
    result.samples.append(sample)
    return sample


def run_churn(
    switches: int = 10_000,
    reloads: int = 1_000,
    samples: int = 10,
    workers: int = 2,
    side: int = SIDE,
    log: bool = False,
) -> ChurnResult:
    """Switch the churn wall's preset ``switches`` times and reload it ``reloads`` times.

    The reloads are spread among the switches; ``samples`` samples are taken
    along the way, the first after 5 % of the switches (warm-up).
    """
    result = ChurnResult()
    dead_port = _refused_port()
    with (
        SyntheticCameraServer([SyntheticCamera("live", "live", 160, 90, 10)]) as server,
        tempfile.TemporaryDirectory(prefix="videowall-churn-") as folder,
    ):
        path = Path(folder) / "churn.yaml"
        path.write_text(layout_text(server.url("live"), dead_port, side))
        layout = load_layout(path)
        options = RunOptions(
            headless=True, workers=workers, layout_path=path, state_dir=Path(folder) / "state"
        )
        app = WallApp(layout, options)
        app.start()
        live = app.live
        assert live is not None
        started = time.monotonic()
        reload_every = max(1, switches // max(1, reloads))
        sample_at = {max(1, switches // 20)} | {
            round(switches * (k + 1) / samples) for k in range(samples)
        }
        try:
            for switch in range(1, switches + 1):
                try:
                    live.select_preset(PRESET if switch % 2 else None)
                except Exception as exc:  # refused: said in the result, the churn goes on
                    result.refused.append(f"switch {switch}: {exc}")
                result.switches = switch
                if switch % reload_every == 0 and result.reloads < reloads:
                    result.reloads += 1
                    try:
                        app.apply_layout(_reloaded(layout, result.reloads, dead_port))
                    except Exception as exc:
                        result.refused.append(f"reload {result.reloads}: {exc}")
                if switch % TICK_EVERY == 0:
                    app.tick()  # the render loop runs between changes, as on a wall
                while app.pool.cameras_stopping() > MAX_STOPPING:
                    # Faster than the decoders can follow on a loaded host: let them.
                    app.tick()
                    time.sleep(0.01)
                if switch in sample_at:
                    sample = _sample(app, result, started)
                    if log:
                        print(sample, flush=True)
        finally:
            result.seconds = round(time.monotonic() - started, 1)
            app.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--switches", type=int, default=10_000)
    parser.add_argument("--reloads", type=int, default=1_000)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--side", type=int, default=SIDE, help="cameras in a side x side grid")
    args = parser.parse_args(argv)
    result = run_churn(args.switches, args.reloads, args.samples, side=args.side, log=True)
    print(f"{result.switches} switches and {result.reloads} reloads in {result.seconds} s")
    for line in result.refused[:5]:
        print(f"refused: {line}")
    growth = {
        name: result.growth(name)
        for name in ChurnSample.__dataclass_fields__
        if name not in ("switches", "reloads", "at", "cameras", "workers")
    }
    print("growth after warm-up:", growth)
    return 0 if not result.refused else 1


if __name__ == "__main__":
    sys.exit(main())
