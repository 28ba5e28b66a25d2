"""Prometheus metrics of a running wall: a registry, its collector, the exposition.

One :class:`WallMetrics` per wall: a private ``CollectorRegistry`` (no global
registry: two walls in one test process keep apart) holding the wall's
collector and the process collector (the render process's CPU, memory,
descriptors). Each scrape reads the wall's state then
(:func:`compositor.metrics.readings.read_wall`); the render loop only counts.

Serve it with :meth:`WallMetrics.exposition` from any HTTP route (the API
server's ``GET /metrics``), or with :class:`MetricsServer`, prometheus_client's
own HTTP server, on a loopback address (``videowall run --metrics``).

Names follow Prometheus's conventions: ``videowall_`` prefix, base units
(seconds, bytes), ``_total`` for counters, one label per thing a technician
filters by (camera, output, monitor, reason, result).
"""

from __future__ import annotations

__all__ = ["MetricsServer", "WallCollector", "WallMetrics", "parse_listen_address"]

import ipaddress
import logging
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, ProcessCollector
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder, start_http_server
from prometheus_client.registry import Collector

from compositor import __version__
from compositor.core.errors import CompositorError
from compositor.core.histogram import HistogramReading
from compositor.metrics.counters import LAYOUT_OUTCOMES
from compositor.metrics.readings import CAMERA_STATES, WallReadings, WallState, read_wall

log = logging.getLogger(__name__)


def _buckets(reading: HistogramReading) -> list[tuple[str, float]]:
    bounds = [f"{bound:g}" for bound in reading.bounds] + ["+Inf"]
    return list(zip(bounds, [float(c) for c in reading.cumulative], strict=True))


class WallCollector(Collector):
    """Turns one :class:`WallReadings`, read at each scrape, into metric families."""

    def __init__(self, read: Callable[[], WallReadings]) -> None:
        self._read = read

    def collect(self) -> Iterator[Metric]:
        readings = self._read()
        yield from self._cameras(readings)
        yield from self._outputs(readings)
        yield from self._wall(readings)

    def _cameras(self, r: WallReadings) -> Iterator[Metric]:
        info = InfoMetricFamily(
            "videowall_camera", "A camera of the layout: its name and the stream decoded",
            labels=["camera"],
        )  # fmt: skip
        up = GaugeMetricFamily(
            "videowall_camera_up", "1 while the camera's pictures come in (live or late)",
            labels=["camera"],
        )  # fmt: skip
        state = GaugeMetricFamily(
            "videowall_camera_state",
            "1 for the camera's state: live, delayed, stalled, connecting, retrying, stopped",
            labels=["camera", "state"],
        )
        degraded = GaugeMetricFamily(
            "videowall_camera_degraded",
            "1 while the camera decodes reference frames only (the host cannot keep up)",
            labels=["camera"],
        )
        lag = GaugeMetricFamily(
            "videowall_camera_lag_seconds",
            "How far the camera's decoder is behind its stream",
            labels=["camera"],
        )
        frames = CounterMetricFamily(
            "videowall_camera_frames", "Frames decoded from the camera", labels=["camera"]
        )
        reconnects = CounterMetricFamily(
            "videowall_camera_reconnects",
            "Failed connections of the camera (each followed by a retry), by reason",
            labels=["camera", "reason"],
        )
        decoder = InfoMetricFamily(
            "videowall_camera_decoder",
            "What decodes the camera: the setting asked (decode), the device used (decoder: cpu, "
            "cuda, ...), and in detail why the CPU when a device was asked",
            labels=["camera"],
        )
        ages = HistogramMetricFamily(
            "videowall_camera_frame_age_seconds",
            "Age of each picture when it reaches the screen (decode to composition)",
            labels=["camera"],
        )
        for camera in r.cameras:
            c = camera.camera
            info.add_metric([c], {"name": camera.name, "stream": camera.stream})
            up.add_metric([c], 1.0 if camera.up else 0.0)
            for name in CAMERA_STATES:
                state.add_metric([c, name], 1.0 if camera.state == name else 0.0)
            degraded.add_metric([c], 1.0 if camera.degraded else 0.0)
            lag.add_metric([c], camera.lag)
            frames.add_metric([c], float(camera.frames))
            for reason, count in sorted(camera.reconnects.items()):
                reconnects.add_metric([c, reason], float(count))
            if camera.frame_ages is not None:
                ages.add_metric([c], _buckets(camera.frame_ages), camera.frame_ages.total)
            if camera.decoder:  # known from its first open on
                decoder.add_metric(
                    [c],
                    {
                        "decode": camera.decode,
                        "decoder": camera.decoder_device,
                        "detail": camera.decoder,
                    },
                )
        yield from (info, up, state, degraded, lag, frames, reconnects, ages, decoder)

    def _outputs(self, r: WallReadings) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "videowall_output_up",
            "1 while the output is drawn on its monitor (headless: composed)",
            labels=["output", "monitor"],
        )
        draws = CounterMetricFamily(
            "videowall_output_draws",
            "Times the output was drawn on its screen (headless: composed)",
            labels=["output"],
        )
        for output in r.outputs:
            up.add_metric([output.output, output.monitor], 1.0 if output.up else 0.0)
            draws.add_metric([output.output], float(output.draws))
        yield from (up, draws)

    def _wall(self, r: WallReadings) -> Iterator[Metric]:
        yield InfoMetricFamily("videowall_build", "The wall's version", {"version": __version__})
        yield CounterMetricFamily(
            "videowall_decoder_restarts",
            "Decoder processes restarted (died, hung, or a camera stuck inside FFmpeg)",
            value=float(r.decoder_restarts),
        )
        yield GaugeMetricFamily(
            "videowall_decoder_processes",
            "Decoder processes running",
            value=float(sum(1 for d in r.decoders if d.pid is not None)),
        )
        cpu = CounterMetricFamily(
            "videowall_decoder_cpu_seconds",
            "CPU time (user and system) of each decoder process since it started",
            labels=["worker"],
        )
        memory = GaugeMetricFamily(
            "videowall_decoder_resident_memory_bytes",
            "Resident memory of each decoder process",
            labels=["worker"],
        )
        for decoder in r.decoders:
            if decoder.cpu_seconds is not None and decoder.resident_bytes is not None:
                cpu.add_metric([str(decoder.worker)], decoder.cpu_seconds)
                memory.add_metric([str(decoder.worker)], float(decoder.resident_bytes))
        yield from (cpu, memory)
        changes = CounterMetricFamily(
            "videowall_layout_changes",
            "Layout changes (file edits, reloads, presets) by result: applied, refused, unchanged",
            labels=["result"],
        )
        for outcome in LAYOUT_OUTCOMES:
            changes.add_metric([outcome], float(r.layout_changes.get(outcome, 0)))
        yield changes
        loop = HistogramMetricFamily(
            "videowall_render_loop_seconds",
            "Duration of each tick of the render loop (compose and draw every output)",
        )
        loop.add_metric([], _buckets(r.loop_seconds), r.loop_seconds.total)
        yield loop
        yield GaugeMetricFamily(
            "videowall_render_target_fps",
            "Ticks a second the render loop aims at",
            value=r.target_fps,
        )


class WallMetrics:
    """The metrics of one wall: a registry of its own, and the bytes a scrape gets."""

    def __init__(self, wall: WallState) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(WallCollector(lambda: read_wall(wall)))
        self.registry.register(ProcessCollector(registry=None))

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The body and Content-Type for a scrape with this ``Accept`` header.

        Prometheus's text format, or OpenMetrics when the scraper asks for it.
        """
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type


def parse_listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6) on a loopback address, for --metrics.

    Loopback only: this server has no tokens. From other hosts, metrics are
    read through the API server, with a viewer token.
    """
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise CompositorError(f"--metrics {text!r}: give HOST:PORT, e.g. 127.0.0.1:9480")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise CompositorError(
            f"--metrics {text!r}: only a loopback address (127.0.0.1, ::1) is served "
            "without a token; other hosts read /metrics through the API server"
        )
    return host, int(port_text)


class MetricsServer:
    """prometheus_client's HTTP server for one wall's registry, in a daemon thread."""

    def __init__(self, metrics: WallMetrics, host: str, port: int) -> None:
        try:
            self._server: WSGIServer | None
            self._server, self._thread = start_http_server(port, host, metrics.registry)
        except OSError as exc:
            raise CompositorError(f"cannot serve metrics on {host}:{port}: {exc}") from None
        self.port = self._server.server_address[1]
        shown = host if ":" not in host else f"[{host}]"
        log.info("metrics: http://%s:%d/metrics", shown, self.port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            self._thread.join(timeout=2.0)
