"""The wall's state as plain values, read when Prometheus scrapes.

:func:`read_wall` runs on the scraping thread, not on the render loop: the
loop pays nothing for a scrape. It reads the camera status records (shared
memory, lock-free), the decoder processes, and the loop's counters, with
care for the loop changing things meanwhile: each collection it walks is
copied first (one C-level copy, atomic under the GIL), and a camera removed
between two reads is left out of that scrape rather than failing it.
"""

from __future__ import annotations

__all__ = [
    "CameraReading",
    "DecoderReading",
    "OutputReading",
    "WallReadings",
    "WallState",
    "process_usage",
    "read_wall",
]

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from compositor.core.frame_ages import FrameAges
from compositor.core.histogram import HistogramReading
from compositor.layout.models import Layout, OutputConfig
from compositor.metrics.counters import WallCounters
from compositor.sources.pool import DecoderPool

if TYPE_CHECKING:
    from compositor.display.windows import WallDisplay

UP_STATES = frozenset({"live", "delayed"})  # pictures come (late ones too)
CAMERA_STATES = ("live", "delayed", "stalled", "connecting", "retrying", "stopped")


class WallState(Protocol):
    """What the metrics read of a running wall (:class:`compositor.app.WallApp` has it)."""

    @property
    def pool(self) -> DecoderPool: ...
    @property
    def layout(self) -> Layout: ...
    @property
    def outputs(self) -> list[OutputConfig]: ...
    @property
    def display(self) -> WallDisplay | None: ...
    @property
    def camera_states(self) -> dict[str, str]: ...
    @property
    def counters(self) -> WallCounters: ...
    @property
    def frame_ages(self) -> FrameAges: ...
    @property
    def fps(self) -> float: ...


@dataclass(frozen=True, slots=True)
class CameraReading:
    camera: str
    name: str
    stream: str  # "main" or "sub"
    state: str  # one of CAMERA_STATES
    frames: int
    degraded: bool  # decoding reference frames only: the host is behind
    lag: float  # seconds its decoder is behind the stream
    reconnects: dict[str, int] = field(default_factory=dict)  # failed connections by reason
    frame_ages: HistogramReading | None = None
    decode: str = "cpu"  # asked: the camera's decode:, else the wall's --decode
    decoder: str = ""  # what decodes it: "cpu", "cuda", "cpu (cuda unavailable: ...)"; "": not yet

    @property
    def decoder_device(self) -> str:
        """The device decoding it now ("cpu", "cuda", ...); "" before its first open."""
        return self.decoder.split(" ", 1)[0]

    @property
    def up(self) -> bool:
        return self.state in UP_STATES


@dataclass(frozen=True, slots=True)
class OutputReading:
    output: str
    monitor: str  # the connector it is on (or asked for); "" headless or windowed
    up: bool
    draws: int


@dataclass(frozen=True, slots=True)
class DecoderReading:
    worker: int
    pid: int | None
    cpu_seconds: float | None
    resident_bytes: int | None


@dataclass(frozen=True, slots=True)
class WallReadings:
    cameras: list[CameraReading]
    outputs: list[OutputReading]
    decoders: list[DecoderReading]
    decoder_restarts: int
    layout_changes: dict[str, int]
    loop_seconds: HistogramReading
    target_fps: float


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def process_usage(pid: int) -> tuple[float, int] | None:
    """CPU seconds (user + system) and resident bytes of process ``pid``; None if gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            text = stat.read()
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    # The command name (field 2) may hold spaces: fields resume after its ")".
    fields = text[text.rfind(")") + 2 :].split()
    try:
        ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    except (IndexError, ValueError):
        return None
    return ticks / _CLOCK_TICKS, resident_pages * _PAGE_SIZE


Reconnects = dict[str, dict[str, int]]


def _camera(wall: WallState, camera_id: str, reconnects: Reconnects) -> CameraReading:
    pool, layout = wall.pool, wall.layout
    status = pool.status(camera_id)
    url = pool.url_of(camera_id)
    return CameraReading(
        camera=camera_id,
        name=layout.camera_name(camera_id),
        stream="main" if url == layout.cameras[camera_id].url else "sub",
        state=wall.camera_states.get(camera_id, "connecting"),
        frames=status.frames,
        degraded=status.skipping > 0,
        lag=status.lag,
        reconnects=reconnects.get(camera_id, {}),
        frame_ages=wall.frame_ages.histogram(camera_id),
        decode=pool.decode_of(camera_id),
        decoder=status.decoder,
    )


def _output(wall: WallState, output: OutputConfig, draws: dict[str, int]) -> OutputReading:
    display = wall.display
    asked = "" if output.monitor is None else str(output.monitor)
    if display is None:  # headless: up once composed
        return OutputReading(output.id, "", draws.get(output.id, 0) > 0, draws.get(output.id, 0))
    monitor = display.monitor_of(output.id)
    has_window = output.id in display.output_ids
    return OutputReading(
        output.id,
        monitor.name if monitor is not None else asked,
        has_window and draws.get(output.id, 0) > 0,
        draws.get(output.id, 0),
    )


def read_wall(wall: WallState) -> WallReadings:
    """Everything the metrics show, read now (from any thread)."""
    counters = wall.counters
    reconnects = counters.reconnects.reading()
    cameras = []
    for camera_id in wall.pool.camera_ids:
        try:
            cameras.append(_camera(wall, camera_id, reconnects))
        except KeyError:  # removed by a layout change since the list was taken
            continue
    draws = counters.draws()
    outputs = [_output(wall, output, draws) for output in list(wall.outputs)]
    decoders = []
    restarts = 0
    for index, pid, worker_restarts in wall.pool.worker_info():
        restarts += worker_restarts
        usage = process_usage(pid) if pid is not None else None
        decoders.append(
            DecoderReading(
                index,
                pid,
                usage[0] if usage is not None else None,
                usage[1] if usage is not None else None,
            )
        )
    return WallReadings(
        cameras=cameras,
        outputs=outputs,
        decoders=decoders,
        decoder_restarts=restarts,
        layout_changes=counters.layout_changes(),
        loop_seconds=counters.loop_seconds.reading(),
        target_fps=wall.fps,
    )
