"""The churn soak (``python -m benchmarks.soak --churn``): presets, reloads, killed decoders
and a full state filesystem in turn, with every table the wall keeps sampled.

See :mod:`benchmarks.soak` for what it does and :data:`CHURN_TOLERANCES` for what
passes. :func:`run_churn_soak` is the reusable part: ``make test`` runs it for a
minute, ``make soak`` for an hour.
"""

from __future__ import annotations

__all__ = [
    "CHURN_TOLERANCES",
    "EVENTS",
    "ChurnSoakResult",
    "SoakSample",
    "Verdict",
    "run_churn_soak",
]

import contextlib
import logging
import os
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.churn import PRESET, process_tables
from benchmarks.tmpfs import fill, tmpfs, why_no_tmpfs
from compositor.app import RunOptions, WallApp
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.layout.parse import load_layout

log = logging.getLogger("benchmarks.soak")

# The events, in turn, one every ``event_every`` seconds.
EVENTS = (
    "presets",  # a burst of preset switches, one a tick, back to the layout's own
    "reload",  # the layout file saved with a camera of a new id and URL
    "kill camera",  # the flaky camera's RTSP server killed and started again
    "kill decoder",  # a decoder process SIGKILLed (the pool restarts it)
    "fill state",  # the state folder's tmpfs filled to the last byte
    "freeze camera",  # the flaky camera's server stopped (SIGSTOP), resumed half a period on
    "free state",  # the file filling the tmpfs removed
)
SWITCHES_PER_BURST = 20
LIVE_CAMERAS = 4  # served by one RTSP server, besides the flaky one on its own
DEAD_CAMERAS = 11  # on a port where nothing listens: a start costs a refused connection
STATE_TMPFS = "32m"  # the audit log rotates at 4 MB, 5 files: room for it, and fast to fill
SETTLE_S = 5.0  # at most, for removed cameras' threads to end before a sample
WARM_UP_SHARE = 0.05  # of the run, at least; and at least one round of every event

# How far the last sample (every fault undone) may exceed the warm-up's highest. A
# leak of one descriptor, slot or thread per event would be hundreds over an hour;
# these leave room for what comes and goes while nothing is wrong (a connection being
# made, a status file being written, glibc's heap settling).
CHURN_TOLERANCES: dict[str, float] = {
    "records": 0,  # status records held: exactly the cameras shown, once settled
    "shm_files": 0,  # files in the wall's /dev/shm folder: its slots and boards
    "fds": 2,
    "threads": 2,
    "maps": 16,  # memory mappings: a slot left mapped shows here
    "worker_fds": 4,  # a camera between two connections holds no socket for a moment
    "worker_threads": 4,
    "rss_mb": 16.0,  # or 10 % of the warm-up's, whichever is more
    "worker_rss_mb": 32.0,  # or 10 %: decoder processes restarted start afresh
}
_RELATIVE = {"rss_mb": 0.10, "worker_rss_mb": 0.10}


@dataclass(frozen=True)
class SoakSample:
    at: float  # seconds since the start
    event: str  # the last event before it
    cameras: int  # cameras decoded
    records: int  # status records in use
    shm_files: int
    fds: int  # of the render process
    threads: int
    maps: int
    rss_mb: float
    workers: int  # decoder processes running
    worker_fds: int  # of the decoder processes, together
    worker_threads: int
    worker_rss_mb: float
    live: int  # cameras the wall judges live
    state_kb: int  # what the state folder holds (status, history, audit log)
    state_problems: int  # what the wall says it could not write


@dataclass(frozen=True)
class Verdict:
    name: str
    warm_up: float  # the highest in the warm-up
    last: float
    allowed: float  # growth allowed over the warm-up's highest
    ok: bool


@dataclass
class ChurnSoakResult:
    seconds: float
    tmpfs: str  # what the state folder was on
    events: list[str] = field(default_factory=list)
    samples: list[SoakSample] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    switches: int = 0
    reloads: int = 0
    refused: list[str] = field(default_factory=list)  # changes the wall refused

    @property
    def ok(self) -> bool:
        return bool(self.verdicts) and all(v.ok for v in self.verdicts) and not self.refused

    def as_dict(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def _fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:  # a decoder process being restarted
        return 0


def _folder_kb(folder: Path) -> int:
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total // 1024


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def layout_text(live: list[str], flaky: str, dead_port: int, reload: int = 0) -> str:
    """A 4x4 wall of the live cameras, the flaky one and the dead ones; reload ``n`` has
    its last dead camera replaced by ``n<n>``. Preset ``pair`` shows a dead camera over
    a 2x2 cell's size (from its main stream: a new connection) and a live one in a
    corner (a new tile size): a switch stops 14 cameras and starts them again back."""
    dead = {f"d{i:02d}": i for i in range(DEAD_CAMERAS - 1)}
    dead[f"n{reload}" if reload else f"d{DEAD_CAMERAS - 1:02d}"] = 1000 + reload
    lines = ["labels: {show: false}", "cameras:"]
    for index, url in enumerate(live):
        lines.append(f"  c{index}: {{url: '{url}'}}")
    lines.append(f"  flaky: {{url: '{flaky}'}}")
    for camera_id, number in dead.items():
        base = f"rtsp://127.0.0.1:{dead_port}"
        urls = f"url: '{base}/main{number}', url_low: '{base}/sub{number}'"
        lines.append(f"  {camera_id}: {{{urls}}}")
    ids = [f"c{i}" for i in range(len(live))] + ["flaky", *dead]
    side = 4
    w, h = 1280 // side, 720 // side
    lines += ["outputs:", "  - id: O1", "    size: [1280, 720]", "    tiles:"]
    for cell, camera_id in enumerate(ids[: side * side]):
        x, y = cell % side * w, cell // side * h
        lines.append(f"      - {{camera: {camera_id}, rect: [{x}, {y}, {w}, {h}]}}")
    lines += [
        "presets:",
        f"  {PRESET}:",
        "    outputs:",
        "      - id: O1",
        "        tiles:",
        "          - {camera: d00, rect: [0, 0, 1000, 720]}",
        "          - {camera: c0, rect: [1000, 0, 280, 158]}",
    ]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def _state_folder(parent: Path, size: str) -> Iterator[tuple[Path, str]]:
    """The wall's state folder on a fresh tmpfs, or a plain folder where none can be had."""
    folder = parent / "state"
    why_not = why_no_tmpfs()
    if why_not is not None:
        log.warning("churn soak: %s: the state folder is a plain folder, never filled", why_not)
        folder.mkdir(mode=0o700)
        yield folder, f"a plain folder ({why_not})"
        return
    with tmpfs(folder, size) as mounted:
        yield mounted, f"tmpfs of {size}"


class _Churn:
    """The events, carried out on a running wall (render loop: this thread)."""

    def __init__(
        self,
        app: WallApp,
        layout_path: Path,
        text: Callable[[int], str],
        flaky: SyntheticCameraServer,
        state: Path,
        can_fill: bool,
        result: ChurnSoakResult,
    ) -> None:
        self.app = app
        self.layout_path = layout_path
        self.text = text
        self.flaky = flaky
        self.state = state
        self.can_fill = can_fill
        self.result = result
        self.filler: Path | None = None
        self.resume_at: float | None = None
        self.killed = 0

    def tick(self) -> None:
        self.app.tick()
        if self.resume_at is not None and time.monotonic() >= self.resume_at:
            self.flaky.resume()
            self.resume_at = None

    def run(self, event: str, period: float) -> None:
        if event == "presets":
            live = self.app.live
            assert live is not None
            for number in range(SWITCHES_PER_BURST):
                try:
                    # Back to the layout's own arrangement last: the wall shows every camera.
                    live.select_preset(PRESET if number % 2 == 0 else None)
                except Exception as exc:  # refused: said in the result, the soak goes on
                    self.result.refused.append(f"switch {self.result.switches}: {exc}")
                self.result.switches += 1
                self.tick()  # one change a frame, as a wall takes them
        elif event == "reload":
            self.result.reloads += 1
            before = self.app.counters.layout_changes()["applied"]
            self.layout_path.write_text(self.text(self.result.reloads))
            self.app.request_reload()
            deadline = time.monotonic() + 5.0
            while self.app.counters.layout_changes()["applied"] == before:
                if time.monotonic() > deadline:
                    self.result.refused.append(f"reload {self.result.reloads}: not applied")
                    break
                self.tick()
                time.sleep(0.02)
        elif event == "kill camera":
            self.flaky.kill()
            self.flaky.start()
        elif event == "kill decoder":
            pids = self.app.pool.worker_pids()
            if pids:
                os.kill(pids[self.killed % len(pids)], signal.SIGKILL)
                self.killed += 1
        elif event == "fill state":
            if self.can_fill:
                self.filler = fill(self.state, "soak-filler")
        elif event == "freeze camera":
            self.flaky.pause()
            self.resume_at = time.monotonic() + period / 2
        elif event == "free state":
            self.free()

    def free(self) -> None:
        if self.filler is not None:
            self.filler.unlink()
            self.filler = None

    def undo(self) -> None:
        """Every fault undone: space again, the flaky camera running, the layout's own
        arrangement shown."""
        self.free()
        if self.resume_at is not None:
            self.flaky.resume()
            self.resume_at = None
        live = self.app.live
        if live is not None and live.preset is not None:
            live.select_preset(None)


def _settle(app: WallApp) -> None:
    """Tick until every removed camera's thread has ended (its record taken back)."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        app.tick()
        if app.pool.records_in_use == len(app.pool.camera_ids):
            return
        time.sleep(0.04)


def _sample(app: WallApp, state: Path, started: float, event: str) -> SoakSample:
    _settle(app)
    rss, threads, maps = process_tables(os.getpid())
    pids = app.pool.worker_pids()
    workers = [process_tables(pid) for pid in pids]
    return SoakSample(
        at=round(time.monotonic() - started, 1),
        event=event,
        cameras=len(app.pool.camera_ids),
        records=app.pool.records_in_use,
        shm_files=len(os.listdir(app.pool.shared_path)),
        fds=len(os.listdir("/proc/self/fd")),
        threads=threads,
        maps=maps,
        rss_mb=round(rss, 1),
        workers=len(workers),
        worker_fds=sum(_fds(pid) for pid in pids),
        worker_threads=sum(w[1] for w in workers),
        worker_rss_mb=round(sum(w[0] for w in workers), 1),
        live=sum(1 for s in app.camera_states.values() if s == "live"),
        state_kb=_folder_kb(state),
        state_problems=len(app.status()["state_problems"]),
    )


def _judge(result: ChurnSoakResult, warm_up_s: float) -> None:
    warm = [s for s in result.samples[:-1] if s.at <= warm_up_s] or result.samples[:1]
    last = result.samples[-1]
    for name, allowed in CHURN_TOLERANCES.items():
        highest = max(float(getattr(s, name)) for s in warm)
        room = max(allowed, _RELATIVE.get(name, 0.0) * highest)
        value = float(getattr(last, name))
        result.verdicts.append(Verdict(name, highest, value, room, value - highest <= room))
    # However the warm-up went, a settled wall holds a record per camera shown.
    if last.records != last.cameras:
        result.verdicts.append(Verdict("records per camera", last.cameras, last.records, 0, False))


def run_churn_soak(
    seconds: float,
    sample_every: float = 10.0,
    event_every: float = 10.0,
    tmpfs_size: str = STATE_TMPFS,
    report: Callable[[SoakSample], None] | None = None,
) -> ChurnSoakResult:
    """Churn a wall for ``seconds``, an event every ``event_every`` s, sampling every
    ``sample_every`` s; then undo every fault, take the last sample and judge it."""
    live_cameras = [
        SyntheticCamera(f"c{i}", f"c{i}", 160, 90, 10, (40 + 50 * i, 120, 160))
        for i in range(LIVE_CAMERAS)
    ]
    dead_port = _free_port()
    with (
        SyntheticCameraServer(live_cameras) as server,
        SyntheticCameraServer([SyntheticCamera("flaky", "flaky", 160, 90, 10)]) as flaky,
        tempfile.TemporaryDirectory(prefix="videowall-churn-soak-") as folder,
        _state_folder(Path(folder), tmpfs_size) as (state, on),
    ):
        result = ChurnSoakResult(seconds, on)
        urls = [server.url(c.path) for c in live_cameras]

        def text(reload: int) -> str:
            return layout_text(urls, flaky.url("flaky"), dead_port, reload)

        path = Path(folder) / "churn.yaml"
        path.write_text(text(0))
        options = RunOptions(headless=True, workers=2, layout_path=path, state_dir=state)
        app = WallApp(load_layout(path), options)
        app.start()
        churn = _Churn(app, path, text, flaky, state, on.startswith("tmpfs"), result)
        started = time.monotonic()
        warm_up_s = max(len(EVENTS) * event_every, WARM_UP_SHARE * seconds)
        next_event, next_sample, index, event = started + event_every, started, 0, "start"
        try:
            while (now := time.monotonic()) - started < seconds:
                churn.tick()
                if now >= next_event:
                    event = EVENTS[index % len(EVENTS)]
                    index += 1
                    result.events.append(f"{now - started:.0f}s {event}")
                    churn.run(event, event_every)
                    next_event = now + event_every
                if now >= next_sample:
                    sample = _sample(app, state, started, event)
                    result.samples.append(sample)
                    if report is not None:
                        report(sample)
                    next_sample = now + sample_every
                time.sleep(0.04)
            churn.undo()
            # Every camera that can be live is live again before the last sample.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                churn.tick()
                if sum(1 for s in app.camera_states.values() if s == "live") >= LIVE_CAMERAS + 1:
                    break
                time.sleep(0.04)
            for _ in range(25):  # a second of a steady wall
                churn.tick()
                time.sleep(0.04)
            sample = _sample(app, state, started, "settled")
            result.samples.append(sample)
            if report is not None:
                report(sample)
        finally:
            churn.undo()
            result.seconds = round(time.monotonic() - started, 1)
            app.close()
    _judge(result, warm_up_s)
    return result


COLUMNS = (
    ("at", "t (s)", 7),
    ("event", "after", 13),
    ("records", "records", 7),
    ("shm_files", "shm", 4),
    ("fds", "fds", 4),
    ("threads", "thr", 4),
    ("maps", "maps", 5),
    ("rss_mb", "RSS MB", 7),
    ("workers", "dec", 4),
    ("worker_fds", "dec fds", 7),
    ("worker_threads", "dec thr", 7),
    ("worker_rss_mb", "dec MB", 7),
    ("live", "live", 5),
    ("state_kb", "state kB", 8),
    ("state_problems", "probl", 5),
)


def table_header() -> str:
    return " ".join(f"{title:>{width}}" for _, title, width in COLUMNS)


def table_row(sample: SoakSample) -> str:
    return " ".join(f"{getattr(sample, name)!s:>{width}}" for name, _, width in COLUMNS)


def verdict_lines(result: ChurnSoakResult) -> list[str]:
    lines = [f"{'':<18} {'warm-up max':>11} {'last':>9} {'allowed':>8}"]
    for v in result.verdicts:
        lines.append(
            f"{v.name:<18} {v.warm_up:>11g} {v.last:>9g} {'+' + format(v.allowed, 'g'):>8}  "
            f"{'pass' if v.ok else 'FAIL'}"
        )
    return lines
