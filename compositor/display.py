"""Display: one OpenGL window per output, drawing its canvas as one texture.

The only module that imports pyglet and OpenGL. Per output one texture the
size of the canvas; each present uploads only the rectangles that changed,
straight from the canvas memory (no numpy copy: GL_UNPACK_ROW_LENGTH and
SKIP_* address the sub-rectangle in place). Windows never wait for vsync:
the wall's loop paces itself, and one screen's refresh must not hold back
the thirteen others.
"""

from __future__ import annotations

__all__ = ["MonitorInfo", "OutputWindowSpec", "WallDisplay", "list_monitors"]

import contextlib
import ctypes
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyglet

pyglet.options["debug_gl"] = False  # glGetError after every call costs more than the calls
# No hidden shadow window: it would open $DISPLAY at import, before we pick the display.
# Each new window's context shares objects with the one current when it is created.
pyglet.options["shadow_window"] = False

from pyglet import gl  # noqa: E402  (options must be set before the GL module loads)
from pyglet.graphics.shader import Shader, ShaderProgram  # noqa: E402

from compositor.errors import DisplayError  # noqa: E402
from compositor.geometry import TileRect  # noqa: E402

Pixels = npt.NDArray[np.uint8]

# A full-window quad. Canvas row 0 (top) is uploaded as texture row 0, which
# GL puts at the bottom; the quad's texture coordinates flip it back, so no
# pixel is ever flipped on the CPU.
_VERTEX_SHADER = """#version 330 core
in vec2 position;
in vec2 tex_coords;
out vec2 uv;
void main() {
    gl_Position = vec4(position, 0.0, 1.0);
    uv = tex_coords;
}
"""
_FRAGMENT_SHADER = """#version 330 core
in vec2 uv;
out vec4 colour;
uniform sampler2D canvas;
void main() {
    colour = vec4(texture(canvas, uv).rgb, 1.0);
}
"""


@dataclass(frozen=True)
class OutputWindowSpec:
    output_id: str
    width: int
    height: int
    monitor: str | int | None = None  # RandR connector name ("DP-1") or index in list_monitors


@dataclass(frozen=True)
class MonitorInfo:
    index: int
    name: str
    x: int
    y: int
    width: int
    height: int


def _open_display(display_name: str | None) -> Any:
    try:
        # pyglet's type hints hide Display and Config behind abstract bases; they are real.
        display_module: Any = pyglet.display
        return display_module.Display(name=display_name)
    except Exception as exc:  # pyglet raises its own NoSuchDisplayException and others
        shown = display_name or "$DISPLAY"
        raise DisplayError(
            f"cannot open X display {shown!r} ({exc}); is an X server running and DISPLAY set? "
            "Use --headless to run without a screen"
        ) from None


def _screens_in_position_order(display: Any) -> list[Any]:
    return sorted(display.get_screens(), key=lambda s: (s.y, s.x))


def list_monitors(display_name: str | None = None) -> list[MonitorInfo]:
    """The monitors the X server reports, left to right, top to bottom."""
    screens = _screens_in_position_order(_open_display(display_name))
    return [
        MonitorInfo(i, str(getattr(s, "name", "") or f"screen{i}"), s.x, s.y, s.width, s.height)
        for i, s in enumerate(screens)
    ]


def assign_monitors(
    outputs: Sequence[OutputWindowSpec], monitors: Sequence[MonitorInfo]
) -> dict[str, MonitorInfo | None]:
    """Which monitor each output goes on: by name or index, else the next free one."""
    by_name = {m.name: m for m in monitors}
    taken: set[int] = set()
    placed: dict[str, MonitorInfo | None] = {}
    for output in outputs:
        wanted = output.monitor
        monitor: MonitorInfo | None = None
        if isinstance(wanted, int) and not isinstance(wanted, bool):
            monitor = monitors[wanted] if 0 <= wanted < len(monitors) else None
        elif isinstance(wanted, str):
            monitor = by_name.get(wanted)
        if monitor is not None:
            taken.add(monitor.index)
        placed[output.output_id] = monitor
    free = [m for m in monitors if m.index not in taken]
    for output in outputs:
        if output.monitor is None and free:
            placed[output.output_id] = free.pop(0)
    return placed


def _refresh_rate(screens: Sequence[Any]) -> float:
    rates = []
    for screen in screens:
        with contextlib.suppress(Exception):  # drivers without mode information
            mode = screen.get_mode()
            if mode is not None and mode.rate:
                rates.append(float(mode.rate))
    return max(rates, default=60.0)


class _OutputWindow:
    """One output: its window, texture, shader program and quad (all in its context)."""

    def __init__(self, spec: OutputWindowSpec, window: Any, monitor: MonitorInfo | None) -> None:
        self.spec = spec
        self.window = window
        self.monitor = monitor
        self.needs_draw = True
        self.bytes_uploaded = 0
        window.switch_to()
        self.program = ShaderProgram(
            Shader(_VERTEX_SHADER, "vertex"), Shader(_FRAGMENT_SHADER, "fragment")
        )
        self.quad = self.program.vertex_list(
            4,
            gl.GL_TRIANGLE_STRIP,
            position=("f", (-1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0)),
            tex_coords=("f", (0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0)),
        )
        texture = gl.GLuint()
        gl.glGenTextures(1, ctypes.byref(texture))
        self.texture = texture
        gl.glBindTexture(gl.GL_TEXTURE_2D, texture)
        width, height = window.get_framebuffer_size()
        # Exact pixels when the window matches the canvas; smooth scaling otherwise.
        same = (width, height) == (spec.width, spec.height)
        filtering = gl.GL_NEAREST if same else gl.GL_LINEAR
        gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_MIN_FILTER, filtering)
        gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_MAG_FILTER, filtering)
        gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_WRAP_S, gl.GL_CLAMP_TO_EDGE)
        gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_WRAP_T, gl.GL_CLAMP_TO_EDGE)
        gl.glTexImage2D(
            gl.GL_TEXTURE_2D,
            0,
            gl.GL_RGB8,
            spec.width,
            spec.height,
            0,
            gl.GL_BGR,
            gl.GL_UNSIGNED_BYTE,
            None,
        )

    def upload(self, canvas: Pixels, dirty: Sequence[TileRect]) -> None:
        self.window.switch_to()
        gl.glBindTexture(gl.GL_TEXTURE_2D, self.texture)
        gl.glPixelStorei(gl.GL_UNPACK_ALIGNMENT, 1)
        gl.glPixelStorei(gl.GL_UNPACK_ROW_LENGTH, canvas.shape[1])
        base = canvas.ctypes.data
        for rect in dirty:
            gl.glPixelStorei(gl.GL_UNPACK_SKIP_PIXELS, rect.x)
            gl.glPixelStorei(gl.GL_UNPACK_SKIP_ROWS, rect.y)
            gl.glTexSubImage2D(
                gl.GL_TEXTURE_2D,
                0,
                rect.x,
                rect.y,
                rect.w,
                rect.h,
                gl.GL_BGR,
                gl.GL_UNSIGNED_BYTE,
                ctypes.c_void_p(base),
            )
            self.bytes_uploaded += rect.w * rect.h * 3
        gl.glPixelStorei(gl.GL_UNPACK_SKIP_PIXELS, 0)
        gl.glPixelStorei(gl.GL_UNPACK_SKIP_ROWS, 0)
        gl.glPixelStorei(gl.GL_UNPACK_ROW_LENGTH, 0)

    def draw(self) -> None:
        self.window.switch_to()
        width, height = self.window.get_framebuffer_size()
        gl.glViewport(0, 0, width, height)
        gl.glActiveTexture(gl.GL_TEXTURE0)
        gl.glBindTexture(gl.GL_TEXTURE_2D, self.texture)
        self.program.use()
        self.quad.draw(gl.GL_TRIANGLE_STRIP)

    def read_back(self) -> Pixels:
        """Draw into the back buffer (not shown) and read it: what the window shows."""
        self.draw()
        width, height = self.window.get_framebuffer_size()
        pixels = np.empty((height, width, 3), dtype=np.uint8)
        gl.glReadBuffer(gl.GL_BACK)
        gl.glPixelStorei(gl.GL_PACK_ALIGNMENT, 1)
        gl.glReadPixels(
            0, 0, width, height, gl.GL_BGR, gl.GL_UNSIGNED_BYTE, ctypes.c_void_p(pixels.ctypes.data)
        )
        return np.ascontiguousarray(pixels[::-1])  # GL's row 0 is the bottom one

    def close(self) -> None:
        self.window.switch_to()
        gl.glDeleteTextures(1, ctypes.byref(self.texture))
        self.quad.delete()
        self.program.delete()
        self.window.close()


class WallDisplay:
    """The wall's windows; ``present`` each output's canvas, ``dispatch_events`` each tick."""

    def __init__(
        self,
        outputs: Sequence[OutputWindowSpec],
        *,
        windowed: bool,
        display_name: str | None = None,
    ) -> None:
        self._display = _open_display(display_name)
        self._closed_by_user = False
        self._windows: dict[str, _OutputWindow] = {}
        screens = _screens_in_position_order(self._display)
        monitors = [
            MonitorInfo(i, str(getattr(s, "name", "") or f"screen{i}"), s.x, s.y, s.width, s.height)
            for i, s in enumerate(screens)
        ]
        placement = assign_monitors(outputs, monitors)
        self._refresh_rate = _refresh_rate(
            [screens[m.index] for m in placement.values() if m is not None] or screens[:1]
        )
        if not windowed:
            missing = [o.output_id for o in outputs if placement[o.output_id] is None]
            if missing:
                raise DisplayError(
                    f"no monitor for output(s) {', '.join(missing)}: the X server has "
                    f"{len(monitors)} ({', '.join(m.name for m in monitors) or 'none'}); "
                    "fix `monitor:` in the layout, pick outputs with --outputs, or use --windowed"
                )
        try:
            x = 0
            for spec in outputs:
                monitor = placement[spec.output_id]
                screen = screens[monitor.index] if monitor is not None else screens[0]
                window = self._create_window(spec, screen, windowed)
                if windowed:
                    window.set_location(screen.x + x, screen.y)
                    x += spec.width
                self._windows[spec.output_id] = _OutputWindow(spec, window, monitor)
                self._watch(window)
        except DisplayError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise DisplayError(f"cannot open the wall's windows: {exc}") from None

    def _create_window(self, spec: OutputWindowSpec, screen: Any, windowed: bool) -> Any:
        gl_module: Any = pyglet.gl
        config = gl_module.Config(
            double_buffer=True,
            red_size=8,
            green_size=8,
            blue_size=8,
            major_version=3,
            minor_version=3,
        )
        caption = f"videowall {spec.output_id}"
        try:
            if windowed:
                return pyglet.window.Window(
                    spec.width,
                    spec.height,
                    caption=caption,
                    vsync=False,
                    screen=screen,
                    config=config,
                    resizable=False,
                )
            return pyglet.window.Window(
                caption=caption,
                fullscreen=True,
                vsync=False,
                screen=screen,
                config=config,
                display=self._display,
            )
        except pyglet.window.NoSuchConfigException:
            raise DisplayError(
                f"output {spec.output_id}: the X server offers no OpenGL 3.3 config with "
                "8 bits per channel (is Mesa's libgl1-mesa-dri installed?)"
            ) from None

    def _watch(self, window: Any) -> None:
        owner = self

        def on_close() -> bool:
            owner._closed_by_user = True
            return True  # handled: the wall closes its windows itself

        def on_key_press(symbol: int, modifiers: int) -> bool:
            if symbol == pyglet.window.key.ESCAPE:
                owner._closed_by_user = True
            return True

        def on_expose() -> None:
            for output in owner._windows.values():
                if output.window is window:
                    output.needs_draw = True

        window.push_handlers(on_close=on_close, on_key_press=on_key_press, on_expose=on_expose)
        window.push_handlers(on_resize=lambda w, h: on_expose(), on_draw=lambda: None)

    @property
    def output_ids(self) -> list[str]:
        return list(self._windows)

    @property
    def bytes_uploaded(self) -> int:
        return sum(w.bytes_uploaded for w in self._windows.values())

    @property
    def refresh_rate(self) -> float:
        """The fastest refresh rate among the monitors in use (60 if none is reported)."""
        return self._refresh_rate

    def monitor_of(self, output_id: str) -> MonitorInfo | None:
        """The monitor an output's window is on (None: a plain window placed by the WM)."""
        return self._windows[output_id].monitor

    def bytes_uploaded_by(self, output_id: str) -> int:
        return self._windows[output_id].bytes_uploaded

    def present(self, output_id: str, canvas: Pixels, dirty: Sequence[TileRect]) -> None:
        """Upload ``dirty`` parts of ``canvas`` and show it; nothing at all if nothing changed."""
        output = self._windows[output_id]
        if not dirty and not output.needs_draw:
            return
        if (
            canvas.shape != (output.spec.height, output.spec.width, 3)
            or not canvas.flags.c_contiguous
        ):
            raise ValueError(
                f"output {output_id}: canvas must be C-contiguous "
                f"{output.spec.height}x{output.spec.width}x3"
            )
        if output.needs_draw:
            # After an expose the texture is intact, but upload everything once in case
            # the window was just created and never received the canvas.
            dirty = [TileRect(0, 0, output.spec.width, output.spec.height)]
        output.upload(canvas, dirty)
        output.draw()
        output.window.flip()
        output.needs_draw = False

    def dispatch_events(self) -> bool:
        """Handle window events; False once the user closed a window or pressed Escape."""
        for output in self._windows.values():
            output.window.dispatch_events()
        return not self._closed_by_user

    def read_pixels(self, output_id: str) -> Pixels:
        """What output ``output_id``'s window shows, as (height, width, 3) BGR, top row first."""
        return self._windows[output_id].read_back()

    def close(self) -> None:
        for output in self._windows.values():
            # A window whose X connection already failed has nothing left to free.
            with contextlib.suppress(Exception):
                output.close()
        self._windows.clear()
