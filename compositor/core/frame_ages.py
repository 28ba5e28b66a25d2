"""Frame age: how old a picture is when it reaches the canvas, per camera.

Age = composition time - decode time, both on the system-wide monotonic
clock. Kept in a fixed ring per camera, so measuring costs no growing memory
over a run of weeks.
"""

from __future__ import annotations

__all__ = ["FrameAges"]

import numpy as np
import numpy.typing as npt


class FrameAges:
    def __init__(self, keep: int = 512) -> None:
        self._keep = keep
        self._rings: dict[str, npt.NDArray[np.float64]] = {}
        self._counts: dict[str, int] = {}

    def add(self, camera_id: str, age: float) -> None:
        ring = self._rings.get(camera_id)
        if ring is None:
            ring = self._rings[camera_id] = np.zeros(self._keep, dtype=np.float64)
            self._counts[camera_id] = 0
        count = self._counts[camera_id]
        ring[count % self._keep] = age
        self._counts[camera_id] = count + 1

    def percentiles(self, camera_id: str) -> tuple[float, float] | None:
        """(p50, p99) in seconds over the last ``keep`` frames; None before any frame."""
        count = self._counts.get(camera_id, 0)
        if not count:
            return None
        recent = self._rings[camera_id][: min(count, self._keep)]
        p50, p99 = np.percentile(recent, [50, 99])
        return float(p50), float(p99)

    def cameras(self) -> list[str]:
        return list(self._rings)
