"""``videowall screens`` and ``videowall identify``: which output is on which screen."""

from __future__ import annotations

__all__ = ["identify", "screens_report"]

import threading
import time

from compositor.compose.canvas import OutputCanvas
from compositor.compose.patterns import identify_pattern
from compositor.core.errors import DisplayError
from compositor.core.geometry import TileRect
from compositor.display.monitors import Monitor, assign_monitors, query_monitors
from compositor.layout.models import Layout


def screens_report(display_name: str | None, layout: Layout | None) -> list[str]:
    """One line per monitor; with a layout, where each output goes and what is missing."""
    monitors = query_monitors(display_name)
    lines = [f"{len(monitors)} monitor(s):"]
    placements = (
        assign_monitors([(o.id, o.monitor) for o in layout.outputs], monitors) if layout else []
    )
    on_monitor = {p.monitor.name: p.output_id for p in placements if p.monitor is not None}
    for index, monitor in enumerate(monitors):
        output = on_monitor.get(monitor.name)
        shown = f"  <- output {output}" if output else ("  (unused)" if layout else "")
        lines.append(f"  {index:>2}  {monitor.describe()}{shown}")
    missing = [p for p in placements if p.monitor is None]
    for placement in missing:
        wanted = f"monitor {placement.wanted!r}" if placement.wanted is not None else "a monitor"
        lines.append(f"output {placement.output_id}: no {wanted.removeprefix('a ')} — not shown")
    return lines


def identify(
    display_name: str | None,
    layout: Layout | None,
    seconds: float | None,
    stop: threading.Event,
) -> None:
    """Show each output's id, monitor and resolution over a test pattern on its screen."""
    from compositor.display.windows import OutputWindowSpec, WallDisplay

    monitors = query_monitors(display_name)
    if not monitors:
        raise DisplayError("the X server reports no monitor")
    by_name: dict[str, Monitor] = {m.name: m for m in monitors}
    if layout is not None:
        placements = assign_monitors([(o.id, o.monitor) for o in layout.outputs], monitors)
        pairs = [(p.output_id, p.monitor) for p in placements if p.monitor is not None]
    else:
        pairs = [(m.name, m) for m in monitors]
    specs = [OutputWindowSpec(oid, m.width, m.height, m.name) for oid, m in pairs]
    display = WallDisplay(specs, windowed=False, display_name=display_name, any_key_closes=True)
    patterns_shown: dict[str, OutputCanvas] = {}
    try:
        for spec in specs:
            monitor = by_name[str(spec.monitor)]
            title = spec.output_id if layout is not None else f"#{monitors.index(monitor)}"
            subtitle = f"{monitor.name} · {monitor.width}x{monitor.height}"
            # Painted in BGR, shown like any canvas: as YUV planes.
            pattern = OutputCanvas(spec.width, spec.height, [])
            pattern.put_bgr(
                TileRect(0, 0, spec.width, spec.height),
                identify_pattern(spec.width, spec.height, title, subtitle),
            )
            display.present(spec.output_id, pattern, pattern.compose())
            patterns_shown[spec.output_id] = pattern
        end = None if seconds is None else time.monotonic() + seconds
        while not stop.is_set() and (end is None or time.monotonic() < end):
            if not display.dispatch_events():
                break
            for output_id, pattern in patterns_shown.items():
                display.present(output_id, pattern, [])  # redraws only after an expose
            stop.wait(0.05)
    finally:
        display.close()
