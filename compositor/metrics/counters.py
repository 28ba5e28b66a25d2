"""What the render loop counts for the metrics: cheap increments, bounded tables.

Everything else the metrics show is read from the wall's state when
Prometheus scrapes (:mod:`compositor.metrics.readings`). These counters are
the events a scrape every 15 s would miss: each output drawn, each tick's
duration, each layout change, each failed connection of a camera.

Tables are keyed by what the layout has (outputs, cameras) or by a fixed set
(outcomes, reasons), and cameras and outputs that leave the layout are
forgotten: nothing grows over a run of weeks.
"""

from __future__ import annotations

__all__ = ["REASONS", "ReconnectCounter", "WallCounters", "reason_category"]

from collections.abc import Iterable

from compositor.core.histogram import LOOP_SECONDS_BOUNDS, Buckets
from compositor.slots import CameraState, CameraStatus

# A camera's failure reason (sources/camera.py's describe_error and the open
# timeouts), by its first words, to a label value of a fixed set.
_REASON_PREFIXES = (
    ("connection refused", "refused"),
    ("unauthorised", "unauthorised"),
    ("forbidden", "forbidden"),
    ("not found", "not_found"),
    ("timeout", "timeout"),
    ("no valid stream", "no_stream"),
    ("no video", "no_stream"),
    ("unsupported codec", "unsupported_codec"),
    ("stream ended", "stream_ended"),
    ("connection reset", "reset"),
    ("network error", "network"),
    ("stream error", "stream_error"),
)
REASONS = (*dict.fromkeys(label for _, label in _REASON_PREFIXES), "other")
LAYOUT_OUTCOMES = ("applied", "refused", "unchanged")


def reason_category(reason: str) -> str:
    """The label value of a failure reason: one of :data:`REASONS`."""
    text = reason.strip().lower()
    for prefix, label in _REASON_PREFIXES:
        if text.startswith(prefix):
            return label
    return "other"


class ReconnectCounter:
    """Counts each failed connection of each camera, by reason.

    A decoder publishes RETRYING once per failure, with the moment the camera
    went down and its attempts since: a new pair is a new failure. The render
    loop looks every 0.25 s and a retry waits at least 0.8 s (backoff, 1 s
    -20 %), so no failure passes unseen while the loop runs.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, int]] = {}
        self._counts: dict[str, dict[str, int]] = {}

    def observe(self, camera_id: str, status: CameraStatus) -> None:
        if status.state is not CameraState.RETRYING:
            return
        key = (status.since, status.attempts)
        if self._seen.get(camera_id) == key:
            return
        self._seen[camera_id] = key
        counts = self._counts.setdefault(camera_id, {})
        reason = reason_category(status.reason)
        counts[reason] = counts.get(reason, 0) + 1

    def keep_only(self, camera_ids: Iterable[str]) -> None:
        kept = set(camera_ids)
        for table in (self._seen, self._counts):
            for camera_id in [c for c in table if c not in kept]:
                del table[camera_id]

    def reading(self) -> dict[str, dict[str, int]]:
        """Per camera, failures by reason (copies: safe to read from another thread)."""
        return {camera: dict(counts) for camera, counts in list(self._counts.items())}


class WallCounters:
    """Counted on the render loop; read by a metrics scrape from another thread."""

    def __init__(self) -> None:
        self.loop_seconds = Buckets(LOOP_SECONDS_BOUNDS)
        self.reconnects = ReconnectCounter()
        self._draws: dict[str, int] = {}
        self._layout_changes = dict.fromkeys(LAYOUT_OUTCOMES, 0)

    def drew(self, output_id: str) -> None:
        self._draws[output_id] = self._draws.get(output_id, 0) + 1

    def layout_change(self, outcome: str) -> None:
        if outcome in self._layout_changes:
            self._layout_changes[outcome] += 1

    def keep_outputs(self, output_ids: Iterable[str]) -> None:
        kept = set(output_ids)
        for output_id in [o for o in self._draws if o not in kept]:
            del self._draws[output_id]

    def draws(self) -> dict[str, int]:
        return dict(self._draws)

    def layout_changes(self) -> dict[str, int]:
        return dict(self._layout_changes)
