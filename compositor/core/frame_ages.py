"""Frame age: how old a picture is when it reaches the canvas, per camera.

Age = composition time - decode time, both on the system-wide monotonic
clock. Kept in a fixed ring per camera (percentiles for ``kill -USR1``) and in
fixed histogram buckets per camera (the metrics), so measuring costs no
growing memory over a run of weeks. Cameras no longer shown are dropped with
:meth:`FrameAges.keep_only`.
"""

from __future__ import annotations

__all__ = ["FrameAges"]

from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from compositor.core.histogram import FRAME_AGE_BOUNDS, Buckets, HistogramReading


class FrameAges:
    def __init__(self, keep: int = 512) -> None:
        self._keep = keep
        self._rings: dict[str, npt.NDArray[np.float64]] = {}
        self._counts: dict[str, int] = {}
        self._buckets: dict[str, Buckets] = {}

    def add(self, camera_id: str, age: float) -> None:
        ring = self._rings.get(camera_id)
        if ring is None:
            ring = self._rings[camera_id] = np.zeros(self._keep, dtype=np.float64)
            self._counts[camera_id] = 0
            self._buckets[camera_id] = Buckets(FRAME_AGE_BOUNDS)
        count = self._counts[camera_id]
        ring[count % self._keep] = age
        self._counts[camera_id] = count + 1
        self._buckets[camera_id].observe(age)

    def percentiles(self, camera_id: str) -> tuple[float, float] | None:
        """(p50, p99) in seconds over the last ``keep`` frames; None before any frame."""
        count = self._counts.get(camera_id, 0)
        if not count:
            return None
        recent = self._rings[camera_id][: min(count, self._keep)]
        p50, p99 = np.percentile(recent, [50, 99])
        return float(p50), float(p99)

    def histogram(self, camera_id: str) -> HistogramReading | None:
        """Every age recorded for ``camera_id``, in buckets; None before any frame."""
        buckets = self._buckets.get(camera_id)
        return buckets.reading() if buckets is not None else None

    def cameras(self) -> list[str]:
        return list(self._rings)

    def keep_only(self, camera_ids: Iterable[str]) -> None:
        """Forget cameras not in ``camera_ids`` (removed from the wall)."""
        kept = set(camera_ids)
        for camera_id in [c for c in self._rings if c not in kept]:
            del self._rings[camera_id], self._counts[camera_id], self._buckets[camera_id]
