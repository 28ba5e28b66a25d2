"""A standalone RTSP server of generated test cameras (GStreamer, through GObject introspection).

Run it with the *system* Python, which has ``gi`` (``/usr/bin/python3``); the
compositor's virtual environment does not, and never imports this file.
:class:`compositor.demo.testcams.SyntheticCameraServer` starts it.

It reads a JSON spec from stdin::

    {"host": "127.0.0.1", "port": 0, "user": null, "password": null,
     "cameras": [{"path": "cam01", "label": "cam01 Concorde North", "width": 640,
                  "height": 360, "fps": 15, "color": [200, 40, 40], "sar": [1, 1],
                  "codec": "h264"}]}

and serves each camera at ``rtsp://host:port/<path>``: a live picture in the
camera's background colour with a moving white ball, its label at the top and
a running clock at the bottom, encoded live (H.264, H.265 or MJPEG).

A camera with ``"relay": "rtsp://camera:8554/path"`` is no camera: the server is
then an RTSP relay for it, pulling that URL once (``rtspsrc``, H.264 repacked as it
comes, no decoding) in a shared media, however many clients it serves.

A camera with ``"clip": "/path/to/clip.h264"`` (and optionally
``"clip_start": frame``) instead replays a pre-encoded clip from memory,
looping with continuous timestamps: Annex-B H.264 or H.265 (``codec``) with
a JSON index beside it (``<clip>.json``: ``width``, ``height``, ``fps`` and
``packets``, one ``[offset, size, display_index, keyframe]`` per packet in
decode order; B-frames welcome). Nothing is encoded while serving, so many
cameras of textured 1080p cost the server little. With port
0 it picks a free port. Once listening it prints one line ``READY <port>`` to
stdout; it exits on SIGTERM or SIGINT, and, with ``--exit-with-stdin``, also
when its stdin reaches end of file (so it never outlives the process that
started it). Problems are reported on stderr as one ``ERROR: ...`` line, with
exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, NoReturn

# Which Debian package brings each GStreamer element this server needs.
ELEMENT_PACKAGES = {
    "videotestsrc": "gstreamer1.0-plugins-base",
    "videoconvert": "gstreamer1.0-plugins-base",
    "capsfilter": "libgstreamer1.0-0",
    "textoverlay": "gstreamer1.0-x",
    "timeoverlay": "gstreamer1.0-x",
    "x264enc": "gstreamer1.0-plugins-ugly",
    "rtph264pay": "gstreamer1.0-plugins-good",
    "x265enc": "gstreamer1.0-plugins-bad",
    "rtph265pay": "gstreamer1.0-plugins-good",
    "jpegenc": "gstreamer1.0-plugins-good",
    "rtpjpegpay": "gstreamer1.0-plugins-good",
    "rtpbin": "gstreamer1.0-plugins-good",
    "appsrc": "gstreamer1.0-plugins-base",
    "h264parse": "gstreamer1.0-plugins-bad",
    "h265parse": "gstreamer1.0-plugins-bad",
    "rtspsrc": "gstreamer1.0-plugins-good",
    "rtph264depay": "gstreamer1.0-plugins-good",
}
RELAY_ELEMENTS = ("rtspsrc", "rtph264depay", "rtph264pay")
CLIP_ELEMENTS = {
    "h264": ("appsrc", "h264parse", "rtph264pay"),
    "h265": ("appsrc", "h265parse", "rtph265pay"),
}
CODEC_ELEMENTS = {
    "h264": ("x264enc", "rtph264pay"),
    "h265": ("x265enc", "rtph265pay"),
    "mjpeg": ("jpegenc", "rtpjpegpay"),
}
COMMON_ELEMENTS = ("videotestsrc", "capsfilter", "textoverlay", "timeoverlay", "rtpbin")
SYSTEM_PACKAGES = (
    "python3-gi python3-gst-1.0 gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-x "
    "fonts-dejavu-core"
)


class SpecError(Exception):
    """The spec on stdin cannot be served."""


@dataclass(frozen=True)
class Camera:
    path: str
    label: str
    width: int
    height: int
    fps: int
    color: tuple[int, int, int]
    sar: tuple[int, int]
    codec: str
    clip: str | None = None  # a pre-encoded clip to replay instead of a generated picture
    clip_start: int = 0  # the frame of the clip to start at (snapped to a key frame)
    colorimetry: str | None = None  # of the raw picture, e.g. "bt709" or "1:4:0:0"
    relay: str | None = None  # an H.264 RTSP URL to restream instead of a picture

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Camera:
        try:
            camera = cls(
                path=str(raw["path"]).strip("/"),
                label=str(raw.get("label", raw["path"])),
                width=int(raw.get("width", 640)),
                height=int(raw.get("height", 360)),
                fps=int(raw.get("fps", 15)),
                color=tuple(int(c) for c in raw.get("color", (200, 40, 40))),  # type: ignore[arg-type]
                sar=tuple(int(s) for s in raw.get("sar", (1, 1))),  # type: ignore[arg-type]
                codec=str(raw.get("codec", "h264")).lower(),
                clip=str(raw["clip"]) if raw.get("clip") else None,
                clip_start=int(raw.get("clip_start") or 0),
                colorimetry=str(raw["colorimetry"]) if raw.get("colorimetry") else None,
                relay=str(raw["relay"]) if raw.get("relay") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SpecError(f"bad camera {raw!r}: {exc}") from exc
        if not camera.path or any(c in camera.path for c in " ?#"):
            raise SpecError(f"bad camera path {camera.path!r}")
        if camera.width < 16 or camera.height < 16 or camera.width % 2 or camera.height % 2:
            raise SpecError(f"camera {camera.path}: width and height must be even and >= 16")
        if not 1 <= camera.fps <= 120:
            raise SpecError(f"camera {camera.path}: fps must be 1..120")
        if len(camera.color) != 3 or not all(0 <= c <= 255 for c in camera.color):
            raise SpecError(f"camera {camera.path}: color must be three values 0..255")
        if len(camera.sar) != 2 or min(camera.sar) < 1:
            raise SpecError(f"camera {camera.path}: sar must be two positive integers")
        if camera.codec not in CODEC_ELEMENTS:
            raise SpecError(f"camera {camera.path}: codec must be one of {sorted(CODEC_ELEMENTS)}")
        if camera.codec == "mjpeg" and (camera.width % 8 or camera.height % 8):
            # RTP/JPEG (RFC 2435) carries the size in units of 8 pixels: a client would
            # see the picture rounded up, with padding.
            raise SpecError(f"camera {camera.path}: MJPEG needs width and height in multiples of 8")
        if camera.clip is not None and camera.codec not in CLIP_ELEMENTS:
            raise SpecError(f"camera {camera.path}: a clip must be H.264 or H.265")
        if camera.clip_start < 0:
            raise SpecError(f"camera {camera.path}: clip_start must be >= 0")
        if camera.relay is not None and (
            not camera.relay.startswith("rtsp://") or any(c in camera.relay for c in " !\"'")
        ):
            raise SpecError(f"camera {camera.path}: a relay's source is one rtsp:// URL")
        colorimetry = camera.colorimetry
        if colorimetry is not None and not (
            0 < len(colorimetry) <= 32
            and all(c.isascii() and (c.isalnum() or c == ":") for c in colorimetry)
        ):
            raise SpecError(f"camera {camera.path}: bad colorimetry {colorimetry!r}")
        return camera

    def elements(self) -> tuple[str, ...]:
        if self.relay is not None:
            return RELAY_ELEMENTS
        if self.clip is not None:
            return CLIP_ELEMENTS[self.codec]
        converts = ("videoconvert",) if self.colorimetry else ()
        return COMMON_ELEMENTS + CODEC_ELEMENTS[self.codec] + converts

    def relay_launch_line(self) -> str:
        """Pull the source once over TCP and repack its H.264 (SPS/PPS before each key
        frame, so a client joining the shared media starts at the next one)."""
        return (
            f"( rtspsrc location={self.relay} latency=0 protocols=tcp ! rtph264depay ! "
            "rtph264pay name=pay0 pt=96 config-interval=-1 )"
        )

    def launch_line(self) -> str:
        """The pipeline for this camera; the label and the ball's motion are set up later.

        A clip camera's pipeline starts at an ``appsrc`` that :class:`ClipReplayer`
        feeds; see :meth:`clip_launch_line`.

        The picture is mostly the flat background colour: a white ball (a
        text glyph, moved by controllers bound in :func:`configure_media`)
        wanders over it, the label sits at the top and a running clock at the
        bottom. A flat ``videotestsrc`` plus a glyph costs a fraction of
        ``pattern=ball``, which paints every pixel of every frame. The pixel
        aspect ratio in the caps reaches the encoder, which writes it into the
        H.264/H.265 VUI.
        """
        if self.clip is not None:
            return self.clip_launch_line()
        r, g, b = self.color
        background = 0xFF000000 | (r << 16) | (g << 8) | b
        # With a colorimetry, the picture is drawn in RGB and converted once to YUV with its
        # matrix and range (videotestsrc's own YUV ignores the range); the encoder signals
        # it (H.264/H.265 VUI; JPEG is read as full range whatever it says).
        raw_format, convert = "I420", ""
        if self.colorimetry:
            raw_format = "RGB"
            convert = f"videoconvert ! video/x-raw,format=I420,colorimetry={self.colorimetry} ! "
        ball_px = max(12, self.height // 5)  # glyph size; the ball is about 3/4 of it
        label_px = max(10, self.height // 10)  # text height, a tenth of the picture
        clock_px = max(8, self.height // 16)
        source = (
            f"videotestsrc is-live=true pattern=solid-color foreground-color={background} ! "
            f"video/x-raw,format={raw_format},width={self.width},height={self.height},"
            f"framerate={self.fps}/1,pixel-aspect-ratio={self.sar[0]}/{self.sar[1]} ! "
            f'textoverlay name=ball text="\u25cf" font-desc="Sans {ball_px}px" '
            f"halignment=position valignment=position xpos=0.5 ypos=0.5 "
            f"draw-outline=false draw-shadow=false color=0xffffffff auto-resize=false ! "
            f'textoverlay name=label font-desc="Sans Bold {label_px}px" '
            f"valignment=top halignment=left xpad=6 ypad=4 shaded-background=false "
            f"auto-resize=false ! "
            f'timeoverlay font-desc="Monospace {clock_px}px" time-mode=running-time '
            f"valignment=bottom halignment=right xpad=6 ypad=4 shaded-background=false "
            f"auto-resize=false ! {convert}"
        )
        # One keyframe a second, like most CCTV cameras: a client that joins (or
        # rejoins after a fault) waits at most a second for a picture it can decode.
        gop = max(1, self.fps)
        # Bits per second: enough for a clean picture of this size, small for many cameras.
        kbps = max(128, min(4000, self.width * self.height * self.fps // 4000))
        if self.codec == "h264":
            encode = (
                f"x264enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} "
                f"bitrate={kbps} threads=1 insert-vui=true ! "
                f"video/x-h264,profile=constrained-baseline ! "
                f"rtph264pay name=pay0 pt=96 config-interval=-1"
            )
        elif self.codec == "h265":
            encode = (
                f"x265enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} "
                f'bitrate={kbps} option-string="pools=1:frame-threads=1" ! '
                f"rtph265pay name=pay0 pt=96 config-interval=-1"
            )
        else:
            encode = "jpegenc quality=80 ! rtpjpegpay name=pay0 pt=26"
        return f"( {source}{encode} )"

    def clip_launch_line(self) -> str:
        """Access units pushed with their timestamps, parsed and packetised; no encoding."""
        media = "video/x-h264" if self.codec == "h264" else "video/x-h265"
        parse, pay = CLIP_ELEMENTS[self.codec][1:]
        # Leaky (drop the oldest) and bounded: a stalled pipeline cannot grow the queue.
        # config-interval=0: the clip carries SPS/PPS before every IDR already; the
        # payloader's own copy (-1) reaches FFmpeg as an extra packet with the IDR's
        # timestamp, and with B-frames the decoded pts then slip a frame every GOP.
        return (
            f"( appsrc name=clipsrc is-live=true format=time do-timestamp=false "
            f"leaky-type=downstream max-bytes=8000000 block=false "
            f'caps="{media},stream-format=byte-stream,alignment=au" ! '
            f"{parse} ! {pay} name=pay0 pt=96 config-interval=0 )"
        )


@dataclass(frozen=True)
class Spec:
    host: str
    port: int
    user: str | None
    password: str | None
    cameras: tuple[Camera, ...]

    @classmethod
    def parse(cls, text: str) -> Spec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"the spec on stdin is not JSON: {exc}") from exc
        if not isinstance(raw, dict) or not isinstance(raw.get("cameras"), list):
            raise SpecError('the spec must be an object with a list "cameras"')
        cameras = tuple(Camera.from_json(c) for c in raw["cameras"])
        if not cameras:
            raise SpecError("no cameras in the spec")
        paths = [c.path for c in cameras]
        if len(set(paths)) != len(paths):
            raise SpecError(f"camera paths repeat: {paths}")
        user, password = raw.get("user"), raw.get("password")
        if (user is None) != (password is None):
            raise SpecError("give both user and password, or neither")
        port = int(raw.get("port") or 0)
        if not 0 <= port <= 65535:
            raise SpecError(f"bad port {port}")
        return cls(str(raw.get("host") or "127.0.0.1"), port, user, password, cameras)


# -- replaying pre-encoded clips --------------------------------------------------------


@dataclass
class Clip:
    """A pre-encoded clip in memory: access units in decode order, with display indexes."""

    path: str
    codec: str
    width: int
    height: int
    fps: int
    units: list[Any]  # GLib.Bytes per access unit, wrapped into buffers without copying
    display: list[int]  # display index of each unit (decode order)
    keyframes: list[int]  # decode indexes of key frames
    reorder: int = 0  # frames between decoding and showing, at most (B-frames)

    @classmethod
    def load(cls, glib: Any, path: str, codec: str) -> Clip:
        try:
            with open(path, "rb") as handle:
                data = handle.read()
            with open(path + ".json", encoding="utf-8") as handle:
                index = json.load(handle)
            packets = [(int(p[0]), int(p[1]), int(p[2]), bool(p[3])) for p in index["packets"]]
            width, height, fps = int(index["width"]), int(index["height"]), int(index["fps"])
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise SpecError(f"cannot read clip {path} and its index {path}.json: {exc}") from exc
        if not packets or not any(p[3] for p in packets):
            raise SpecError(f"clip {path} has no key frame")
        if index.get("codec", codec) != codec:
            raise SpecError(f"clip {path} is {index.get('codec')}, the camera says {codec}")
        if sorted(p[2] for p in packets) != list(range(len(packets))):
            raise SpecError(f"clip {path}: display indexes must be 0..{len(packets) - 1}")
        for offset, size, _, _ in packets:
            if offset < 0 or size <= 0 or offset + size > len(data):
                raise SpecError(f"clip {path}: packet outside the file")
        return cls(
            path=path,
            codec=codec,
            width=width,
            height=height,
            fps=fps,
            units=[glib.Bytes.new(data[o : o + n]) for o, n, _, _ in packets],
            display=[p[2] for p in packets],
            keyframes=[i for i, p in enumerate(packets) if p[3]],
            reorder=max(0, *(i - p[2] for i, p in enumerate(packets))),
        )

    def start_at(self, frame: int) -> int:
        """The key frame (decode index) at or before ``frame`` of the clip."""
        frame %= len(self.units)
        return max((k for k in self.keyframes if k <= frame), default=self.keyframes[0])


@dataclass
class _Feed:
    """One clip camera's pipeline being fed: frame ``count`` is the next to push."""

    source: Any  # the appsrc
    clip: Clip
    start: int
    t0: int | None = None  # running time (ns) of the first frame
    count: int = 0
    last_now: int = 0
    alive: bool = True

    def pump(self, gst: Any) -> float:
        """Push every frame that is due; returns seconds until the next one is."""
        interval = 1_000_000_000 // self.clip.fps
        _, state, _ = self.source.get_state(0)
        clock = self.source.get_clock()
        if state != gst.State.PLAYING or clock is None:
            return 0.01
        now = clock.get_time() - self.source.get_base_time()
        if self.t0 is None or now < self.last_now - 500_000_000:
            self.t0 = now - self.count * interval  # first frame, or the pipeline restarted
        elif now - (self.t0 + self.count * interval) > 500_000_000:
            # Far behind (the server was frozen): carry on from now, never burst.
            self.t0 = now - self.count * interval
        self.last_now = now
        clip, total = self.clip, len(self.clip.units)
        while True:
            dts = self.t0 + self.count * interval
            if dts > now:
                return (dts - now) / 1e9
            position = self.start + self.count
            loop, unit = divmod(position, total)
            shown = loop * total + clip.display[unit] - self.start + clip.reorder
            buffer = gst.Buffer.new_wrapped_bytes(clip.units[unit])
            buffer.dts = dts
            buffer.pts = self.t0 + shown * interval
            buffer.duration = interval
            self.source.emit("push-buffer", buffer)
            self.count += 1


@dataclass
class ClipReplayer:
    """One thread that feeds every clip camera's ``appsrc`` at its frame rate."""

    gst: Any
    _feeds: list[_Feed] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, source: Any, clip: Clip, start: int) -> _Feed:
        feed = _Feed(source, clip, clip.start_at(start))
        with self._lock:
            self._feeds.append(feed)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="clips", daemon=True)
                self._thread.start()
        self._wake.set()
        return feed

    def remove(self, feed: _Feed) -> None:
        with self._lock:
            feed.alive = False
            if feed in self._feeds:
                self._feeds.remove(feed)

    def _run(self) -> None:
        while True:
            with self._lock:
                feeds = list(self._feeds)
            if not feeds:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            wait = 0.02
            for feed in feeds:
                try:
                    wait = min(wait, feed.pump(self.gst))
                except Exception as exc:  # one broken pipeline must not stop the others
                    print(f"clip feed {feed.clip.path}: {exc}", file=sys.stderr, flush=True)
                    self.remove(feed)
            time.sleep(max(0.001, wait))


def load_clips(glib: Any, cameras: tuple[Camera, ...]) -> dict[str, Clip]:
    """Every clip the cameras replay, read once (cameras may share one), sizes checked."""
    clips: dict[str, Clip] = {}
    for camera in cameras:
        if camera.clip is None:
            continue
        clip = clips.get(camera.clip)
        if clip is None:
            clip = clips[camera.clip] = Clip.load(glib, camera.clip, camera.codec)
        if (clip.width, clip.height, clip.fps) != (camera.width, camera.height, camera.fps):
            raise SpecError(
                f"camera {camera.path}: the clip is {clip.width}x{clip.height} at {clip.fps} fps, "
                f"the camera says {camera.width}x{camera.height} at {camera.fps} fps"
            )
    return clips


def fail(message: str) -> NoReturn:
    print(f"ERROR: {message}", file=sys.stderr, flush=True)
    sys.exit(2)


def import_gstreamer() -> tuple[Any, Any, Any, Any]:
    try:
        import gi  # type: ignore[import-not-found,unused-ignore]

        gi.require_version("Gst", "1.0")
        gi.require_version("GstRtspServer", "1.0")
        gi.require_version("GstController", "1.0")
        from gi.repository import (  # type: ignore[import-not-found,unused-ignore]
            GLib,
            Gst,
            GstController,
            GstRtspServer,
        )
    except (ImportError, ValueError) as exc:
        fail(
            f"{sys.executable} cannot load GStreamer's RTSP server ({exc}); "
            f"install the Debian packages: {SYSTEM_PACKAGES}"
        )
    Gst.init(None)
    return GLib, Gst, GstRtspServer, GstController


def check_elements(gst: Any, cameras: tuple[Camera, ...]) -> None:
    needed = {"rtpbin"}
    for camera in cameras:
        needed.update(camera.elements())
    missing = sorted(e for e in needed if gst.ElementFactory.find(e) is None)
    if missing:
        packages = sorted({ELEMENT_PACKAGES[e] for e in missing})
        fail(
            f"GStreamer elements missing: {', '.join(missing)}; "
            f"install the Debian packages: {' '.join(packages)}"
        )


def check_port_free(host: str, port: int) -> None:
    """Refuse a port that something already listens on (GStreamer only logs that)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (port busy?)")


def build_server(
    gst_rtsp: Any,
    gst_controller: Any,
    spec: Spec,
    clips: dict[str, Clip] | None = None,
    replayer: ClipReplayer | None = None,
) -> Any:
    server = gst_rtsp.RTSPServer()
    server.set_address(spec.host)
    server.set_service(str(spec.port))
    mounts = server.get_mount_points()

    permissions = None
    if spec.user is not None:
        auth = gst_rtsp.RTSPAuth()
        token = gst_rtsp.RTSPToken()
        token.set_string("media.factory.role", "viewer")
        auth.add_basic(gst_rtsp.RTSPAuth.make_basic(spec.user, spec.password), token)
        server.set_auth(auth)
        permissions = gst_rtsp.RTSPPermissions()
        permissions.add_permission_for_role("viewer", "media.factory.access", True)
        permissions.add_permission_for_role("viewer", "media.factory.construct", True)

    for index, camera in enumerate(spec.cameras):
        factory = gst_rtsp.RTSPMediaFactory()
        factory.set_launch(camera.relay_launch_line() if camera.relay else camera.launch_line())
        factory.set_shared(True)
        if permissions is not None:
            factory.set_permissions(permissions)
        if camera.clip is not None and clips is not None and replayer is not None:
            factory.connect(
                "media-configure",
                lambda _f, media, c=camera, clip=clips[camera.clip]: feed_clip(
                    replayer, media, clip, c.clip_start
                ),
            )
        else:
            factory.connect(
                "media-configure",
                lambda _f, media, c=camera, i=index: configure_media(gst_controller, media, c, i),
            )
        mounts.add_factory(f"/{camera.path}", factory)
    return server


def feed_clip(replayer: ClipReplayer, media: Any, clip: Clip, start: int) -> None:
    """Start feeding a newly made clip pipeline; stop when the media is torn down."""
    source = media.get_element().get_by_name("clipsrc")
    if source is None:
        return
    feed = replayer.add(source, clip, start)
    media.connect("unprepared", lambda _media: replayer.remove(feed))


def configure_media(gst_controller: Any, media: Any, camera: Camera, index: int) -> None:
    """Label and animate a newly made pipeline of ``camera``."""
    bin_ = media.get_element()
    # The label is set here rather than in the launch line: no quoting rules for labels.
    label = bin_.get_by_name("label")
    if label is not None:
        label.set_property("text", camera.label)
    ball = bin_.get_by_name("ball")
    if ball is None:
        return
    # Two sine waves of unrelated periods (4-7 s) draw a Lissajous path in stream time; each
    # camera gets its own pair, so no two cameras move in step. The ball keeps clear of the
    # top and bottom, where the label and the clock are.
    for prop, frequency, amplitude in (
        ("xpos", 0.15 + 0.013 * (index % 7), 0.42),
        ("ypos", 0.23 + 0.011 * (index % 5), 0.28),
    ):
        wave = gst_controller.LFOControlSource()
        wave.set_property("frequency", frequency)
        wave.set_property("amplitude", amplitude)
        wave.set_property("offset", 0.5)
        ball.add_control_binding(gst_controller.DirectControlBinding.new_absolute(ball, prop, wave))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--exit-with-stdin",
        action="store_true",
        help="read the spec as the first line of stdin, then exit when stdin closes",
    )
    args = parser.parse_args(argv)

    text = sys.stdin.readline() if args.exit_with_stdin else sys.stdin.read()
    try:
        spec = Spec.parse(text)
    except SpecError as exc:
        fail(str(exc))

    glib, gst, gst_rtsp, gst_controller = import_gstreamer()
    check_elements(gst, spec.cameras)
    check_port_free(spec.host, spec.port)
    try:
        clips = load_clips(glib, spec.cameras)
    except SpecError as exc:
        fail(str(exc))

    server = build_server(gst_rtsp, gst_controller, spec, clips, ClipReplayer(gst))
    loop = glib.MainLoop()
    if server.attach(None) == 0:
        fail(f"cannot listen on {spec.host}:{spec.port} (port busy or address not local?)")
    port = server.get_bound_port()

    def quit_loop(*_args: Any) -> bool:
        loop.quit()
        return False  # GLib.SOURCE_REMOVE

    for signum in (signal.SIGTERM, signal.SIGINT):
        glib.unix_signal_add(glib.PRIORITY_HIGH, signum, quit_loop)
    if args.exit_with_stdin:
        glib.io_add_watch(
            sys.stdin.fileno(),
            glib.PRIORITY_DEFAULT,
            glib.IOCondition.IN | glib.IOCondition.HUP | glib.IOCondition.ERR,
            _stdin_watch(loop),
        )

    print(f"READY {port}", flush=True)
    loop.run()


def _stdin_watch(loop: Any) -> Any:
    def on_stdin(fd: int, _condition: Any) -> bool:
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:  # end of file: whoever started us is gone
            loop.quit()
            return False  # GLib.SOURCE_REMOVE
        return True  # GLib.SOURCE_CONTINUE

    return on_stdin


if __name__ == "__main__":
    main()
