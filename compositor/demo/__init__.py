"""Built-in test cameras and virtual screens, for the demo and the tests.

:mod:`testcams` serves generated cameras from a real RTSP server on
127.0.0.1; :mod:`virtual_x` starts X servers with virtual monitors. Nothing
here is used by a production wall. ``demo.yaml`` is the demo's layout, shipped
with the package so ``videowall demo`` works from an installed wheel.
"""

from __future__ import annotations

__all__ = ["DEMO_PORT", "default_demo_layout", "demo_cameras", "demo_server_for"]

from pathlib import Path
from urllib.parse import urlsplit

from compositor.core.errors import CompositorError
from compositor.demo.testcams import SyntheticCamera, SyntheticCameraServer
from compositor.layout.models import Layout

DEMO_PORT = 8554

# Distinct, saturated background colours (RGB), so each camera is known at a glance.
_PALETTE = [
    (200, 40, 40),
    (40, 150, 60),
    (40, 70, 200),
    (210, 160, 30),
    (150, 50, 170),
    (30, 160, 170),
    (220, 100, 30),
    (100, 100, 100),
    (120, 170, 40),
    (180, 40, 110),
    (60, 110, 150),
    (170, 120, 80),
    (90, 40, 160),
    (40, 120, 100),
    (190, 80, 80),
    (80, 80, 190),
]


def default_demo_layout() -> Path:
    """The demo layout, shipped in the package (``layouts/demo.yaml`` in a checkout links to it)."""
    path = Path(__file__).resolve().parent / "demo.yaml"
    if not path.is_file():
        raise CompositorError(f"the demo layout is not at {path}: pass a layout file")
    return path


def demo_cameras(layout: Layout) -> list[SyntheticCamera]:
    """A generated camera for each camera of ``layout``, served at its URL's path.

    Most are 16:9; every fifth is a 4:3 PAL camera with non-square pixels
    (704x576, SAR 12:11), so letterboxing of real-world cameras is on show.
    """
    cameras = []
    for index, (camera_id, camera) in enumerate(layout.cameras.items()):
        path = urlsplit(camera.url).path.lstrip("/") or camera_id
        pal = index % 5 == 4
        cameras.append(
            SyntheticCamera(
                path=path,
                label=f"{camera_id} · {camera.name or camera_id}",
                width=704 if pal else 640,
                height=576 if pal else 360,
                fps=10,
                color=_PALETTE[index % len(_PALETTE)],
                sar=(12, 11) if pal else (1, 1),
            )
        )
    return cameras


def demo_server_for(layout: Layout) -> SyntheticCameraServer:
    """A started server with one test camera per camera of the demo layout."""
    ports = {urlsplit(c.url).port for c in layout.cameras.values()}
    hosts = {urlsplit(c.url).hostname for c in layout.cameras.values()}
    if len(ports) != 1 or hosts != {"127.0.0.1"}:
        raise CompositorError(
            "a demo layout must point every camera at one local test server "
            f"(rtsp://127.0.0.1:{DEMO_PORT}/<path>)"
        )
    server = SyntheticCameraServer(demo_cameras(layout), port=ports.pop() or DEMO_PORT)
    server.start()
    return server
