"""A wall whose layout is broken at start: every screen says why, until the file is fixed.

``videowall run LAYOUT --wait-for-valid-layout`` (the service does this) does
not exit on a broken file: a service that exits is restarted, fails again,
and leaves the room in front of black screens. Instead every monitor gets a
window saying what is wrong (each error at its ``file:line:col``), the log
gets the errors at ERROR (``journalctl -p err``), systemd is told the wall is
up (READY, the watchdog, a STATUS line saying the layout is broken), and the
file is watched: once it is fixed, the real wall starts in the same process.

Headless, the notice is one canvas, ``layout-error``, written with the
snapshots like an output.
"""

from __future__ import annotations

__all__ = ["FALLBACK_OUTPUT", "FallbackOptions", "FallbackWall"]

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from compositor.compose.canvas import OutputCanvas
from compositor.compose.screen_notice import notice_canvas
from compositor.core.clock import Clock
from compositor.core.errors import CompositorError, LayoutError
from compositor.display.monitors import Monitor, query_monitors
from compositor.layout.models import Layout
from compositor.layout.parse import load_layout
from compositor.live.reload import LayoutWatcher
from compositor.live.snapshots import SnapshotWriter
from compositor.service.notify import ServiceNotifier

if TYPE_CHECKING:
    from compositor.display.windows import WallDisplay

log = logging.getLogger(__name__)

FALLBACK_OUTPUT = "layout-error"  # headless: the one canvas of a fallback wall
HEADLESS_SIZE = (1280, 720)
WINDOWED_SIZE = (960, 540)
TICK_S = 0.1  # the loop: events, the watchdog, the file (polled at its own pace)


@dataclass(frozen=True, slots=True)
class FallbackOptions:
    """Where the notices go: the wall's own options (``videowall run``'s)."""

    headless: bool = False
    windowed: bool = False
    display_name: str | None = None
    snapshot_dir: Path | None = None
    snapshot_every: float = 1.0


class FallbackWall:
    """Shows why ``path`` cannot be shown on every screen; :meth:`run` returns the layout
    once the file is valid (None if stopped first)."""

    def __init__(
        self,
        path: Path,
        error: LayoutError,
        options: FallbackOptions,
        clock: Clock,
        notifier: ServiceNotifier | None = None,
    ) -> None:
        self.path = path
        self.options = options
        self.clock = clock
        self.notifier = notifier
        self.error = error
        self.canvases: dict[str, OutputCanvas] = {}
        self._monitors: dict[str, Monitor] = {}
        self.display: WallDisplay | None = None if options.headless else self._open_display()
        self._watcher = LayoutWatcher(path)
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._snapshots = (
            SnapshotWriter(options.snapshot_dir, options.snapshot_every)
            if options.snapshot_dir is not None
            else None
        )
        self._paint()
        self._log_error()

    # -- what the screens say --

    def _lines(self) -> list[str]:
        issues = [str(issue) for issue in self.error.issues]
        count = f"{len(issues)} error{'s' if len(issues) != 1 else ''}"
        return [f"the layout {self.path} cannot be shown: {count}", "", *issues]

    def _picture(self, title: str, width: int, height: int) -> OutputCanvas:
        return notice_canvas(
            width,
            height,
            title,
            self._lines(),
            footer=f"the wall starts as soon as {self.path.name} is fixed: it is watched",
            severity="error",
        )

    def _picture_for(self, monitor: Monitor) -> OutputCanvas:
        return self._picture(monitor.name, monitor.width, monitor.height)

    def _paint(self) -> None:
        if self.display is None:
            if self.options.headless:
                self.canvases = {FALLBACK_OUTPUT: self._picture(FALLBACK_OUTPUT, *HEADLESS_SIZE)}
            return
        self.canvases = {
            name: self._picture_for(monitor)
            if monitor is not None
            else self._picture(name, *WINDOWED_SIZE)
            for name, monitor in self._targets().items()
        }

    def _targets(self) -> dict[str, Monitor | None]:
        if self.options.windowed:
            return {FALLBACK_OUTPUT: None}
        return dict(self._monitors)

    def _open_display(self) -> WallDisplay:
        from compositor.display.windows import OutputWindowSpec, WallDisplay

        if self.options.windowed:
            specs = [OutputWindowSpec(FALLBACK_OUTPUT, *WINDOWED_SIZE)]
        else:
            self._monitors = {m.name: m for m in query_monitors(self.options.display_name)}
            if not self._monitors:
                raise CompositorError("the X server reports no monitor to show the errors on")
            specs = [
                OutputWindowSpec(m.name, m.width, m.height, m.name) for m in self._monitors.values()
            ]
        return WallDisplay(
            specs,
            windowed=self.options.windowed,
            display_name=self.options.display_name,
            # A monitor plugged in meanwhile says it too.
            unused=self._picture_for,
        )

    def _log_error(self) -> None:
        log.error(
            "layout %s cannot be shown; its errors are on every screen, and the wall starts "
            "as soon as the file is fixed:\n  %s",
            self.path,
            "\n  ".join(str(issue) for issue in self.error.issues),
        )

    def status_line(self) -> str:
        count = len(self.error.issues)
        return f"layout broken: {count} error{'s' if count != 1 else ''} in {self.path}; waiting"

    # -- the loop --

    def request_stop(self) -> None:
        """Safe from a signal handler."""
        self._stop.set()

    def request_reload(self) -> None:
        """Read the file again now (SIGHUP); safe from a signal handler."""
        self._reload.set()

    def run(self) -> Layout | None:
        """Until the file holds a valid layout (returned) or a stop (None)."""
        while not self._stop.is_set():
            layout = self.tick()
            if layout is not None:
                return layout
            self._stop.wait(TICK_S)
        return None

    def tick(self) -> Layout | None:
        now = self.clock.now()
        if self._watcher.poll(now) or self._reload.is_set():
            self._reload.clear()
            try:
                layout = load_layout(self.path)
            except LayoutError as exc:
                if [str(i) for i in exc.issues] != [str(i) for i in self.error.issues]:
                    self.error = exc
                    self._paint()
                    self._log_error()
            else:
                log.info("layout %s is valid now: starting the wall", self.path)
                return layout
        drawn = self._draw()
        if self._snapshots is not None:
            self._snapshots.maybe_write(now, self.canvases)
        notifier = self.notifier
        if notifier is not None:
            notifier.loop_alive()
            if drawn:
                notifier.mark_ready(self.status_line())
            notifier.status(self.status_line())
        return None

    def _draw(self) -> bool:
        """Present every notice (drawn again only when needed); True once any is on screen."""
        display = self.display
        if display is None:
            return True
        display.check_monitors()
        for name, canvas in self.canvases.items():
            display.present(name, canvas, [])
        if not display.dispatch_events():
            log.info("a window was closed: stopping")
            self._stop.set()
        return bool(display.output_ids)

    def close(self) -> None:
        if self._snapshots is not None:
            self._snapshots.request_stop()  # a snapshot being written: no further PNG
        if self.display is not None:
            self.display.close()
            self.display = None
        if self._snapshots is not None:
            self._snapshots.close()
