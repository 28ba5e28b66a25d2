"""Display: one OpenGL window per output, drawing its canvas as one texture.

The only module that imports pyglet and OpenGL. Per output one texture the
size of the canvas; each present uploads only the rectangles that changed,
straight from the canvas memory (no numpy copy: GL_UNPACK_ROW_LENGTH and
SKIP_* address the sub-rectangle in place). Windows never wait for vsync:
the wall's loop paces itself, and one screen's refresh must not hold back
the thirteen others.
"""

from __future__ import annotations

__all__ = ["OpenGLInfo", "OutputWindowSpec", "WallDisplay", "opengl_info"]

import contextlib
import ctypes
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pyglet

pyglet.options["debug_gl"] = False  # glGetError after every call costs more than the calls
# No hidden shadow window: it would open $DISPLAY at import, before we pick the display.
# Each new window's context shares objects with the one current when it is created.
pyglet.options["shadow_window"] = False

from pyglet import gl  # noqa: E402  (options must be set before the GL module loads)
from pyglet.graphics.shader import Shader, ShaderProgram  # noqa: E402

from compositor.core.colour import (  # noqa: E402
    Matrix,
    chroma_cover,
    chroma_size,
    yuv_to_rgb_coefficients,
)
from compositor.core.errors import DisplayError  # noqa: E402
from compositor.core.geometry import TileRect  # noqa: E402
from compositor.display.monitors import Monitor, MonitorWatcher, assign_monitors, query_monitors  # noqa: E402

log = logging.getLogger(__name__)

Pixels = npt.NDArray[np.uint8]

# One unit square, drawn over the whole canvas or over one rectangle of it
# (``area``, in fractions of the canvas). Canvas row 0 (top) is uploaded as
# texture row 0; the vertex shader puts it at the top of the window, so no
# pixel is ever flipped on the CPU.
_VERTEX_SHADER = """#version 330 core
in vec2 position;
uniform vec4 area;
out vec2 uv;
void main() {
    uv = area.xy + position * area.zw;
    gl_Position = vec4(uv.x * 2.0 - 1.0, 1.0 - uv.y * 2.0, 0.0, 1.0);
}
"""
# Limited-range YUV to RGB in integers with 16 fractional bits, exactly as
# compositor.core.colour.planes_to_bgr does: the window shows, byte for byte, what
# the canvas's to_bgr() says. Chroma is sampled at the same place as luma
# (nearest when the window has the canvas's size: one sample per 2x2 cell).
_FRAGMENT_SHADER = """#version 330 core
in vec2 uv;
out vec4 colour;
uniform sampler2D y_plane;
uniform sampler2D u_plane;
uniform sampler2D v_plane;
uniform vec2 chroma_scale;  // canvas size / (2 x chroma size): 1 unless a size is odd
uniform int luma_coefficient;
uniform ivec4 chroma_coefficients;  // rv, gu, gv, bu
int byte_at(sampler2D plane, vec2 at) {
    return int(texture(plane, at).r * 255.0 + 0.5);
}
void main() {
    int luma = luma_coefficient * (byte_at(y_plane, uv) - 16) + 32768;
    vec2 at = uv * chroma_scale;
    int d = byte_at(u_plane, at) - 128;
    int e = byte_at(v_plane, at) - 128;
    ivec4 k = chroma_coefficients;
    ivec3 rgb = ivec3(luma + k.x * e, luma - k.y * d - k.z * e, luma + k.w * d) >> 16;
    colour = vec4(vec3(clamp(rgb, 0, 255)) / 255.0, 1.0);
}
"""


class PlanarPicture(Protocol):
    """What a window shows (see :class:`compositor.compose.canvas.OutputCanvas`): I420 planes
    ``y`` (h, w), ``u`` and ``v`` (ceil(h/2), ceil(w/2)), limited range, and the
    matrix of each part: a base matrix, then rectangles drawn with their own."""

    y: Pixels
    u: Pixels
    v: Pixels

    def matrices(self) -> tuple[Matrix, Sequence[tuple[TileRect, Matrix]]]: ...


@dataclass(frozen=True)
class OutputWindowSpec:
    output_id: str
    width: int
    height: int
    monitor: str | int | None = None  # RandR connector name ("DP-1") or index, left to right


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


def _refresh_rate(screens: Sequence[Any]) -> float:
    rates = []
    for screen in screens:
        with contextlib.suppress(Exception):  # drivers without mode information
            mode = screen.get_mode()
            if mode is not None and mode.rate:
                rates.append(float(mode.rate))
    return max(rates, default=60.0)


@dataclass(frozen=True, slots=True)
class OpenGLInfo:
    vendor: str
    renderer: str
    version: str

    @property
    def software(self) -> bool:
        """Mesa's CPU renderers (llvmpipe, softpipe, swrast): no GPU draws the wall."""
        name = self.renderer.lower()
        return any(word in name for word in ("llvmpipe", "softpipe", "swrast", "software"))


def opengl_info(display_name: str | None = None) -> OpenGLInfo:
    """The OpenGL renderer the wall's windows get, from a hidden window of the same config."""
    display = _open_display(display_name)
    gl_module: Any = pyglet.gl
    config = gl_module.Config(
        double_buffer=True, red_size=8, green_size=8, blue_size=8, major_version=3, minor_version=3
    )
    try:
        window = pyglet.window.Window(
            width=16, height=16, visible=False, config=config, display=display
        )
    except pyglet.window.NoSuchConfigException:
        raise DisplayError(
            "the X server offers no OpenGL 3.3 config with 8 bits per channel "
            "(is Mesa's libgl1-mesa-dri installed?)"
        ) from None
    except Exception as exc:
        raise DisplayError(f"cannot open an OpenGL window: {exc}") from None
    try:
        window.switch_to()

        def text(name: int) -> str:
            value = ctypes.cast(gl.glGetString(name), ctypes.c_char_p).value
            return value.decode("utf-8", "replace") if value else ""

        return OpenGLInfo(text(gl.GL_VENDOR), text(gl.GL_RENDERER), text(gl.GL_VERSION))
    finally:
        window.close()


class _OutputWindow:
    """One output: its window, three plane textures, shader program and quad (its context)."""

    def __init__(self, spec: OutputWindowSpec, window: Any, monitor: Monitor | None) -> None:
        self.spec = spec
        self.window = window
        self.monitor = monitor
        self.needs_draw = True
        self.bytes_uploaded = 0
        self.cpu_seconds = 0.0  # this thread's CPU time spent uploading and drawing
        self._matrix: Matrix | None = None  # the matrix the program's uniforms hold
        self.picture: PlanarPicture | None = None  # the picture last presented
        window.switch_to()
        self.program = ShaderProgram(
            Shader(_VERTEX_SHADER, "vertex"), Shader(_FRAGMENT_SHADER, "fragment")
        )
        self.quad = self.program.vertex_list(
            4,
            gl.GL_TRIANGLE_STRIP,
            position=("f", (0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0)),
        )
        width, height = window.get_framebuffer_size()
        # Exact pixels when the window matches the canvas; smooth scaling otherwise.
        same = (width, height) == (spec.width, spec.height)
        filtering = gl.GL_NEAREST if same else gl.GL_LINEAR
        chroma_w, chroma_h = chroma_size(spec.width, spec.height)
        self.textures: list[Any] = []  # Y, U, V: single-channel, on units 0, 1, 2
        for plane_w, plane_h in (
            (spec.width, spec.height),
            (chroma_w, chroma_h),
            (chroma_w, chroma_h),
        ):
            texture = gl.GLuint()
            gl.glGenTextures(1, ctypes.byref(texture))
            gl.glBindTexture(gl.GL_TEXTURE_2D, texture)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_MIN_FILTER, filtering)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_MAG_FILTER, filtering)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_WRAP_S, gl.GL_CLAMP_TO_EDGE)
            gl.glTexParameteri(gl.GL_TEXTURE_2D, gl.GL_TEXTURE_WRAP_T, gl.GL_CLAMP_TO_EDGE)
            gl.glTexImage2D(
                gl.GL_TEXTURE_2D,
                0,
                gl.GL_R8,
                plane_w,
                plane_h,
                0,
                gl.GL_RED,
                gl.GL_UNSIGNED_BYTE,
                None,
            )
            self.textures.append(texture)
        self.program.use()
        self.program["y_plane"] = 0
        self.program["u_plane"] = 1
        self.program["v_plane"] = 2
        self.program["chroma_scale"] = (
            spec.width / (2 * chroma_w),
            spec.height / (2 * chroma_h),
        )

    def upload(self, picture: PlanarPicture, dirty: Sequence[TileRect]) -> None:
        """Send the ``dirty`` rectangles of each plane, straight from the planes' memory."""
        self.window.switch_to()
        gl.glPixelStorei(gl.GL_UNPACK_ALIGNMENT, 1)
        chroma = [chroma_cover(rect) for rect in dirty]
        for texture, plane, rects in zip(
            self.textures, (picture.y, picture.u, picture.v), (dirty, chroma, chroma), strict=True
        ):
            gl.glBindTexture(gl.GL_TEXTURE_2D, texture)
            gl.glPixelStorei(gl.GL_UNPACK_ROW_LENGTH, plane.shape[1])
            base = ctypes.c_void_p(plane.ctypes.data)
            for rect in rects:
                gl.glPixelStorei(gl.GL_UNPACK_SKIP_PIXELS, rect.x)
                gl.glPixelStorei(gl.GL_UNPACK_SKIP_ROWS, rect.y)
                gl.glTexSubImage2D(
                    gl.GL_TEXTURE_2D,
                    0,
                    rect.x,
                    rect.y,
                    rect.w,
                    rect.h,
                    gl.GL_RED,
                    gl.GL_UNSIGNED_BYTE,
                    base,
                )
                self.bytes_uploaded += rect.w * rect.h
        gl.glPixelStorei(gl.GL_UNPACK_SKIP_PIXELS, 0)
        gl.glPixelStorei(gl.GL_UNPACK_SKIP_ROWS, 0)
        gl.glPixelStorei(gl.GL_UNPACK_ROW_LENGTH, 0)

    def _use_matrix(self, matrix: Matrix) -> None:
        if matrix is self._matrix:
            return
        k = yuv_to_rgb_coefficients(matrix)
        self.program["luma_coefficient"] = k.y
        self.program["chroma_coefficients"] = (k.rv, k.gu, k.gv, k.bu)
        self._matrix = matrix

    def draw(self, picture: PlanarPicture) -> None:
        """The whole canvas in its main matrix, then each rectangle of another over it."""
        self.window.switch_to()
        width, height = self.window.get_framebuffer_size()
        gl.glViewport(0, 0, width, height)
        for unit, texture in enumerate(self.textures):
            gl.glActiveTexture(gl.GL_TEXTURE0 + unit)
            gl.glBindTexture(gl.GL_TEXTURE_2D, texture)
        gl.glActiveTexture(gl.GL_TEXTURE0)
        self.program.use()
        base, overrides = picture.matrices()
        self._use_matrix(base)
        self.program["area"] = (0.0, 0.0, 1.0, 1.0)
        self.quad.draw(gl.GL_TRIANGLE_STRIP)
        canvas_w, canvas_h = self.spec.width, self.spec.height
        for rect, matrix in overrides:
            self._use_matrix(matrix)
            self.program["area"] = (
                rect.x / canvas_w,
                rect.y / canvas_h,
                rect.w / canvas_w,
                rect.h / canvas_h,
            )
            self.quad.draw(gl.GL_TRIANGLE_STRIP)

    def read_back(self, picture: PlanarPicture) -> Pixels:
        """Draw into the back buffer (not shown) and read it: what the window shows."""
        self.draw(picture)
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
        for texture in self.textures:
            gl.glDeleteTextures(1, ctypes.byref(texture))
        self.quad.delete()
        self.program.delete()
        self.window.close()


class WallDisplay:
    """The wall's windows; ``present`` each output's canvas, ``dispatch_events`` each tick.

    Fullscreen, each output has a monitor (by connector name, index, or the
    next free one). An output whose monitor is missing, or disappears while
    the wall runs, waits without a window: the others go on untouched, and
    ``check_monitors`` gives it a window again when its monitor comes back.

    With ``unused``, a monitor no output takes is not left black: it gets a
    window of its own showing ``unused(monitor)`` (its connector, and that the
    layout has no output there), until an output needs the monitor.
    """

    def __init__(
        self,
        outputs: Sequence[OutputWindowSpec],
        *,
        windowed: bool,
        display_name: str | None = None,
        watch_every: float = 1.0,
        any_key_closes: bool = False,
        unused: Callable[[Monitor], PlanarPicture] | None = None,
    ) -> None:
        self._display = _open_display(display_name)
        self._unused = unused
        self._spares: dict[str, _OutputWindow] = {}  # by monitor name: windows of no output
        self._any_key_closes = any_key_closes
        self._display_name = display_name
        self._windowed = windowed
        self._specs = {spec.output_id: spec for spec in outputs}
        self._closed_by_user = False
        self._windows: dict[str, _OutputWindow] = {}
        self._uploaded_by_closed = 0
        self._watcher: MonitorWatcher | None = None
        self._known_monitors: tuple[Monitor, ...] = ()
        try:
            if windowed:
                self._open_windowed(outputs)
            else:
                self._known_monitors = tuple(query_monitors(display_name))
                self._open_fullscreen()
                if self._windows:
                    self._open_spares()
                if not self._windows:
                    names = ", ".join(m.name for m in self._known_monitors) or "none"
                    raise DisplayError(
                        f"no monitor for any output ({', '.join(self._specs)}); the X server "
                        f"has: {names}. Fix `monitor:` in the layout or use --windowed"
                    )
                self._watcher = MonitorWatcher(display_name, every=watch_every)
        except DisplayError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise DisplayError(f"cannot open the wall's windows: {exc}") from None
        screens = [w.window.screen for w in self._windows.values()]
        self._refresh_rate = _refresh_rate(screens)

    # -- windows ----------------------------------------------------------------------

    def _open_windowed(self, outputs: Sequence[OutputWindowSpec]) -> None:
        screen = self._display.get_default_screen()
        x = 0
        for spec in outputs:
            window = self._create_window(spec, screen, windowed=True)
            window.set_location(screen.x + x, screen.y)
            x += spec.width
            self._adopt(spec, window, None)

    def _open_fullscreen(self) -> None:
        """Give a window to every output without one whose monitor is present."""
        waiting = [s for s in self._specs.values() if s.output_id not in self._windows]
        if not waiting:
            return
        busy = {w.monitor.name for w in self._windows.values() if w.monitor is not None}
        free = [m for m in self._known_monitors if m.name not in busy]
        placements = assign_monitors([(s.output_id, s.monitor) for s in waiting], free)
        screens = {getattr(s, "name", ""): s for s in self._display.get_screens()}
        for placement in placements:
            spec = self._specs[placement.output_id]
            monitor = placement.monitor
            if monitor is not None and monitor.name in self._spares:
                self._close_spare(monitor.name)  # an output needs this monitor now
            if monitor is None:
                log.error(
                    "output %s: no monitor %s; it waits for one (the other outputs run)",
                    spec.output_id,
                    repr(spec.monitor) if spec.monitor is not None else "free",
                )
                continue
            screen = screens.get(monitor.name)
            if screen is None:
                log.error("output %s: monitor %s is not usable yet", spec.output_id, monitor.name)
                continue
            try:
                window = self._create_window(spec, screen, windowed=False)
            except DisplayError as exc:
                log.error("output %s on %s: %s", spec.output_id, monitor.name, exc)
                continue
            self._adopt(spec, window, monitor)
            log.info("output %s: on monitor %s", spec.output_id, monitor.describe())

    def _open_spares(self, screens: dict[str, Any] | None = None) -> None:
        """A window on every monitor no output uses, saying so (with ``unused``)."""
        if self._unused is None:
            return
        present = {m.name: m for m in self._known_monitors}
        busy = {w.monitor.name for w in self._windows.values() if w.monitor is not None}
        for name in [n for n, w in self._spares.items() if present.get(n) != w.monitor]:
            self._close_spare(name)  # its monitor is gone or changed: reopened below
        for monitor in self._known_monitors:
            if monitor.name in busy or monitor.name in self._spares:
                continue
            if screens is None:
                screens = {getattr(s, "name", ""): s for s in self._display.get_screens()}
            screen = screens.get(monitor.name)
            if screen is None:
                continue
            spec = OutputWindowSpec(
                f"({monitor.name})", monitor.width, monitor.height, monitor.name
            )
            try:
                window = self._create_window(spec, screen, windowed=False)
                spare = _OutputWindow(spec, window, monitor)
            except Exception as exc:  # a spare is a courtesy: never a reason to stop
                log.warning("monitor %s (no output on it): no window (%s)", monitor.name, exc)
                continue
            spare.picture = self._unused(monitor)
            self._spares[monitor.name] = spare
            self._watch(window)
            log.info("monitor %s: no output of the layout; it says so", monitor.name)

    def _close_spare(self, name: str) -> None:
        spare = self._spares.pop(name)
        with contextlib.suppress(Exception):
            spare.close()

    def _draw_spares(self) -> None:
        for name, spare in list(self._spares.items()):
            picture = spare.picture
            if not spare.needs_draw or picture is None:
                continue
            try:
                width, height = spare.spec.width, spare.spec.height
                spare.upload(picture, [TileRect(0, 0, width, height)])
                spare.draw(picture)
                spare.window.flip()
                spare.needs_draw = False
            except Exception as exc:
                log.warning("monitor %s (no output on it): drawing failed (%s)", name, exc)
                self._close_spare(name)

    def _adopt(self, spec: OutputWindowSpec, window: Any, monitor: Monitor | None) -> None:
        self._windows[spec.output_id] = _OutputWindow(spec, window, monitor)
        self._watch(window)

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
        size: dict[str, Any] = (
            {"width": spec.width, "height": spec.height, "resizable": False}
            if windowed
            else {"fullscreen": True}
        )
        try:
            return pyglet.window.Window(
                caption=caption,
                vsync=False,
                screen=screen,
                config=config,
                display=self._display,
                **size,
            )
        except pyglet.window.NoSuchConfigException:
            raise DisplayError(
                f"output {spec.output_id}: the X server offers no OpenGL 3.3 config with "
                "8 bits per channel (is Mesa's libgl1-mesa-dri installed?)"
            ) from None
        except Exception as exc:
            raise DisplayError(f"output {spec.output_id}: cannot open a window: {exc}") from None

    def _watch(self, window: Any) -> None:
        owner = self

        def on_close() -> bool:
            owner._closed_by_user = True
            return True  # handled: the wall closes its windows itself

        def on_key_press(symbol: int, modifiers: int) -> bool:
            if symbol == pyglet.window.key.ESCAPE or owner._any_key_closes:
                owner._closed_by_user = True
            return True

        def on_expose() -> None:
            for output in [*owner._windows.values(), *owner._spares.values()]:
                if output.window is window:
                    output.needs_draw = True

        window.push_handlers(on_close=on_close, on_key_press=on_key_press, on_expose=on_expose)
        window.push_handlers(on_resize=lambda w, h: on_expose(), on_draw=lambda: None)

    def check_monitors(self) -> list[str]:
        """Follow monitors that went away or came back; returns the outputs that changed.

        Cheap: compares the watcher thread's latest list with the last one.
        """
        if self._watcher is None or self._watcher.latest is None:
            return []
        latest = self._watcher.latest
        if latest == self._known_monitors:
            return []
        self._known_monitors = latest
        present = {m.name: m for m in latest}
        changed = []
        for output_id, output in list(self._windows.items()):
            monitor = output.monitor
            if monitor is None:
                continue
            now = present.get(monitor.name)
            if now == monitor:
                continue
            what = "is gone" if now is None else f"changed to {now.describe()}"
            log.error("output %s: monitor %s %s; closing its window", output_id, monitor.name, what)
            self._uploaded_by_closed += output.bytes_uploaded
            with contextlib.suppress(Exception):
                output.close()
            del self._windows[output_id]
            changed.append(output_id)
        before = set(self._windows)
        self._open_fullscreen()
        self._open_spares()
        for output_id in set(self._windows) - before:
            log.info("output %s: back on monitor %s", output_id, self._windows[output_id].monitor)
            changed.append(output_id)
        return changed

    # -- per frame ----------------------------------------------------------------------

    @property
    def output_ids(self) -> list[str]:
        """Outputs that have a window now."""
        return list(self._windows)

    @property
    def refresh_rate(self) -> float:
        """The fastest refresh rate among the monitors in use (60 if none is reported)."""
        return self._refresh_rate

    @property
    def bytes_uploaded(self) -> int:
        return self._uploaded_by_closed + sum(w.bytes_uploaded for w in self._windows.values())

    def monitor_of(self, output_id: str) -> Monitor | None:
        """The monitor an output's window is on (None: windowed, or waiting for a monitor)."""
        window = self._windows.get(output_id)
        return window.monitor if window is not None else None

    def bytes_uploaded_by(self, output_id: str) -> int:
        window = self._windows.get(output_id)
        return window.bytes_uploaded if window is not None else 0

    def render_cpu_by(self, output_id: str) -> float:
        """CPU seconds the render thread spent uploading and drawing this output."""
        window = self._windows.get(output_id)
        return window.cpu_seconds if window is not None else 0.0

    @property
    def unused_monitors(self) -> list[str]:
        """Monitors showing that no output is on them."""
        return list(self._spares)

    def present(self, output_id: str, canvas: PlanarPicture, dirty: Sequence[TileRect]) -> bool:
        """Upload ``dirty`` parts of ``canvas`` and show it; nothing at all if nothing changed.

        True if the output was drawn on its screen.
        """
        output = self._windows.get(output_id)
        if output is None:
            return False  # waiting for its monitor
        if not dirty and not output.needs_draw and canvas is output.picture:
            return False
        spec = output.spec
        chroma_w, chroma_h = chroma_size(spec.width, spec.height)
        for plane, shape in (
            (canvas.y, (spec.height, spec.width)),
            (canvas.u, (chroma_h, chroma_w)),
            (canvas.v, (chroma_h, chroma_w)),
        ):
            if plane.shape != shape or not plane.flags.c_contiguous or plane.dtype != np.uint8:
                raise ValueError(f"output {output_id}: planes must be C-contiguous uint8 {shape}")
        if output.needs_draw or canvas is not output.picture:
            # A new or exposed window, or another picture: send the whole canvas once.
            dirty = [TileRect(0, 0, spec.width, spec.height)]
        output.picture = canvas
        cpu_before = time.thread_time()
        try:
            output.upload(canvas, dirty)
            output.draw(canvas)
            output.window.flip()
            output.cpu_seconds += time.thread_time() - cpu_before
        except Exception as exc:  # a window that died must not take the others down
            log.error("output %s: drawing failed (%s); closing its window", output_id, exc)
            self._uploaded_by_closed += output.bytes_uploaded
            with contextlib.suppress(Exception):
                output.close()
            del self._windows[output_id]
            self._known_monitors = ()  # so the next check tries to reopen it
            return False
        output.needs_draw = False
        return True

    def dispatch_events(self) -> bool:
        """Handle window events; False once the user closed a window or pressed Escape."""
        for output in [*self._windows.values(), *self._spares.values()]:
            output.window.dispatch_events()
        self._draw_spares()
        return not self._closed_by_user

    def read_pixels(self, output_id: str) -> Pixels:
        """What output ``output_id``'s window shows, as (height, width, 3) BGR, top row first."""
        window = self._windows.get(output_id)
        if window is None:
            raise DisplayError(f"output {output_id} has no window (its monitor is missing)")
        if window.picture is None:
            raise DisplayError(f"output {output_id} has shown nothing yet")
        return window.read_back(window.picture)

    def read_unused(self, monitor_name: str) -> Pixels:
        """What the window on unused monitor ``monitor_name`` shows, like :meth:`read_pixels`."""
        spare = self._spares.get(monitor_name)
        if spare is None or spare.picture is None:
            raise DisplayError(f"monitor {monitor_name} has no window of its own")
        return spare.read_back(spare.picture)

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
            self._watcher = None
        for output in [*self._windows.values(), *self._spares.values()]:
            # A window whose X connection already failed has nothing left to free.
            with contextlib.suppress(Exception):
                output.close()
        self._windows.clear()
        self._spares.clear()
