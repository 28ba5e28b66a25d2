"""The demo's screens on a machine without one: a virtual wall its renderer draws at full rate.

A wall host draws its screens with a GPU, at their refresh rate. Xorg's dummy
driver has none: Mesa's software renderer (llvmpipe) draws there, on the CPU,
about 300 ms for 14 windows of 1920x1080 on the 2-core development VM (about
once a second once the decoders and the test cameras' encoders take their
share), and a wall drawn that slowly starves its decoders and shows DELAYED
pictures. So, where the renderer is software, the virtual monitors are small
(:data:`SOFTWARE_MODE`, 14 drawn in about 11 ms) at :data:`SOFTWARE_REFRESH`
Hz, and the wall draws at their full rate as a real one does at its monitors':
each window shows its 1920x1080 output scaled down by OpenGL (a texture
sampled at the window's size), and the snapshots are the outputs' own
pictures, full size. A hardware renderer gets monitors of 1920x1080 at 60 Hz.
The log says which, and why.
"""

from __future__ import annotations

__all__ = [
    "FULL_MODE",
    "FULL_REFRESH",
    "SOFTWARE_MODE",
    "SOFTWARE_REFRESH",
    "VirtualWall",
    "start_virtual_wall",
]

from dataclasses import dataclass

from compositor.core.errors import DisplayError, EnvironmentSetupError
from compositor.demo.virtual_x import VirtualDisplay
from compositor.display.windows import OpenGLInfo, opengl_info

# Measured on the 2-core VM with llvmpipe (docs/performance.md): 14 windows of 480x270
# drawn in about 11 ms, where 14 of 1920x1080 take about 300 ms.
SOFTWARE_MODE = (480, 270)
# The demo's cameras send 10 pictures a second; 25 Hz shows each as it comes, as a real
# wall's 60 Hz does, at a cost the two cores can spare beside decoding and encoding.
SOFTWARE_REFRESH = 25.0
FULL_MODE = (1920, 1080)
FULL_REFRESH = 60.0


@dataclass
class VirtualWall:
    display: VirtualDisplay
    renderer: OpenGLInfo
    mode: tuple[int, int]
    refresh: float

    def describe(self) -> str:
        """Why its monitors have this size, for the log."""
        width, height = self.mode
        monitors = f"{width}x{height} at {self.refresh:g} Hz"
        if self.renderer.software:
            return (
                f"monitors of {monitors}: the renderer here is {self.renderer.renderer}, "
                "on the CPU, which draws 14 such screens at their full rate where 14 of "
                "1920x1080 would take it about 300 ms a frame; each window shows its "
                "output scaled down, the snapshots are full size"
            )
        return f"monitors of {monitors}: the renderer here is {self.renderer.renderer}"


def start_virtual_wall(monitors: int = 14, columns: int = 7) -> VirtualWall:
    """Xorg's dummy driver with ``monitors`` monitors, sized for its renderer.

    EnvironmentSetupError if it cannot be started or has no OpenGL.
    """
    display = VirtualDisplay.dummy_wall(monitors, columns, SOFTWARE_MODE, SOFTWARE_REFRESH)
    try:
        renderer = opengl_info(display.name)
    except DisplayError as exc:
        display.stop()
        raise EnvironmentSetupError(f"the virtual X server draws nothing: {exc}") from None
    except BaseException:
        display.stop()
        raise
    if renderer.software:
        return VirtualWall(display, renderer, SOFTWARE_MODE, SOFTWARE_REFRESH)
    # A GPU draws here after all (a driver other than the dummy's): full-size monitors.
    display.stop()
    display = VirtualDisplay.dummy_wall(monitors, columns, FULL_MODE, FULL_REFRESH)
    return VirtualWall(display, renderer, FULL_MODE, FULL_REFRESH)
