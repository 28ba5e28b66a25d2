"""Wiring: layout -> decoder pool -> slots -> canvases -> display / snapshots.

This is the one place where the stages meet. Each stage knows nothing of the
others beyond the small interfaces passed in here.
"""

from __future__ import annotations

__all__ = ["RunOptions", "WallApp"]

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from compositor.compose.canvas import CanvasImage, OutputCanvas
from compositor.compose.health import format_duration
from compositor.compose.notice import TileNotice
from compositor.compose.output import ComposedOutput
from compositor.compose.overlay import BannerPainter
from compositor.compose.pictures import PictureLoader
from compositor.compose.screen_notice import unused_monitor_picture
from compositor.control.commands import CLI, parse_command
from compositor.control.handler import CommandHandler, nearest
from compositor.control.inbox import CommandInbox
from compositor.control.pictures import Picture, PictureDesk, PictureKey
from compositor.control.unix_socket import CONTROL_SOCKET, ControlServer
from compositor.core.clock import Clock, MonotonicClock
from compositor.core.decoding import DEFAULT_DECODE, DecodeSetting
from compositor.core.errors import CompositorError, NotFoundError, RefusedError
from compositor.core.events import EventRing
from compositor.core.frame_ages import FrameAges
from compositor.core.logs import LogSetup
from compositor.core.pacing import HEADLESS_FPS, StarvedLoop
from compositor.core.proc import give_back_freed_memory
from compositor.layout.models import Layout, OutputConfig, PlacedTile
from compositor.live.audit import AUDIT_FILE, AuditLog
from compositor.live.cameras import CameraWatch
from compositor.live.journal import Journal
from compositor.live.reload import LiveLayout
from compositor.live.report import WallView, camera_report, status_document
from compositor.live.snapshots import SnapshotWriter
from compositor.live.state_dir import StateDir, default_state_dir, describe
from compositor.live.status import StatusWriter, process_identity
from compositor.metrics.counters import WallCounters
from compositor.service.notify import ServiceNotifier
from compositor.slots import CameraStatus
from compositor.sources.budget import DecodePolicy
from compositor.sources.limits import DEFAULT_MAX_PIXELS, DEFAULT_WORKER_MEMORY_MB, SourceLimits
from compositor.sources.pool import DecoderPool, RenditionKey
from compositor.sources.worker import DECODER_NICENESS

if TYPE_CHECKING:
    # Imported where used: the HTTP API (FastAPI, uvicorn, the metrics) and the cluster
    # (paho-mqtt) take ~0.9 s and ~25 MB to import, which a wall without them never spends.
    from compositor.api.routes import ApiContext, Extension
    from compositor.api.server import ApiOptions, ApiServer
    from compositor.cluster.node import ClusterNode, ClusterOptions, HostHealth
    from compositor.display.windows import WallDisplay
    from compositor.metrics.collector import WallMetrics

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 0.25  # how often camera states are read and tile notices refreshed
# How often the state folder is looked at: made again if it vanished, the control
# socket served again, what could not be written tried again.
STATE_CHECK_EVERY_S = 1.0
SUMMARY_EVERY_S = 30.0  # how often the log gets a one-line state of the wall


@dataclass(frozen=True)
class RunOptions:
    headless: bool = False
    windowed: bool = False
    outputs: tuple[str, ...] = ()  # empty: all outputs of the layout
    fps: float | None = None  # None: the monitors' refresh rate (25 when headless)
    snapshot_dir: Path | None = None
    snapshot_every: float = 1.0
    snapshot_shared: bool = False  # PNGs readable by all (0644), else the wall's user's only
    display_name: str | None = None
    workers: int | None = None
    # The layout's file: watched and reloaded live, its applied versions kept, a
    # control socket and status file in the state folder (None: a layout from memory).
    layout_path: Path | None = None
    state_dir: Path | None = None  # None: default_state_dir(layout_path)
    watch: bool = True  # poll the file for changes (SIGHUP reloads either way)
    # A host that cannot keep up skips non-reference frames, small tiles first
    # (sources/budget.py); False: every camera decodes every frame, and falls behind.
    degrade: bool = True
    # B-frames of cameras on small and 2x2 tiles decoded without the deblocking filter
    # (sources/budget.py: 8-10 % less decoding, invisible at tile size); False: filtered.
    light_deblocking: bool = True
    # How the decoder processes log (the command line's --log-level/--log-format);
    # None: as this process's level, plain text.
    log_setup: LogSetup | None = None
    # The HTTP API and control page (with a layout file only; None: none). Extensions add
    # routes to its FastAPI application (metrics, say): compositor.api.routes.build_api.
    api: ApiOptions | None = None
    api_extensions: tuple[Extension, ...] = ()
    # What one camera may make its decoder process use (sources/limits.py): pictures
    # larger than max_pixels are refused; each decoder process's private memory is bounded.
    max_pixels: int = DEFAULT_MAX_PIXELS
    worker_memory_mb: int = DEFAULT_WORKER_MEMORY_MB
    # Where cameras without a `decode:` of their own are decoded (sources/hwdecode.py).
    decode: DecodeSetting = DEFAULT_DECODE
    # A wall over several hosts (compositor.cluster): its broker, this host's name, the
    # wall's; None: this wall alone. Needs a layout file (the commands come through it).
    cluster: ClusterOptions | None = None


def _limits(options: RunOptions) -> SourceLimits:
    try:
        return SourceLimits(options.max_pixels, options.worker_memory_mb)
    except ValueError as exc:
        raise CompositorError(str(exc)) from None


def select_outputs(layout: Layout, wanted: tuple[str, ...]) -> list[OutputConfig]:
    if not wanted:
        return list(layout.outputs)
    known = {output.id: output for output in layout.outputs}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise CompositorError(
            f"--outputs names {', '.join(unknown)}, which the layout does not have "
            f"(it has {', '.join(known)})"
        )
    return [known[name] for name in wanted]


def rendition_keys(placed: dict[str, list[PlacedTile]]) -> list[RenditionKey]:
    """What the decoders must produce for these tiles: camera, box size and fit.

    A tour needs each of its cameras at its box; clock, text and image tiles none.
    """
    return [
        (camera, *tile.box, tile.fit)
        for tiles in placed.values()
        for tile in tiles
        for camera in tile.cameras
    ]


def _output_shape(outputs: list[OutputConfig]) -> list[tuple[str, tuple[int, int], object]]:
    return [(o.id, (o.size[0], o.size[1]), o.monitor) for o in outputs]


class WallApp:
    """A running wall. ``start()``, then ``run()`` (or ``tick()`` from a test), then ``close()``."""

    def __init__(
        self,
        layout: Layout,
        options: RunOptions,
        clock: Clock | None = None,
        notifier: ServiceNotifier | None = None,
    ) -> None:
        if options.fps is not None and options.fps <= 0:
            raise CompositorError("--fps must be a positive number")
        # This process runs for months: what it frees goes back to the system, not to a
        # fragmented heap; before the canvases and painted tiles are made (core/proc.py).
        give_back_freed_memory()
        self.layout = layout
        self._redactor = layout.redactor()
        self.options = options
        self.clock = clock or MonotonicClock()
        self.outputs = select_outputs(layout, options.outputs)
        placed = {output.id: layout.placed_tiles(output.id) for output in self.outputs}
        self.pool = DecoderPool(
            layout.cameras,
            rendition_keys(placed),
            self.clock,
            workers=options.workers,
            log_setup=options.log_setup or LogSetup(log.getEffectiveLevel()),
            policy=DecodePolicy(degrade=options.degrade, light_deblocking=options.light_deblocking),
            limits=_limits(options),
            decode=options.decode,
        )
        self._painter = BannerPainter()
        self._pictures = PictureLoader()  # image tiles: decoded off the render loop
        self.frame_ages = FrameAges()
        # One object per output: its canvas, tiles, labels, tours and painted tiles.
        self.composed = {
            output.id: self._compose(output, placed[output.id]) for output in self.outputs
        }
        self.live: LiveLayout | None = None  # with a layout file: reloads, presets, history
        # Commands (the control socket's, the API's) and pictures asked from other threads,
        # carried out on the render loop between two frames.
        self.inbox = CommandInbox()
        self.pictures = PictureDesk()
        self.events = EventRing()  # what changed, for the API's event stream
        self.journal = Journal(None, self.events, self.clock)  # audited once state is kept
        self._commands: CommandHandler | ClusterNode | None = None
        self.cluster: ClusterNode | None = None
        if options.cluster:
            from compositor.cluster.node import ClusterNode

            self.cluster = ClusterNode(options.cluster, self.clock)
        self.api: ApiServer | None = None
        self._api_context: ApiContext | None = None
        self._state: StateDir | None = None  # with a layout file: status, history, socket
        self._control: ControlServer | None = None
        self._status: StatusWriter | None = None
        self._next_state_check = 0.0
        self.display: WallDisplay | None = None
        self.snapshots = (
            SnapshotWriter(options.snapshot_dir, options.snapshot_every, options.snapshot_shared)
            if options.snapshot_dir is not None
            else None
        )
        self._stop = threading.Event()
        self._report = threading.Event()
        self._next_health = 0.0
        self._next_summary = 0.0
        self._costs: dict[str, tuple[int, float]] = {}
        self._costs_since = 0.0
        self._layout_applied = False  # in this tick: its time is not the CPU's verdict
        self.ticks = 0
        # On duty (systemd's notify protocol, metrics): see the last section of this class.
        self.notifier = notifier
        self.counters = WallCounters()
        # The journal is replaced once the state folder is known: always the current one.
        self.cameras = CameraWatch(
            lambda kind, data: self.journal.event(kind, data), self.counters.reconnects.observe
        )
        self._status_due = 0.0  # when the STATUS line is next worked out

    def _compose(self, output: OutputConfig, placed: list[PlacedTile]) -> ComposedOutput:
        """The composed output of ``output``: a canvas tile per camera or tour tile, read
        from the decoders' slots, the rest painted."""
        return ComposedOutput(
            output.id,
            (output.size[0], output.size[1]),
            placed,
            slot_for=lambda camera, tile: self.pool.slot((camera, *tile.box, tile.fit)),
            camera_name=self.layout.camera_name,
            painter=self._painter,
            frame_ages=self.frame_ages,
            pictures=self._pictures,
            now=self.clock.now(),
        )

    @property
    def canvases(self) -> dict[str, OutputCanvas]:
        """Each output's canvas, by output id (the display's, the snapshots' and tests')."""
        return {output_id: composed.canvas for output_id, composed in self.composed.items()}

    @property
    def camera_states(self) -> dict[str, str]:
        """Each decoded camera's state as the wall judges it (live, stalled, ...)."""
        return self.cameras.states

    # -- lifecycle --

    def start(self) -> None:
        if not self.options.headless:
            # Only here is the display module (and so pyglet) imported.
            from compositor.display.windows import OutputWindowSpec, WallDisplay

            path = self.options.layout_path
            layout_name = path.name if path is not None else "the layout"
            self.display = WallDisplay(
                [OutputWindowSpec(o.id, o.size[0], o.size[1], o.monitor) for o in self.outputs],
                windowed=self.options.windowed,
                display_name=self.options.display_name,
                # A monitor no output uses says so, with its connector: never a black screen.
                unused=lambda m: unused_monitor_picture(m.name, m.width, m.height, layout_name),
            )
        self.pool.start()
        log.info(
            "wall started: %d outputs (%s), %d cameras, drawn at %g fps",
            len(self.outputs),
            ", ".join(o.id for o in self.outputs),
            len(self.pool.camera_ids),
            self.fps,
        )
        if self.options.layout_path is not None:
            self._start_live_layout(self.options.layout_path)

    def _start_live_layout(self, path: Path) -> None:
        """Reloads, history, presets, the control socket and the status file.

        None of it may keep the wall from starting: a state folder that is full,
        read-only, missing or refused (others can write in it) leaves the wall
        showing its pictures and following its layout file; what cannot be
        written is said once and tried again every second (:meth:`_check_state`).
        """
        state = StateDir(self.options.state_dir or default_state_dir(path))
        self._state = state
        self.journal = Journal(
            AuditLog(state.path / AUDIT_FILE, self.clock, state=state), self.events, self.clock
        )
        self.live = LiveLayout(
            path,
            state,
            self.layout,
            self.apply_layout,
            self.clock,
            self.options.watch,
            journal=self.journal,
            outputs=self.options.outputs,
        )
        self._commands = CommandHandler(self, self.live, self.journal, self.clock)
        self.live.start()
        if self.cluster is not None:
            self._join_cluster(self.cluster, self.live)
        self._status = StatusWriter(state)
        self._check_state()
        log.info(
            "layout %s: %s; state (status.json, history, audit log, control socket) in %s",
            path,
            "changes are applied live (and on SIGHUP)"
            if self.options.watch
            else "reloaded on SIGHUP",
            state.path,
        )
        if self.options.api is not None and not self._stop.is_set():
            # (Ctrl-C while starting: the server, seconds to start on a loaded host, is not.)
            self._start_api(state.path, self.options.api)

    def _join_cluster(self, cluster: ClusterNode, live: LiveLayout) -> None:
        """Commands go through the cluster (an order for every host), alarm ids are the
        orders'; the retained state is applied before the first frame (bounded wait)."""
        handler = CommandHandler(
            self, live, self.journal, self.clock, new_alarm_id=cluster.next_alarm_id
        )
        cluster.attach(handler.handle, live, self.journal, lambda: self.output_ids, self._health)
        self._commands = cluster
        cluster.start()

    def _health(self) -> HostHealth:
        from compositor.cluster.node import HostHealth

        drawn, _ = self.outputs_drawn()
        live = sum(1 for state in self.camera_states.values() if state == "live")
        api = self.api.url if self.api is not None else None
        return HostHealth(drawn, live, len(self.pool.camera_ids), api)

    def metrics(self) -> WallMetrics:
        """This wall's Prometheus metrics (its cluster's beside them, on several hosts)."""
        from compositor.metrics.collector import WallMetrics

        metrics = WallMetrics(self)
        if self.cluster is not None:
            from compositor.cluster.metrics import ClusterCollector

            metrics.registry.register(ClusterCollector(self.cluster))
        return metrics

    def _start_api(self, state_dir: Path, options: ApiOptions) -> None:
        """The HTTP API and control page; a wall whose API cannot start runs on without."""
        from compositor.api.metrics_route import metrics_extension
        from compositor.api.routes import ApiContext, build_api
        from compositor.api.server import ApiServer
        from compositor.api.tokens import TokenStore

        tokens = TokenStore(state_dir)
        context = ApiContext(
            self.inbox, self.pictures, self.events, tokens, self.journal, self.clock
        )
        try:
            # Prometheus reads /metrics here, beside the API (from loopback, or a viewer token).
            extensions = (*self.options.api_extensions, metrics_extension(self.metrics()))
            if self.cluster is not None:
                extensions = (*extensions, self.cluster.api_routes)
            server = ApiServer(build_api(context, extensions), options)
            server.start()
        except CompositorError as exc:
            log.error("no HTTP API for this wall: %s", exc)
            return
        self.api, self._api_context = server, context
        log.info("control page and HTTP API: %s", server.url)
        try:
            if not tokens.records():
                log.warning(
                    "no API tokens yet: make one with `videowall token add NAME --role "
                    "operator --state-dir %s`",
                    state_dir,
                )
        except CompositorError as exc:
            log.error("%s: no token is accepted until it is fixed", exc)

    def _check_state(self) -> None:
        """The state folder there (made again if it vanished), the control socket served,
        the applied layout in the history; what fails is said once (render loop)."""
        state, live = self._state, self.live
        if state is None or live is None:
            return
        self._next_state_check = self.clock.now() + STATE_CHECK_EVERY_S
        if not state.ensure():
            return
        self._ensure_control(state)
        live.keep_pending()

    def _ensure_control(self, state: StateDir) -> None:
        path = state.path / CONTROL_SOCKET
        if self._control is None:
            try:
                control = ControlServer(path, self._on_request, self.clock)
            except (OSError, CompositorError) as exc:
                why = f"cannot serve {path}: {describe(exc)}" if isinstance(exc, OSError) else exc
                state.failed("control socket", f"{why} (videowall preset cannot reach the wall)")
                return
            self._control = control
            control.start()
        elif not self._control.ensure_bound():
            state.failed("control socket", f"cannot serve {path} again")
            return
        state.recovered("control socket")

    def request_reload(self) -> None:
        """Read the layout file again at the next tick (SIGHUP); safe from a signal handler."""
        if self.live is not None:
            self.live.request_reload()

    @property
    def fps(self) -> float:
        """Frames drawn per second: as asked, else the display's refresh, else 25."""
        if self.options.fps is not None:
            return self.options.fps
        if self.display is not None:
            return self.display.refresh_rate
        return HEADLESS_FPS

    def request_stop(self) -> None:
        """Safe from a signal handler or another thread."""
        self._stop.set()

    def request_report(self) -> None:
        """Log frame ages at the next tick (``kill -USR1``); safe from a signal handler."""
        self._report.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        # Asked at once, without waiting: the decoder processes stop while the rest
        # closes (each takes about a second to end: its cameras' threads, then FFmpeg's
        # and Python's teardown), and a snapshot being written writes no further PNG.
        self.pool.request_stop()
        if self.snapshots is not None:
            self.snapshots.request_stop()
        if self.cluster is not None:
            self.cluster.close()  # first to wait on: the other hosts see this one offline
        self.inbox.close()  # whoever still waits for the render loop hears it stops
        if self._api_context is not None:
            self._api_context.stopping.set()  # event streams end, so the server stops at once
        if self.api is not None:
            self.api.close()
            self.api = None
        if self._control is not None:
            self._control.close()
            self._control = None
        if self.live is not None:
            self.live.close()
        if self.display is not None:
            self.display.close()
            self.display = None
        self.pool.stop()
        self._pictures.close()  # a picture being decoded is not waited for
        if self.snapshots is not None:
            self.snapshots.close()

    # -- the loop --

    def run(self, duration: float | None = None) -> None:
        """Tick at ``options.fps`` until stopped (or for ``duration`` seconds)."""
        interval = 1.0 / self.fps
        start = self.clock.now()
        next_tick = start
        starved = StarvedLoop(self.fps, start)
        while not self._stop.is_set():
            now = self.clock.now()
            if duration is not None and now - start >= duration:
                break
            self.tick()
            next_tick += interval
            now = self.clock.now()
            if self._layout_applied:
                # The wall's own work, once: no lower priority of the decoders would help.
                self._layout_applied = False
                starved.restart(now)
            elif starved.observe(now) and self.pool.lower_priority():
                log.warning(
                    "the wall was drawn %.0f times a second of %.0f: the decoders now run "
                    "below it (nice +%d); cameras fall behind and skip frames instead",
                    starved.rate,
                    self.fps,
                    DECODER_NICENESS,
                )
            if next_tick < now - interval:
                next_tick = now  # behind: drop the missed ticks, never queue them
            self._stop.wait(max(0.0, next_tick - now))

    def tick(self) -> None:
        now = self.clock.now()
        if self.live is not None:
            if self.cluster is not None:
                self.cluster.tick()  # orders due now, before this frame is composed
            result = self.live.poll()
            if result is not None:
                self.counters.layout_change(result.outcome)
            self.live.tick(now)
            if now >= self._next_state_check:
                self._check_state()
        if now >= self._next_health:
            self._next_health = now + HEALTH_EVERY_S
            self._refresh_health(now)
            self.pool.supervise()
            if self.display is not None:
                self.display.check_monitors()
            self._update_starting_banners()
        wall_now = self.clock.wall_time()
        for output_id, composed in self.composed.items():
            if self._stop.is_set():
                # Asked to stop mid-tick (SIGTERM): the screens left are not drawn again.
                # A software renderer takes ~30 ms of CPU a 1080p output (measured,
                # demo/virtual_wall.py): a tick of 14 is half a second, more when loaded.
                return
            dirty = composed.compose(now, wall_now, self._notice_for)
            if self.display is None or self.display.present(output_id, composed.canvas, dirty):
                self.counters.drew(output_id)  # headless: composed
        self.pictures.serve(self._picture)  # copies only: encoded in the server's threads
        # Commands (the API's, the socket's) after the pictures, not before: answering
        # reads (status, cameras, layout) takes the loop a few ms, which delayed every
        # frame of the tick (benchmarks/api_load.py). A change is composed at the next
        # tick, before any picture asked for after its answer is copied.
        if self.live is not None:
            self._serve_commands()
        if self.display is not None and not self.display.dispatch_events():
            log.info("a window was closed: stopping")
            self._stop.set()
        if self.snapshots is not None:
            self.snapshots.maybe_write(now, self.canvases)
        if self._report.is_set():
            self._report.clear()
            self.log_frame_ages()
        if self._status is not None:
            self._status.maybe_write(now, self.status)
        self.ticks += 1
        self._on_duty(now)
        self.counters.loop_seconds.observe(self.clock.now() - now)

    # -- changing the layout while running --

    def apply_layout(self, layout: Layout) -> str:
        """Show ``layout`` from the next frame on; says what changed.

        Cameras that stay keep their decoders (no reconnect; a tile whose
        camera and size are unchanged keeps its picture); a new tile size is
        one more rendition of the running decoder. Raises CompositorError, and
        changes nothing, if the change needs a restart.
        """
        self._layout_applied = True  # even if refused below: the tick was spent on it
        outputs = select_outputs(layout, self.options.outputs)
        if self.display is not None and _output_shape(outputs) != _output_shape(self.outputs):
            raise CompositorError(
                "the outputs changed (added, removed, resized or moved to another monitor): "
                "that needs a restart of the wall; nothing of this change was applied"
            )
        placed = {output.id: layout.placed_tiles(output.id) for output in outputs}
        change = self.pool.apply(layout.cameras, rendition_keys(placed))
        self.layout, self._redactor = layout, layout.redactor()
        composed = {}
        reconnected = set(change.restarted)  # new slots, even where the tiles did not move
        for output in outputs:
            old = self.composed.get(output.id)
            size = (output.size[0], output.size[1])
            if (
                old is not None
                and old.shows(placed[output.id], size)
                and not reconnected.intersection(old.cameras)
            ):
                composed[output.id] = old  # nothing moved: not even a copy
            else:
                # The display sends a new canvas whole: cells left empty go black on screen.
                composed[output.id] = self._compose(output, placed[output.id])
        self.outputs, self.composed = outputs, composed
        self.pool.release_retired()  # no canvas reads the old slots any more
        # What the wall keeps per camera goes with the camera: reloads may bring new ids
        # for weeks on end.
        shown = set(self.pool.camera_ids)
        self.cameras.forget(shown)
        # Metrics forget what left the wall: their tables stay as big as the layout.
        self.frame_ages.keep_only(shown)
        self.counters.reconnects.keep_only(shown)
        self.counters.keep_outputs(o.id for o in outputs)
        self._refresh_health(self.clock.now())  # the new tiles get their notices at once
        return change.describe()

    def _on_request(self, request: dict[str, Any]) -> dict[str, Any]:
        """A control socket request, on its connection's thread: through the inbox to the
        render loop like the HTTP API's, as the wall's own user (only it reaches the
        socket). Errors (CompositorError, BusyError) are the socket's to answer."""
        return {"ok": True, **self.inbox.submit(parse_command(request), CLI)}

    def _serve_commands(self) -> None:
        """The commands waiting in the inbox (the socket's, the API's), between two frames."""
        if self._commands is None:
            return
        try:
            self.inbox.drain(self._commands.handle)
        except Exception:  # a bug: its caller was told; the wall draws on
            log.exception("a command failed")

    # -- what the handler and the API read (compositor.control.handler.Wall) --

    @property
    def output_ids(self) -> list[str]:
        return [output.id for output in self.outputs]

    def status_changed(self) -> None:
        self._write_status_now()

    def layout_changed(self, outcome: str) -> None:
        self.counters.layout_change(outcome)

    def _view(self) -> WallView:
        return WallView(
            layout=self.layout,
            pool=self.pool,
            watch=self.cameras,
            placed={output_id: c.placed for output_id, c in self.composed.items()},
            sizes={output_id: c.size for output_id, c in self.composed.items()},
            frame_ages=self.frame_ages,
            status_of=self._camera_status,
            redactor=self._redactor,
        )

    def camera_report(self) -> list[dict[str, Any]]:
        """Every camera of the layout: its state and frame ages, and the tiles showing it."""
        return camera_report(self._view())

    def _picture(self, key: PictureKey) -> Picture:
        """A copy of what an output shows, or of a camera's latest frame (render loop)."""
        kind, name = key
        if kind == "output":
            canvas = self.canvases.get(name)
            if canvas is None:
                close = nearest(name, self.canvases)
                raise NotFoundError(
                    f"unknown output {name!r}; the wall shows {', '.join(self.canvases)}",
                    nearest=close,
                    outputs=list(self.canvases),
                )
            return canvas.freeze()
        if name not in self.layout.cameras:
            close = nearest(name, self.layout.cameras)
            raise NotFoundError(
                f"unknown camera {name!r}"
                + (f" (did you mean {', '.join(close)}?)" if close else ""),
                nearest=close,
            )
        placed = {output_id: c.placed for output_id, c in self.composed.items()}
        keys = [key for key in rendition_keys(placed) if key[0] == name]
        if not keys:
            raise NotFoundError(
                f"camera {name} is on no tile, so the wall does not decode it: call it up first"
            )
        slot = self.pool.slot(max(keys, key=lambda key: key[1] * key[2]))
        for _ in range(3):  # the decoder may overtake a copy: the next one is there already
            view = slot.view()
            if view is None:
                raise RefusedError(f"camera {name} has sent no picture yet")
            picture = CanvasImage(view.y.copy(), view.u.copy(), view.v.copy(), view.matrix, ())
            if slot.intact(view):
                return picture
        raise RefusedError(f"camera {name}: its picture kept changing while copied; try again")

    def _notice_for(self, output_id: str, camera_id: str, tile: PlacedTile) -> TileNotice | None:
        """What a camera tile says: its camera's state, and on an alarm tile the alarm
        (ALARM · title · age) over the picture, the camera's state under it."""
        notice = self.cameras.notices.get(camera_id)
        live = self.live
        if live is None or not live.operator.showing or not tile.number:
            return notice
        alarm = live.operator.alarm_on((output_id, tile.number))
        if alarm is None or alarm.camera != camera_id:
            return notice
        title = alarm.title or self.layout.camera_name(alarm.camera)
        age = format_duration(self.clock.now() - alarm.raised_at)
        head = f"ALARM · {title} · {age}"
        if notice is None:
            return TileNotice((head,), dim=False, severity="alarm", at_top=True)
        return TileNotice((head, *notice.lines), dim=notice.dim, severity=notice.severity)

    def _write_status_now(self) -> None:
        if self._status is not None:
            self._status.maybe_write(self.clock.now(), self.status, force=True)

    def status(self) -> dict[str, Any]:
        """What status.json says: the layout, the last change, each camera's state."""
        extra = {
            **process_identity(),
            **(self.live.describe() if self.live is not None else {}),
            "api": self.api.url if self.api is not None else None,
            "state_problems": self._write_problems(),
            "cluster": self.cluster.describe() if self.cluster is not None else None,
        }
        return status_document(self._view(), extra, self.clock.now(), self.clock.wall_time())

    def _write_problems(self) -> list[str]:
        """What the wall could not write (state folder, snapshots), and why."""
        problems = self._state.problems() if self._state is not None else []
        if self.snapshots is not None and self.snapshots.problem is not None:
            problems.append(f"snapshots: {self.snapshots.problem}")
        return problems

    def _camera_status(self, camera_id: str) -> CameraStatus:
        """The decoder's status of a camera, its reason fit to be shown.

        A decoder hides passwords by pattern only (it does not know the layout);
        a reason quoting the URL may still hold the value of a ${VAR}: hidden here.
        """
        status = self.pool.status(camera_id)
        if not status.reason:
            return status
        return replace(status, reason=self._redactor.text(status.reason))

    def log_frame_ages(self) -> None:
        """Log p50/p99 frame age per camera (the age of what is on screen)."""
        for camera_id in self.frame_ages.cameras():
            ages = self.frame_ages.percentiles(camera_id)
            if ages is not None:
                log.info(
                    "frame age %s: p50 %.0f ms, p99 %.0f ms",
                    camera_id,
                    ages[0] * 1e3,
                    ages[1] * 1e3,
                )

    def _log_render_costs(self, now: float) -> None:
        """Per output: bytes uploaded per second and render CPU, since the last summary."""
        display = self.display
        if display is None:
            return
        elapsed = now - self._costs_since
        if elapsed > 0 and self._costs_since > 0:
            parts = []
            for output_id in display.output_ids:
                uploaded = display.bytes_uploaded_by(output_id)
                cpu = display.render_cpu_by(output_id)
                before_bytes, before_cpu = self._costs.get(output_id, (0, 0.0))
                parts.append(
                    f"{output_id} {(uploaded - before_bytes) / elapsed / 1e6:.1f} MB/s "
                    f"{(cpu - before_cpu) / elapsed * 1e3:.0f} ms/s"
                )
            log.info("render: %s", ", ".join(parts))
        self._costs = {
            o: (display.bytes_uploaded_by(o), display.render_cpu_by(o)) for o in display.output_ids
        }
        self._costs_since = now

    def _refresh_health(self, now: float) -> None:
        statuses = {camera_id: self._camera_status(camera_id) for camera_id in self.pool.camera_ids}
        self.cameras.refresh(statuses, self.layout.camera_name, now, self.clock.wall_time())
        for composed in self.composed.values():
            composed.refresh_notices(self._notice_for)
        if now >= self._next_summary:
            self._log_render_costs(now)
            self._next_summary = now + SUMMARY_EVERY_S
            log.info("wall: %s", self.cameras.summary())

    # -- on duty: never a black screen, systemd's notify protocol (issue 17) --

    def _update_starting_banners(self) -> None:
        """Each output shows its id and "starting: N cameras connecting" until pictures come."""
        for composed in self.composed.values():
            connecting = sum(
                1 for c in composed.cameras if self.cameras.state(c) in ("starting", "connecting")
            )
            composed.update_starting(connecting)

    def outputs_drawn(self) -> tuple[int, int]:
        """(outputs drawn on their screens at least once and still there, all outputs)."""
        draws = self.counters.draws()
        shown = self.display.output_ids if self.display is not None else list(self.composed)
        return sum(1 for o in self.outputs if o.id in shown and draws.get(o.id)), len(self.outputs)

    def status_line(self) -> str:
        """systemd's STATUS: "14/14 outputs, 38/40 cameras live"."""
        drawn, outputs = self.outputs_drawn()
        live = sum(1 for state in self.camera_states.values() if state == "live")
        return f"{drawn}/{outputs} outputs, {live}/{len(self.pool.camera_ids)} cameras live"

    def _on_duty(self, now: float) -> None:
        """After every tick, and only there: READY once every output with a screen has been
        drawn, WATCHDOG while the loop ticks, the STATUS line when it changes."""
        notifier = self.notifier
        if notifier is None:
            return
        if not notifier.ready:
            drawn, outputs = self.outputs_drawn()
            # Outputs waiting for a missing monitor cannot draw: READY counts those shown.
            shown = len(self.display.output_ids) if self.display is not None else outputs
            if drawn and drawn >= shown:
                notifier.mark_ready(self.status_line())
        elif now >= self._status_due:
            self._status_due = now + HEALTH_EVERY_S
            notifier.status(self.status_line())
        notifier.loop_alive()
