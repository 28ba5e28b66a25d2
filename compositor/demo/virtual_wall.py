"""The demo's screens on a machine without one: a virtual wall where a GPU draws it, else
headless.

A wall host draws its screens with a GPU, at their refresh rate, for next to no
CPU. Xorg's dummy driver has no GPU: Mesa's software renderer (llvmpipe) draws
there, on the CPU, and on the 2-core development VM a wall drawn that way takes
the CPU its decoders need, so they fall behind and a newcomer's first snapshots
show DELAYED banners. Measured there with ``python -m benchmarks.draw_cost``
(:data:`SOFTWARE_DRAW_CPU_MS`): 14 monitors of even 480x270 cost llvmpipe
about 75 ms of CPU a frame, 1.9 CPU-seconds a second at 25 Hz (240x136: 30 ms;
1920x1080: 470 ms), where the whole demo has two cores for 16 decoders, 16 test
cameras' encoders and the composition: no monitor size that shows anything is
drawn at full rate there.

So where the renderer is software, the demo runs headless: it composes every
output as the wall host does (its CPU's share of the work), and the snapshots,
which are what a machine without a screen shows anyway, are the outputs' own
pictures. Where a GPU draws after all, the virtual monitors are 1920x1080 at
60 Hz. The log says which, and why.
"""

from __future__ import annotations

__all__ = [
    "FULL_MODE",
    "FULL_REFRESH",
    "SOFTWARE_DRAW_CPU_MS",
    "ScreenChoice",
    "VirtualWall",
    "choose_screens",
    "start_virtual_wall",
]

from dataclasses import dataclass

from compositor.core.errors import DisplayError, EnvironmentSetupError
from compositor.core.pacing import HEADLESS_FPS
from compositor.demo.virtual_x import VirtualDisplay
from compositor.display.windows import OpenGLInfo, opengl_info

FULL_MODE = (1920, 1080)
FULL_REFRESH = 60.0
# CPU milliseconds llvmpipe took to draw 14 windows once (each showing a 1920x1080
# output, nothing uploaded; an upload adds little), by monitor size: medians of
# `python -m benchmarks.draw_cost --changed 0` over 20-40 frames, three runs on the
# 2-core development VM shared with other work (load 6-17), 2026-12-01: 240x136
# 23-32 ms, 480x270 68-80 ms, 1920x1080 450-480 ms (docs/performance.md).
SOFTWARE_DRAW_CPU_MS = {(240, 136): 30, (480, 270): 75, (1920, 1080): 470}
# The probe's monitor: Xorg with one small screen says which renderer its windows get.
_PROBE_MODE = (480, 270)


@dataclass(frozen=True)
class ScreenChoice:
    """Where the demo's outputs go: ``mode`` monitors at ``refresh`` Hz, or headless (None)."""

    mode: tuple[int, int] | None
    refresh: float
    why: str


def choose_screens(renderer: OpenGLInfo, monitors: int = 14) -> ScreenChoice:
    """Virtual monitors of 1920x1080 where ``renderer`` is a GPU; headless where it is software."""
    if not renderer.software:
        width, height = FULL_MODE
        return ScreenChoice(
            FULL_MODE,
            FULL_REFRESH,
            f"monitors of {width}x{height} at {FULL_REFRESH:g} Hz, drawn by {renderer.renderer}",
        )
    small = SOFTWARE_DRAW_CPU_MS[_PROBE_MODE] * monitors / 14
    full = SOFTWARE_DRAW_CPU_MS[FULL_MODE] * monitors / 14
    share = small * HEADLESS_FPS / 1000
    return ScreenChoice(
        None,
        HEADLESS_FPS,
        f"the only renderer here is {renderer.renderer}, on the CPU: drawing {monitors} "
        f"screens of even {_PROBE_MODE[0]}x{_PROBE_MODE[1]} once costs it about "
        f"{small:.0f} ms of CPU ({full:.0f} ms at 1920x1080; measured on a 2-core VM), "
        f"{share:.1f} CPU-seconds a second at {HEADLESS_FPS:g} Hz, taken from the decoders, "
        "where a wall host's GPU draws its screens for next to nothing; so the outputs are "
        "composed without windows, as the wall host's CPU composes them",
    )


@dataclass
class VirtualWall:
    """The choice made for this host's renderer, and the virtual X server if it has one."""

    renderer: OpenGLInfo
    choice: ScreenChoice
    display: VirtualDisplay | None  # None: headless


def start_virtual_wall(monitors: int = 14, columns: int = 7) -> VirtualWall:
    """Xorg's dummy driver with ``monitors`` monitors where a GPU draws them, else headless.

    EnvironmentSetupError if no virtual X server can be started or it has no OpenGL.
    """
    probe = VirtualDisplay.dummy_wall(1, 1, _PROBE_MODE)
    try:
        renderer = opengl_info(probe.name)
    except DisplayError as exc:
        raise EnvironmentSetupError(f"the virtual X server draws nothing: {exc}") from None
    finally:
        probe.stop()
    choice = choose_screens(renderer, monitors)
    if choice.mode is None:
        return VirtualWall(renderer, choice, None)
    display = VirtualDisplay.dummy_wall(monitors, columns, choice.mode, choice.refresh)
    return VirtualWall(renderer, choice, display)
