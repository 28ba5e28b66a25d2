"""Soaks: run the wall for minutes or hours while things fail and change, and watch for leaks.

    .venv/bin/python -m benchmarks.soak --cameras 8 --minutes 10      # faults
    .venv/bin/python -m benchmarks.soak --churn --minutes 60          # churn (make soak)

**Faults** (the default): serves N generated cameras from a local RTSP server,
plus one camera on a second server that is killed, frozen and restarted in
turn; every third fault kills a decoder process outright. Samples the wall's
memory (RSS), open file descriptors and threads, for the render process and
its decoder processes, and reports their growth after warm-up. Targets: RSS
under 5 % over 10 minutes, no fd and no thread growth. Writes
benchmarks/results/soak.json.

**Churn** (``--churn``): a wall whose state folder (status, history, audit
log, control socket) is on a real tmpfs goes through, in turn: a burst of
preset switches, a reload of its layout file with a camera of a new id, its
flaky camera's server killed, a decoder process SIGKILLed, the tmpfs filled
to the last byte by a file, the flaky camera frozen, the tmpfs freed again.
Every ``--sample-every`` seconds, once removed cameras have stopped, it
samples status records in use, files in the wall's /dev/shm folder (slots
and boards), and of the render process its descriptors, threads, memory
mappings and RSS, and of the decoder processes their threads and RSS. After
a warm-up (one round of every event, and at least 5 % of the run) the last
sample, taken with every fault undone, may exceed the warm-up's highest by
no more than :data:`CHURN_TOLERANCES`; otherwise it exits 1. Mounting the
tmpfs needs root: without it the state folder is a plain folder, which is
never filled (said at the start). Writes benchmarks/results/churn-soak.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.churn import process_tables
from benchmarks.churn_soak import run_churn_soak, table_header, table_row, verdict_lines
from compositor.app import RunOptions, WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.layout.parse import parse_layout

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Sample:
    at: float  # seconds since start
    rss_mb: float  # render process + decoder processes
    fds: int
    threads: int
    processes: int
    live: int
    age_p99_ms: float  # worst camera's p99 frame age (decode to composition), recent frames


@dataclass
class SoakResult:
    cameras: int
    seconds: float
    faults: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    rss_growth_pct: float = 0.0
    fd_growth: int = 0
    thread_growth: int = 0
    process_growth: int = 0


def _sample(app: WallApp, started: float) -> Sample:
    pids = [os.getpid(), *app.pool.worker_pids()]
    rss, threads, fds = 0.0, 0, 0
    for pid in pids:
        try:
            pid_rss, pid_threads, _ = process_tables(pid)
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except OSError:  # a worker being restarted
            continue
        rss += pid_rss
        threads += pid_threads
    live = sum(1 for state in app.camera_states.values() if state == "live")
    ages = [app.frame_ages.percentiles(c) for c in app.frame_ages.cameras()]
    p99 = max((a[1] for a in ages if a is not None), default=0.0)
    return Sample(
        round(time.monotonic() - started, 1),
        round(rss, 1),
        fds,
        threads,
        len(pids),
        live,
        round(p99 * 1000, 1),
    )


def _layout(urls: dict[str, str]) -> str:
    lines = ["cameras:"] + [f"  {c}: {{url: '{u}'}}" for c, u in urls.items()]
    cols = 4
    rows = (len(urls) + cols - 1) // cols
    lines += ["outputs:", "  - id: S1", f"    size: [{160 * cols}, {90 * rows}]"]
    lines += [f"    grid: {rows}x{cols}", f"    tiles: [{', '.join(urls)}]"]
    return "\n".join(lines) + "\n"


def run_soak(cameras: int, seconds: float, fault_every: float = 15.0) -> SoakResult:
    """Run the soak; faults stop 15 s before the end so the last sample is settled."""
    steady = [SyntheticCamera(f"c{i:02d}", f"c{i:02d}", 160, 90, 10) for i in range(cameras - 1)]
    result = SoakResult(cameras, seconds)
    with (
        SyntheticCameraServer(steady) as server,
        SyntheticCameraServer([SyntheticCamera("flaky", "flaky", 160, 90, 10)]) as flaky,
    ):
        urls = {c.path: server.url(c.path) for c in steady} | {"flaky": flaky.url("flaky")}
        app = WallApp(parse_layout(_layout(urls), "soak.yaml"), RunOptions(headless=True))
        app.start()
        started = time.monotonic()
        warm_up = min(30.0, seconds / 3)
        faults = ["kill", "freeze", "worker"]
        next_fault, next_sample = started + warm_up, started + 5.0
        fault_index, paused = 0, False
        baseline: Sample | None = None
        try:
            while (now := time.monotonic()) - started < seconds:
                app.tick()
                if paused and now > next_fault - fault_every / 2:
                    flaky.resume()
                    paused = False
                if now >= next_fault and now - started < seconds - 15:
                    if baseline is None and result.samples:
                        baseline = result.samples[-1]  # the last sample before any fault
                    kind = faults[fault_index % len(faults)]
                    fault_index += 1
                    result.faults.append(f"{now - started:.0f}s {kind}")
                    if kind == "kill":
                        flaky.kill()
                        flaky.start()
                    elif kind == "freeze":
                        flaky.pause()
                        paused = True
                    else:
                        pids = app.pool.worker_pids()
                        if pids:
                            os.kill(pids[fault_index % len(pids)], signal.SIGKILL)
                    next_fault = now + fault_every
                if now >= next_sample:
                    result.samples.append(_sample(app, started))
                    next_sample = now + 5.0
                time.sleep(0.04)
            if paused:
                flaky.resume()
            # Settle: every camera live again before the last sample.
            deadline = time.monotonic() + 20
            while (
                time.monotonic() < deadline
                and len([s for s in app.camera_states.values() if s == "live"]) < cameras
            ):
                app.tick()
                time.sleep(0.04)
            for _ in range(25):
                app.tick()
                time.sleep(0.04)
            result.samples.append(_sample(app, started))
        finally:
            app.close()
    first, last = baseline or result.samples[0], result.samples[-1]
    result.rss_growth_pct = round(100 * (last.rss_mb - first.rss_mb) / first.rss_mb, 2)
    # Threads and descriptors come and go by one or two while nothing is wrong (a
    # camera between connections, FFmpeg's helper threads): a leak is a count above
    # the most seen before the first fault.
    before = [s for s in result.samples if s.at <= first.at] or [first]
    result.fd_growth = last.fds - max(s.fds for s in before)
    result.thread_growth = last.threads - max(s.threads for s in before)
    result.process_growth = last.processes - max(s.processes for s in before)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--churn",
        action="store_true",
        help="the churn soak: presets, reloads, killed decoders, a full state filesystem",
    )
    parser.add_argument("--cameras", type=int, default=8, help="faults: cameras served")
    parser.add_argument("--minutes", type=float, default=None, help="default 10; --churn: 60")
    parser.add_argument("--fault-every", type=float, default=15.0, help="seconds between faults")
    parser.add_argument(
        "--event-every", type=float, default=10.0, help="churn: seconds between events"
    )
    parser.add_argument("--sample-every", type=float, default=10.0, help="churn: seconds")
    args = parser.parse_args(argv)
    if args.churn:
        return _churn_main(args.minutes or 60.0, args.event_every, args.sample_every)
    result = run_soak(args.cameras, (args.minutes or 10.0) * 60, args.fault_every)
    print(
        f"{'t (s)':>7} {'RSS MB':>8} {'fds':>5} {'threads':>8} {'procs':>6} {'live':>5} "
        f"{'age p99 ms':>10}"
    )
    for s in result.samples:
        print(
            f"{s.at:>7} {s.rss_mb:>8} {s.fds:>5} {s.threads:>8} {s.processes:>6} {s.live:>5} "
            f"{s.age_p99_ms:>10}"
        )
    print(f"faults: {', '.join(result.faults)}")
    ok_rss = result.rss_growth_pct < 5
    ok_fd, ok_threads = result.fd_growth <= 0, result.thread_growth <= 0
    print(f"RSS growth after warm-up: {result.rss_growth_pct} % ({'pass' if ok_rss else 'FAIL'})")
    print(f"fd growth: {result.fd_growth} ({'pass' if ok_fd else 'FAIL'})")
    print(f"thread growth: {result.thread_growth} ({'pass' if ok_threads else 'FAIL'})")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(asdict(result), indent=2))
    return 0 if ok_rss and ok_fd and ok_threads else 1


def _churn_main(minutes: float, event_every: float, sample_every: float) -> int:
    # The wall's errors (a decoder restarted) between the rows; the dead cameras'
    # retries, by the thousand, not.
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("benchmarks.soak").setLevel(logging.WARNING)
    load = os.getloadavg()
    print(
        f"churn soak: {minutes:g} min, an event every {event_every:g} s, a sample every "
        f"{sample_every:g} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(table_header(), flush=True)
    result = run_churn_soak(
        minutes * 60,
        sample_every=sample_every,
        event_every=event_every,
        report=lambda sample: print(table_row(sample), flush=True),
    )
    load = os.getloadavg()
    print(
        f"state folder on {result.tmpfs}; {result.switches} preset switches, {result.reloads} "
        f"reloads, {len(result.events)} events in {result.seconds} s; load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    for line in result.refused[:5]:
        print(f"refused: {line}")
    print("\n".join(verdict_lines(result)))
    print("churn soak: " + ("pass" if result.ok else "FAIL"))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "churn-soak.json").write_text(json.dumps(result.as_dict(), indent=2))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
