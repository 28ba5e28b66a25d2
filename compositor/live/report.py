"""What the running wall says of itself: the status document and the camera report.

The status document is what ``status.json`` holds, ``videowall status`` and
``GET /api/status`` show; the camera report is ``GET /api/cameras``. Both are
built on the render loop from a :class:`WallView` of the moment, so they
never see a layout half applied. URLs and reasons in them have their secrets
hidden.
"""

from __future__ import annotations

__all__ = ["WallView", "camera_report", "status_document"]

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from compositor.core.clock import local_iso
from compositor.core.frame_ages import FrameAges
from compositor.core.redact import Redactor
from compositor.layout.models import Layout, PlacedTile
from compositor.live.cameras import DECODING, CameraWatch
from compositor.slots import CameraStatus
from compositor.sources.pool import DecoderPool


@dataclass(frozen=True)
class WallView:
    """The wall as the render loop has it now."""

    layout: Layout
    pool: DecoderPool
    watch: CameraWatch
    placed: Mapping[str, Sequence[PlacedTile]]  # this wall's outputs (--outputs, --host)
    sizes: Mapping[str, tuple[int, int]]
    frame_ages: FrameAges
    status_of: Callable[[str], CameraStatus]  # a camera's decoder status, secrets hidden
    redactor: Redactor

    def stream_of(self, camera_id: str) -> str:
        main = self.pool.url_of(camera_id) == self.layout.cameras[camera_id].url
        return "main" if main else "sub (url_low)"


def status_document(
    view: WallView, extra: Mapping[str, Any], now: float, wall_now: float
) -> dict[str, Any]:
    """``status.json``: the outputs, each decoded camera's state, and ``extra`` (the
    process, the live layout, the API, what could not be written) around them."""
    cameras = {}
    for camera_id in view.pool.camera_ids:
        status = view.status_of(camera_id)
        cameras[camera_id] = {
            "name": view.layout.camera_name(camera_id),
            "url": view.redactor.url(view.pool.url_of(camera_id)),
            "stream": view.stream_of(camera_id),
            "state": view.watch.state(camera_id),
            "reason": status.reason,
            "frames": status.frames,
            "since": local_iso(wall_now - (now - status.since)) if status.since else None,
            "source_size": list(status.source_size),
            "decoding": DECODING[min(status.skipping, len(DECODING) - 1)],
            # Asked (the camera's decode:, else --decode) and what decodes it now.
            "decode": view.pool.decode_of(camera_id),
            "decoder": status.decoder or None,
        }
    outputs = [
        {"id": output_id, "size": list(view.sizes[output_id]), "tiles": len(tiles)}
        for output_id, tiles in view.placed.items()
    ]
    return {
        **{key: value for key, value in extra.items() if key != "state_problems"},
        "updated_at": local_iso(wall_now),
        "outputs": outputs,
        "decoder_pids": view.pool.worker_pids(),
        "cameras": cameras,
        "state_problems": extra.get("state_problems", []),
    }


def camera_report(view: WallView) -> list[dict[str, Any]]:
    """Every camera of the layout: its state and frame ages, and the tiles showing it."""
    shown_on: dict[str, list[str]] = {}
    for output_id, tiles in view.placed.items():
        for tile in tiles:
            where = f"{output_id}.{tile.number}" if tile.number else f"{output_id} (span)"
            for camera_id in tile.cameras:
                shown_on.setdefault(camera_id, []).append(where)
    decoded = set(view.pool.camera_ids)
    report = []
    for camera_id in view.layout.cameras:
        entry: dict[str, Any] = {
            "id": camera_id,
            "name": view.layout.camera_name(camera_id),
            "shown_on": shown_on.get(camera_id, []),
        }
        if camera_id in decoded:
            status = view.status_of(camera_id)
            ages = view.frame_ages.percentiles(camera_id)
            entry |= {
                "state": view.watch.state(camera_id),
                "reason": status.reason,
                "frames": status.frames,
                "frame_age_ms": (
                    {"p50": round(ages[0] * 1e3, 1), "p99": round(ages[1] * 1e3, 1)}
                    if ages is not None
                    else None
                ),
                "stream": view.stream_of(camera_id),
                "decoder": status.decoder or None,
            }
        else:
            entry |= {
                "state": "idle",
                "reason": "on no tile: not decoded",
                "frames": 0,
                "frame_age_ms": None,
                "stream": None,
                "decoder": None,
            }
        report.append(entry)
    return report
